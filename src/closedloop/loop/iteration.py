"""One self-play iteration, top to bottom: generate -> attempt -> verify -> train -> evaluate.

Each phase is a function of :mod:`closedloop.loop.phases` returning a typed result; this module
calls them in order, shows a bar per phase, and gathers the iteration's metrics. What happens
to the result (saving the policy, the monitors, committing it to the run store) is the run's
life cycle, in :mod:`closedloop.loop.runner`.

Owns the order of the phases and the iteration's metrics row. Must never write to the run
store or the run directory (an iteration is committed whole, by the runner, or not at all).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rich.console import Console

from closedloop.loop import phases
from closedloop.loop.config import ModelKind, RunConfig
from closedloop.loop.console import PhaseBars
from closedloop.loop.store import RunStore
from closedloop.monitor.names import Metric, reject_key
from closedloop.monitor.variety import group_outcomes, proposal_clusters
from closedloop.tasks.contamination import ContaminationGuard
from closedloop.tasks.format import Task

if TYPE_CHECKING:
    from closedloop.train.sft import SFTExample

ANCHOR_STREAM = "anchors"
"""Anchor examples of an iteration are drawn with ``Random("anchors:SEED:ITERATION")``: a
named stream, so no other draw of the loop (the curriculum's ``seed * 7919 + iteration``, the
audit's) starts from the same state at seed 0."""
REPLAY_STREAM = "replay"
"""The replay's corpus draws: another named stream of the same seed and iteration."""


@dataclass
class LoopState:
    """What every iteration of a run works with (built once per process by the runner)."""

    cfg: RunConfig
    store: RunStore
    verifier: Any
    """The run's verifier (held-out evaluation, task validation, relabelling, audits)."""
    reward: Any
    """The verifier that scores the solver's attempts (the training reward): ``verifier``
    unless one is plugged in (``LoopRunner.reward_wrapper``)."""
    guard: ContaminationGuard
    heldout: dict[str, list[Task]]
    """Held-out sets by name, the primary one first (read from the run directory)."""
    policy: Any
    trainer: Any
    """The GRPO trainer (None with expert iteration)."""
    console: Console
    behaviours: set[str] | None = None
    """Behaviour fingerprints of the pool (``challenger.novelty``; None when off)."""
    replicas: Any = None
    """The policy replicas generation runs on (``[distributed] policy_replicas``), or None."""
    _corpus: list[SFTExample] | None = None

    @property
    def sampler(self) -> Any:
        """The policy the phases sample with: ``policy``, or ``policy`` with its sampling on
        the replicas (which follow its weights: an update reaches them before the next batch)."""
        if self.replicas is None:
            return self.policy
        from closedloop.distributed.replicas import ReplicatedPolicy

        return ReplicatedPolicy(self.policy, self.replicas)

    @property
    def primary(self) -> str:
        """The primary held-out set's name."""
        return next(iter(self.heldout))

    def set_corpus(self, examples: list[SFTExample]) -> None:
        """Keep the cold start's tokenized corpus (saves rebuilding it for anchors and control)."""
        self._corpus = examples

    def corpus_examples(self) -> list[SFTExample]:
        """The cold-start corpus as SFT examples (anchor replay and the control draw from it),
        rebuilt the same from the config after a resume (the tokenizer never changes)."""
        if self._corpus is None:
            from closedloop.loop.baselines import corpus_examples, corpus_pairs

            self._corpus = corpus_examples(self.policy, corpus_pairs(self.cfg))
        return self._corpus


@dataclass
class IterationResult:
    """Everything one iteration produced, before it is committed."""

    iteration: int
    generated: phases.Generated
    proposals: list[Any]
    """Proposal rows with their challenger rewards."""
    attempted: phases.Attempted
    verified: phases.Verified
    trained: phases.TrainOutcome
    evaluated: phases.HeldoutEval | None
    """None when this iteration is not evaluated on held-out (``eval.every``)."""
    metrics: dict[str, float]


def is_evaluated(cfg: RunConfig, iteration: int) -> bool:
    """Whether iteration ``iteration`` evaluates on held-out (every ``eval.every``, and the last)."""
    every = cfg.eval.every
    return bool(every and iteration % every == 0) or iteration == cfg.iterations


def anchor_examples(state: LoopState, n_relabels: int, iteration: int) -> list[SFTExample]:
    """Cold-start examples replayed beside ``n_relabels`` relabels (``train.anchor_ratio``),
    drawn with a seed of the iteration's own so a resumed run draws the same ones."""
    return _corpus_sample(
        state, round(state.cfg.train.anchor_ratio * n_relabels), iteration, ANCHOR_STREAM
    )


def _corpus_sample(state: LoopState, n: int, iteration: int, stream: str) -> list[SFTExample]:
    """``n`` examples of the cold-start corpus, drawn by ``(stream, seed, iteration)``."""
    if n <= 0:
        return []
    corpus = state.corpus_examples()
    rng = random.Random(f"{stream}:{state.cfg.seed}:{iteration}")
    return rng.sample(corpus, min(n, len(corpus)))


def replay_examples(state: LoopState, iteration: int) -> list[SFTExample]:
    """``train.replay_examples`` examples of the cold start's own data for the GRPO update's
    replay term, the same after a resume: fresh examples of a base's pretraining distribution
    (closedloop.loop.baselines.base_replay_pairs), else a draw from the cold-start corpus."""
    n = state.cfg.train.replay_examples
    if n <= 0 or state.cfg.model.kind is not ModelKind.BASE:
        return _corpus_sample(state, n, iteration, REPLAY_STREAM)
    from closedloop.loop.baselines import base_replay_pairs
    from closedloop.train.sft import examples_from_text

    return examples_from_text(state.policy, base_replay_pairs(state.cfg, iteration, n))


def run_iteration(state: LoopState, it: int) -> IterationResult:
    """Run iteration ``it`` (1-based) on ``state.policy``, training it in place."""
    cfg, store = state.cfg, state.store
    version = it - 1  # updates the sampling policy has had
    sandbox0 = state.verifier.seconds
    evaluated = None
    with PhaseBars(state.console, f"iter {it}") as bars:
        with bars.phase("generate") as note:
            gen = phases.generate(
                state.sampler,
                cfg,
                state.verifier,
                state.guard,
                store.task_ids(),
                it,
                state.behaviours,
            )
            note(f"{len(gen.accepted)}/{len(gen.proposals)} accepted")
        with bars.phase("attempt") as note:
            tasks = phases.choose_tasks(cfg, gen.accepted, store, it)
            att = phases.attempt(state.sampler, cfg, state.reward, tasks, it)
            note(f"{len(tasks)} tasks x {cfg.solver.samples}")
        with bars.phase("verify") as note:
            ver = phases.verify(state.reward, state.verifier, att, cfg, it)
            rows = phases.challenger_rewards(cfg, gen, att)
            note(f"solve rate {ver.solve_rate:.2f}")
        with bars.phase("train") as note:
            solver_t, chal_t = phases.trajectories(cfg, gen, rows, att, it, version)
            relabels = phases.relabel(cfg, state.verifier, att, state.guard)
            tr = phases.train(
                state.trainer,
                state.policy,
                cfg,
                solver_t,
                chal_t,
                cfg.seed + it,
                relabels,
                anchor_examples(state, len(relabels), it),
                replay_examples(state, it),
                phases.rationalize(cfg, att),
            )
            note(f"{tr.optimizer_steps} steps")
        if is_evaluated(cfg, it):
            with bars.phase("eval") as note:
                evaluated = phases.evaluate(state.sampler, state.heldout, state.verifier, cfg)
                note(f"pass@1 {evaluated.scores[state.primary][1]:.3f}")
    m: dict[str, Any] = {
        Metric.PROPOSED: len(gen.proposals),
        Metric.ACCEPTED: len(gen.accepted),
        Metric.TASKS: len(tasks),
        Metric.SOLVE_RATE: ver.solve_rate,
        Metric.MEAN_REWARD: ver.mean_reward,
        Metric.SANDBOX_DENIED_CALLS: ver.refusals.denied_total,
        Metric.SANDBOX_LIMITS_HIT: ver.refusals.limits_total,
        Metric.SANDBOX_REFUSED_SHARE: ver.refused_attempts / max(1, ver.scored),
        Metric.CHALLENGER_DENIED_CALLS: gen.refusals.denied_total,
        Metric.CHALLENGER_LIMITS_HIT: gen.refusals.limits_total,
        Metric.CHALLENGER_REWARD: (
            sum(r.reward for r in rows if r.reward is not None) / max(1, len(rows))
        ),
        Metric.OPTIMIZER_STEPS: tr.optimizer_steps,
        Metric.KL_POLICY: tr.kl_policy,
        Metric.T_GENERATE: bars.seconds["generate"],
        Metric.T_ATTEMPT: bars.seconds["attempt"],
        Metric.T_SCORE: bars.seconds["verify"],
        Metric.T_TRAIN: bars.seconds["train"],
        Metric.T_EVAL: bars.seconds.get("eval", 0.0),
        Metric.T_VERIFY: state.verifier.seconds - sandbox0,
        **tr.metrics,
        **{reject_key(k): v for k, v in gen.reasons.items() if k != Metric.ACCEPTED},
        **proposal_clusters(gen.fingerprints),
        **ver.audit,
        **group_outcomes(att.rewards()),
    }
    if evaluated is not None:
        m.update(evaluated.metrics(state.primary))
    metrics = {str(k): float(v) for k, v in m.items() if v is not None}
    return IterationResult(it, gen, rows, att, ver, tr, evaluated, metrics)
