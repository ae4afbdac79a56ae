"""The run directory: its layout, creating and reopening it, policy directories, summary.json.

Layout (a public contract)::

    config.toml            the effective config (closedloop.loop.config)
    run.sqlite             the run store (closedloop.loop.store): tasks, attempts, metrics, ...
    heldout/               the held-out sets, materialised when the run is created
    metrics.jsonl, tb/     per-iteration metrics (closedloop.monitor.metrics)
    policies/cold_start/   Hugging Face model directories that `closedloop eval --policy` loads
    policies/iter_NNN/     (the newest also holds trainer_state.pt: the GRPO optimizer, for resume)
    policies/final/
    policies/control/
    summary.json           the held-out table per policy, alarms, the gate
    report.html            closedloop.monitor.report

Owns paths and the atomic writing of policies and the summary. Must never decide what a policy
or a summary holds (the runner does) or delete a committed iteration's policy.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from closedloop.loop.config import ConfigError, RunConfig, dump_config, load_config
from closedloop.monitor.metrics import METRICS_FILE, metric_iterations
from closedloop.train.directories import replace_dir, restore_aside

CONFIG_FILE = "config.toml"
STORE_FILE = "run.sqlite"
SUMMARY_FILE = "summary.json"
REPORT_FILE = "report.html"
HELDOUT_DIR = "heldout"
POLICIES_DIR = "policies"
TRAINER_STATE_FILE = "trainer_state.pt"
"""In the newest ``iter_NNN`` policy directory: the GRPO trainer's state (optimizer moments,
version), so a resumed run continues the same algorithm."""

COLD_START = "cold_start"
FINAL = "final"
CONTROL = "control"


class RunDirError(ValueError):
    """The run directory cannot be used (exists and is not empty, or is not a run to resume)."""


def iter_label(iteration: int) -> str:
    """``iter_NNN`` (0 is ``cold_start``)."""
    return COLD_START if iteration == 0 else f"iter_{iteration:03d}"


def iteration_of(label: str) -> int | None:
    """The inverse of :func:`iter_label` (None for other labels: ``final``, ``control``, ...)."""
    if label == COLD_START:
        return 0
    digits = label.removeprefix("iter_")
    return int(digits) if label.startswith("iter_") and digits.isdigit() else None


def lock_run_dir(root: Path) -> int:
    """Lock the run directory against a second run of it (``flock`` on the directory itself:
    no file is added, and the kernel drops the lock when the process ends, however it ends).
    Returns the descriptor that holds it (closing it unlocks). Raises :class:`RunDirError`
    when another process holds it: two ``--resume`` of one run both trained its next
    iteration, and the second was told its healthy store was damaged."""
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise RunDirError(
            f"{root}: another closedloop process is running this run; wait for it to finish "
            "(or stop it) before resuming"
        ) from None
    except OSError:  # a file system without locks: run unguarded, as before
        pass
    return fd


@dataclass(frozen=True)
class RunDir:
    """One run's directory. ``RunDir.create`` for a new run, ``RunDir.open`` to resume."""

    root: Path

    @classmethod
    def create(cls, root: Path, cfg: RunConfig) -> RunDir:
        """A new run directory holding ``config.toml``; refuses an existing non-empty one."""
        root = Path(root)
        if root.exists() and (not root.is_dir() or any(root.iterdir())):
            raise RunDirError(
                f"{root} exists and is not empty; choose a new --run-dir or --resume it"
            )
        root.mkdir(parents=True, exist_ok=True)
        run = cls(root)
        run.write_config(cfg)
        return run

    def write_config(self, cfg: RunConfig) -> None:
        """Write ``config.toml`` whole or not at all (a resume that extends the run rewrites
        it: a crash must leave the old one or the new one)."""
        tmp = self.root / (CONFIG_FILE + ".tmp")
        tmp.write_text(dump_config(cfg), encoding="utf-8")
        tmp.replace(self.root / CONFIG_FILE)

    @classmethod
    def open(cls, root: Path) -> tuple[RunDir, RunConfig]:
        """An existing run and its config."""
        root = Path(root)
        if not (root / CONFIG_FILE).is_file():
            raise RunDirError(f"{root} is not a run directory (no {CONFIG_FILE})")
        try:
            cfg = load_config(root / CONFIG_FILE)
        except ConfigError as e:
            raise RunDirError(str(e)) from None
        return cls(root), cfg

    # -- paths -------------------------------------------------------------------------------
    @property
    def store(self) -> Path:
        return self.root / STORE_FILE

    @property
    def summary(self) -> Path:
        return self.root / SUMMARY_FILE

    @property
    def heldout(self) -> Path:
        return self.root / HELDOUT_DIR

    def policy(self, label: str) -> Path:
        """``RUN_DIR/policies/<label>``."""
        return self.root / POLICIES_DIR / label

    def trainer_state(self, iteration: int) -> Path:
        """Where the trainer state saved with iteration ``iteration``'s policy lives."""
        return self.policy(iter_label(iteration)) / TRAINER_STATE_FILE

    # -- policies ----------------------------------------------------------------------------
    def save_policy(self, policy: Any, label: str, trainer: Any = None) -> Path:
        """Write ``policy`` (and the trainer's state, when given) as ``policies/<label>``,
        atomically: a crash leaves the old directory or the new one, never half of one (the old
        one perhaps renamed aside, which a resume puts back: :meth:`drop_policies_after`)."""
        final = self.policy(label)
        tmp = final.with_name(final.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        policy.save(tmp)
        if trainer is not None:
            trainer.save_state(tmp / TRAINER_STATE_FILE)
        replace_dir(tmp, final)
        return final

    def load_policy(self, label: str) -> Any:
        """The Hugging Face policy saved as ``policies/<label>``."""
        from closedloop.policy.hf import HFPolicy

        return HFPolicy.from_pretrained(self.policy(label))

    def check_store_holds_the_files(self, last: int) -> None:
        """Raise :class:`RunDirError`, changing nothing, when the files record more than the
        store's ``last`` committed iteration: then the store was lost or replaced (an empty
        or older ``run.sqlite``), and resuming from it would delete policies and metrics the
        run had committed. A policy is saved before its iteration commits and a metrics row
        after, so a consistent directory holds policies up to ``last + 1`` and rows up to
        ``last``; ``final``, ``control`` and ``summary.json`` follow a committed iteration."""
        root = self.root / POLICIES_DIR
        labels = sorted(p.name for p in root.iterdir()) if root.is_dir() else []
        beyond = [n for n in labels if (it := iteration_of(n)) is not None and it > last + 1]
        if last < 0:
            beyond += [n for n in labels if n in (FINAL, CONTROL)]
            if self.summary.is_file():
                beyond.append(SUMMARY_FILE)
        rows = metric_iterations(self.root / METRICS_FILE)
        if rows and max(rows) > last:
            beyond.append(f"{METRICS_FILE} rows up to iteration {max(rows)}")
        if beyond:
            held = "no committed iteration" if last < 0 else f"iterations up to {last}"
            raise RunDirError(
                f"{self.store} holds {held}, but the run directory records more "
                f"({', '.join(beyond[:4])}): the store was lost or replaced, so resuming "
                "would delete what the run committed; nothing was changed (restore the "
                "run's own run.sqlite, or start a new run)"
            )

    def drop_policies_after(self, last: int) -> None:
        """Delete unfinished writes and the policies of iterations after ``last`` (the last
        committed one): they belong to an iteration a crash cut short, which runs again."""
        root = self.root / POLICIES_DIR
        if not root.is_dir():
            return
        restore_aside(root)  # a crash mid-replace left a policy renamed aside: whole, put back
        for p in root.iterdir():
            it = iteration_of(p.name)  # cold_start is 0: stale only when nothing committed
            if p.name.endswith(".tmp") or (it is not None and it > last):
                shutil.rmtree(p, ignore_errors=True)

    def prune_trainer_states(self, keep: int) -> None:
        """Remove the trainer state of every iteration but ``keep`` (the last committed one):
        only it is needed to resume, and each copy is twice the model's size."""
        root = self.root / POLICIES_DIR
        if not root.is_dir():
            return
        for p in root.iterdir():
            it = iteration_of(p.name)
            if it is not None and it != keep:
                (p / TRAINER_STATE_FILE).unlink(missing_ok=True)

    # -- summary -----------------------------------------------------------------------------
    def write_summary(self, summary: dict[str, Any]) -> Path:
        """Write ``summary.json`` atomically."""
        tmp = self.summary.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(summary, indent=2), encoding="utf-8")
        tmp.replace(self.summary)
        return self.summary
