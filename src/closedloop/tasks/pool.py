"""The task pool: a SQLite store of validated tasks, their provenance, scores, fingerprints,
and solve statistics per policy version, plus the samplers the curriculum uses.

Storage: one SQLite file in WAL mode. Every write is one ``BEGIN IMMEDIATE`` transaction, so
writers from several processes queue on SQLite's lock (``busy_timeout``) instead of losing
rows, and a process killed mid-write leaves the last committed state (WAL replays or drops
the unfinished transaction on the next open). ``synchronous=NORMAL`` is durable against a
process crash, not against power loss (a committed transaction may roll back then).

Does not cover: sharing one :class:`TaskPool` object across threads or a ``fork`` (open one
per process or thread), or network file systems (SQLite locking is unreliable there).

Sampling (``SampleStrategy``), with the solve rate of a task for a policy version
``p = (passes + 1) / (attempts + 2)`` (a uniform prior, so unseen tasks sit at 0.5):

- ``solve_rate_band``: uniformly among tasks whose raw rate ``passes / attempts`` lies in
  ``[lo, hi]`` (unseen tasks included unless ``include_unseen=False``);
- ``variance``: highest outcome variance ``p (1 - p)`` first (the most informative for GRPO);
- ``easiest_first``: highest ``p`` first;
- ``uniform``: uniformly at random.

Ties and uniform draws use ``random.Random(seed)``, so a sample is reproducible.
"""

from __future__ import annotations

import json
import random
import sqlite3
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from closedloop.tasks.fingerprint import Fingerprint
from closedloop.tasks.format import Task, TaskFormatError, parse_task, read_jsonl

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
    PRIMARY KEY (task_id, policy_version)
);
CREATE INDEX IF NOT EXISTS tasks_source ON tasks (source);
CREATE INDEX IF NOT EXISTS tasks_run ON tasks (run, iteration);
CREATE INDEX IF NOT EXISTS stats_policy ON solve_stats (policy_version);
"""


class SampleStrategy(StrEnum):
    """How :meth:`TaskPool.sample` picks tasks (see the module docstring)."""

    SOLVE_RATE_BAND = "solve_rate_band"
    VARIANCE = "variance"
    EASIEST_FIRST = "easiest_first"
    UNIFORM = "uniform"


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
class SolveStats:
    """Attempts and passes of one policy version on one task."""

    attempts: int = 0
    passes: int = 0
    last_seen: float | None = None

    @property
    def rate(self) -> float | None:
        """passes / attempts, or None before the first attempt."""
        return self.passes / self.attempts if self.attempts else None

    @property
    def smoothed_rate(self) -> float:
        """(passes + 1) / (attempts + 2): 0.5 for an unseen task."""
        return (self.passes + 1) / (self.attempts + 2)


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
            pool.record_outcome(task.id, "policy-0001", passed=True)
            batch = pool.sample(8, SampleStrategy.VARIANCE, "policy-0001")
    """

    def __init__(self, path: Path | str, timeout_s: float = 60.0) -> None:
        self.path = Path(path)
        self._conn = sqlite3.connect(str(self.path), timeout=timeout_s, isolation_level=None)
        self._conn.execute(f"PRAGMA busy_timeout = {int(timeout_s * 1000)}")
        self._conn.execute("PRAGMA journal_mode = WAL")
        self._conn.execute("PRAGMA synchronous = NORMAL")
        with self._write() as c:
            for stmt in _SCHEMA.strip().split(";"):
                if stmt.strip():
                    c.execute(stmt)

    # -- plumbing ---------------------------------------------------------------------------

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        c = self._conn
        c.execute("BEGIN IMMEDIATE")
        try:
            yield c
        except BaseException:
            c.execute("ROLLBACK")
            raise
        c.execute("COMMIT")

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
        """Store tasks in one transaction; returns how many were new."""
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
        with self._write() as c:
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
        with self._write() as c:
            c.execute(
                "UPDATE tasks SET fp_behaviour = ?, fp_structure = ?, fingerprint_json = ? WHERE id = ?",
                (
                    fingerprint.behaviour,
                    fingerprint.structure,
                    json.dumps(fingerprint.to_json()),
                    task_id,
                ),
            )

    def get(self, task_id: str) -> PoolEntry | None:
        """The stored entry for ``task_id``, or None."""
        row = self._conn.execute(
            "SELECT task_json, run, iteration, parent_id, mutation_score, fingerprint_json,"
            " created_at FROM tasks WHERE id = ?",
            (task_id,),
        ).fetchone()
        return _entry(row) if row else None

    def __contains__(self, task_id: object) -> bool:
        return (
            self._conn.execute("SELECT 1 FROM tasks WHERE id = ?", (task_id,)).fetchone()
            is not None
        )

    def __len__(self) -> int:
        return self._conn.execute("SELECT COUNT(*) FROM tasks").fetchone()[0]

    def entries(self, source: str | None = None, run: str | None = None) -> Iterator[PoolEntry]:
        """Every stored entry (optionally of one source or run), oldest first."""
        sql = (
            "SELECT task_json, run, iteration, parent_id, mutation_score, fingerprint_json,"
            " created_at FROM tasks"
        )
        where, args = _filters(source, run)
        for row in self._conn.execute(sql + where + " ORDER BY created_at, id", args):
            yield _entry(row)

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

    def record_outcomes(self, outcomes: Sequence[tuple[str, str, bool]]) -> None:
        """Count many attempts in one transaction: ``(task_id, policy_version, passed)``."""
        now = time.time()
        with self._write() as c:
            c.executemany(
                "INSERT INTO solve_stats (task_id, policy_version, attempts, passes, last_seen)"
                " VALUES (?, ?, 1, ?, ?) ON CONFLICT (task_id, policy_version) DO UPDATE SET"
                " attempts = attempts + 1, passes = passes + excluded.passes,"
                " last_seen = excluded.last_seen",
                [(tid, pv, int(bool(ok)), now) for tid, pv, ok in outcomes],
            )

    def stats(self, task_id: str, policy_version: str) -> SolveStats:
        """Attempts and passes of ``policy_version`` on ``task_id`` (zeros if never tried)."""
        row = self._conn.execute(
            "SELECT attempts, passes, last_seen FROM solve_stats WHERE task_id = ? AND policy_version = ?",
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

    # -- sampling ---------------------------------------------------------------------------

    def sample(
        self,
        n: int,
        strategy: SampleStrategy,
        policy_version: str,
        band: tuple[float, float] = (0.2, 0.8),
        include_unseen: bool = True,
        seed: int = 0,
        source: str | None = None,
    ) -> list[Task]:
        """Up to ``n`` tasks chosen by ``strategy`` for ``policy_version`` (module docstring)."""
        lo, hi = band
        if not 0.0 <= lo <= hi <= 1.0:
            raise ValueError(f"band={band}: need 0 <= lo <= hi <= 1, e.g. (0.2, 0.8)")
        stats = self.all_stats(policy_version)
        if source is not None:
            keep = {
                tid
                for (tid,) in self._conn.execute("SELECT id FROM tasks WHERE source = ?", (source,))
            }
            stats = {k: v for k, v in stats.items() if k in keep}
        rng = random.Random(seed)
        ids = sorted(stats)
        rng.shuffle(ids)  # random tie-break, reproducible by seed
        if strategy is SampleStrategy.SOLVE_RATE_BAND:
            chosen = [
                t
                for t in ids
                if (r := stats[t].rate) is None
                and include_unseen
                or r is not None
                and lo <= r <= hi
            ][:n]
        elif strategy is SampleStrategy.VARIANCE:
            ids.sort(key=lambda t: -(stats[t].smoothed_rate * (1 - stats[t].smoothed_rate)))
            chosen = ids[:n]
        elif strategy is SampleStrategy.EASIEST_FIRST:
            ids.sort(key=lambda t: -stats[t].smoothed_rate)
            chosen = ids[:n]
        else:
            chosen = ids[:n]
        return [self._task(t) for t in chosen]

    def _task(self, task_id: str) -> Task:
        (blob,) = self._conn.execute(
            "SELECT task_json FROM tasks WHERE id = ?", (task_id,)
        ).fetchone()
        return parse_task(json.loads(blob))

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
