"""``Verifier.call`` and ``call_many``: every input gets its own answer, whatever the others do."""

from __future__ import annotations

import time

import pytest

from closedloop.sandbox import SandboxLimits, WorkerLost
from closedloop.verify import CallJob, CallResult, Verifier, runner

# f(0) loops forever, f(1) ends the process, f(2) segfaults, f(3) takes half of the 0.5 s
# wall clock; any other n returns n * 10
CODE = (
    "import os, time\n"
    "def f(n):\n"
    "    if n == 0:\n"
    "        while True:\n"
    "            pass\n"
    "    if n == 1:\n"
    "        os._exit(3)\n"
    "    if n == 2:\n"
    "        import ctypes\n"
    "        return ctypes.string_at(0)\n"
    "    if n == 3:\n"
    "        time.sleep(0.25)\n"
    "    return n * 10\n"
)
LOOP, EXIT, SEGV, SLOW = "(0,)", "(1,)", "(2,)", "(3,)"


@pytest.fixture(scope="module")
def fast_verifier():
    with Verifier(workers=2, limits=SandboxLimits(wall_s=0.5)) as v:
        yield v


def test_a_timeout_does_not_lose_the_inputs_after_it(fast_verifier):
    t0 = time.monotonic()
    results = fast_verifier.call(CODE, "f", ["(5,)", LOOP, "(7,)"])
    assert [r.value for r in results] == ["50", None, "70"]
    assert not results[1].ok and "timeout" in (results[1].error or "")
    assert time.monotonic() - t0 < 5


@pytest.mark.parametrize("crash", [EXIT, SEGV], ids=["os-exit", "segfault"])
def test_a_crash_does_not_lose_the_inputs_after_it(fast_verifier, crash):
    results = fast_verifier.call(CODE, "f", ["(5,)", crash, "(6,)", crash, "(7,)"])
    assert [r.value for r in results] == ["50", None, "60", None, "70"]
    assert all(r.error for r in results if not r.ok)


@pytest.fixture
def jobs_started(monkeypatch):
    """How many sandbox jobs ``Verifier.call`` starts (a list holding the count)."""
    count = [0]
    real = runner._call_job

    def counted(*args: object) -> tuple[list[CallResult], int | None]:
        count[0] += 1
        return real(*args)

    monkeypatch.setattr(runner, "_call_job", counted)
    return count


def test_inputs_that_all_time_out_cost_one_job_each(fast_verifier, jobs_started):
    results = fast_verifier.call(CODE, "f", [LOOP, LOOP, LOOP])
    assert all(not r.ok and "timeout" in (r.error or "") for r in results)
    assert jobs_started == [3]


def test_without_resume_a_lost_call_ends_the_calls_in_one_job(fast_verifier, jobs_started):
    # code that may hang (a challenger's example on lists it never saw) costs one wall clock
    results = fast_verifier.call(CODE, "f", ["(5,)", LOOP, "(7,)", EXIT], resume=False)
    assert [r.value for r in results] == ["50", None, None, None]
    assert "timeout" in (results[1].error or "")
    assert all("not run" in (r.error or "") for r in results[2:])
    assert jobs_started == [1]
    crashed = fast_verifier.call(CODE, "f", [EXIT, "(7,)"], resume=False)
    assert [r.ok for r in crashed] == [False, False] and jobs_started == [2]


def test_a_call_lost_mid_job_gets_one_job_of_its_own(fast_verifier, jobs_started):
    # the loop is lost first behind (5,), then alone; (7,) then runs in a third job
    results = fast_verifier.call(CODE, "f", ["(5,)", LOOP, "(7,)"])
    assert [r.value for r in results] == ["50", None, "70"] and jobs_started == [3]
    results = fast_verifier.call(CODE, "f", ["(5,)", "(6,)"])  # nothing lost: one job
    assert [r.value for r in results] == ["50", "60"] and jobs_started == [4]


def test_a_call_that_ran_out_of_a_shared_clock_is_answered_alone(fast_verifier):
    results = fast_verifier.call(CODE, "f", [SLOW, SLOW, SLOW])
    assert [r.value for r in results] == ["30", "30", "30"]


def test_a_program_that_does_not_load_fails_every_input_in_one_job(fast_verifier, jobs_started):
    results = fast_verifier.call("def f(n):\n    return (\n", "f", ["(1,)", "(2,)"])
    assert len(results) == 2 and not any(r.ok or r.infra_error for r in results)
    assert jobs_started == [1]


def test_call_many_keeps_job_order(fast_verifier):
    jobs = [CallJob(f"def f(n):\n    return n + {k}\n", "f", ["(1,)", "(2,)"]) for k in range(5)]
    got = fast_verifier.call_many(jobs)
    assert [[r.value for r in rs] for rs in got] == [[str(1 + k), str(2 + k)] for k in range(5)]


def test_call_many_contains_a_job_the_sandbox_failed(fast_verifier, monkeypatch):
    real = fast_verifier.call
    lost_once: set[str] = set()

    def flaky(
        code: str, entry: str, inputs: list[str], prompt: str = "", resume: bool = True
    ) -> list[CallResult]:
        if "LOST" in code:
            raise WorkerLost("worker did not report the end of a job")
        if "BUG" in code:
            raise ValueError("a verifier bug")
        if "ONCE" in code and code not in lost_once:  # lost once: retried on a fresh worker
            lost_once.add(code)
            raise WorkerLost("worker is not running")
        return real(code, entry, inputs, prompt)

    monkeypatch.setattr(fast_verifier, "call", flaky)
    ok = "def f(n):\n    return n\n"
    jobs = [
        CallJob(ok, "f", ["(1,)"]),
        CallJob(ok + "# LOST\n", "f", ["(1,)", "(2,)"]),
        CallJob(ok + "# BUG\n", "f", ["(1,)"]),
        CallJob(ok + "# ONCE\n", "f", ["(3,)"]),
        CallJob(CODE, "f", ["(4,)", LOOP, "(5,)"]),
    ]
    retries = fast_verifier.infra_retries
    first, lost, bug, once, timed = fast_verifier.call_many(jobs)
    assert first == [CallResult(True, value="1")]
    assert fast_verifier.infra_retries == retries + 3  # LOST twice, ONCE once
    assert all(r.infra_error and not r.ok and "worker" in (r.error or "") for r in lost)
    assert len(lost) == 2
    assert bug[0].infra_error and "ValueError" in (bug[0].error or "")
    assert once == [CallResult(True, value="3")]
    assert [r.value for r in timed] == ["40", None, "50"] and not timed[1].infra_error


def test_call_many_reports_each_job_as_it_finishes(fast_verifier):
    seen: list[list[CallResult]] = []
    jobs = [CallJob("def f(n):\n    return n\n", "f", [f"({k},)"]) for k in range(3)]
    got = fast_verifier.call_many(jobs, on_done=seen.append)
    assert sorted(r[0].value or "" for r in seen) == ["0", "1", "2"] and len(got) == 3
