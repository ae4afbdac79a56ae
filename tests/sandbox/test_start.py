"""A worker's start-up: the program compiled once, the harness warmed before the zygote forks,
every process named by its role."""

from __future__ import annotations

import builtins
import time
from concurrent.futures import ThreadPoolExecutor

import closedloop.sandbox.worker as worker_module
from closedloop.sandbox import Worker, _inside
from closedloop.sandbox.wire import decode_plain

from .._procs import descendants


def test_the_worker_program_is_compiled_once_when_workers_start_at_once(monkeypatch) -> None:
    # a pool starts its slots' workers from several threads: an unlocked cache let each compile
    # the ~1,600-line program (~16 ms of CPU each) before the first had stored it
    compiles = []

    def counting_compile(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        compiles.append(args[1])
        return builtins.compile(*args, **kwargs)

    monkeypatch.setattr(worker_module, "compile", counting_compile, raising=False)
    monkeypatch.setattr(worker_module, "_CODE", [])
    with ThreadPoolExecutor(6) as ex:
        programs = list(ex.map(lambda _: worker_module._worker_code(), range(6)))
    assert compiles == ["<sandbox worker>"] and len(set(programs)) == 1


def _names(pid: int) -> list[str]:
    names = []
    for p in [pid, *descendants(pid)]:
        try:
            with open(f"/proc/{p}/comm") as f:
                names.append(f.read().strip())
        except OSError:
            pass
    return sorted(names)


def test_every_sandbox_process_is_named_by_its_role() -> None:
    # benchmarks/verify_profile.py splits the verifier's CPU time by these names, and ps/top
    # show them; a candidate worker holds its next job's child, locked down and waiting
    cand, judge = Worker(), Worker(judge=True)
    want = {
        cand.pid: ["cl-job", "cl-pid1", "cl-worker", "cl-zygote"],
        judge.pid: ["cl-judge", "cl-judges", "cl-worker"],
    }
    try:
        # a worker says it is ready before it forks its zygote (and the zygote its first
        # job) or its judge runner: wait for them
        deadline = time.monotonic() + 10
        while any(_names(pid) != names for pid, names in want.items()):
            if time.monotonic() > deadline:
                break
            time.sleep(0.02)
        assert {pid: _names(pid) for pid in want} == want
    finally:
        cand.kill()
        judge.kill()


def test_a_candidate_worker_warms_up_before_its_zygote_forks(worker, job) -> None:
    # the count the worker's warm-up left is in every job's copy of the harness's globals
    code = "import sys\ndef f():\n    return sys._getframe(1).f_globals['_WARMED_UP']\n"
    _, value, _ = job(worker, code)
    assert value == 1 + len(_inside._WARM_UP_CALLS)  # "ready", then one reply a call


def test_the_warm_up_serves_its_calls_as_a_job_would() -> None:
    # the warm-up is worth its start-up time only if it runs the harness's whole path: the
    # program loaded, every call answered with a value (in-place changes reported) or a raise
    replies = _inside._warm_up()
    assert replies[0] == {"ready": True}
    calls = replies[1:]
    assert [r["i"] for r in calls] == list(range(len(_inside._WARM_UP_CALLS)))
    raised = [r["raised"] for r in calls if "raised" in r]
    assert raised == ["ValueError"]
    values = [decode_plain(r["value"]) for r in calls if "value" in r]
    assert len(values) == len(calls) - 1
    assert values[0] == [8, [], {}]
    assert decode_plain(calls[0]["args"]) == ([3, 1, 4, 1, 5, 5],)  # the append, as sync shows
    assert values[1] == "HELLO WORLD dehlorw2"
