"""The orchestrator: the run directory, the cold start, the iterations, the control, the table.

Run directory (a public contract)::

    config.toml            the effective config
    run.sqlite             the run store (closedloop.loop.store)
    metrics.jsonl, tb/     per-iteration metrics (closedloop.monitor.metrics)
    policies/cold_start/   Hugging Face model directories that `closedloop eval --policy` loads
    policies/iter_NNN/
    policies/final/
    policies/control/
    summary.json           held-out table per policy (see below)
    report.html            closedloop.monitor.report: table, gate, alarms, plots

``summary.json``::

    {"heldout_set": PRIMARY, "iterations": N,
     "policies": {label: {"n_tasks", "pass@1"}},              # on the primary set
     "heldout_sets": {set: {label: {"n_tasks", "pass@1"}}},   # every set, primary included
     "alarms": [{"kind", "iteration", "message", "figures"}],  # closedloop.monitor.detectors
     "stopped_early": bool,                          # monitor.on_alarm = "stop" | "rollback" fired
     "rolled_back_to": "iter_NNN" | "cold_start",    # only after a rollback: final's source
     "gate": {"candidate": "final", "baseline": "cold_start", "decision", "wins", "losses",
              "p_value", ...} | null}                        # closedloop.gate, [gate] config

The held-out sets are :func:`closedloop.loop.domain.heldout_sets`: the domain's own set (the
primary one, first) and one per ``eval.heldout_files`` file, named by its file stem. Every set
is evaluated at the same points (cold start, evaluated iterations, final, control); the
primary set alone drives ``heldout_pass@1`` and the per-iteration line, and each other set
adds ``heldout_pass@1/<set>`` to the metrics and a column to the final table.

Iteration 0 is the cold start (build, SFT on the grammar corpus, seed pool); iterations
1..N are self-play. An iteration's policy is saved before its rows are committed; on resume,
policy directories newer than the last committed iteration are deleted and that iteration
is run again (losing at most the one in flight). The optimizer state is not kept across a
resume (a fresh AdamW starts from the last committed policy).
"""

from __future__ import annotations

import json
import random
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from closedloop.gate import decide
from closedloop.loop.config import (
    AlarmAction,
    ConfigError,
    Domain,
    ModelKind,
    RunConfig,
    TrainAlgorithm,
    dump_config,
    load_config,
)
from closedloop.loop.store import EvalScores, IterationRecord, RunStore, StoreError
from closedloop.monitor.detectors import Alarm, Thresholds, alarm_metrics, detect
from closedloop.monitor.metrics import MetricsLog, summary_line
from closedloop.monitor.variety import group_outcomes, narrowing_line, proposal_clusters

if TYPE_CHECKING:
    from closedloop.train.sft import SFTExample

CONFIG_FILE = "config.toml"
STORE_FILE = "run.sqlite"
SUMMARY_FILE = "summary.json"
SEED_POOL_SIZE = 200


class RunDirError(ValueError):
    """The run directory cannot be used (exists and is not empty, or is not a run to resume)."""


def policy_dir(run_dir: Path, label: str) -> Path:
    """``RUN_DIR/policies/<label>``."""
    return run_dir / "policies" / label


def iter_label(iteration: int) -> str:
    """``iter_NNN`` (0 is ``cold_start``)."""
    return "cold_start" if iteration == 0 else f"iter_{iteration:03d}"


def iteration_of(label: str) -> int | None:
    """The inverse of :func:`iter_label` (None for other labels: ``final``, ``control``, ...)."""
    if label == "cold_start":
        return 0
    digits = label.removeprefix("iter_")
    return int(digits) if label.startswith("iter_") and digits.isdigit() else None


HELDOUT_METRIC = "heldout_pass@1"
PER_TASK_EVENT = "heldout_per_task"
"""Run-store event with a policy's per-task scores on the primary held-out set (for the gate)."""


def heldout_metrics(scores: EvalScores, primary: str) -> dict[str, float]:
    """Metrics of one evaluation: ``heldout_pass@1`` for the primary set (the key every reader
    of metrics.jsonl already knows), ``heldout_pass@1/<set>`` for each other set."""
    return {
        HELDOUT_METRIC if name == primary else f"{HELDOUT_METRIC}/{name}": p
        for name, (_n, p) in scores.items()
    }


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

    def __init__(self, cfg: RunConfig, run_dir: Path, console: Console | None = None) -> None:
        self.cfg = cfg
        self.run_dir = Path(run_dir)
        self.console = console or Console(stderr=True)
        self.store: RunStore | None = None
        self.policy: Any = None
        self._cold_examples: list[Any] | None = None
        self._pool_behaviours: set[str] | None = None
        self.reward_wrapper: Callable[[Any], Any] | None = None
        """Wraps the run's verifier into the one that scores the solver's attempts (the
        training reward). None: the run's verifier. Held-out evaluation, task validation and
        relabelling always use the run's own verifier. ``benchmarks/monitor_alarms.py`` plants a
        weak reward here to show the reward-hacking alarm."""

    # -- entry points ----------------------------------------------------------------------
    @classmethod
    def new(cls, cfg: RunConfig, run_dir: Path, console: Console | None = None) -> LoopRunner:
        """A new run; refuses an existing non-empty directory."""
        run_dir = Path(run_dir)
        if run_dir.exists() and (not run_dir.is_dir() or any(run_dir.iterdir())):
            raise RunDirError(
                f"{run_dir} exists and is not empty; choose a new --run-dir or --resume it"
            )
        run_dir.mkdir(parents=True, exist_ok=True)
        (run_dir / CONFIG_FILE).write_text(dump_config(cfg), encoding="utf-8")
        return cls(cfg, run_dir, console)

    @classmethod
    def resume(cls, run_dir: Path, console: Console | None = None) -> LoopRunner:
        """Reopen a run from its ``config.toml``."""
        run_dir = Path(run_dir)
        if not (run_dir / CONFIG_FILE).is_file():
            raise RunDirError(f"{run_dir} is not a run directory (no {CONFIG_FILE})")
        try:
            cfg = load_config(run_dir / CONFIG_FILE)
        except ConfigError as e:
            raise RunDirError(str(e)) from None
        return cls(cfg, run_dir, console)

    def run(self) -> RunResult:
        """Run every remaining phase and return the held-out table."""
        from transformers.utils import logging as hf_logging

        from closedloop.loop.domain import heldout_sets
        from closedloop.sandbox import SandboxLimits
        from closedloop.tasks.contamination import ContaminationGuard
        from closedloop.verify import Verifier

        # The run shows its own phase bars; transformers' per-save/per-load bars (every
        # iteration writes and the control reloads a policy) would bury them.
        hf_logging.disable_progress_bar()
        t0 = time.monotonic()
        cfg = self.cfg
        try:
            self.store = store = RunStore(self.run_dir / STORE_FILE)
        except StoreError as e:
            raise RunDirError(str(e)) from None
        last = store.last_iteration()
        store.rollback_after(last)
        self._drop_policies_after(last)
        log = MetricsLog(self.run_dir)
        log.rewrite(store.metrics_rows())
        heldout = heldout_sets(cfg)
        guard = ContaminationGuard([t for ts in heldout.values() for t in ts])
        # The first set is the primary one (summary line, heldout_pass@1, RunResult.table).
        self.heldout_name = next(iter(heldout))
        self.heldout = heldout
        try:
            with Verifier(
                workers=cfg.workers, limits=SandboxLimits(wall_s=cfg.verify_timeout_s)
            ) as inner:
                self.verifier = verifier = TimedVerifier(inner)
                if last < 0:
                    self._cold_start(guard, log)
                    last = 0
                else:
                    self.console.print(f"resuming {self.run_dir} after iteration {last}")
                self.policy = self._load(policy_dir(self.run_dir, iter_label(last)))
                trainer = self._trainer()
                stopped = store.events("early_stop")
                if stopped:
                    self.console.print(f"self-play stopped early after iteration {stopped[-1][0]}")
                for it in range(last + 1, cfg.iterations + 1):
                    if stopped:
                        break
                    stopped = self._iteration(it, trainer, verifier, guard, log)
                scores = self._finish(verifier)
        finally:
            log.close()
            store.close()
        sets = by_set(scores)
        return RunResult(self.run_dir, sets[self.heldout_name], time.monotonic() - t0, sets)

    # -- pieces ----------------------------------------------------------------------------
    def _drop_policies_after(self, last: int) -> None:
        root = self.run_dir / "policies"
        if not root.is_dir():
            return
        for p in root.iterdir():
            it = iteration_of(p.name)  # cold_start is 0: stale only when nothing committed
            if p.name.endswith(".tmp") or (it is not None and it > last):
                shutil.rmtree(p, ignore_errors=True)

    def _behaviours(self, verifier: Any) -> set[str] | None:
        """Behaviour fingerprints of the pool (for ``challenger.novelty``): computed from the
        store once per process, then kept up to date by ``phases.generate``."""
        if not self.cfg.challenger.novelty:
            return None
        if self._pool_behaviours is None:
            from closedloop.tasks.fingerprint import fingerprint_tasks

            assert self.store is not None
            fps = fingerprint_tasks(self.store.pool(), verifier)
            self._pool_behaviours = {fp.behaviour for fp in fps if fp.behaviour}
        return self._pool_behaviours

    def _load(self, path: Path) -> Any:
        from closedloop.policy.hf import HFPolicy

        return HFPolicy.from_pretrained(path)

    def _save(self, label: str) -> Path:
        final = policy_dir(self.run_dir, label)
        tmp = final.with_name(final.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        self.policy.save(tmp)
        shutil.rmtree(final, ignore_errors=True)
        tmp.rename(final)
        return final

    def _trainer(self) -> Any:
        if self.cfg.train.algorithm is not TrainAlgorithm.GRPO:
            return None
        from closedloop.train.grpo import GRPOConfig, GRPOTrainer

        t = self.cfg.train
        return GRPOTrainer(
            self.policy,
            GRPOConfig(
                learning_rate=t.learning_rate,
                minibatch_size=t.minibatch_size,
                beta=t.beta,
                track_ref_kl=t.beta > 0,
            ),
        )

    def _progress(self) -> Progress:
        return Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            TextColumn("{task.fields[note]}"),
            TimeElapsedColumn(),
            console=self.console,
            transient=False,
        )

    def _evaluate(self, verifier: Any) -> tuple[EvalScores, dict[str, float], dict[str, float]]:
        """The policy on every held-out set (primary first): set -> (n_tasks, pass@1); the
        variety of its greedy programs on the primary set as metrics (``heldout_distinct_programs``,
        ``heldout_top_program_share``: the run's collapse figure, see ``monitor.variety``); and
        the primary set's per-task scores (task id -> 1.0 / 0.0, what the gate compares)."""
        from closedloop.loop.evaluate import evaluate

        e = self.cfg.eval
        scores: EvalScores = {}
        variety: dict[str, float] = {}
        per_task: dict[str, float] = {}
        for name, tasks in self.heldout.items():
            res = evaluate(
                self.policy,
                tasks,
                verifier,
                samples=1,
                turns=e.turns,
                max_new_tokens=e.max_new_tokens,
            )
            scores[name] = (res.n_tasks, res.pass_at_1)
            if name == self.heldout_name:
                variety = res.variety.metrics("heldout_")
                per_task = {t: float(c) for t, c in res.successes.items()}
        return scores, variety, per_task

    def _stored(
        self, evals: dict[str, dict[str, tuple[int, float, int]]], label: str
    ) -> EvalScores | None:
        """``label``'s stored scores when every held-out set has one, else None (evaluate)."""
        rows = evals.get(label, {})
        if any(name not in rows for name in self.heldout):
            return None
        return {name: rows[name][:2] for name in self.heldout}

    def _cold_start_examples(self) -> list[Any]:
        """The cold-start corpus as SFT examples (kept from the cold start; rebuilt, the same,
        after a resume). The control trains on them with the cold start's tokenizer."""
        if self._cold_examples is None:
            from closedloop.loop.domain import cold_start_pairs
            from closedloop.train.sft import examples_from_text

            self._cold_examples = examples_from_text(self.policy, cold_start_pairs(self.cfg))
        return self._cold_examples

    def _anchor(self, n_relabels: int, iteration: int) -> list[SFTExample]:
        """Cold-start examples replayed beside ``n_relabels`` relabels (``train.anchor_ratio``)."""
        want = round(self.cfg.train.anchor_ratio * n_relabels)
        if want <= 0 or not self.cfg.cold_start.corpus_size:
            return []
        pool = self._cold_start_examples()
        rng = random.Random(self.cfg.seed * 31 + iteration)
        return rng.sample(pool, min(want, len(pool)))

    def _cold_start_steps(self, n_examples: int) -> int:
        cs = self.cfg.cold_start
        return int(round(cs.epochs * n_examples / cs.batch_size))

    def _cold_start(self, guard: Any, log: MetricsLog) -> None:
        from closedloop.loop.domain import cold_start_pairs, seed_pool
        from closedloop.loop.updates import sft_steps

        cfg, t0 = self.cfg, time.monotonic()
        metrics: dict[str, float] = {}
        with self._progress() as prog:
            bar = prog.add_task("cold start: build", total=3, note="")
            if cfg.model.kind is ModelKind.EMBEDDED:
                from closedloop.policy.embedded import EmbeddedConfig, build_embedded_policy

                pairs = cold_start_pairs(cfg) if cfg.cold_start.corpus_size else []
                texts = [p + "\n" + c for p, c in pairs] or [cfg.challenger_prompt]
                ecfg = EmbeddedConfig(
                    vocab_size=cfg.model.vocab_size,
                    hidden_size=cfg.model.hidden_size,
                    num_layers=cfg.model.num_layers,
                    seed=cfg.seed,
                )
                self.policy = build_embedded_policy(
                    texts, self.run_dir / "policies" / "init.tmp", ecfg
                )
                shutil.rmtree(self.run_dir / "policies" / "init.tmp", ignore_errors=True)
            else:
                self.policy = self._load(Path(cfg.model.path or ""))
                pairs = []
            prog.update(bar, advance=1, description="cold start: SFT")
            if pairs:
                from closedloop.train.sft import examples_from_text

                ex = self._cold_examples = examples_from_text(self.policy, pairs)
                run = sft_steps(
                    self.policy,
                    ex,
                    self._cold_start_steps(len(ex)),
                    cfg.cold_start.batch_size,
                    cfg.cold_start.learning_rate,
                    cfg.seed,
                )
                metrics.update({"sft_steps": run.steps, "sft_loss": run.last_loss})
            prog.update(bar, advance=1, description="cold start: held-out eval")
            scores, variety, per_task = self._evaluate(self.verifier)
            n, p = scores[self.heldout_name]
            prog.update(
                bar, advance=1, description="cold start: done", note=f"held-out pass@1 {p:.3f}"
            )
        self._save("cold_start")
        seeds = seed_pool(cfg, SEED_POOL_SIZE) if cfg.domain is Domain.LIST_FUNCTIONS else []
        seeds = [t for t in seeds if guard.check(t) is None]
        metrics.update(heldout_metrics(scores, self.heldout_name))
        metrics.update(variety)
        metrics.update({"seed_tasks": len(seeds), "seconds": time.monotonic() - t0})
        assert self.store is not None
        self.store.commit_iteration(
            IterationRecord(
                0,
                seeds,
                [],
                [],
                metrics,
                {"cold_start": scores},
                [
                    ("cold_start", {"examples": len(pairs)}),
                    (PER_TASK_EVENT, {"policy": "cold_start", "scores": per_task}),
                ],
            )
        )
        log.write(0, metrics)
        self.console.print(
            f"cold start | corpus {len(pairs)} | held-out {p:.3f} (n={n}) | {metrics['seconds']:.1f}s"
        )

    def _iteration(
        self, it: int, trainer: Any, verifier: Any, guard: Any, log: MetricsLog
    ) -> list[tuple[int, dict[str, Any]]]:
        """Run iteration ``it`` and commit it. Returns the early-stop event it committed (a
        one-item list) when an alarm stops self-play, else an empty list."""
        from closedloop.loop import phases
        from closedloop.train.metrics import probe_distributions, probe_kl

        cfg, store = self.cfg, self.store
        assert store is not None
        t0, v0 = time.monotonic(), verifier.seconds
        version = it - 1
        with self._progress() as prog:
            bar = prog.add_task(f"iter {it}: generate", total=1, note="")
            tp = time.monotonic()
            gen = phases.generate(
                self.policy, cfg, verifier, guard, store.task_ids(), it, self._behaviours(verifier)
            )
            prog.update(bar, completed=1, note=f"{len(gen.accepted)}/{len(gen.proposals)} accepted")
            t_gen, tp = time.monotonic() - tp, time.monotonic()
            bar = prog.add_task(f"iter {it}: attempt", total=1, note="")
            tasks = phases.choose_tasks(cfg, gen.accepted, store.pool(), store.stats(), it, it == 1)
            reward = self.reward_wrapper(verifier) if self.reward_wrapper else verifier
            att = phases.attempt(self.policy, cfg, reward, tasks, it)
            # a reward that is not the run's verifier is spot-checked against it
            checked = (
                phases.audit(verifier, att, cfg.monitor.audit_samples, cfg.seed + it)
                if reward is not verifier
                else {}
            )
            rows = phases.challenger_rewards(cfg, gen, att)
            solver_t, chal_t = phases.trajectories(cfg, gen, rows, att, it, version)
            relabels = phases.relabel(cfg, verifier, att)
            scored = [a.reward for r in att.attempts for a in r if a.reward is not None]
            prog.update(bar, completed=1, note=f"{len(tasks)} tasks x {cfg.solver.samples}")
            t_att, tp = time.monotonic() - tp, time.monotonic()
            bar = prog.add_task(f"iter {it}: train", total=1, note="")
            # kl_policy: KL(before || after) across the whole train phase (GRPO or expert
            # iteration, plus hindsight SFT) on this iteration's first solver trajectories.
            # Not GRPOTrainer's kl_probe, which covers its GRPO update alone on a probe fixed
            # at the first batch it saw (and is not logged by the loop).
            probe = [(list(t.prompt_ids), list(t.completion_ids)) for t in solver_t[:8]]
            before = (
                probe_distributions(self.policy.model, probe, self.policy.pad_id) if probe else None
            )
            tr = phases.train(
                trainer,
                self.policy,
                cfg,
                solver_t,
                chal_t,
                cfg.seed + it,
                relabels,
                self._anchor(len(relabels), it),
            )
            kl_policy = (
                probe_kl(
                    before, probe_distributions(self.policy.model, probe, self.policy.pad_id), probe
                )
                if before is not None
                else None
            )
            prog.update(bar, completed=1, note=f"{tr.optimizer_steps} steps")
            t_train, tp = time.monotonic() - tp, time.monotonic()
            evals: dict[str, EvalScores] = {}
            variety: dict[str, float] = {}
            per_task: dict[str, float] | None = None
            every = cfg.eval.every
            if (every and it % every == 0) or it == cfg.iterations:
                bar = prog.add_task(f"iter {it}: eval", total=1, note="")
                evals[iter_label(it)], variety, per_task = self._evaluate(verifier)
                p = evals[iter_label(it)][self.heldout_name][1]
                prog.update(bar, completed=1, note=f"pass@1 {p:.3f}")
            t_eval = time.monotonic() - tp
        m = {
            "proposed": len(gen.proposals),
            "accepted": len(gen.accepted),
            "tasks": len(tasks),
            "solve_rate": sum(1 for r in scored if r >= 1.0) / len(scored) if scored else 0.0,
            "mean_reward": sum(scored) / len(scored) if scored else 0.0,
            "challenger_reward": (
                sum(r.reward for r in rows if r.reward is not None) / max(1, len(rows))
            ),
            "optimizer_steps": tr.optimizer_steps,
            "kl_policy": kl_policy,
            "t_generate": t_gen,
            "t_attempt": t_att,
            "t_train": t_train,
            "t_eval": t_eval,
            "t_verify": verifier.seconds - v0,
            **{f"train_{k}": v for k, v in tr.metrics.items()},
            **{f"reject_{k}": v for k, v in gen.reasons.items() if k != "accepted"},
            **proposal_clusters(gen.fingerprints),
            **checked,
            **group_outcomes([[a.reward for a in r if a.reward is not None] for r in att.attempts]),
        }
        if evals:
            m.update(heldout_metrics(evals[iter_label(it)], self.heldout_name))
            m.update(variety)
        self._save(iter_label(it))
        m = {k: v for k, v in m.items() if v is not None}
        alarms = detect(store.metrics_rows() + [{"iteration": it, **m}], thresholds(cfg))
        m.update(alarm_metrics(alarms))
        events: list[tuple[str, dict[str, Any]]] = [("rejections", dict(gen.reasons))]
        events += [("alarm", a.to_json()) for a in alarms]
        if per_task is not None:
            events.append((PER_TASK_EVENT, {"policy": iter_label(it), "scores": per_task}))
        stop = bool(alarms) and cfg.monitor.on_alarm is not AlarmAction.WARN
        if stop:
            data: dict[str, Any] = {"kinds": sorted({str(a.kind) for a in alarms})}
            if cfg.monitor.on_alarm is AlarmAction.ROLLBACK:
                before = [i for d in store.evals().values() for (_n, _p, i) in d.values()]
                data["rollback_to"] = iter_label(max(i for i in before if i < it))
            events.append(("early_stop", data))
        m["seconds"] = time.monotonic() - t0
        store.commit_iteration(
            IterationRecord(it, gen.accepted, rows, att.rows(), m, evals, events)
        )
        log.write(it, m)
        # one line per iteration even where the console is 80 columns (a log file, CI)
        self.console.print(summary_line(it, m), soft_wrap=True)
        for a in alarms:
            self.console.print(alarm_line(a), soft_wrap=True)
        if stop:
            to = events[-1][1].get("rollback_to")
            self.console.print(
                f"monitor.on_alarm = '{cfg.monitor.on_alarm}': self-play stops after iteration {it}"
                + (f"; the final policy is {to}" if to else ""),
                soft_wrap=True,
            )
            return [(it, events[-1][1])]
        return []

    def _finish(self, verifier: Any) -> dict[str, EvalScores]:
        """Save the final policy, run the control, write summary.json and print the table.
        Returns label -> held-out set -> (n_tasks, pass@1)."""
        from closedloop.loop.updates import sft_steps

        cfg, store = self.cfg, self.store
        assert store is not None
        last = store.last_iteration()
        evals = store.evals()
        stops = store.events("early_stop")
        rows = store.metrics_rows()
        rollback = stops[-1][1].get("rollback_to") if stops else None
        # the iteration the final policy comes from (a rollback's target, else the last one)
        source = last if rollback is None else iteration_of(rollback)
        assert source is not None, f"rollback target {rollback!r} is not an iteration's label"
        if rollback is not None:
            self.policy = self._load(policy_dir(self.run_dir, rollback))
        self._save("final")
        cold = self._stored(evals, "cold_start")
        assert cold is not None, "the cold start commits every held-out set"
        scores: dict[str, EvalScores] = {"cold_start": cold}
        # The last iteration is always evaluated (a rollback's target was), so final is normally
        # its stored score.
        final = self._stored(evals, iter_label(source))
        per_task = {d["policy"]: d["scores"] for _it, d in store.events(PER_TASK_EVENT)}
        if final is None or iter_label(source) not in per_task:
            final, _variety, per_task[iter_label(source)] = self._evaluate(verifier)
        scores["final"] = final
        store.add_eval("final", last, scores["final"])
        if cfg.control and cfg.model.kind is ModelKind.EMBEDDED and cfg.cold_start.corpus_size:
            control = self._stored(evals, "control")
            if control is None:
                # as many update steps as the final policy had (a rollback drops the later ones)
                steps = int(
                    sum(r.get("optimizer_steps", 0) for r in rows if r["iteration"] <= source)
                )
                with self._progress() as prog:
                    bar = prog.add_task(
                        "control: SFT on cold-start data", total=2, note=f"{steps} steps"
                    )
                    self.policy = self._load(policy_dir(self.run_dir, "cold_start"))
                    sft_steps(
                        self.policy,
                        self._cold_start_examples(),
                        steps,
                        cfg.cold_start.batch_size,
                        cfg.cold_start.learning_rate,
                        cfg.seed + 10_007,
                    )
                    prog.update(bar, advance=1, description="control: held-out eval")
                    control = self._evaluate(verifier)[0]
                    prog.update(bar, advance=1)
                self._save("control")
                store.add_eval("control", last, control)
            scores["control"] = control
        sets = by_set(scores)
        primary = sets[self.heldout_name]
        summary = {
            "heldout_set": self.heldout_name,
            "iterations": last,
            "policies": _summary_entries(primary),
            "heldout_sets": {name: _summary_entries(t) for name, t in sets.items()},
            "alarms": [data for _it, data in store.events("alarm")],
            "stopped_early": bool(stops),
            "gate": None,
        }
        if rollback is not None:
            summary["rolled_back_to"] = rollback
        if source > 0 and "cold_start" in per_task:
            g = decide(
                per_task[iter_label(source)],
                per_task["cold_start"],
                cfg.gate.alpha,
                cfg.gate.min_gain,
            )
            summary["gate"] = {"candidate": "final", "baseline": "cold_start", **g.to_json()}
        (self.run_dir / SUMMARY_FILE).write_text(json.dumps(summary, indent=2), encoding="utf-8")
        extra = {name: t for name, t in sets.items() if name != self.heldout_name}
        self.console.print(table_view(primary, extra))
        final_row = next((r for r in rows if r["iteration"] == source), rows[-1])
        line = narrowing_line(self.heldout_name, rows[0], final_row) if source > 0 else None
        if line:
            # a gain in pass@1 with fewer programs may be favourite programs that happen to fit
            self.console.print(line, soft_wrap=True)
        if summary["gate"] is not None:
            self.console.print(gate_line(self.heldout_name, summary["gate"]), soft_wrap=True)
        raised = alarms_line(summary["alarms"])
        if raised:
            self.console.print(raised, soft_wrap=True)
        self._report()
        return scores

    def _report(self) -> None:
        """Write ``report.html``; a failure here is reported and loses nothing of the run."""
        from closedloop.monitor.report import write_report

        try:
            path = write_report(self.run_dir)
        except Exception as e:  # noqa: BLE001 - the run is complete; the report is a view of it
            self.console.print(
                f"report not written ({type(e).__name__}: {e}); retry with "
                f"closedloop report {self.run_dir}"
            )
        else:
            self.console.print(f"report: {path}")


def thresholds(cfg: RunConfig) -> Thresholds:
    """The detectors' thresholds from the run's ``[monitor]`` section (same names)."""
    return Thresholds(**cfg.monitor.model_dump(exclude={"on_alarm", "audit_samples"}))


def gate_line(set_name: str, g: dict[str, Any]) -> str:
    """``gate: final vs cold start on SET: won 16, lost 11 of 200, p = 0.221 -> reject``."""
    return (
        f"gate: final vs cold start on {set_name}: won {g['wins']}, lost {g['losses']} of "
        f"{g['n_tasks']}, one-sided sign test p = {g['p_value']:.3g} -> {g['decision']}"
    )


def alarm_line(a: Alarm) -> str:
    """``ALARM collapse after iteration 6: ...`` (rich markup)."""
    return f"[bold red]ALARM[/] {a.kind} after iteration {a.iteration}: {a.message}"


def alarms_line(alarms: list[dict[str, Any]]) -> str | None:
    """``alarms: collapse after iterations 6, 9; reward_hacking after iteration 3`` (None when
    there were none)."""
    at: dict[str, list[int]] = {}
    for a in alarms:
        at.setdefault(a["kind"], []).append(a["iteration"])
    if not at:
        return None
    parts = [
        f"{kind} after iteration{'s' if len(its) > 1 else ''} {', '.join(map(str, its))}"
        for kind, its in at.items()
    ]
    return "[bold red]alarms:[/] " + "; ".join(parts)


def by_set(scores: dict[str, EvalScores]) -> dict[str, dict[str, tuple[int, float]]]:
    """Regroup label -> set -> score as set -> label -> score (set order kept)."""
    out: dict[str, dict[str, tuple[int, float]]] = {}
    for label, per_set in scores.items():
        for name, score in per_set.items():
            out.setdefault(name, {})[label] = score
    return out


def _summary_entries(table: dict[str, tuple[int, float]]) -> dict[str, dict[str, float]]:
    return {k: {"n_tasks": n, "pass@1": p} for k, (n, p) in table.items()}


class TimedVerifier:
    """A verifier that adds up the wall time during which any of its calls runs (for the
    time profile; calls made at once from several threads count once)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.seconds = 0.0
        self._lock = threading.Lock()
        self._active = 0
        self._since = 0.0

    def _timed(self, name: str, *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            if self._active == 0:
                self._since = time.monotonic()
            self._active += 1
        try:
            return getattr(self.inner, name)(*args, **kwargs)
        finally:
            with self._lock:
                self._active -= 1
                if self._active == 0:
                    self.seconds += time.monotonic() - self._since

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)  # pool, limits, ...: the wrapped verifier's

    def verify(self, *args: Any, **kwargs: Any) -> Any:
        """``Verifier.verify``, timed."""
        return self._timed("verify", *args, **kwargs)

    def verify_many(self, *args: Any, **kwargs: Any) -> Any:
        """``Verifier.verify_many``, timed."""
        return self._timed("verify_many", *args, **kwargs)

    def call(self, *args: Any, **kwargs: Any) -> Any:
        """``Verifier.call``, timed."""
        return self._timed("call", *args, **kwargs)

    def call_many(self, *args: Any, **kwargs: Any) -> Any:
        """``Verifier.call_many``, timed."""
        return self._timed("call_many", *args, **kwargs)


def table_view(
    table: dict[str, tuple[int, float]],
    extra: dict[str, dict[str, tuple[int, float]]] | None = None,
) -> Table:
    """The held-out table (cold start, control, final) on the primary set, plus one pass@1
    column per set in ``extra`` (set name -> label -> (n_tasks, pass@1))."""
    extra = extra or {}
    t = Table(title="held-out pass@1")
    t.add_column("policy")
    t.add_column("n_tasks", justify="right")
    t.add_column("pass@1", justify="right")
    for name in extra:
        t.add_column(f"{name} pass@1", justify="right")
    for label in ("cold_start", "control", "final"):
        if label in table:
            n, p = table[label]
            cells = [_cell(extra[name].get(label)) for name in extra]
            t.add_row(label, str(n), f"{p:.3f}", *cells)
    return t


def _cell(score: tuple[int, float] | None) -> str:
    # An extra set's size can differ from the primary's, so its cell carries its own n.
    return "-" if score is None else f"{score[1]:.3f} (n={score[0]})"
