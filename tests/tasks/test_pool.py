"""The SQLite pool: provenance, statistics, sampling by the curriculum, transactions shared with
other tables, JSONL, and safety across processes."""

from __future__ import annotations

import json
import os
import random
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from closedloop.tasks.curriculum import CurriculumConfig
from closedloop.tasks.fingerprint import Fingerprint
from closedloop.tasks.pool import PoolError, Provenance, TaskPool

WRITER = r"""
import os, sys, time
from closedloop.tasks.format import parse_task
from closedloop.tasks.pool import Provenance, TaskPool

path, prefix, n, batch = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
def task(i):
    return parse_task({"id": f"{prefix}-{i}", "kind": "function", "entry_point": "f",
                       "private_tests": [{"input": f"({i},)", "output": str(i)}], "source": "test"})
with TaskPool(path) as pool:
    open(f"{path}.ready-{prefix}", "w").close()
    while not os.path.exists(f"{path}.go"):  # start together with the other writer
        time.sleep(0.005)
    i = 0
    while n < 0 or i < n:
        pool.add_many([(task(i + k), Provenance(run=prefix, iteration=i), None) for k in range(batch)])
        pool.record_outcomes([("shared", "v1", True)] * batch)
        i += batch
"""


def _writer(path: Path, prefix: str, n: int, batch: int) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", WRITER, str(path), prefix, str(n), str(batch)])


def _tasks(make_task, n: int):
    return [make_task(id=f"t{i}", instruction=f"task {i}") for i in range(n)]


def test_add_get_and_duplicate_ids(tmp_path, make_task) -> None:
    fp = Fingerprint("b", "s", frozenset({3}))
    with TaskPool(tmp_path / "p.sqlite") as pool:
        t = make_task(id="a", metadata={"mutation_score": 0.75})
        assert pool.add(t, Provenance(run="r1", iteration=2, parent_id="p0"), fp)
        assert not pool.add(t)
        e = pool.get("a")
        assert e is not None and e.task == t and e.mutation_score == 0.75
        assert e.provenance == Provenance("r1", 2, "p0") and e.fingerprint == fp
        assert len(pool) == 1 and "a" in pool and pool.get("b") is None
        assert pool.fingerprints() == [("a", fp)]


def test_solve_statistics_are_per_policy_version(tmp_path, make_task) -> None:
    with TaskPool(tmp_path / "p.sqlite") as pool:
        pool.add(make_task(id="a"))
        pool.record_outcomes([("a", "v1", True), ("a", "v1", False), ("a", "v2", True)])
        s1, s2, s3 = pool.stats("a", "v1"), pool.stats("a", "v2"), pool.stats("a", "v3")
        assert (s1.attempts, s1.passes, s1.rate) == (2, 1, 0.5)
        assert (s2.attempts, s2.passes) == (1, 1) and s2.last_seen is not None
        assert s3.rate is None and s3.smoothed_rate == 0.5


def test_sample_is_the_curriculum_on_recent_outcomes(tmp_path, make_task) -> None:
    with TaskPool(tmp_path / "p.sqlite") as pool:
        pool.add_many((t, None, None) for t in _tasks(make_task, 4))
        # t0 always solved, t1 never, t2 half, t3 unseen
        pool.record_outcomes([("t0", "v", True)] * 4 + [("t1", "v", False)] * 4, iteration=1)
        pool.record_outcomes([("t2", "v", True), ("t2", "v", False)] * 2, iteration=1)
        ids = lambda ts: {t.id for t in ts}  # noqa: E731
        band = CurriculumConfig(band_low=0.2, band_high=0.8, easiest_first=False)
        assert ids(pool.sample(2, band, 2, random.Random(0))) == {"t2", "t3"}
        picked = ids(pool.sample(2, band, 2, random.Random(0), exclude=["t3"]))
        assert "t3" not in picked and "t2" in picked  # the band first, then the rest
        uniform = CurriculumConfig(solve_rate_band=False, variance_weight=False)
        assert [t.id for t in pool.sample(4, uniform, 2, random.Random(1))] == [
            t.id for t in pool.sample(4, uniform, 2, random.Random(1))
        ]
        # ... and the draw is the generator's: one that ignored it passed the line above
        draws = [[t.id for t in pool.sample(2, uniform, 2, random.Random(s))] for s in range(8)]
        assert len({tuple(sorted(d)) for d in draws}) > 1 and all(len(set(d)) == 2 for d in draws)
        assert ids(pool.sample(4, uniform, 2, random.Random(3))) == {"t0", "t1", "t2", "t3"}


def test_outcomes_without_an_iteration_never_enter_the_window(tmp_path, make_task) -> None:
    with TaskPool(tmp_path / "p.sqlite") as pool:
        pool.add(make_task(id="a"))
        pool.record_outcomes([("a", "v0", False)])
        pool.record_outcomes([("a", "v1", True)], iteration=3)
        assert pool.recent_stats(4, 1)["a"].attempts == 1
        assert pool.recent_stats(3, 10) == {}


def test_a_write_inside_a_transaction_commits_with_it_or_not_at_all(tmp_path, make_task) -> None:
    with TaskPool(tmp_path / "p.sqlite") as pool:
        pool.connection.execute("CREATE TABLE marks (n INTEGER)")
        with pytest.raises(RuntimeError):
            with pool.transaction() as c:
                pool.add(make_task(id="a"))
                pool.record_outcomes([("a", "v", True)], iteration=1)
                c.execute("INSERT INTO marks VALUES (1)")
                raise RuntimeError("fails after the pool's writes")
        assert len(pool) == 0 and pool.stats("a", "v").attempts == 0
        assert pool.connection.execute("SELECT COUNT(*) FROM marks").fetchone() == (0,)
        with pool.transaction() as c:
            pool.add(make_task(id="a"))
            c.execute("INSERT INTO marks VALUES (1)")
        assert "a" in pool
        assert pool.connection.execute("SELECT COUNT(*) FROM marks").fetchone() == (1,)


def test_rollback_after_drops_later_tasks_and_outcomes_and_keeps_imported(
    tmp_path, make_task
) -> None:
    with TaskPool(tmp_path / "p.sqlite") as pool:
        pool.add(make_task(id="imported"))
        pool.add(make_task(id="early"), Provenance(run="r", iteration=1))
        pool.add(make_task(id="late"), Provenance(run="r", iteration=2))
        pool.record_outcomes([("early", "v1", True)], iteration=1)
        pool.record_outcomes([("early", "v2", True), ("late", "v2", False)], iteration=2)
        pool.rollback_after(1)
        assert pool.task_ids() == {"imported", "early"}
        assert pool.stats("early", "v1").attempts == 1 and pool.stats("early", "v2").attempts == 0


def test_a_file_whose_tasks_table_is_not_a_pools_is_refused(tmp_path) -> None:
    path = tmp_path / "old.sqlite"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE tasks (id TEXT PRIMARY KEY, task TEXT)")
    db.commit()
    db.close()
    with pytest.raises(PoolError, match="not a task pool's"):
        TaskPool(path)


def test_a_file_that_is_not_a_database_is_a_pool_error_naming_it(tmp_path) -> None:
    path = tmp_path / "notes.sqlite"
    path.write_bytes(b"these are notes, not SQLite" * 40)
    with pytest.raises(PoolError, match=re.escape(f"{path}: not an SQLite database")):
        TaskPool(path)
    assert path.read_bytes().startswith(b"these are notes")  # left as it was


def test_a_path_sqlite_cannot_open_is_a_pool_error_naming_it(tmp_path) -> None:
    path = tmp_path / "no-such-dir" / "pool.sqlite"
    with pytest.raises(PoolError, match=re.escape(f"{path}: cannot be opened as a task pool")):
        TaskPool(path)


def test_jsonl_round_trip_keeps_provenance_and_fingerprint(tmp_path, make_task) -> None:
    fp = Fingerprint("b", "s", frozenset({1}))
    with TaskPool(tmp_path / "a.sqlite") as a:
        a.add(make_task(id="x"), Provenance(run="r", iteration=1, parent_id="y"), fp)
        a.add(make_task(id="y"))
        assert a.export_jsonl(tmp_path / "out.jsonl") == 2
    with TaskPool(tmp_path / "b.sqlite") as b:
        assert b.import_jsonl(tmp_path / "out.jsonl") == 2
        e = b.get("x")
        assert e is not None and e.provenance == Provenance("r", 1, "y") and e.fingerprint == fp
        assert "provenance" not in e.task.metadata
        assert b.import_jsonl(tmp_path / "out.jsonl") == 0  # ids already there
    lines = (tmp_path / "out.jsonl").read_text().splitlines()
    assert json.loads(lines[0])["metadata"]["provenance"]["run"] == "r"


def test_two_processes_writing_at_once_lose_no_rows(tmp_path) -> None:
    path = tmp_path / "pool.sqlite"
    TaskPool(path).close()
    procs = [_writer(path, p, 200, 1) for p in ("a", "b")]
    while not all(Path(f"{path}.ready-{p}").exists() for p in ("a", "b")):
        time.sleep(0.01)
    Path(f"{path}.go").touch()
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    with TaskPool(path) as pool:
        assert len(pool) == 400
        assert pool.stats("shared", "v1").attempts == 400


def test_process_killed_mid_write_leaves_a_readable_pool(tmp_path) -> None:
    path = tmp_path / "pool.sqlite"
    TaskPool(path).close()
    proc = _writer(path, "k", -1, 25)  # writes until killed
    Path(f"{path}.go").touch()
    deadline = time.time() + 60
    while time.time() < deadline:
        with TaskPool(path) as pool:
            if len(pool) >= 100:
                break
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    conn.close()
    with TaskPool(path) as pool:
        n = len(pool)
        assert n >= 100 and n % 25 == 0  # whole transactions only
        assert all(e.task.id.startswith("k-") for e in pool.entries())
        assert pool.add_many([]) == 0
        pool.record_outcome("shared", "v1", True)  # still writable
