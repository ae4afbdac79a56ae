"""A worker's start-up: the program compiled once, the harness warmed before the zygote forks,
every process named by its role."""

from __future__ import annotations

import builtins
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
    try:
        assert cand.pid is not None and judge.pid is not None
        assert _names(cand.pid) == ["cl-job", "cl-pid1", "cl-worker", "cl-zygote"]
        assert _names(judge.pid) == ["cl-judge", "cl-judges", "cl-worker"]
    finally:
        cand.kill()
        judge.kill()


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
