"""A worker's start-up: the program built once (from the bytecode cache), the harness warmed before the zygote forks,
every process named by its role."""

from __future__ import annotations

import builtins
import marshal
import py_compile
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from importlib.machinery import SourceFileLoader
from pathlib import Path

import closedloop.sandbox.worker as worker_module
from closedloop.sandbox import Worker, _inside
from closedloop.sandbox.wire import decode_plain

from .._procs import descendants


def test_the_worker_program_is_built_once_when_workers_start_at_once(monkeypatch) -> None:
    # a pool starts its slots' workers from several threads: an unlocked cache let each build
    # the program (~6,000 lines: one compile cost ~100 ms of CPU) before the first had stored it
    loaded = []

    class CountingLoader(SourceFileLoader):
        def get_code(self, fullname):  # noqa: ANN001, ANN202
            loaded.append(Path(self.path).name)
            return super().get_code(fullname)

    monkeypatch.setattr(worker_module, "SourceFileLoader", CountingLoader)
    monkeypatch.setattr(worker_module, "_CODE", [])
    with ThreadPoolExecutor(6) as ex:
        programs = list(ex.map(lambda _: worker_module._worker_code(), range(6)))
    assert loaded == list(worker_module._PROGRAM) and len(set(programs)) == 1


def test_the_worker_program_comes_from_the_bytecode_cache(monkeypatch, tmp_path: Path) -> None:
    # an installed package has its bytecode cached (pip compiles it; a first import writes
    # it): the host must not compile the worker's sources again on every run
    for name in worker_module._PROGRAM:
        shutil.copy(Path(worker_module.__file__).parent / name, tmp_path / name)
        py_compile.compile(str(tmp_path / name), doraise=True)
    monkeypatch.setattr(worker_module, "_HERE", tmp_path)
    monkeypatch.setattr(worker_module, "_CODE", [])

    def no_compile(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        raise AssertionError(f"compiled {args[1]!r} again")

    monkeypatch.setattr(builtins, "compile", no_compile)
    codes = marshal.loads(worker_module._worker_code())
    monkeypatch.undo()
    assert [Path(c.co_filename).name for c in codes] == list(worker_module._PROGRAM)


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
