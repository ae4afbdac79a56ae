"""The run store: ``RUN_DIR/run.sqlite`` (tasks, proposals, attempts with verdicts and rewards,
metrics, evaluations, events).

Crash safety: everything an iteration produces is written in **one transaction** that also
marks the iteration complete (:meth:`RunStore.commit_iteration`). A run killed at any moment
therefore holds only whole iterations; :meth:`RunStore.rollback_after` deletes anything newer
than the last complete iteration (a no-op unless the file was edited), so a resumed run never
duplicates rows. SQLite's journal makes each commit atomic.
"""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from closedloop.tasks.format import Task, parse_task

_SCHEMA = """
CREATE TABLE IF NOT EXISTS tasks (
    id TEXT PRIMARY KEY, iteration INTEGER NOT NULL, source TEXT NOT NULL, task TEXT NOT NULL);
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

ROW_TABLES = ("tasks", "proposals", "attempts", "metrics", "evals", "events")

EvalScores = dict[str, tuple[int, float]]
"""Held-out set name -> (n_tasks, pass@1) of one policy."""


@dataclass(frozen=True)
class ProposalRow:
    """One challenger proposal and what became of it."""

    idx: int
    text: str
    task_id: str | None
    reason: str | None  # None: accepted
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
    outcome: str
    passed: int
    total: int
    reward: float | None
    detail: str


@dataclass
class IterationRecord:
    """Everything one iteration writes, committed at once."""

    iteration: int
    tasks: list[Task]
    proposals: list[ProposalRow]
    attempts: list[AttemptRow]
    metrics: dict[str, float]
    evals: dict[str, EvalScores]  # policy label -> held-out set -> (n_tasks, pass@1)
    events: list[tuple[str, dict[str, Any]]]


@dataclass(frozen=True)
class TaskStats:
    """How the solver did on one pool task so far."""

    attempts: int
    successes: int

    @property
    def solve_rate(self) -> float | None:
        """successes / attempts, None when never attempted."""
        return self.successes / self.attempts if self.attempts else None


class StoreError(ValueError):
    """A run store this version cannot use; the message names the file and why."""


class RunStore:
    """The SQLite file of one run."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.db = sqlite3.connect(str(self.path))
        self.db.executescript(_SCHEMA)
        self.db.commit()
        cols = {r[1] for r in self.db.execute("PRAGMA table_info(evals)")}
        if "heldout" not in cols:  # CREATE IF NOT EXISTS kept an older table as it was
            self.db.close()
            raise StoreError(
                f"{self.path}: written by an older closedloop (its evals table has no heldout "
                "column); it cannot be resumed, start a new run"
            )

    def close(self) -> None:
        """Close the connection."""
        self.db.close()

    # -- iterations ------------------------------------------------------------------------
    def last_iteration(self) -> int:
        """The last complete iteration (0 is the cold start; -1 when nothing is complete)."""
        row = self.db.execute("SELECT MAX(iteration) FROM iterations").fetchone()
        return -1 if row[0] is None else int(row[0])

    def rollback_after(self, iteration: int) -> None:
        """Delete every row of iterations after ``iteration`` (work lost in a crash)."""
        with self.db:
            for table in (*ROW_TABLES, "iterations"):
                self.db.execute(f"DELETE FROM {table} WHERE iteration > ?", (iteration,))

    def commit_iteration(self, rec: IterationRecord) -> None:
        """Write an iteration's rows and mark it complete, in one transaction."""
        it, now = rec.iteration, time.time()
        with self.db:
            self.db.executemany(
                "INSERT INTO tasks VALUES (?, ?, ?, ?)",
                [(t.id, it, t.source, json.dumps(t.to_json())) for t in rec.tasks],
            )
            self.db.executemany(
                "INSERT INTO proposals VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        it,
                        p.idx,
                        p.text,
                        p.task_id,
                        int(p.reason is None),
                        p.reason,
                        p.detail,
                        p.reward,
                    )
                    for p in rec.proposals
                ],
            )
            self.db.executemany(
                "INSERT INTO attempts VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        it,
                        a.task_id,
                        a.sample,
                        a.turns,
                        a.code,
                        int(a.public_pass),
                        a.outcome,
                        a.passed,
                        a.total,
                        a.reward,
                        a.detail,
                    )
                    for a in rec.attempts
                ],
            )
            self.db.executemany(
                "INSERT INTO metrics VALUES (?, ?, ?)",
                [(it, k, float(v)) for k, v in rec.metrics.items()],
            )
            self.db.executemany(
                "INSERT INTO evals VALUES (?, ?, ?, ?, ?)",
                [
                    (label, it, name, n, p)
                    for label, scores in rec.evals.items()
                    for name, (n, p) in scores.items()
                ],
            )
            self.db.executemany(
                "INSERT INTO events (iteration, kind, data, at) VALUES (?, ?, ?, ?)",
                [(it, kind, json.dumps(data), now) for kind, data in rec.events],
            )
            self.db.execute("INSERT INTO iterations VALUES (?, ?)", (it, now))

    def add_eval(self, label: str, iteration: int, scores: EvalScores) -> None:
        """Record (or replace) one policy's evaluation on each held-out set in ``scores``,
        outside an iteration (e.g. the final table). One transaction, so a crash never leaves
        a policy scored on only some of its sets."""
        with self.db:
            self.db.executemany(
                "INSERT OR REPLACE INTO evals VALUES (?, ?, ?, ?, ?)",
                [(label, iteration, name, n, p) for name, (n, p) in scores.items()],
            )

    # -- reads -----------------------------------------------------------------------------
    def pool(self) -> list[Task]:
        """Every accepted task, in insertion order."""
        rows = self.db.execute("SELECT task FROM tasks ORDER BY rowid").fetchall()
        return [parse_task(json.loads(r[0])) for r in rows]

    def task_ids(self) -> set[str]:
        """Ids of the pool's tasks."""
        return {r[0] for r in self.db.execute("SELECT id FROM tasks")}

    def stats(self) -> dict[str, TaskStats]:
        """Attempts and successes per task (attempts with no reward are not counted)."""
        rows = self.db.execute(
            "SELECT task_id, COUNT(*), SUM(reward >= 1.0) FROM attempts WHERE reward IS NOT NULL GROUP BY task_id"
        )
        return {r[0]: TaskStats(int(r[1]), int(r[2] or 0)) for r in rows}

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
