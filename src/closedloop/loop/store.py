"""The run store: ``RUN_DIR/run.sqlite``. The run's task pool (tasks with provenance and
fingerprints, solve statistics per policy version: :class:`closedloop.tasks.pool.TaskPool`)
and the run's own tables (proposals, attempts with verdicts and rewards, metrics,
evaluations, events, iterations) share the file and one connection.

Crash safety: everything an iteration produces, the pool's new tasks and solve statistics
included, is written in **one transaction** that also marks the iteration complete
(:meth:`RunStore.commit_iteration`). A run killed at any moment therefore holds only whole
iterations; :meth:`RunStore.rollback_after` deletes anything newer than the last complete
iteration (a no-op unless the file was edited), so a resumed run never duplicates rows.
SQLite's journal (WAL, as the pool sets it) makes each commit atomic.

The curriculum reads the pool through :meth:`RunStore.pick_tasks`: the solve statistics of
the last few iterations only (:mod:`closedloop.tasks.curriculum`). An iteration's attempts
count as the outcomes of policy version :func:`attempt_version` (the policy that made them).
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from closedloop.roles.challenger import ProposalRejection
from closedloop.tasks.curriculum import CurriculumConfig
from closedloop.tasks.fingerprint import Fingerprint
from closedloop.tasks.format import Task
from closedloop.tasks.pool import PoolError, Provenance, TaskPool
from closedloop.tasks.validate import RejectReason
from closedloop.verify.outcome import Outcome
from closedloop.verify.text import safe_json, safe_text

_SCHEMA = """
CREATE TABLE IF NOT EXISTS proposals (
    iteration INTEGER NOT NULL, idx INTEGER NOT NULL, text TEXT NOT NULL, task_id TEXT,
    accepted INTEGER NOT NULL, reason TEXT, detail TEXT, reward REAL,
    PRIMARY KEY (iteration, idx));
CREATE TABLE IF NOT EXISTS attempts (
    iteration INTEGER NOT NULL, task_id TEXT NOT NULL, sample INTEGER NOT NULL, turns INTEGER,
    code TEXT, public_pass INTEGER, outcome TEXT, passed INTEGER, total INTEGER, reward REAL,
    detail TEXT, PRIMARY KEY (iteration, task_id, sample));
CREATE TABLE IF NOT EXISTS metrics (
    iteration INTEGER NOT NULL, key TEXT NOT NULL, value REAL, PRIMARY KEY (iteration, key));
CREATE TABLE IF NOT EXISTS evals (
    policy TEXT NOT NULL, iteration INTEGER NOT NULL, heldout TEXT NOT NULL, n_tasks INTEGER,
    pass_at_1 REAL, PRIMARY KEY (policy, iteration, heldout));
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT, iteration INTEGER NOT NULL, kind TEXT NOT NULL,
    data TEXT, at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS iterations (iteration INTEGER PRIMARY KEY, finished_at REAL NOT NULL);
"""

ROW_TABLES = ("proposals", "attempts", "metrics", "evals", "events")
"""The run's own tables with per-iteration rows (the pool's tables roll back by itself)."""

Rejection = RejectReason | ProposalRejection
"""Why a proposal did not join the pool: it never became a task (the challenger role's reasons)
or the task failed validation or admission (the task part's)."""

EvalScores = dict[str, tuple[int, float]]
"""Held-out set name -> (n_tasks, pass@1) of one policy."""


@dataclass(frozen=True)
class ProposalRow:
    """One challenger proposal and what became of it."""

    idx: int
    text: str
    task_id: str | None
    reason: Rejection | None
    """Why it was rejected (None: accepted into the pool)."""
    detail: str
    reward: float | None


@dataclass(frozen=True)
class AttemptRow:
    """One final attempt and its private verdict."""

    task_id: str
    sample: int
    turns: int
    code: str
    public_pass: bool
    outcome: Outcome
    passed: int
    total: int
    reward: float | None
    detail: str

    @property
    def solved(self) -> bool | None:
        """Whether the attempt solved its task (full reward); None when it was not scored."""
        return None if self.reward is None else self.reward >= 1.0


@dataclass
class IterationRecord:
    """Everything one iteration writes, committed at once."""

    iteration: int
    tasks: list[Task]
    """The tasks this iteration adds to the pool (provenance: this run and iteration)."""
    proposals: list[ProposalRow]
    attempts: list[AttemptRow]
    """Every final attempt; the scored ones also count as solve outcomes of the pool's
    policy version :func:`attempt_version` (``iteration``)."""
    metrics: dict[str, float]
    evals: dict[str, EvalScores]  # policy label -> held-out set -> (n_tasks, pass@1)
    events: list[tuple[str, dict[str, Any]]]
    fingerprints: dict[str, Fingerprint] = field(default_factory=dict)
    """Fingerprints of the new tasks by id (those missing are stored without one)."""
    parents: dict[str, str] = field(default_factory=dict)
    """The task each new task was derived from, by id (none: proposed from scratch)."""


def attempt_version(iteration: int) -> str:
    """The pool's policy version for the attempts of ``iteration``: the policy that made them
    (saved as the previous iteration's policy, or the cold start before iteration 1)."""
    return f"attempts_of_iteration_{iteration:03d}"


class StoreError(ValueError):
    """A run store this version cannot use; the message names the file and why."""


class RunStore:
    """The SQLite file of one run: the run's task pool and its own tables."""

    def __init__(self, path: Path, run: str | None = None) -> None:
        """Open (or create) ``path``; ``run`` names the run in the pool's provenance
        (default: the run directory's name)."""
        self.path = Path(path)
        self.run = run if run is not None else self.path.resolve().parent.name
        try:
            self.task_pool = TaskPool(self.path)
        except PoolError as e:
            raise StoreError(f"{e}; it cannot be resumed, start a new run") from None
        self.db = self.task_pool.connection
        # A committed iteration must survive power loss too (the pool alone settles for a
        # process crash): its policy and metrics row are written around the commit, and a
        # resume refuses a store that holds less than they record (RunDir.check_store_...).
        self.db.execute("PRAGMA synchronous = FULL")
        with self.task_pool.transaction() as c:
            for stmt in _SCHEMA.strip().split(";"):
                if stmt.strip():
                    c.execute(stmt)
        cols = {r[1] for r in self.db.execute("PRAGMA table_info(evals)")}
        if "heldout" not in cols:  # CREATE IF NOT EXISTS kept an older table as it was
            self.close()
            raise StoreError(
                f"{self.path}: written by an older closedloop (its evals table has no heldout "
                "column); it cannot be resumed, start a new run"
            )

    def close(self) -> None:
        """Close the connection."""
        self.task_pool.close()

    # -- iterations ------------------------------------------------------------------------
    def last_iteration(self) -> int:
        """The last complete iteration (0 is the cold start; -1 when nothing is complete)."""
        row = self.db.execute("SELECT MAX(iteration) FROM iterations").fetchone()
        return -1 if row[0] is None else int(row[0])

    def rollback_after(self, iteration: int) -> None:
        """Delete every row of iterations after ``iteration`` (work lost in a crash), the
        pool's tasks and solve statistics included."""
        with self.task_pool.transaction() as c:
            self.task_pool.rollback_after(iteration)
            for table in (*ROW_TABLES, "iterations"):
                c.execute(f"DELETE FROM {table} WHERE iteration > ?", (iteration,))

    def commit_iteration(self, rec: IterationRecord) -> None:
        """Write an iteration's rows, its new tasks and its solve outcomes, and mark it
        complete, in one transaction. A new task whose id the pool already holds is an
        error (:class:`StoreError`), and then nothing of the iteration is written."""
        it, now = rec.iteration, time.time()
        pool = self.task_pool
        with pool.transaction() as c:
            added = pool.add_many(
                (t, Provenance(self.run, it, rec.parents.get(t.id)), rec.fingerprints.get(t.id))
                for t in rec.tasks
            )
            if added != len(rec.tasks):
                known = sorted(self.task_ids() & {t.id for t in rec.tasks})
                raise StoreError(
                    f"iteration {it}: {len(rec.tasks) - added} new task(s) already in the pool"
                    f" ({', '.join(known[:5]) or 'a duplicate id within the iteration'});"
                    " nothing of the iteration was written"
                )
            version = attempt_version(it)
            pool.record_outcomes(
                [(a.task_id, version, ok) for a in rec.attempts if (ok := a.solved) is not None],
                iteration=it,
            )
            c.executemany(
                "INSERT INTO proposals VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        it,
                        p.idx,
                        safe_text(p.text),  # model text: SQLite refuses lone surrogates
                        p.task_id and safe_text(p.task_id),
                        int(p.reason is None),
                        None if p.reason is None else str(p.reason),
                        safe_text(p.detail),
                        p.reward,
                    )
                    for p in rec.proposals
                ],
            )
            c.executemany(
                "INSERT INTO attempts VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        it,
                        safe_text(a.task_id),
                        a.sample,
                        a.turns,
                        safe_text(a.code),  # candidate text: SQLite refuses lone surrogates
                        int(a.public_pass),
                        str(a.outcome),
                        a.passed,
                        a.total,
                        a.reward,
                        safe_text(a.detail),
                    )
                    for a in rec.attempts
                ],
            )
            c.executemany(
                "INSERT INTO metrics VALUES (?, ?, ?)",
                [(it, k, float(v)) for k, v in rec.metrics.items()],
            )
            c.executemany(
                "INSERT INTO evals VALUES (?, ?, ?, ?, ?)",
                [
                    (label, it, name, n, p)
                    for label, scores in rec.evals.items()
                    for name, (n, p) in scores.items()
                ],
            )
            c.executemany(
                "INSERT INTO events (iteration, kind, data, at) VALUES (?, ?, ?, ?)",
                [(it, kind, json.dumps(safe_json(data)), now) for kind, data in rec.events],
            )
            c.execute("INSERT INTO iterations VALUES (?, ?)", (it, now))

    def add_eval(self, label: str, iteration: int, scores: EvalScores) -> None:
        """Record (or replace) one policy's evaluation on each held-out set in ``scores``,
        outside an iteration (e.g. the final table). One transaction, so a crash never leaves
        a policy scored on only some of its sets."""
        with self.task_pool.transaction() as c:
            c.executemany(
                "INSERT OR REPLACE INTO evals VALUES (?, ?, ?, ?, ?)",
                [(label, iteration, name, n, p) for name, (n, p) in scores.items()],
            )

    def add_event(self, iteration: int, kind: str, data: dict[str, Any]) -> None:
        """Record one event outside an iteration (e.g. the control's sampled evaluation)."""
        with self.task_pool.transaction() as c:
            c.execute(
                "INSERT INTO events (iteration, kind, data, at) VALUES (?, ?, ?, ?)",
                (iteration, kind, json.dumps(safe_json(data)), time.time()),
            )

    # -- the pool --------------------------------------------------------------------------
    def tasks(self) -> list[Task]:
        """Every task in the pool, in the order added."""
        return self.task_pool.tasks()

    def task_ids(self) -> set[str]:
        """Ids of the pool's tasks."""
        return self.task_pool.task_ids()

    def pick_tasks(
        self,
        count: int,
        cfg: CurriculumConfig,
        iteration: int,
        rng: random.Random,
        exclude_ids: Iterable[str] = (),
    ) -> list[Task]:
        """Up to ``count`` pool tasks for ``iteration`` chosen by the curriculum on the solve
        outcomes of the last ``cfg.recent_iterations`` committed iterations; none of
        ``exclude_ids``."""
        return self.task_pool.sample(count, cfg, iteration, rng, exclude=exclude_ids)

    # -- reads -----------------------------------------------------------------------------
    def metrics_rows(self) -> list[dict[str, Any]]:
        """One dict per complete iteration: its metrics, with ``iteration``."""
        out: dict[int, dict[str, Any]] = {}
        for it, k, v in self.db.execute(
            "SELECT iteration, key, value FROM metrics ORDER BY iteration, key"
        ):
            out.setdefault(it, {"iteration": it})[k] = v
        return [out[k] for k in sorted(out)]

    def events(self, kind: str) -> list[tuple[int, dict[str, Any]]]:
        """Committed events of one kind, oldest first: ``(iteration, data)``."""
        rows = self.db.execute(
            "SELECT iteration, data FROM events WHERE kind = ? ORDER BY id", (kind,)
        )
        return [(int(it), json.loads(data) if data else {}) for it, data in rows]

    def evals(self) -> dict[str, dict[str, tuple[int, float, int]]]:
        """Latest evaluation per policy label and held-out set:
        ``{label: {set: (n_tasks, pass@1, iteration)}}``."""
        rows = self.db.execute(
            "SELECT policy, heldout, n_tasks, pass_at_1, iteration FROM evals ORDER BY iteration"
        )
        out: dict[str, dict[str, tuple[int, float, int]]] = {}
        for label, name, n, p, it in rows:
            out.setdefault(label, {})[name] = (int(n), float(p), int(it))
        return out
