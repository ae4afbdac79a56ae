"""The phases of one iteration, each a function returning a typed result:

- :func:`generate` -> :class:`Generated`: the challenger proposes, proposals become tasks (expected
  outputs from the sandbox), validation, the contamination guard and the duplicate/novelty
  admission decide which join the pool;
- :func:`choose_tasks` and :func:`attempt` -> :class:`Attempted`: the curriculum picks tasks, the
  solver attempts each ``solver.samples`` times (public-test feedback between turns);
- :func:`verify` -> :class:`Verified`: every final attempt is scored on the private tests (the
  reward), a plugged-in reward is audited, and so are the private tests (list functions: passes
  re-run on fresh lists beside the task's program), proposals get their learnability rewards;
- :func:`train` -> :class:`TrainOutcome`: GRPO (or expert iteration) plus the supervised step on
  hindsight relabels;
- :func:`evaluate` -> :class:`HeldoutEval`: greedy pass@1 on every held-out set.

:mod:`closedloop.loop.iteration` calls them in this order. Each takes plain inputs, so each can
be run, timed and tested alone. None writes to the run store.
"""

from __future__ import annotations

import json
import math
import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from closedloop.loop.config import Domain, RunConfig, TrainAlgorithm
from closedloop.loop.domain import drawn_calls, int_lists, rival_rules
from closedloop.loop.grammar import drawn_like
from closedloop.loop.hindsight import Relabel, relabel_attempts
from closedloop.loop.store import AttemptRow, EvalScores, ProposalRow, Rejection, RunStore
from closedloop.monitor.names import Metric, heldout_key, train_key
from closedloop.policy.base import SamplingParams
from closedloop.roles.challenger import (
    PROPOSAL_SOURCE,
    ProposalError,
    ProposalRejection,
    TaskShape,
    build_task,
    learnability,
    parse_proposal,
    usable_result,
)
from closedloop.roles.prompts import solver_prompt
from closedloop.roles.solver import Attempt, attempt_tasks, score_attempts
from closedloop.sandbox.refusals import Refusals
from closedloop.tasks.contamination import ContaminationGuard
from closedloop.tasks.fingerprint import Fingerprint, fingerprint_tasks
from closedloop.tasks.format import Split, Task, TaskFormatError, parse_task
from closedloop.tasks.validate import RejectReason, ValidationConfig, validate_tasks
from closedloop.train.trajectory import Trajectory
from closedloop.verify import CallJob, VerificationBackend
from closedloop.verify.outcome import Outcome
from closedloop.verify.tally import RefusalTally

if TYPE_CHECKING:  # train.sft imports torch; the phase imports it only when it trains
    from closedloop.loop.evaluate import SampledEval
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
    accepted_fingerprints: dict[str, Fingerprint] = field(default_factory=dict)
    """Accepted task id -> its fingerprint (stored with the task in the pool)."""
    refusals: Refusals = field(default_factory=Refusals)
    """What the sandbox refused the challenger's code this phase ran: example solutions (on
    its inputs and on the fingerprint's probe inputs), wrong solutions and mutants of the
    example (a challenger can probe the sandbox too)."""


def generate(
    policy: Any,
    cfg: RunConfig,
    verifier: VerificationBackend,
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
    tally = RefusalTally(verifier)  # every program run here is the challenger's: counted
    params = SamplingParams(
        max_new_tokens=ch.max_new_tokens,
        temperature=ch.temperature,
        seed=cfg.seed * 100_003 + iteration,
    )
    prompt = policy.encode_prompt(cfg.challenger_prompt)
    comps = policy.sample_ids([prompt], ch.proposals, params)[0]
    shape = TaskShape(public_tests=ch.public_tests)
    rows: list[ProposalRow | None] = [None] * len(comps)
    built: list[tuple[int, Task]] = []
    for i, c in enumerate(comps):
        try:
            prop = parse_proposal(c.text)
            task = build_task(
                prop,
                tally,
                shape,
                {"iteration": iteration, "proposal": i, "run_seed": cfg.seed},
                drawn_calls(cfg, iteration, i),
            )
            if ch.refuse_ambiguous and cfg.domain is Domain.LIST_FUNCTIONS:
                if (why := rival_rules(task, ch.public_tests)) is not None:
                    raise ProposalError(ProposalRejection.AMBIGUOUS, why)
            built.append((i, task))
        except ProposalError as e:
            rows[i] = ProposalRow(i, c.text, None, e.reason, str(e)[:300], None)
    vcfg = ValidationConfig(
        min_failure_cases=ch.min_failure_cases,
        max_mutants=ch.max_mutants,
        min_mutation_score=ch.min_mutation_score,
        mutation=ch.max_mutants > 0,
        max_example_seconds=cfg.verify_timeout_s,
    )
    results = validate_tasks([t for _, t in built], tally, vcfg, guard) if built else []
    fps = fingerprint_tasks([t for _, t in built], tally)
    found = [res.reason for res in results]
    behaviours = known_behaviours if known_behaviours is not None else set()
    verdicts = admit([t for _, t in built], found, fps, set(known_ids), behaviours, ch.novelty)
    accepted: list[Task] = []
    accepted_fps: dict[str, Fingerprint] = {}
    for (i, task), res, reason, fp in zip(built, results, verdicts, fps, strict=True):
        if reason is None:
            accepted.append(res.task or task)
            accepted_fps[accepted[-1].id] = fp
        rows[i] = ProposalRow(i, comps[i].text, task.id, reason, res.detail[:300], None)
    final = [r for r in rows if r is not None]
    reasons = Counter(r.reason or Metric.ACCEPTED for r in final)
    return Generated(comps, final, accepted, reasons, fps, accepted_fps, tally.refusals)


def admit(
    tasks: Sequence[Task],
    reasons: Sequence[Rejection | None],
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
            reason = RejectReason.DUPLICATE
        if reason is None and novelty and fp.behaviour in behaviours:
            reason = RejectReason.SAME_BEHAVIOUR
        if reason is None:
            known_ids.add(task.id)
            if fp.behaviour:
                behaviours.add(fp.behaviour)
        out.append(reason)
    return out


@dataclass
class Attempted:
    """The attempt phase's output: every chosen task's group of attempts (final programs,
    public-test feedback), not yet scored on the private tests."""

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
                        v.outcome if v else Outcome.INFRA_ERROR,
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

    def rewards(self) -> list[list[float]]:
        """Each group's scored rewards (attempts without a reward are left out, never 0)."""
        return [[a.reward for a in row if a.reward is not None] for row in self.attempts]


CURRICULUM_SEED_FACTOR = 7_919


def choose_tasks(
    cfg: RunConfig, new: Sequence[Task], store: RunStore, iteration: int
) -> list[Task]:
    """The tasks attempted this iteration: the new proposals first (their learnability needs
    attempts), then the curriculum's picks from the pool (closedloop.tasks.curriculum, on the
    recent outcomes of the current policy)."""
    want = max(cfg.solver.tasks_per_iteration - len(new), 0)
    rng = random.Random(cfg.seed * CURRICULUM_SEED_FACTOR + iteration)
    picked = store.pick_tasks(want, cfg.curriculum, iteration, rng, exclude_ids={t.id for t in new})
    return list(new)[: cfg.solver.tasks_per_iteration] + picked


def attempt(
    policy: Any, cfg: RunConfig, verifier: VerificationBackend, tasks: list[Task], iteration: int
) -> Attempted:
    """Every chosen task, ``solver.samples`` times, up to ``solver.turns`` turns each; the
    verifier runs only the public tests here (in-episode feedback)."""
    s = cfg.solver
    params = SamplingParams(
        max_new_tokens=s.max_new_tokens,
        temperature=s.temperature,
        seed=cfg.seed * 100_019 + iteration,
    )
    attempts = (
        attempt_tasks(policy, tasks, verifier, s.samples, params, s.turns, score=False)
        if tasks
        else []
    )
    return Attempted(tasks, attempts)


@dataclass(frozen=True)
class Verified:
    """The verify phase's output: the attempts' private verdicts, summed up."""

    scored: int
    """Attempts with a reward (``infra_error`` has none and counts nowhere)."""
    solved: int
    """Attempts with reward >= 1."""
    mean_reward: float
    audit: dict[str, float]
    """The audit of a plugged-in reward against the run's verifier (empty when the reward is
    the run's verifier)."""
    refusals: Refusals = field(default_factory=Refusals)
    """What the sandbox refused the attempts, summed (denied system calls, limits hit): a
    policy that starts probing the sandbox shows here before anything else."""
    refused_attempts: int = 0
    """Attempts the sandbox refused anything."""

    @property
    def solve_rate(self) -> float:
        """solved / scored (0 when nothing was scored)."""
        return self.solved / self.scored if self.scored else 0.0


def verify(
    reward: VerificationBackend,
    verifier: VerificationBackend,
    att: Attempted,
    cfg: RunConfig,
    iteration: int,
) -> Verified:
    """Score every final attempt on the private tests with ``reward`` (the training reward: the
    run's verifier unless one is plugged in); when ``reward`` is another verifier, audit a
    sample of its passes with the run's ``verifier``."""
    score_attempts(reward, att.tasks, att.attempts)
    audited = (
        audit(verifier, att, cfg.monitor.audit_samples, f"audit:{cfg.seed}:{iteration}")
        if reward is not verifier
        else {}
    )
    if cfg.domain is Domain.LIST_FUNCTIONS and cfg.monitor.tests_audit_lists:
        audited |= audit_tests(
            verifier,
            att,
            cfg.monitor.audit_samples,
            cfg.monitor.tests_audit_lists,
            f"tests-audit:{cfg.seed}:{iteration}",
        )
    scores = [r for row in att.rewards() for r in row]
    # the public-test turns' refusals too: a program can probe only on the inputs it is shown
    refusals = [a.refusals for row in att.attempts for a in row]
    return Verified(
        scored=len(scores),
        solved=sum(1 for r in scores if r >= 1.0),
        mean_reward=sum(scores) / len(scores) if scores else 0.0,
        audit=audited,
        refusals=sum(refusals, Refusals()),
        refused_attempts=sum(1 for r in refusals if r),
    )


def audit_tests(
    verifier: VerificationBackend, att: Attempted, samples: int, lists: int, seed: int | str
) -> dict[str, float]:
    """Re-run up to ``samples`` attempts the reward passed on ``lists`` random lists drawn like
    their task's inputs (list-function tasks: ``grammar.drawn_like``), judged by the verifier
    against what the task's own program (``example_solution``) returns on them: an attempt
    that fails passed private tests too weak to tell it from the task's function.
    ``tests_audit_checked`` and ``tests_audit_agreement`` (the share that passes); an attempt
    the sandbox failed to run (``infra_error``) is left out, and so is a task whose inputs are
    not lists of integers or whose program returned on none of the lists; empty when nothing
    was checked. Each run is one job with one wall clock (the program's too: ``resume``
    False), and a value is read only up to a budget set by the program's, as verdicts are.
    Where the run's own private tests are fooled, the audit of a plugged-in reward cannot see
    it: it re-verifies on those same tests."""
    passed = [
        (t, a)
        for t, row in zip(att.tasks, att.attempts, strict=True)
        for a in row
        if a.reward is not None and a.reward >= 1.0 and t.example_solution and a.code
    ]
    if not passed or samples <= 0 or lists <= 0:
        return {}
    rng = random.Random(seed)
    picked = rng.sample(passed, min(samples, len(passed)))
    calls: dict[str, list[str]] = {}
    for t in {t.id: t for t, _ in picked}.values():
        shown = int_lists([c.input for c in (*t.public_tests, *t.private_tests)])
        if shown:
            calls[t.id] = [repr((list(xs),)) for xs in drawn_like(shown, rng, lists)]
    tasks = {t.id: t for t, _ in picked if calls.get(t.id)}
    jobs = [
        CallJob(t.example_solution or "", t.entry_point, calls[t.id], resume=False)
        for t in tasks.values()
    ]
    fresh: dict[str, Task] = {}
    for t, rr in zip(tasks.values(), verifier.call_many(jobs), strict=True):
        tests = [
            {"input": c, "output": r.value}
            for c, r in zip(calls[t.id], rr, strict=True)
            if usable_result(r)
        ]
        try:  # the task with the fresh lists as its private tests
            fresh[t.id] = parse_task(
                {**json.loads(json.dumps(t.to_json())), "private_tests": tests}
            )
        except TaskFormatError:  # none returned, or nothing the format takes
            continue
    audited = [(fresh[t.id], a) for t, a in picked if t.id in fresh]
    verdicts = verifier.verify_many([(t, a.code) for t, a in audited], split=Split.PRIVATE)
    judged = [v for v in verdicts if v.outcome is not Outcome.INFRA_ERROR]
    if not judged:
        return {}
    return {
        Metric.TESTS_AUDIT_CHECKED: float(len(judged)),
        Metric.TESTS_AUDIT_AGREEMENT: sum(v.outcome is Outcome.PASS for v in judged) / len(judged),
    }


def audit(
    verifier: VerificationBackend, att: Attempted, samples: int, seed: int | str
) -> dict[str, float]:
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
    return {Metric.AUDIT_CHECKED: float(len(picked)), Metric.AUDIT_AGREEMENT: ok / len(picked)}


def challenger_rewards(cfg: RunConfig, gen: Generated, att: Attempted) -> list[ProposalRow]:
    """Proposal rows with their learnability rewards filled in."""
    succ = att.successes()
    out = []
    for p in gen.proposals:
        if p.reason == RejectReason.INFRA_ERROR:
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
    """(solver trajectories, challenger trajectories) of this iteration, each stamped with the
    temperature it was sampled at (the update's ratio needs the same one)."""
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
                        c,
                        p.reward,
                        f"{iteration}:challenger",
                        version,
                        outcome,
                        temperature=cfg.challenger.temperature,
                    )
                )
    return solver, chal


def relabel(
    cfg: RunConfig,
    verifier: VerificationBackend,
    att: Attempted,
    guard: ContaminationGuard | None = None,
) -> list[Relabel]:
    """Hindsight relabels of this iteration's failed attempts (none when switched off), each
    through the contamination ``guard`` as a proposal is: a failed attempt that computes a
    held-out rule on a pool task sharing a held-out task's inputs relabels into that held-out
    task, shown examples and private answer alike."""
    if not cfg.train.hindsight or not att.tasks:
        return []
    made = relabel_attempts(verifier, att.tasks, att.attempts)
    return [r for r in made if guard is None or guard.check(r.task) is None]


def rationalize(cfg: RunConfig, att: Attempted) -> list[tuple[str, str, str]]:
    """(solver prompt, verified solution, task source) for every attempted task that no sample
    solved and that has an example solution, in task order (none unless
    ``train.rationalize``). A task whose attempts were all left unjudged (``infra_error``) is
    skipped: nothing says the solver failed it."""
    if not cfg.train.rationalize:
        return []
    out = []
    for task, row in zip(att.tasks, att.attempts, strict=True):
        rewards = [a.reward for a in row if a.reward is not None]
        if task.example_solution and rewards and max(rewards) < 1.0:
            out.append((solver_prompt(task), task.example_solution, task.source))
    return out


@dataclass(frozen=True)
class TrainOutcome:
    """What the train phase did."""

    optimizer_steps: int
    """Optimizer steps taken; only steps with a learning signal are taken (the control gets as
    many)."""
    metrics: dict[str, float]
    """The update's figures, keyed by their :class:`~closedloop.monitor.names.Metric`."""
    kl_policy: float | None
    """KL(before || after) of the whole phase on the first solver trajectories (None without
    any)."""


def train(
    trainer: Any,
    policy: Any,
    cfg: RunConfig,
    solver: list[Trajectory],
    chal: list[Trajectory],
    seed: int,
    relabels: Sequence[Relabel] = (),
    anchor: Sequence[SFTExample] = (),
    replay: Sequence[SFTExample] = (),
    rationalized: Sequence[tuple[str, str, str]] = (),
) -> TrainOutcome:
    """One update on this iteration's trajectories: GRPO on every group with a reward spread,
    or (expert iteration) SFT on the verified successes; hindsight relabels and ``anchor``
    examples (replayed cold-start data) join the supervised step; ``replay`` examples join
    the GRPO steps' own loss (``train.grpo.replay_coef``)."""
    from closedloop.train.metrics import probe_distributions, probe_kl
    from closedloop.train.sft import (
        examples_from_text,
        examples_from_trajectories,
        keep_successes,
        sft_steps,
    )

    # kl_policy: KL(before || after) across the whole phase (GRPO or expert iteration, plus
    # the supervised step) on this iteration's first solver trajectories -- not the trainer's
    # own kl_probe, which covers its GRPO update alone.
    probe = [(list(t.prompt_ids), list(t.completion_ids)) for t in solver[:8]]
    before = probe_distributions(policy.model, probe, policy.pad_id) if probe else None
    steps, metrics, replayed = 0, {}, 0
    examples = examples_from_text(
        policy, [(r.prompt, r.code) for r in relabels] + [(p, c) for p, c, _ in rationalized]
    ) + list(anchor)
    if cfg.train.algorithm is TrainAlgorithm.GRPO:
        usable = [t for t in solver + chal if t.usable]
        if usable:
            m = trainer.step(usable, seed=seed, replay=replay)
            steps, replayed = m.optimizer_steps, m.num_replay
            metrics = {
                train_key("loss"): m.loss,
                train_key("entropy"): m.entropy,
                train_key("frac_zero_std_groups"): m.frac_zero_std_groups,
                train_key("zero_std_groups_dropped"): float(m.num_zero_std_groups),
                train_key("clip_ratio"): m.clip_ratio,
                train_key("first_pass_ratio_dev"): m.first_pass_ratio_dev,
            }
            if m.kl_ref is not None:  # a run without a reference has no KL to it, not a KL of 0
                metrics[train_key("kl_ref")] = m.kl_ref
    else:
        kept = keep_successes(solver) + [t for t in chal if (t.reward or 0) > 0]
        metrics[train_key("kept")] = float(len(kept))
        examples = examples_from_trajectories(kept, final_turn_only=True) + examples
    if examples:
        mb = cfg.train.sft_batch_size
        run = sft_steps(
            policy,
            examples,
            math.ceil(cfg.train.sft_epochs * len(examples) / mb),
            mb,
            cfg.train.sft_learning_rate,
            seed,
        )
        steps += run.steps
        metrics[train_key("sft_loss")] = run.last_loss
    metrics[train_key("hindsight")] = float(len(relabels))
    metrics[train_key("anchor")] = float(len(anchor))
    if cfg.train.rationalize:
        metrics[train_key("rationalized")] = float(len(rationalized))
        metrics[train_key("rationalized_proposals")] = float(
            sum(1 for *_, source in rationalized if source == PROPOSAL_SOURCE)
        )
    if replay and cfg.train.algorithm is TrainAlgorithm.GRPO:
        # what joined the loss, from the trainer: none when no group had reward spread
        metrics[train_key("replay")] = float(replayed)
    kl = (
        probe_kl(before, probe_distributions(policy.model, probe, policy.pad_id), probe)
        if before is not None
        else None
    )
    return TrainOutcome(steps, {k: v for k, v in metrics.items() if v is not None}, kl)


@dataclass(frozen=True)
class HeldoutEval:
    """The evaluate phase's output: one policy on every held-out set."""

    scores: EvalScores
    """Set name -> (n_tasks, pass@1), the primary set first."""
    variety: dict[str, float]
    """The variety of its greedy programs on the primary set (``heldout_distinct_programs``,
    ``heldout_top_program_share``: the run's collapse figure, see ``monitor.variety``)."""
    per_task: dict[str, float]
    """The primary set's per-task scores (task id -> 1.0 / 0.0): what the gate compares."""
    sampled: SampledEval | None = None
    """``eval.samples`` sampled attempts per primary task, filtered by the shown examples
    (None when ``eval.samples`` is 0)."""

    def metrics(self, primary: str) -> dict[str, float]:
        """The evaluation's metrics: ``heldout_pass@1`` (primary) and ``heldout_pass@1/<set>``,
        the greedy programs' variety, and with samples the filtered pass@1 and confidence."""
        out: dict[str, float] = {
            heldout_key(None if name == primary else name): p
            for name, (_n, p) in self.scores.items()
        }
        out.update(self.variety)
        s = self.sampled
        if s is not None:
            out[Metric.HELDOUT_FILTERED_PASS_AT_1] = s.filtered_pass_at_1
            out[Metric.HELDOUT_SAMPLED_PASS_AT_1] = s.pass_at_1
            out[Metric.HELDOUT_CONFIDENCE] = s.confidence
            if s.confidence_correctness is not None:
                out[Metric.HELDOUT_CONFIDENCE_CORRECTNESS] = s.confidence_correctness
        return out


EVAL_SEED = 20_251_130
"""Seed of the sampled evaluation (the same for every policy: paired samples)."""


def evaluate(
    policy: Any, heldout: dict[str, Sequence[Task]], verifier: VerificationBackend, cfg: RunConfig
) -> HeldoutEval:
    """Greedy pass@1 of ``policy`` on every held-out set (the first is the primary one), and
    with ``eval.samples`` the filtered sampled evaluation of the primary set."""
    from closedloop.loop.evaluate import evaluate as evaluate_set
    from closedloop.loop.evaluate import sampled_evaluate

    e = cfg.eval
    scores: EvalScores = {}
    variety: dict[str, float] = {}
    per_task: dict[str, float] = {}
    for i, (name, tasks) in enumerate(heldout.items()):
        res = evaluate_set(
            policy, tasks, verifier, samples=1, turns=e.turns, max_new_tokens=e.max_new_tokens
        )
        scores[name] = (res.n_tasks, res.pass_at_1)
        if i == 0:
            variety = res.variety.metrics()
            per_task = {t: float(c) for t, c in res.successes.items()}
    sampled = None
    if e.samples:
        primary = next(iter(heldout.values()))
        sampled = sampled_evaluate(
            policy, primary, verifier, e.samples, e.max_new_tokens, e.temperature, EVAL_SEED
        )
    return HeldoutEval(scores, variety, per_task, sampled)
