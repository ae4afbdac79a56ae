"""The phases of one iteration: generate (challenger + validation), attempt (solver), train.

Each phase is a function of plain inputs returning plain outputs, so the orchestrator can
show, time and store each one separately.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from closedloop.loop.config import RunConfig, TrainAlgorithm
from closedloop.loop.curriculum import pick_tasks
from closedloop.loop.hindsight import Relabel, relabel_attempts
from closedloop.loop.store import AttemptRow, ProposalRow, TaskStats
from closedloop.policy.base import SamplingParams
from closedloop.roles.challenger import (
    ProposalError,
    TaskShape,
    build_task,
    learnability,
    parse_proposal,
)
from closedloop.roles.sampling import sample_ids
from closedloop.roles.solver import Attempt, attempt_tasks
from closedloop.tasks.contamination import ContaminationGuard
from closedloop.tasks.fingerprint import Fingerprint, fingerprint_tasks
from closedloop.tasks.format import Split, Task
from closedloop.tasks.validate import ValidationConfig, validate_tasks
from closedloop.train.trajectory import Trajectory
from closedloop.verify import Verifier
from closedloop.verify.outcome import Outcome

if TYPE_CHECKING:  # train.sft imports torch; the phase imports it only when it trains
    from closedloop.train.sft import SFTExample


@dataclass
class Generated:
    """The generate phase's output."""

    completions: list[Any]  # challenger Completions, one per proposal
    proposals: list[ProposalRow]
    accepted: list[Task]
    reasons: Counter[str] = field(default_factory=Counter)
    fingerprints: list[Fingerprint] = field(default_factory=list)
    """One per proposal that parsed and ran into a task, accepted or not (the collapse monitor
    measures what the challenger proposes, before validation and duplicates filter it)."""


DUPLICATE = "duplicate"
"""Rejection reason: the proposal is a task already in the pool (the same text and tests)."""
SAME_BEHAVIOUR = "same_behaviour"
"""Rejection reason (``challenger.novelty``): its example solution returns what a pool task's
(or an earlier proposal's of this iteration) returns on every shared probe input."""


def generate(
    policy: Any,
    cfg: RunConfig,
    verifier: Verifier,
    guard: ContaminationGuard,
    known_ids: set[str],
    iteration: int,
    known_behaviours: set[str] | None = None,
) -> Generated:
    """Sample proposals, parse them, build tasks (outputs from the sandbox), validate them.

    With ``challenger.novelty`` a valid proposal whose behaviour fingerprint is in
    ``known_behaviours`` (the pool's) or was accepted earlier in this call is rejected; the
    behaviours of accepted proposals are added to ``known_behaviours``."""
    ch = cfg.challenger
    if ch.proposals == 0:
        return Generated([], [], [])
    params = SamplingParams(
        max_new_tokens=ch.max_new_tokens,
        temperature=ch.temperature,
        seed=cfg.seed * 100_003 + iteration,
    )
    prompt = policy.encode_prompt(cfg.challenger_prompt)
    comps = sample_ids(policy, [prompt], ch.proposals, params)[0]
    shape = TaskShape(public_tests=ch.public_tests)
    rows: list[ProposalRow | None] = [None] * len(comps)
    built: list[tuple[int, Task]] = []
    for i, c in enumerate(comps):
        try:
            prop = parse_proposal(c.text)
            task = build_task(
                prop, verifier, shape, {"iteration": iteration, "proposal": i, "run_seed": cfg.seed}
            )
            built.append((i, task))
        except ProposalError as e:
            rows[i] = ProposalRow(i, c.text, None, str(e.reason), str(e)[:300], None)
    vcfg = ValidationConfig(
        min_failure_cases=ch.min_failure_cases,
        max_mutants=ch.max_mutants,
        min_mutation_score=ch.min_mutation_score,
        mutation=ch.max_mutants > 0,
        max_example_seconds=cfg.verify_timeout_s,
    )
    results = validate_tasks([t for _, t in built], verifier, vcfg, guard) if built else []
    fps = fingerprint_tasks([t for _, t in built], verifier)
    found = [str(res.reason) if res.reason else None for res in results]
    behaviours = known_behaviours if known_behaviours is not None else set()
    verdicts = admit([t for _, t in built], found, fps, set(known_ids), behaviours, ch.novelty)
    accepted: list[Task] = []
    for (i, task), res, reason in zip(built, results, verdicts, strict=True):
        if reason is None:
            accepted.append(res.task or task)
        rows[i] = ProposalRow(i, comps[i].text, task.id, reason, res.detail[:300], None)
    final = [r for r in rows if r is not None]
    reasons = Counter(r.reason or "accepted" for r in final)
    return Generated(comps, final, accepted, reasons, fps)


def admit(
    tasks: Sequence[Task],
    reasons: Sequence[str | None],
    fps: Sequence[Fingerprint],
    known_ids: set[str],
    behaviours: set[str],
    novelty: bool,
) -> list[str | None]:
    """Validation's verdicts (``reasons``, None = valid) with duplicates rejected, in proposal
    order: the same task id as the pool's or an earlier proposal's (``duplicate``), and with
    ``novelty`` the same behaviour (``same_behaviour``). Admitted tasks' ids and behaviours
    are added to ``known_ids`` and ``behaviours``."""
    out: list[str | None] = []
    for task, reason, fp in zip(tasks, reasons, fps, strict=True):
        if reason is None and task.id in known_ids:
            reason = DUPLICATE
        if reason is None and novelty and fp.behaviour in behaviours:
            reason = SAME_BEHAVIOUR
        if reason is None:
            known_ids.add(task.id)
            if fp.behaviour:
                behaviours.add(fp.behaviour)
        out.append(reason)
    return out


@dataclass
class Attempted:
    """The attempt phase's output."""

    tasks: list[Task]
    attempts: list[list[Attempt]]

    def rows(self) -> list[AttemptRow]:
        """Store rows, one per final attempt."""
        out = []
        for row in self.attempts:
            for a in row:
                v = a.verdict
                out.append(
                    AttemptRow(
                        a.task_id,
                        a.sample,
                        a.turns,
                        a.code,
                        a.public_pass,
                        str(v.outcome) if v else "infra_error",
                        v.passed if v else 0,
                        v.total if v else 0,
                        a.reward,
                        (v.detail if v else "")[:300],
                    )
                )
        return out

    def successes(self) -> dict[str, tuple[int, int]]:
        """Task id -> (successes, scored attempts)."""
        return {
            row[0].task_id: (
                sum(1 for a in row if (a.reward or 0) >= 1.0),
                sum(1 for a in row if a.reward is not None),
            )
            for row in self.attempts
            if row
        }


def choose_tasks(
    cfg: RunConfig,
    new: Sequence[Task],
    pool: Sequence[Task],
    stats: dict[str, TaskStats],
    iteration: int,
    first: bool,
) -> list[Task]:
    """New tasks first (their learnability needs attempts), then the curriculum's picks."""
    want = max(cfg.solver.tasks_per_iteration - len(new), 0)
    new_ids = {t.id for t in new}
    rest = [t for t in pool if t.id not in new_ids]
    rng = random.Random(cfg.seed * 7_919 + iteration)
    picked = pick_tasks(rest, stats, want, cfg.curriculum, first, rng)
    return list(new)[: cfg.solver.tasks_per_iteration] + picked


def attempt(
    policy: Any, cfg: RunConfig, verifier: Verifier, tasks: list[Task], iteration: int
) -> Attempted:
    """Every chosen task, ``solver.samples`` times, up to ``solver.turns`` turns each."""
    s = cfg.solver
    params = SamplingParams(
        max_new_tokens=s.max_new_tokens,
        temperature=s.temperature,
        seed=cfg.seed * 100_019 + iteration,
    )
    return Attempted(
        tasks, attempt_tasks(policy, tasks, verifier, s.samples, params, s.turns) if tasks else []
    )


def audit(verifier: Verifier, att: Attempted, samples: int, seed: int) -> dict[str, float]:
    """Re-verify up to ``samples`` attempts the training reward passed with ``verifier`` (the
    run's own, on the private tests) when the reward came from another verifier: how many of
    its passes are real. ``audit_checked`` and ``audit_agreement`` (share confirmed); empty when
    nothing passed."""
    passed = [
        (t, a)
        for t, row in zip(att.tasks, att.attempts, strict=True)
        for a in row
        if a.reward is not None and a.reward >= 1.0
    ]
    if not passed or samples <= 0:
        return {}
    picked = random.Random(seed).sample(passed, min(samples, len(passed)))
    verdicts = verifier.verify_many([(t, a.code) for t, a in picked], split=Split.PRIVATE)
    ok = sum(1 for v in verdicts if v.outcome is Outcome.PASS)
    return {"audit_checked": float(len(picked)), "audit_agreement": ok / len(picked)}


def challenger_rewards(cfg: RunConfig, gen: Generated, att: Attempted) -> list[ProposalRow]:
    """Proposal rows with their learnability rewards filled in."""
    succ = att.successes()
    out = []
    for p in gen.proposals:
        if p.reason == "infra_error":
            r: float | None = None
        elif p.reason is not None:
            r = cfg.challenger.rejected_reward
        else:
            s, n = succ.get(p.task_id or "", (0, 0))
            r = learnability(s, n)
        out.append(ProposalRow(p.idx, p.text, p.task_id, p.reason, p.detail, r))
    return out


def trajectories(
    cfg: RunConfig,
    gen: Generated,
    rows: list[ProposalRow],
    att: Attempted,
    iteration: int,
    version: int,
) -> tuple[list[Trajectory], list[Trajectory]]:
    """(solver trajectories, challenger trajectories) of this iteration."""
    solver = [
        a.trajectory(f"{iteration}:{a.task_id}", version)
        for row in att.attempts
        for a in row
        if a.completion_ids
    ]
    chal = []
    if cfg.train.train_challenger:
        for c, p in zip(gen.completions, rows, strict=True):
            if c.token_ids and p.reward is not None:
                outcome = Outcome.PASS if p.reason is None else Outcome.INVALID
                chal.append(
                    Trajectory.from_completion(
                        c, p.reward, f"{iteration}:challenger", version, outcome
                    )
                )
    return solver, chal


@dataclass(frozen=True)
class TrainOutcome:
    """What the train phase did."""

    optimizer_steps: int
    metrics: dict[str, float]


def relabel(cfg: RunConfig, verifier: Verifier, att: Attempted) -> list[Relabel]:
    """Hindsight relabels of this iteration's failed attempts (none when switched off)."""
    if not cfg.train.hindsight or not att.tasks:
        return []
    return relabel_attempts(verifier, att.tasks, att.attempts)


def train(
    trainer: Any,
    policy: Any,
    cfg: RunConfig,
    solver: list[Trajectory],
    chal: list[Trajectory],
    seed: int,
    relabels: Sequence[Relabel] = (),
    anchor: Sequence[SFTExample] = (),
) -> TrainOutcome:
    """One update on this iteration's trajectories: GRPO on every group, or (expert iteration)
    SFT on the verified successes; hindsight relabels and ``anchor`` examples (replayed
    cold-start data) join the supervised step. Every optimizer step counts (the control gets
    as many)."""
    from closedloop.loop.updates import sft_steps
    from closedloop.train.sft import examples_from_text, examples_from_trajectories, keep_successes

    mb = cfg.train.minibatch_size
    steps, metrics = 0, {}
    examples = examples_from_text(policy, [(r.prompt, r.code) for r in relabels]) + list(anchor)
    if cfg.train.algorithm is TrainAlgorithm.GRPO:
        usable = [t for t in solver + chal if t.usable]
        if usable:
            m = trainer.step(usable)
            steps = m.optimizer_steps
            metrics = {
                "loss": m.loss,
                "entropy": m.entropy,
                "frac_zero_std_groups": m.frac_zero_std_groups,
                "clip_ratio": m.clip_ratio,
                "kl_ref": m.kl_ref or 0.0,
            }
    else:
        kept = keep_successes(solver) + [t for t in chal if (t.reward or 0) > 0]
        metrics["kept"] = float(len(kept))
        examples = examples_from_trajectories(kept, final_turn_only=True) + examples
    if examples:
        run = sft_steps(
            policy,
            examples,
            -(-len(examples) // mb),
            mb,
            cfg.train.sft_learning_rate,
            seed,
        )
        steps += run.steps
        metrics["sft_loss"] = run.last_loss
    metrics["hindsight"] = float(len(relabels))
    metrics["anchor"] = float(len(anchor))
    return TrainOutcome(steps, metrics)
