"""RayVerifier on a real two-node Ray cluster on this machine (tests/distributed/conftest.py):
one actor per node, the local pool's verdicts, exactly one verdict per job when a node's actor
is killed mid-batch or a batch runs past its deadline, bounded reading ahead, and the
``--ray`` option of ``closedloop verify``."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from closedloop.sandbox import SandboxLimits
from closedloop.tasks.format import Task, parse_task
from closedloop.verify import CallJob, Outcome, Verdict, Verifier

ray = pytest.importorskip("ray", reason="Ray is not installed (pip install 'closedloop[ray]')")

from closedloop.distributed import RayVerifier  # noqa: E402  (needs Ray)

_spec = importlib.util.spec_from_file_location(
    "closedloop_exploit_rows", Path(__file__).resolve().parents[1] / "verify" / "test_exploits.py"
)
ROWS = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(ROWS)

WALL_S = 2.0
IN_FLIGHT, JOBS_PER_SLOT = 2, 4  # batches per actor, jobs per slot in a batch
# Attacks whose verdict is decided by the wall clock itself (they run until it kills them):
# left out of the comparison but for one, so the batch stays a few seconds long; plain
# timeouts are in it below.
_AT_THE_CLOCK = {
    "14-walk-file-system",
    "17-fake-clock",
    "23-huge-string",
    "27-memory-bomb",
    "27-output-flood",
    "27-segfault",
    "31-keys-that-hash-alike",
}
SORTED = "def f(xs):\n    return sorted(xs)\n"
SLOW_SORTED = "import time\ndef f(xs):\n    time.sleep(0.4)\n    return sorted(xs)\n"


def _sort(task_id: str) -> Task:
    return parse_task(
        {
            "id": task_id,
            "entry_point": "f",
            "instruction": "sort the list",
            "private_tests": [{"input": "([5, 4],)", "output": "[4, 5]"}],
        }
    )


def mixed_batch() -> list[tuple[Task, str]]:
    """Passes, fails, errors, timeouts and every attack of tests/verify/test_exploits.py that
    does not run into the wall clock."""
    sort = ROWS.SORT
    items = [
        (sort, ROWS.CORRECT),
        (ROWS.MEAN, ROWS.CORRECT_MEAN),
        (ROWS.CHECKED, ROWS.CORRECT),
        (sort, "def f(xs):\n    return xs\n"),
        (sort, "def f(xs):\n    raise ValueError('no')\n"),
        (sort, "def f(xs):\n    while True:\n        pass\n"),
        (ROWS.CHECKED, "def f(xs):\n    while True:\n        pass\n"),
        (sort, "def f(xs) return xs\n"),
    ]
    return items + [ROWS.ATTACKS[k] for k in sorted(ROWS.ATTACKS) if k not in _AT_THE_CLOCK]


def signature(v: Verdict) -> tuple[object, ...]:
    """What must agree between two verifiers (timings and the text around them aside)."""
    return (v.task_id, v.outcome, v.passed, v.total, tuple((t.passed, t.got) for t in v.tests))


@pytest.fixture(scope="module")
def shared(cluster) -> Iterator[RayVerifier]:
    with RayVerifier(
        cluster.address,
        limits=SandboxLimits(wall_s=WALL_S),
        max_in_flight=IN_FLIGHT,
        jobs_per_slot=JOBS_PER_SLOT,
    ) as v:
        yield v


def test_one_actor_on_each_node_and_none_imports_torch(cluster, shared: RayVerifier):
    infos = [info for _, info in shared.actors]
    assert sorted(i.node_id for i in infos) == sorted(cluster.node_ids.values())
    assert not any(i.torch_imported for i in infos)
    assert shared.pool.size == 2  # one slot per node: each node has one CPU


def test_mixed_batch_gets_the_local_pools_verdicts(shared: RayVerifier):
    items = mixed_batch()
    with Verifier(workers=2, limits=SandboxLimits(wall_s=WALL_S)) as local:
        expected = [signature(v) for v in local.verify_many(items)]
    got = [signature(v) for v in shared.verify_many(items)]
    assert got == expected
    outcomes = Counter(s[1] for s in got)
    assert {Outcome.PASS, Outcome.FAIL, Outcome.ERROR, Outcome.TIMEOUT} <= set(outcomes)
    assert outcomes[Outcome.PASS] == 3  # the three correct solutions, no attack
    assert outcomes[Outcome.INFRA_ERROR] == 0


def test_call_many_gets_the_local_pools_results(shared: RayVerifier):
    jobs = [
        CallJob("def g(a):\n    return a * 2\n", "g", ["(1,)", "('x',)"]),
        CallJob("def g(a):\n    raise KeyError(a)\n", "g", ["(1,)"]),
        CallJob("def g(a):\n    while True:\n        pass\n", "g", ["(1,)"]),
    ]
    with Verifier(workers=2, limits=SandboxLimits(wall_s=WALL_S)) as local:
        expected = local.call_many(jobs)
    assert shared.call_many(jobs) == expected
    assert shared.call("def g(a):\n    return -a\n", "g", ["(3,)"])[0].value == "-3"


def test_jobs_are_read_only_as_far_as_the_actors_have_room(shared: RayVerifier):
    read = 0
    read_at_first_verdict: list[int] = []

    def source() -> Iterator[tuple[Task, str]]:
        nonlocal read
        for i in range(60):
            read += 1
            yield _sort(f"t{i}"), SORTED

    verdicts = shared.verify_many(source(), on_done=lambda _: read_at_first_verdict.append(read))
    # 2 nodes x 2 batches in flight x (1 slot x 4 jobs) a batch, and one item looked at ahead
    assert read_at_first_verdict[0] <= 2 * IN_FLIGHT * JOBS_PER_SLOT + 1
    assert [v.outcome for v in verdicts] == [Outcome.PASS] * 60


def test_calls_from_several_threads_at_once_each_get_their_own_verdicts(shared: RayVerifier):
    wrong = "def f(xs):\n    return xs\n"
    batches = {
        k: [(_sort(f"{k}{i}"), SORTED if (i + len(k)) % 2 else wrong) for i in range(10)]
        for k in ("a", "bb", "ccc")
    }
    got: dict[str, list[Verdict]] = {}
    threads = [
        threading.Thread(target=lambda k=k: got.__setitem__(k, shared.verify_many(batches[k])))
        for k in batches
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    for k, items in batches.items():
        assert [v.task_id for v in got[k]] == [t.id for t, _ in items]
        assert [v.outcome for v in got[k]] == [
            Outcome.PASS if s == SORTED else Outcome.FAIL for _, s in items
        ]


@pytest.mark.parametrize("no_restart", [True, False], ids=["gone-for-good", "restarted"])
def test_killing_one_nodes_actor_mid_batch_leaves_every_job_exactly_one_verdict(
    cluster, no_restart: bool
):
    n = 12
    items = [(_sort(f"t{i}"), SLOW_SORTED) for i in range(n)]
    finished: list[str] = []
    killed = threading.Event()
    # one job a batch, two batches an actor: whichever batch ends first, the doomed actor
    # still holds one when the first verdict arrives
    with RayVerifier(
        cluster.address, limits=SandboxLimits(wall_s=WALL_S), max_in_flight=2, jobs_per_slot=1
    ) as v:
        doomed = next(h for h, info in v.actors if info.node_id == cluster.node_ids["cl_node_1"])

        def on_done(verdict: Verdict) -> None:
            finished.append(verdict.task_id)
            if not killed.is_set():  # kill it mid-batch
                killed.set()
                ray.kill(doomed, no_restart=no_restart)

        verdicts = v.verify_many(items, on_done=on_done)
        stats = v.stats
    assert killed.is_set()
    assert Counter(finished) == Counter(f"t{i}" for i in range(n))  # once each, none missing
    assert [x.task_id for x in verdicts] == [f"t{i}" for i in range(n)]
    assert [x.outcome for x in verdicts] == [Outcome.PASS] * n  # lost work is redone, not failed
    assert stats.lost_batches >= 1 and stats.retried_jobs >= 1
    assert stats.duplicates == 0


def test_a_batch_past_its_deadline_is_retried_elsewhere_then_infra_error(cluster):
    stuck = (_sort("stuck"), "import time\ndef f(xs):\n    time.sleep(30)\n")
    quick = [(_sort(f"q{i}"), SORTED) for i in range(3)]
    with RayVerifier(
        cluster.address,
        limits=SandboxLimits(wall_s=60.0),
        batch_timeout_s=1.5,
        max_losses=1,
        max_in_flight=1,  # nothing queued behind the stuck batch on its actor ...
        jobs_per_slot=1,  # ... nor beside it in its batch (a lost batch loses all its jobs)
    ) as v:
        t0 = time.monotonic()
        verdicts = v.verify_many([stuck, *quick])
        elapsed = time.monotonic() - t0
        stats = v.stats
    assert verdicts[0].outcome is Outcome.INFRA_ERROR and verdicts[0].reward is None
    assert "deadline" in verdicts[0].detail
    assert [x.outcome for x in verdicts[1:]] == [Outcome.PASS] * 3
    assert stats.timed_out_batches == 2  # its first actor, then the one it was retried on
    assert elapsed < 20  # far from the job's own 60 s: the batch deadline ended it


def test_closing_stops_every_actor(cluster):
    v = RayVerifier(cluster.address, limits=SandboxLimits(wall_s=WALL_S))
    handles = [h for h, _ in v.actors]
    v.close()
    for h in handles:
        with pytest.raises(ray.exceptions.RayActorError):
            ray.get(h.info.remote(), timeout=30)


def test_the_reward_server_runs_on_a_ray_verifier_unchanged(shared: RayVerifier):
    import httpx

    from closedloop.serve.app import make_app
    from closedloop.serve.background import background_server

    wrong, loops = "def f(xs):\n    return xs\n", "def f(xs):\n    while True:\n        pass\n"
    items = [{"task_id": "sort", "completion": c} for c in (SORTED, wrong, loops, SORTED)]
    with background_server(make_app(shared, [_sort("sort")])) as url:
        r = httpx.post(url + "/reward", json={"items": items}, timeout=60)
    assert r.status_code == 200, r.text
    assert r.json()["rewards"] == [1.0, 0.0, 0.0, 1.0]


def test_verify_command_with_ray_writes_the_local_verdicts(cluster, tmp_path: Path):
    items = mixed_batch()[:8]
    tasks = {t.id: t for t, _ in items}
    (tmp_path / "tasks.jsonl").write_text(
        "".join(json.dumps(t.to_json()) + "\n" for t in tasks.values())
    )
    (tmp_path / "sols.jsonl").write_text(
        "".join(json.dumps({"task_id": t.id, "solution": s}) + "\n" for t, s in items)
    )

    def verdicts(*extra: str) -> list[tuple[str, str, int]]:
        out = subprocess.run(
            [sys.executable, "-m", "closedloop.cli", "verify", "tasks.jsonl", "sols.jsonl"]
            + ["-q", "--timeout", str(WALL_S), *extra],
            cwd=tmp_path,
            env=cluster.env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert out.returncode == 0, out.stderr[-2000:]
        rows = [json.loads(x) for x in out.stdout.splitlines()]
        return [(r["task_id"], r["outcome"], r["passed"]) for r in rows]

    assert verdicts("--ray", cluster.address) == verdicts()


@pytest.mark.slow  # a whole (short) run of the loop: ~30 s here
def test_the_loop_verifies_on_the_cluster_given_in_its_config(cluster, tmp_path: Path):
    import sqlite3

    run_dir = tmp_path / "run"
    out = subprocess.run(
        [sys.executable, "-m", "closedloop.cli", "run", "--preset", "short"]
        + ["--iterations", "1", "--run-dir", str(run_dir), "--ray", cluster.address],
        env=cluster.env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert f'ray_address = "{cluster.address}"' in (run_dir / "config.toml").read_text()
    db = sqlite3.connect(str(run_dir / "run.sqlite"))
    try:
        outcomes = Counter(o for (o,) in db.execute("SELECT outcome FROM attempts"))
        work = [
            json.loads(d)
            for (d,) in db.execute("SELECT data FROM events WHERE kind = 'cluster_verifier'")
        ]
    finally:
        db.close()
    assert sum(outcomes.values()) > 0 and outcomes[str(Outcome.INFRA_ERROR)] == 0
    # the attempts were verified on the cluster's two nodes, not quietly on a local pool
    (summary,) = work
    assert summary["nodes"] == 2 and summary["batches"] > 0 and summary["failed_jobs"] == 0
