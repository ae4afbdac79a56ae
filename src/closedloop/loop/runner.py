"""The run's life cycle: create or resume, cold start, iterations, then final, control and gate.

The run directory's layout is :mod:`closedloop.loop.rundir`; one iteration, phase by phase, is
:mod:`closedloop.loop.iteration`; the cold start and the control are
:mod:`closedloop.loop.baselines`; early stopping is :mod:`closedloop.loop.early_stop`; what is
printed is :mod:`closedloop.loop.console`.

``summary.json``::

    {"heldout_set": PRIMARY, "iterations": N,
     "policies": {label: {"n_tasks", "pass@1"}},              # on the primary set
     "heldout_sets": {set: {label: {"n_tasks", "pass@1"}}},   # every set, primary included
     "heldout_files": {set: {"sha256", "n_tasks", "source"}},  # RUN_DIR/heldout/<set>.jsonl
     "alarms": [{"kind", "iteration", "message", "figures"}],  # closedloop.monitor.detectors
     "stopped_early": bool,                          # monitor.on_alarm = "stop" | "rollback" fired
     "rolled_back_to": "iter_NNN" | "cold_start",    # only after a rollback: final's source
     "gate": {"candidate": "final", "baseline": "cold_start", "decision", "wins", "losses",
              "p_value", ...} | null,                        # closedloop.gate, [gate] config
     "families": {family: {"n_tasks", label: pass@1}},  # primary set, closedloop.loop.families
     "probe": {label: {"pass@1", ...}}}                 # eval.probe_per > 0, list domain only

The held-out sets are materialised into ``RUN_DIR/heldout/`` when the run is created and read
from there ever after (:mod:`closedloop.loop.heldout`), so the cold start, every iteration, the
control and a resumed run are all scored on the same tasks. The primary set (the first) alone
drives ``heldout_pass@1`` and the per-iteration line; each other set adds
``heldout_pass@1/<set>`` to the metrics and a column to the final table.

Resume: an iteration's policy (and, for the newest, the GRPO trainer's state) is saved before
its rows are committed; on resume, policy directories newer than the last committed iteration
are deleted and that iteration runs again (losing at most the one in flight). The resumed run
continues the same algorithm: the trainer's optimizer state is restored, the KL reference is
the cold start, and every phase is seeded by the iteration, so an interrupted run ends with the
weights an uninterrupted one ends with (``tests/loop/test_resume_same_algorithm.py``).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from rich.console import Console

from closedloop.gate import decide
from closedloop.loop import early_stop, phases
from closedloop.loop.baselines import (
    base_dir,
    build_policy,
    corpus_examples,
    corpus_pairs,
    has_control,
    task_phrase,
    train_cold_start,
    train_control,
)
from closedloop.loop.config import ConfigError, Domain, ModelKind, RunConfig, TrainAlgorithm
from closedloop.loop.console import (
    alarm_line,
    alarms_line,
    gate_line,
    progress,
    replicas_line,
    table_view,
)
from closedloop.loop.families import family_table, family_view
from closedloop.loop.iteration import LoopState, run_iteration
from closedloop.loop.policy_setup import check_generation, load_run_policy
from closedloop.loop.rundir import (
    COLD_START,
    CONTROL,
    FINAL,
    RunDir,
    RunDirError,
    iter_label,
    lock_run_dir,
)
from closedloop.loop.store import EvalScores, IterationRecord, RunStore, StoreError
from closedloop.monitor.detectors import alarm_metrics, detect
from closedloop.monitor.metrics import MetricsLog, metric_iterations, summary_line
from closedloop.monitor.names import Metric
from closedloop.monitor.variety import narrowing_line

__all__ = ["LoopRunner", "RunDirError", "RunResult"]

SEED_POOL_SIZE = 200
PER_TASK_EVENT = "heldout_per_task"
CONTROL_EVAL_EVENT = "control_heldout_metrics"
CONTROL_STEPS = "control_steps"  # in its event: the update steps the control was matched to
"""The control's held-out evaluation metrics (its filtered pass@1 and confidence with
``eval.samples``), recorded once, so a resumed finish reads them back."""
"""Run-store event with a policy's per-task scores on the primary held-out set (for the gate)."""
ALARM_EVENT = "alarm"
REJECTIONS_EVENT = "rejections"
REPLICAS_EVENT = "policy_replicas"
"""Run-store event with the policy replicas' work in a process (``ReplicaSet.summary``)."""
CLUSTER_VERIFIER_EVENT = "cluster_verifier"
"""Run-store event with the Ray cluster's verification work in a process
(``RayVerifier.summary``; absent when the run verified on this machine's pool)."""


_T = TypeVar("_T")


@dataclass
class RunResult:
    """The held-out table and where the run lives."""

    run_dir: Path
    table: dict[str, tuple[int, float]]  # label -> (n_tasks, pass@1), on the primary set
    seconds: float
    heldout_sets: dict[str, dict[str, tuple[int, float]]] = field(default_factory=dict)
    """Every held-out set, primary first: set name -> label -> (n_tasks, pass@1)."""


class LoopRunner:
    """Runs (or resumes) one closed-loop run in ``run_dir``."""

    def __init__(self, cfg: RunConfig, run_dir: Path | RunDir, console: Console | None = None):
        self.cfg = cfg
        self.dir = run_dir if isinstance(run_dir, RunDir) else RunDir(Path(run_dir))
        self.console = console or Console(stderr=True)
        self._lock: int | None = None
        """The descriptor holding the run directory's lock, while this runner holds it."""
        self.reward_wrapper: Callable[[Any], Any] | None = None
        """Wraps the run's verifier into the one that scores the solver's attempts (the
        training reward). None: the run's verifier. Held-out evaluation, task validation and
        relabelling always use the run's own verifier. ``benchmarks/monitor_alarms.py`` plants a
        weak reward here to show the reward-hacking alarm."""

    @property
    def run_dir(self) -> Path:
        """The run directory's path."""
        return self.dir.root

    @classmethod
    def new(cls, cfg: RunConfig, run_dir: Path, console: Console | None = None) -> LoopRunner:
        """A new run: refuses an existing non-empty directory, writes the config and
        materialises the held-out sets."""
        from closedloop.loop.heldout import materialise

        check_generation(cfg)  # a missing engine is named before anything is created
        if cfg.model.kind is ModelKind.BASE:
            base_dir(cfg)  # a missing base is named before anything is created
        rd = RunDir.create(run_dir, cfg)
        try:
            materialise(cfg, rd.root)
        except BaseException:  # a bad setting, out of memory, Ctrl-C: no half-made run left
            shutil.rmtree(rd.root, ignore_errors=True)  # it was new or empty: nothing is lost
            raise
        return cls(cfg, rd, console)

    @classmethod
    def resume(cls, run_dir: Path, console: Console | None = None) -> LoopRunner:
        """Reopen a run from its ``config.toml``, holding the run directory's lock from here
        (:class:`RunDirError` when another process runs it): a refused resume had already
        rewritten the running run's config (``extend_to``)."""
        lock = lock_run_dir(Path(run_dir)) if Path(run_dir).is_dir() else None
        try:
            rd, cfg = RunDir.open(run_dir)
        except BaseException:
            if lock is not None:
                os.close(lock)
            raise
        runner = cls(cfg, rd, console)
        runner._lock = lock
        return runner

    def extend_to(self, iterations: int) -> None:
        """Run self-play on to ``iterations`` (``closedloop run --resume DIR --iterations N``),
        recorded in the run's ``config.toml``; the final policy, the control (matched to all
        the updates), the summary, the gate and the report are made again at the end. Raises
        :class:`RunDirError` for fewer iterations than the run is set to (a resume extends a
        run, it never shortens one)."""
        if iterations < self.cfg.iterations:
            raise RunDirError(
                f"--iterations {iterations}: the run is set to {self.cfg.iterations}; a resume "
                "can extend a run, not shorten it"
            )
        if iterations != self.cfg.iterations:
            self.cfg.iterations = iterations
            self.dir.write_config(self.cfg)

    # -- the life cycle --------------------------------------------------------------------
    def run(self) -> RunResult:
        """Run every remaining phase and return the held-out table. Sets this process's torch
        threads to the config's ``threads`` first, when it has one. Holds the run directory's
        lock throughout: :class:`RunDirError` when another process is running it."""
        if self._lock is None:
            self._lock = lock_run_dir(self.dir.root)
        try:
            return self._run()
        finally:
            self.close()

    def close(self) -> None:
        """Let go of the run directory's lock (``run`` does at its end; a runner resumed and
        not run, say after a refused ``extend_to``, should be closed, or it holds the run
        until it is collected)."""
        if self._lock is not None:
            os.close(self._lock)
            self._lock = None

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            self.close()

    def _run(self) -> RunResult:
        import torch
        from transformers.utils import logging as hf_logging

        from closedloop.distributed import make_replicas, make_verifier
        from closedloop.loop.heldout import HeldoutError, load_or_materialise, summary_entries
        from closedloop.sandbox import SandboxLimits
        from closedloop.tasks.contamination import ContaminationGuard
        from closedloop.verify.timed import TimedVerifier

        # The run shows its own phase bars; transformers' per-save/per-load bars would bury them.
        hf_logging.disable_progress_bar()
        t0 = time.monotonic()
        cfg = self.cfg
        if cfg.threads is not None:
            torch.set_num_threads(cfg.threads)
        check_generation(cfg)  # on resume too, after any override of model.generation
        store_file = self.dir.store
        if not store_file.exists() or store_file.stat().st_size == 0:
            self.dir.check_store_holds_the_files(-1)  # before opening writes a schema into it
        try:
            store = RunStore(self.dir.store)
        except StoreError as e:
            raise RunDirError(str(e)) from None
        last = store.last_iteration()
        try:
            self.dir.check_store_holds_the_files(last)
        except RunDirError:
            store.close()
            raise
        store.rollback_after(last)
        self.dir.drop_policies_after(last)
        log = MetricsLog(self.run_dir)
        rows = store.metrics_rows()
        if metric_iterations(log.path) != [r[Metric.ITERATION] for r in rows]:
            log.rewrite(rows)  # only the committed iterations' rows; untouched when so already
        try:
            sets, written_now = load_or_materialise(cfg, self.dir.root)
        except HeldoutError as e:
            raise RunDirError(str(e)) from None
        if written_now and last >= 0:
            self.console.print(
                f"held-out sets written to {self.dir.heldout} now (a run made before they were "
                "materialised): its earlier evaluations may have seen different tasks",
                markup=False,
            )
        self.heldout_files = summary_entries(sets)
        heldout = {name: list(s.tasks) for name, s in sets.items()}
        guard = ContaminationGuard([t for ts in heldout.values() for t in ts])
        dist = cfg.distributed
        try:
            with (
                make_verifier(  # this machine's pool, or one per Ray node ([distributed])
                    cfg.workers,
                    SandboxLimits(wall_s=cfg.verify_timeout_s),
                    dist.ray_address,
                    # the loop's own tasks are I/O tasks: a checker task (a held-out set's)
                    # starts its slot's judge when it first comes, before the candidate's clock
                    prewarm_judges=False,
                ) as inner,
                make_replicas(  # generation on Ray-placed replicas, or here
                    dist.ray_address, dist.policy_replicas, dist.replica_backend, dist.replica_gpus
                ) as replicas,
            ):
                verifier = TimedVerifier(inner)  # t_verify: the sandbox's share of the time
                state = LoopState(
                    cfg=cfg,
                    store=store,
                    verifier=verifier,
                    reward=self.reward_wrapper(verifier) if self.reward_wrapper else verifier,
                    guard=guard,
                    heldout=heldout,
                    policy=None,
                    trainer=None,
                    console=self.console,
                    replicas=replicas,
                )
                if last < 0:
                    self._cold_start(state, log)
                    last = 0
                else:
                    done = (
                        f": it has all its {cfg.iterations} iterations, so only its final "
                        "tables are made again (--iterations N runs it on)"
                        if last >= cfg.iterations
                        else ""
                    )
                    self.console.print(
                        f"resuming {self.run_dir} after iteration {last}{done}", markup=False
                    )
                    saved = self.dir.policy(iter_label(last))
                    state.policy = _load_saved(saved, lambda: load_run_policy(cfg, saved))
                state.trainer = self._trainer(state.policy, last)
                if cfg.challenger.novelty:
                    state.behaviours = pool_behaviours(store, verifier)
                stops = store.events(early_stop.EARLY_STOP_EVENT)
                if stops:
                    self.console.print(f"self-play stopped early after iteration {stops[-1][0]}")
                for it in range(last + 1, cfg.iterations + 1):
                    if stops:
                        break
                    stops = self._iteration(state, it, log)
                scores = self._finish(state)
                if dist.ray_address:  # a RayVerifier: say the cluster did the work
                    store.add_event(store.last_iteration(), CLUSTER_VERIFIER_EVENT, inner.summary())
                if replicas is not None:
                    work = replicas.summary()
                    store.add_event(store.last_iteration(), REPLICAS_EVENT, work)
                    self.console.print(replicas_line(work), soft_wrap=True)
        finally:
            log.close()
            store.close()
        by = by_set(scores)
        return RunResult(self.run_dir, by[state.primary], time.monotonic() - t0, by)

    def _trainer(self, policy: Any, last: int) -> Any:
        """The GRPO trainer (None for expert iteration). Its KL reference is the cold start
        (loaded from its directory on resume), and on resume its optimizer state is restored
        from the last committed iteration."""
        if self.cfg.train.algorithm is not TrainAlgorithm.GRPO:
            return None
        from closedloop.train.grpo import GRPOTrainer

        g = self.cfg.train.grpo
        reference = None
        if last > 0 and (g.beta > 0 or g.track_ref_kl):
            cold = self.dir.policy(COLD_START)
            reference = _load_saved(cold, lambda: self.dir.load_policy(COLD_START))
            reference = reference.model.eval().requires_grad_(False)
        trainer = GRPOTrainer(policy, g, reference=reference)
        state = self.dir.trainer_state(last)
        if last > 0 and state.is_file():
            _load_saved(state, lambda: trainer.load_state(state))
        return trainer

    def _cold_start(self, state: LoopState, log: MetricsLog) -> None:
        """Iteration 0: build the policy, SFT on the corpus, evaluate, seed the pool."""
        from closedloop.loop.domain import seed_pool

        cfg, t0 = self.cfg, time.monotonic()
        metrics: dict[str, float] = {}
        pairs = corpus_pairs(cfg)
        with progress(self.console) as prog:
            bar = prog.add_task("cold start: build", total=3, note="")
            state.policy = build_policy(cfg, pairs, self.dir.policy("init.tmp"))
            prog.update(bar, advance=1, description="cold start: SFT")
            if pairs:
                examples = corpus_examples(state.policy, pairs)
                state.set_corpus(examples)
                run = train_cold_start(
                    state.policy,
                    examples,
                    cfg,
                    lambda k, n, loss: prog.update(bar, note=f"step {k}/{n}, loss {loss:.3f}"),
                )
                metrics.update({Metric.SFT_STEPS: run.steps, Metric.SFT_LOSS: run.last_loss})
            prog.update(bar, advance=1, description="cold start: held-out eval")
            ev = phases.evaluate(state.sampler, state.heldout, state.verifier, cfg)
            n, p = ev.scores[state.primary]
            prog.update(
                bar, advance=1, description="cold start: done", note=f"held-out pass@1 {p:.3f}"
            )
        self.dir.save_policy(state.policy, COLD_START)
        seeds = (
            seed_pool(cfg, SEED_POOL_SIZE, task_phrase(cfg))
            if cfg.domain is Domain.LIST_FUNCTIONS
            else []
        )
        seeds = [t for t in seeds if state.guard.check(t) is None]
        fps = {}
        if cfg.challenger.novelty and seeds:  # the novelty pressure compares against them
            from closedloop.tasks.fingerprint import fingerprint_tasks

            fps = dict(
                zip([t.id for t in seeds], fingerprint_tasks(seeds, state.verifier), strict=True)
            )
        metrics.update(ev.metrics(state.primary))
        metrics.update({Metric.SEED_TASKS: len(seeds), Metric.SECONDS: time.monotonic() - t0})
        state.store.commit_iteration(
            IterationRecord(
                0,
                seeds,
                [],
                [],
                {str(k): float(v) for k, v in metrics.items()},
                {COLD_START: ev.scores},
                [
                    ("cold_start", {"examples": len(pairs)}),
                    (PER_TASK_EVENT, {"policy": COLD_START, "scores": ev.per_task}),
                ],
                fingerprints=fps,
            )
        )
        log.write(0, metrics)
        self.console.print(
            f"cold start | corpus {len(pairs)} | held-out {p:.3f} (n={n}) | "
            f"{metrics[Metric.SECONDS]:.1f}s"
        )

    def _iteration(
        self, state: LoopState, it: int, log: MetricsLog
    ) -> list[tuple[int, dict[str, Any]]]:
        """Run iteration ``it``, save its policy, run the monitors and commit it whole. Returns
        the early-stop event it committed (a one-item list) when self-play stops, else []."""
        cfg, store = self.cfg, state.store
        t0 = time.monotonic()
        res = run_iteration(state, it)
        m = res.metrics
        self.dir.save_policy(state.policy, iter_label(it), state.trainer)
        alarms = detect(store.metrics_rows() + [{Metric.ITERATION: it, **m}], cfg.monitor)
        m.update(alarm_metrics(alarms))
        events: list[tuple[str, dict[str, Any]]] = [(REJECTIONS_EVENT, dict(res.generated.reasons))]
        events += [(ALARM_EVENT, a.to_json()) for a in alarms]
        evals: dict[str, EvalScores] = {}
        if res.evaluated is not None:
            evals[iter_label(it)] = res.evaluated.scores
            events.append(
                (PER_TASK_EVENT, {"policy": iter_label(it), "scores": res.evaluated.per_task})
            )
        evaluated = [i for d in store.evals().values() for (_n, _p, i) in d.values()]
        stop = early_stop.decide(alarms, cfg.monitor.on_alarm, it, evaluated)
        if stop is not None:
            events.append((early_stop.EARLY_STOP_EVENT, stop.to_json()))
        m[Metric.SECONDS] = time.monotonic() - t0
        store.commit_iteration(
            IterationRecord(
                it,
                res.generated.accepted,
                res.proposals,
                res.attempted.rows(),
                m,
                evals,
                events,
                fingerprints=res.generated.accepted_fingerprints,
            )
        )
        self.dir.prune_trainer_states(keep=it)
        log.write(it, m)
        # one line per iteration even where the console is 80 columns (a log file, CI)
        self.console.print(summary_line(it, m), soft_wrap=True)
        for a in alarms:
            self.console.print(alarm_line(a), soft_wrap=True)
        if stop is None:
            return []
        self.console.print(
            f"monitor.on_alarm = '{cfg.monitor.on_alarm}': self-play stops after iteration {it}"
            + (f"; the final policy is {stop.rollback_to}" if stop.rollback_to else ""),
            soft_wrap=True,
        )
        return [(it, stop.to_json())]

    def _finish(self, state: LoopState) -> dict[str, EvalScores]:
        """Save the final policy, run the control, write summary.json and print the table.
        Returns label -> held-out set -> (n_tasks, pass@1)."""
        cfg, store = self.cfg, state.store
        last = store.last_iteration()
        evals = store.evals()
        rows = store.metrics_rows()
        source, rollback = early_stop.final_source(last, store.events(early_stop.EARLY_STOP_EVENT))
        if rollback is not None:
            state.policy = load_run_policy(cfg, self.dir.policy(rollback), state.policy)
        self.dir.save_policy(state.policy, FINAL)
        cold = _stored(evals, COLD_START, state.heldout)
        if cold is None:
            raise RunDirError(f"{self.dir.store}: the cold start's evaluation is missing")
        scores: dict[str, EvalScores] = {COLD_START: cold}
        per_task = {d["policy"]: d["scores"] for _it, d in store.events(PER_TASK_EVENT)}
        # The last iteration is always evaluated (a rollback's target was), so final is normally
        # its stored score.
        final = _stored(evals, iter_label(source), state.heldout)
        if final is None or iter_label(source) not in per_task:
            ev = phases.evaluate(state.sampler, state.heldout, state.verifier, cfg)
            final, per_task[iter_label(source)] = ev.scores, ev.per_task
        scores[FINAL] = final
        store.add_eval(FINAL, last, final)
        if has_control(cfg):
            # as many update steps as the final policy had (a rollback drops the later ones)
            steps = int(
                sum(r.get(Metric.OPTIMIZER_STEPS, 0) for r in rows if r[Metric.ITERATION] <= source)
            )
            control = _stored(evals, CONTROL, state.heldout)
            made = [d.get(CONTROL_STEPS) for _it, d in store.events(CONTROL_EVAL_EVENT)]
            if made and made[-1] != steps:  # a run extended since: matched to fewer updates
                control = None
            if control is None:
                with progress(self.console) as prog:
                    bar = prog.add_task(
                        "control: SFT on the cold-start corpus", total=2, note=f"{steps} steps"
                    )
                    state.policy = self.dir.load_policy(COLD_START)
                    train_control(state.policy, state.corpus_examples(), steps, cfg)
                    prog.update(bar, advance=1, description="control: held-out eval")
                    ev = phases.evaluate(state.sampler, state.heldout, state.verifier, cfg)
                    control = ev.scores
                    prog.update(bar, advance=1)
                self.dir.save_policy(state.policy, CONTROL)
                store.add_event(
                    last, CONTROL_EVAL_EVENT, {**ev.metrics(state.primary), CONTROL_STEPS: steps}
                )
                store.add_event(last, PER_TASK_EVENT, {"policy": CONTROL, "scores": ev.per_task})
                per_task[CONTROL] = ev.per_task
                store.add_eval(CONTROL, last, control)
            scores[CONTROL] = control
        by = by_set(scores)
        primary = by[state.primary]
        summary: dict[str, Any] = {
            "heldout_set": state.primary,
            "iterations": last,
            "policies": _summary_entries(primary),
            "heldout_sets": {name: _summary_entries(t) for name, t in by.items()},
            "heldout_files": self.heldout_files,
            "alarms": [data for _it, data in store.events(ALARM_EVENT)],
            "stopped_early": bool(store.events(early_stop.EARLY_STOP_EVENT)),
            "gate": None,
        }
        final_row = next((r for r in rows if r[Metric.ITERATION] == source), rows[-1])
        control_rows = [d for _it, d in store.events(CONTROL_EVAL_EVENT)]
        sampled = {COLD_START: rows[0], FINAL: final_row, CONTROL: (control_rows or [{}])[-1]}
        for label, metrics in sampled.items():
            entry = summary["policies"].get(label)
            if entry is not None and Metric.HELDOUT_FILTERED_PASS_AT_1 in metrics:
                entry["filtered_pass@1"] = metrics[Metric.HELDOUT_FILTERED_PASS_AT_1]
                entry["confidence"] = metrics[Metric.HELDOUT_CONFIDENCE]
        if rollback is not None:
            summary["rolled_back_to"] = rollback
        if source > 0 and COLD_START in per_task:
            g = decide(
                per_task[iter_label(source)],
                per_task[COLD_START],
                cfg.gate.alpha,
                cfg.gate.min_gain,
            )
            summary["gate"] = {"candidate": FINAL, "baseline": COLD_START, **g.to_json()}
        scored = {COLD_START: per_task.get(COLD_START), FINAL: per_task.get(iter_label(source))}
        scored[CONTROL] = per_task.get(CONTROL)
        scored = {k: v for k, v in scored.items() if v is not None and k in scores}
        summary["families"] = family_table(state.heldout[state.primary], scored)
        if cfg.eval.probe_per and cfg.domain is Domain.LIST_FUNCTIONS:
            summary["probe"] = self._probe(state, list(scores))
        self.dir.write_summary(summary)
        extra = {name: t for name, t in by.items() if name != state.primary}
        self.console.print(table_view(primary, extra))
        if len(summary["families"]) > 1:
            order = [p for p in (COLD_START, CONTROL, FINAL) if p in scored]
            self.console.print(family_view(summary["families"], order))
        filtered = {
            k: v["filtered_pass@1"]
            for k, v in summary["policies"].items()
            if "filtered_pass@1" in v
        }
        if filtered:
            self.console.print(
                f"filtered pass@1 ({cfg.eval.samples} samples, the first that reproduces the shown "
                "examples): " + ", ".join(f"{k} {v:.3f}" for k, v in filtered.items()),
                soft_wrap=True,
            )
        line = narrowing_line(state.primary, rows[0], final_row) if source > 0 else None
        if line:
            # a gain in pass@1 with fewer programs may be favourite programs that happen to fit
            self.console.print(line, soft_wrap=True)
        if summary["gate"] is not None:
            self.console.print(gate_line(state.primary, summary["gate"]), soft_wrap=True)
        raised = alarms_line(summary["alarms"])
        if raised:
            self.console.print(raised, soft_wrap=True)
        self._report()
        return scores

    def _probe(self, state: LoopState, labels: list[str]) -> dict[str, dict[str, Any]]:
        """The reading probe of each saved policy in ``labels`` (summary.json's ``probe``)."""
        from closedloop.loop.probe import PRIMITIVES, PROBE_SEED, probe_tasks, run_probe

        tasks = probe_tasks(state.verifier, list(PRIMITIVES), self.cfg.eval.probe_per, PROBE_SEED)
        out: dict[str, dict[str, Any]] = {}
        with progress(self.console) as prog:
            bar = prog.add_task("reading probe", total=len(labels), note=f"{len(tasks)} tasks")
            for label in labels:
                r = run_probe(self.dir.load_policy(label), tasks, state.verifier)
                out[label] = {
                    "pass@1": round(r.pass_at_1, 4),
                    "distinct_programs": r.distinct_programs,
                    "per_primitive": {k: round(v, 4) for k, v in r.per_primitive.items()},
                }
                prog.update(bar, advance=1)
        self.console.print(
            "reading probe (greedy, "
            f"{len(tasks)} tasks): " + ", ".join(f"{k} {v['pass@1']:.3f}" for k, v in out.items()),
            soft_wrap=True,
        )
        return out

    def _report(self) -> None:
        """Write ``report.html``; a failure here is reported and loses nothing of the run."""
        from closedloop.monitor.report import write_report

        try:
            path = write_report(self.run_dir)
        except Exception as e:  # noqa: BLE001 - the run is complete; the report is a view of it
            self.console.print(
                f"report not written ({type(e).__name__}: {e}); retry with "
                f"closedloop report {self.run_dir}",
                markup=False,
            )
        else:
            self.console.print(f"report: {path}", markup=False)


def pool_behaviours(store: RunStore, verifier: Any) -> set[str]:
    """Behaviour fingerprints of every pool task (what ``challenger.novelty`` compares a
    proposal with): stored with the tasks, computed here for any stored without one."""
    from closedloop.tasks.fingerprint import fingerprint_tasks

    stored = dict(store.task_pool.fingerprints())
    missing = [t for t in store.tasks() if t.id not in stored]
    fps = list(stored.values()) + (fingerprint_tasks(missing, verifier) if missing else [])
    return {fp.behaviour for fp in fps if fp.behaviour}


def _stored(
    evals: dict[str, dict[str, tuple[int, float, int]]], label: str, heldout: dict[str, Any]
) -> EvalScores | None:
    """``label``'s stored scores when every held-out set has one, else None (evaluate)."""
    rows = evals.get(label, {})
    if any(name not in rows for name in heldout):
        return None
    return {name: rows[name][:2] for name in heldout}


def by_set(scores: dict[str, EvalScores]) -> dict[str, dict[str, tuple[int, float]]]:
    """Regroup label -> set -> score as set -> label -> score (set order kept)."""
    out: dict[str, dict[str, tuple[int, float]]] = {}
    for label, per_set in scores.items():
        for name, score in per_set.items():
            out.setdefault(name, {})[label] = score
    return out


def _summary_entries(table: dict[str, tuple[int, float]]) -> dict[str, dict[str, float]]:
    return {k: {"n_tasks": n, "pass@1": p} for k, (n, p) in table.items()}


def _load_saved(path: Path, load: Callable[[], _T]) -> _T:
    """``load()`` of what a run saved at ``path``, any failure to read it a
    :class:`RunDirError` naming the path (a resume then stops in one line, changing
    nothing it has not already rolled back)."""
    if not path.exists():
        raise RunDirError(f"{path}: missing; the run cannot be resumed from it (start a new run)")
    try:
        return load()
    except (ConfigError, RunDirError):
        raise
    except Exception as e:  # noqa: BLE001 - any failure to read it: safetensors, pickle, torch
        first = (str(e).strip().splitlines() or [""])[0][:300]
        raise RunDirError(
            f"{path}: cannot be loaded ({type(e).__name__}: {first}); the run cannot be "
            "resumed from it (start a new run)"
        ) from None
