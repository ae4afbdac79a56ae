"""The SQLite pool: provenance, statistics, sampling, JSONL, and safety across processes."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from closedloop.tasks.fingerprint import Fingerprint
from closedloop.tasks.pool import Provenance, SampleStrategy, TaskPool

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


def test_sampling_strategies(tmp_path, make_task) -> None:
    with TaskPool(tmp_path / "p.sqlite") as pool:
        pool.add_many((t, None, None) for t in _tasks(make_task, 4))
        # t0 always solved, t1 never, t2 half, t3 unseen
        pool.record_outcomes([("t0", "v", True)] * 4 + [("t1", "v", False)] * 4)
        pool.record_outcomes([("t2", "v", True), ("t2", "v", False)] * 2)
        ids = lambda ts: [t.id for t in ts]  # noqa: E731
        assert ids(pool.sample(4, SampleStrategy.EASIEST_FIRST, "v"))[0] == "t0"
        assert ids(pool.sample(4, SampleStrategy.EASIEST_FIRST, "v"))[-1] == "t1"
        assert set(ids(pool.sample(2, SampleStrategy.VARIANCE, "v"))) == {"t2", "t3"}
        band = ids(pool.sample(4, SampleStrategy.SOLVE_RATE_BAND, "v", band=(0.2, 0.8)))
        assert sorted(band) == ["t2", "t3"]
        band = pool.sample(
            4, SampleStrategy.SOLVE_RATE_BAND, "v", band=(0.2, 0.8), include_unseen=False
        )
        assert ids(band) == ["t2"]
        assert ids(pool.sample(4, SampleStrategy.UNIFORM, "v", seed=1)) == ids(
            pool.sample(4, SampleStrategy.UNIFORM, "v", seed=1)
        )
        with pytest.raises(ValueError, match="band"):
            pool.sample(1, SampleStrategy.SOLVE_RATE_BAND, "v", band=(0.9, 0.1))


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
