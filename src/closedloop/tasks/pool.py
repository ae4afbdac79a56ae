"""The task pool: a SQLite store of validated tasks, their provenance, scores, fingerprints,
and solve statistics per policy version, and the curriculum's reads of them.

Storage: one SQLite file in WAL mode. Every write is one ``BEGIN IMMEDIATE`` transaction, so
writers from several processes queue on SQLite's lock (``busy_timeout``) instead of losing
rows, and a process killed mid-write leaves the last committed state (WAL replays or drops
the unfinished transaction on the next open). ``synchronous=NORMAL`` is durable against a
process crash, not against power loss (a committed transaction may roll back then).

The pool can share its file with other tables: :meth:`TaskPool.transaction` opens one
transaction on the pool's connection, and the pool's own writes inside it join it (as
savepoints), so a caller commits its rows and the pool's in one go (the loop's run store,
:mod:`closedloop.loop.store`, does this once per iteration).

Solve statistics are kept per ``(task, policy version)``, with the iteration the version made
its attempts in (one version per iteration; None outside a loop). :meth:`TaskPool.sample`
hands the last few iterations' statistics to the one curriculum,
:func:`closedloop.tasks.curriculum.pick_tasks` (the reasoning is in that module).

Does not cover: sharing one :class:`TaskPool` object across threads or a ``fork`` (open one
per process or thread), or network file systems (SQLite locking is unreliable there).
"""

from __future__ import annotations

import json
import random
import sqlite3
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from closedloop.tasks.curriculum import CurriculumConfig, SolveStats, pick_tasks
from closedloop.tasks.fingerprint import Fingerprint
from closedloop.tasks.format import Task, TaskFormatError, parse_task, read_jsonl

__all__ = ["PoolEntry", "PoolError", "Provenance", "SolveStats", "TaskPool"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS tasks (
    id TEXT PRIMARY KEY,
    task_json TEXT NOT NULL,
    source TEXT NOT NULL,
    run TEXT,
    iteration INTEGER,
    parent_id TEXT,
    created_at REAL NOT NULL,
    mutation_score REAL,
    fp_behaviour TEXT,
    fp_structure TEXT,
    fingerprint_json TEXT
);
CREATE TABLE IF NOT EXISTS solve_stats (
    task_id TEXT NOT NULL,
    policy_version TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    passes INTEGER NOT NULL DEFAULT 0,
    last_seen REAL,
    iteration INTEGER,
    PRIMARY KEY (task_id, policy_version)
);
CREATE INDEX IF NOT EXISTS tasks_source ON tasks (source);
CREATE INDEX IF NOT EXISTS tasks_run ON tasks (run, iteration);
CREATE INDEX IF NOT EXISTS stats_policy ON solve_stats (policy_version);
CREATE INDEX IF NOT EXISTS stats_iteration ON solve_stats (iteration);
"""


class PoolError(ValueError):
    """A file this version cannot use as a pool; the message names the file and why."""


def _pool_error(path: Path, e: sqlite3.DatabaseError) -> PoolError:
    """SQLite's error on opening ``path``, as a :class:`PoolError` naming the file."""
    if isinstance(e, sqlite3.OperationalError):  # could not open, or locked: the file may be fine
        return PoolError(f"{path}: cannot be opened as a task pool ({e})")
    return PoolError(f"{path}: not an SQLite database, or a damaged one ({e}); use a new file")


@dataclass(frozen=True)
class Provenance:
    """Where a task came from: the loop run, iteration and parent task that produced it
    (all None for imported tasks; the source is the task's own ``source``)."""

    run: str | None = None
    iteration: int | None = None
    parent_id: str | None = None

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {"run": self.run, "iteration": self.iteration, "parent_id": self.parent_id}


@dataclass(frozen=True)
class PoolEntry:
    """A task as stored: with provenance, validation score, fingerprint and creation time."""

    task: Task
    provenance: Provenance
    mutation_score: float | None
    fingerprint: Fingerprint | None
    created_at: float


class TaskPool:
    """A task pool in a SQLite file. Open one per process; use as a context manager.

    Example::

        with TaskPool(Path("pool.sqlite")) as pool:
            pool.add(task, Provenance(run="r1", iteration=0))
            pool.record_outcomes([(task.id, "policy-0001", True)], iteration=1)
            batch = pool.sample(8, CurriculumConfig(), iteration=2, rng=random.Random(0))
    """

    def __init__(self, path: Path | str, timeout_s: float = 60.0) -> None:
        """Open (or create) the pool in ``path``. Raises :class:`PoolError`, naming the file,
        when it cannot be opened or is not a pool (not an SQLite database, damaged, another
        program's tables)."""
        self.path = Path(path)
        try:
            self._conn = sqlite3.connect(str(self.path), timeout=timeout_s, isolation_level=None)
        except sqlite3.DatabaseError as e:
            raise _pool_error(self.path, e) from None
        self._depth = 0  # open transactions: 0 none, 1 BEGIN, more: savepoints inside it
        try:
            self._conn.execute(f"PRAGMA busy_timeout = {int(timeout_s * 1000)}")
            self._conn.execute("PRAGMA journal_mode = WAL")
            self._conn.execute("PRAGMA synchronous = NORMAL")
            with self.transaction() as c:
                self._check_schema(c)
                for stmt in _SCHEMA.strip().split(";"):
                    if stmt.strip():
                        c.execute(stmt)
        except sqlite3.DatabaseError as e:  # SQLite reads the file only at the first statement
            self._conn.close()
            raise _pool_error(self.path, e) from None
        except BaseException:
            self._conn.close()
            raise

    # -- plumbing ---------------------------------------------------------------------------

    def _check_schema(self, c: sqlite3.Connection) -> None:
        """Refuse a ``tasks`` table that is not a pool's; add columns newer pools have."""
        cols = {r[1] for r in c.execute("PRAGMA table_info(tasks)")}
        if cols and "task_json" not in cols:
            raise PoolError(
                f"{self.path}: its tasks table is not a task pool's (no task_json column;"
                " written by an older closedloop?); use a new file"
            )
        stats_cols = {r[1] for r in c.execute("PRAGMA table_info(solve_stats)")}
        if stats_cols and "iteration" not in stats_cols:  # a pool from before iterations
            c.execute("ALTER TABLE solve_stats ADD COLUMN iteration INTEGER")

    @property
    def connection(self) -> sqlite3.Connection:
        """The pool's connection (autocommit: write only inside :meth:`transaction`)."""
        return self._conn

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (``BEGIN IMMEDIATE``), committed when the block ends and
        rolled back if it raises. Nested calls, including the pool's own writes inside the
        block, become savepoints of the outer transaction: their rows commit with it."""
        c = self._conn
        name = f"sp{self._depth}"
        c.execute("BEGIN IMMEDIATE" if self._depth == 0 else f"SAVEPOINT {name}")
        self._depth += 1
        try:
            yield c
        except BaseException:
            self._depth -= 1
            if self._depth == 0:
                c.execute("ROLLBACK")
            else:
                c.execute(f"ROLLBACK TO {name}")
                c.execute(f"RELEASE {name}")
            raise
        self._depth -= 1
        if self._depth:
            c.execute(f"RELEASE {name}")
            return
        try:
            c.execute("COMMIT")
        except BaseException:
            if c.in_transaction:  # the commit failed and left it open: nothing is kept
                c.execute("ROLLBACK")
            raise

    def close(self) -> None:
        """Close the connection."""
        self._conn.close()

    def __enter__(self) -> TaskPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- tasks ------------------------------------------------------------------------------

    def add(
        self,
        task: Task,
        provenance: Provenance | None = None,
        fingerprint: Fingerprint | None = None,
    ) -> bool:
        """Store a task; False (and nothing changes) when its id is already in the pool."""
        return self.add_many([(task, provenance, fingerprint)]) == 1

    def add_many(self, items: Iterable[tuple[Task, Provenance | None, Fingerprint | None]]) -> int:
        """Store tasks in one transaction; returns how many were new (a known id is skipped
        and keeps its stored provenance)."""
        rows = []
        now = time.time()
        for task, prov, fp in items:
            prov = prov or Provenance()
            score = task.metadata.get("mutation_score")
            rows.append(
                (
                    task.id,
                    json.dumps(task.to_json(), ensure_ascii=False),
                    task.source,
                    prov.run,
                    prov.iteration,
                    prov.parent_id,
                    now,
                    float(score) if isinstance(score, int | float) else None,
                    fp.behaviour if fp else None,
                    fp.structure if fp else None,
                    json.dumps(fp.to_json()) if fp else None,
                )
            )
        with self.transaction() as c:
            before = c.total_changes
            c.executemany(
                "INSERT OR IGNORE INTO tasks (id, task_json, source, run, iteration, parent_id,"
                " created_at, mutation_score, fp_behaviour, fp_structure, fingerprint_json)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
            return c.total_changes - before

    def set_fingerprint(self, task_id: str, fingerprint: Fingerprint) -> None:
        """Store (or replace) a task's fingerprint."""
        with self.transaction() as c:
            c.execute(
                "UPDATE tasks SET fp_behaviour = ?, fp_structure = ?, fingerprint_json = ?"
                " WHERE id = ?",
                (
                    fingerprint.behaviour,
                    fingerprint.structure,
                    json.dumps(fingerprint.to_json()),
                    task_id,
                ),
            )

    def get(self, task_id: str) -> PoolEntry | None:
        """The stored entry for ``task_id``, or None."""
        row = self._conn.execute(_ENTRY_SQL + " WHERE id = ?", (task_id,)).fetchone()
        return _entry(row) if row else None

    def __contains__(self, task_id: object) -> bool:
        return (
            self._conn.execute("SELECT 1 FROM tasks WHERE id = ?", (task_id,)).fetchone()
            is not None
        )

    def __len__(self) -> int:
        return self._conn.execute("SELECT COUNT(*) FROM tasks").fetchone()[0]

    def entries(self, source: str | None = None, run: str | None = None) -> Iterator[PoolEntry]:
        """Every stored entry (optionally of one source or run), in the order added."""
        where, args = _filters(source, run)
        for row in self._conn.execute(_ENTRY_SQL + where + " ORDER BY rowid", args):
            yield _entry(row)

    def tasks(self, source: str | None = None) -> list[Task]:
        """Every stored task (optionally of one source), in the order added."""
        where, args = _filters(source, None)
        rows = self._conn.execute("SELECT task_json FROM tasks" + where + " ORDER BY rowid", args)
        return [parse_task(json.loads(blob)) for (blob,) in rows]

    def task_ids(self) -> set[str]:
        """Ids of every stored task."""
        return {tid for (tid,) in self._conn.execute("SELECT id FROM tasks")}

    def fingerprints(
        self, source: str | None = None, run: str | None = None
    ) -> list[tuple[str, Fingerprint]]:
        """``(task_id, fingerprint)`` of every fingerprinted task (for diversity figures)."""
        where, args = _filters(source, run)
        extra = " AND" if where else " WHERE"
        rows = self._conn.execute(
            "SELECT id, fingerprint_json FROM tasks"
            + where
            + extra
            + " fingerprint_json IS NOT NULL ORDER BY id",
            args,
        )
        return [(tid, Fingerprint.from_json(json.loads(fj))) for tid, fj in rows]

    # -- solve statistics -------------------------------------------------------------------

    def record_outcome(self, task_id: str, policy_version: str, passed: bool) -> None:
        """Count one attempt (and a pass if ``passed``) of ``policy_version`` on a task."""
        self.record_outcomes([(task_id, policy_version, passed)])

    def record_outcomes(
        self, outcomes: Sequence[tuple[str, str, bool]], iteration: int | None = None
    ) -> None:
        """Count many attempts in one transaction: ``(task_id, policy_version, passed)``,
        made in ``iteration`` (which puts them in the curriculum's window; None: outside a
        loop, never in it). A policy version makes its attempts in one iteration."""
        now = time.time()
        with self.transaction() as c:
            c.executemany(
                "INSERT INTO solve_stats (task_id, policy_version, attempts, passes, last_seen,"
                " iteration) VALUES (?, ?, 1, ?, ?, ?) ON CONFLICT (task_id, policy_version)"
                " DO UPDATE SET attempts = attempts + 1, passes = passes + excluded.passes,"
                " last_seen = excluded.last_seen,"
                " iteration = COALESCE(excluded.iteration, iteration)",
                [(tid, pv, int(bool(ok)), now, iteration) for tid, pv, ok in outcomes],
            )

    def stats(self, task_id: str, policy_version: str) -> SolveStats:
        """Attempts and passes of ``policy_version`` on ``task_id`` (zeros if never tried)."""
        row = self._conn.execute(
            "SELECT attempts, passes, last_seen FROM solve_stats"
            " WHERE task_id = ? AND policy_version = ?",
            (task_id, policy_version),
        ).fetchone()
        return SolveStats(*row) if row else SolveStats()

    def all_stats(self, policy_version: str) -> dict[str, SolveStats]:
        """Solve statistics of ``policy_version`` for every task in the pool."""
        rows = self._conn.execute(
            "SELECT t.id, COALESCE(s.attempts, 0), COALESCE(s.passes, 0), s.last_seen FROM tasks t"
            " LEFT JOIN solve_stats s ON s.task_id = t.id AND s.policy_version = ?",
            (policy_version,),
        )
        return {tid: SolveStats(a, p, ls) for tid, a, p, ls in rows}

    def recent_stats(self, iteration: int, window: int) -> dict[str, SolveStats]:
        """Attempts and passes per task over iterations ``iteration - window`` to
        ``iteration - 1`` (the curriculum's evidence before ``iteration``); tasks with no
        attempt there are absent (unseen)."""
        rows = self._conn.execute(
            "SELECT task_id, SUM(attempts), SUM(passes), MAX(last_seen) FROM solve_stats"
            " WHERE iteration >= ? AND iteration < ? GROUP BY task_id",
            (iteration - window, iteration),
        )
        return {tid: SolveStats(int(a), int(p), ls) for tid, a, p, ls in rows}

    # -- sampling ---------------------------------------------------------------------------

    def sample(
        self,
        n: int,
        cfg: CurriculumConfig,
        iteration: int,
        rng: random.Random,
        exclude: Iterable[str] = (),
        source: str | None = None,
    ) -> list[Task]:
        """Up to ``n`` tasks for ``iteration`` (counted from 1), chosen by the curriculum on
        the outcomes of the last ``cfg.recent_iterations`` iterations; ids in ``exclude``
        (and tasks of other sources, when ``source`` is given) are never picked."""
        skip = set(exclude)
        cands = [t for t in self.tasks(source) if t.id not in skip]
        stats = self.recent_stats(iteration, cfg.recent_iterations)
        return pick_tasks(cands, stats, n, cfg, iteration <= 1, rng)

    def rollback_after(self, iteration: int) -> None:
        """Delete the tasks added by, and the outcomes of, iterations after ``iteration``
        (tasks without an iteration, e.g. imported ones, stay)."""
        with self.transaction() as c:
            c.execute("DELETE FROM tasks WHERE iteration > ?", (iteration,))
            c.execute("DELETE FROM solve_stats WHERE iteration > ?", (iteration,))

    # -- JSONL ------------------------------------------------------------------------------

    def export_jsonl(self, path: Path, source: str | None = None, run: str | None = None) -> int:
        """Write tasks in the public format; provenance and fingerprint go into
        ``metadata["provenance"]`` and ``metadata["fingerprint"]``. Returns the count."""
        n = 0
        with open(path, "w", encoding="utf-8") as fh:
            for e in self.entries(source, run):
                obj = e.task.to_json()
                obj["metadata"] = {**obj["metadata"], "provenance": e.provenance.to_json()}
                if e.fingerprint is not None:
                    obj["metadata"]["fingerprint"] = e.fingerprint.to_json()
                fh.write(json.dumps(obj, ensure_ascii=False) + "\n")
                n += 1
        return n

    def import_jsonl(self, path: Path, provenance: Provenance | None = None) -> int:
        """Add the tasks of a JSONL file (provenance and fingerprint from their metadata, as
        :meth:`export_jsonl` writes them, else ``provenance``). Returns how many were new.

        Raises :class:`TaskFormatError` naming the first malformed line; nothing is added then.
        """
        items = []
        for n, obj in read_jsonl(Path(path)):
            try:
                if not isinstance(obj, dict):
                    raise TaskFormatError(getattr(obj, "reason", "not an object"))
                meta = dict(obj.get("metadata") or {})
                prov_obj = meta.pop("provenance", None)
                fp_obj = meta.pop("fingerprint", None)
                task = parse_task({**obj, "metadata": meta})
            except TaskFormatError as e:
                raise TaskFormatError(f"{Path(path).name} line {n}: {e}") from None
            prov = Provenance(**prov_obj) if isinstance(prov_obj, dict) else provenance
            fp = Fingerprint.from_json(fp_obj) if isinstance(fp_obj, dict) else None
            items.append((task, prov, fp))
        return self.add_many(items)


_ENTRY_SQL = (
    "SELECT task_json, run, iteration, parent_id, mutation_score, fingerprint_json, created_at"
    " FROM tasks"
)


def _filters(source: str | None, run: str | None) -> tuple[str, tuple[Any, ...]]:
    conds, args = [], []
    if source is not None:
        conds.append("source = ?")
        args.append(source)
    if run is not None:
        conds.append("run = ?")
        args.append(run)
    return (" WHERE " + " AND ".join(conds) if conds else ""), tuple(args)


def _entry(row: tuple[Any, ...]) -> PoolEntry:
    blob, run, iteration, parent, score, fp_json, created = row
    return PoolEntry(
        task=parse_task(json.loads(blob)),
        provenance=Provenance(run, iteration, parent),
        mutation_score=score,
        fingerprint=Fingerprint.from_json(json.loads(fp_json)) if fp_json else None,
        created_at=created,
    )
