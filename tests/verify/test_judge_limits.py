"""A judge runs under the same kind of limits as a candidate job: a checker handed the
candidate's values cannot spend unbounded memory, CPU, processes, file space or time on the
host, and a judge cut off at a limit while judging is the candidate's failure, never
``infra_error``.

Each checker calls the candidate first (from then on the candidate's data is in play), then
runs into one limit. The checkers that end in ``PASS`` pass only where the limit stopped them.
"""

from __future__ import annotations

import time

from closedloop.sandbox import Limit, SandboxLimits
from closedloop.tasks.format import parse_task
from closedloop.verify import Outcome, Verifier


def checked(checker: str):
    return parse_task({"id": "j", "entry_point": "f", "checker": checker})


def verify(limits: SandboxLimits, checker: str, code: str = "def f():\n    return 1\n"):
    with Verifier(workers=1, limits=limits) as v:
        return v.verify(checked(checker), code)


def test_a_judge_cannot_allocate_past_the_address_space_limit():
    checker = (
        "def check(candidate):\n"
        "    n = candidate()\n"
        "    try:\n        bytes(n)\n    except MemoryError:\n        return\n"
        "    raise AssertionError('the judge allocated past its limit')\n"
    )
    # twice a small limit: without the limit the allocation succeeds on any machine that runs
    # the tests (8 GiB failed on a small one with no limit at all)
    v = verify(SandboxLimits(mem_bytes=256 << 20), checker, "def f():\n    return 512 << 20\n")
    assert v.outcome is Outcome.PASS, v.detail


def test_a_judge_spinning_on_the_cpu_is_killed_at_the_cpu_limit_as_a_timeout():
    checker = "def check(candidate):\n    candidate()\n    while True:\n        pass\n"
    t0 = time.monotonic()
    v = verify(SandboxLimits(wall_s=20.0, cpu_s=1.0), checker)
    assert v.outcome is Outcome.TIMEOUT, v.detail
    assert Limit.CPU in v.refusals.limits
    assert time.monotonic() - t0 < 15.0


def test_a_judge_cannot_start_64_threads():
    # Past its process limit, or where the host is root (which RLIMIT_NPROC does not bind:
    # tests/sandbox/test_isolation.py shows the limit as an ordinary user) past its address
    # space, 8 MiB of stack a thread.
    checker = (
        "import threading, time\n"
        "def check(candidate):\n"
        "    candidate()\n"
        "    n = 0\n"
        "    try:\n"
        "        for _ in range(64):\n"
        "            threading.Thread(target=time.sleep, args=(0.5,), daemon=True).start()\n"
        "            n += 1\n"
        "    except RuntimeError:\n"
        "        assert n >= 1, 'the judge could start no thread at all'\n"
        "        return\n"
        "    raise AssertionError('the judge started 64 threads')\n"
    )
    v = verify(SandboxLimits(nproc=8), checker)
    assert v.outcome is Outcome.PASS, v.detail


def test_a_judge_cannot_write_a_file_past_the_file_size_limit():
    checker = (
        "import errno\n"
        "def check(candidate):\n"
        "    candidate()\n"
        "    try:\n"
        "        with open('/tmp/big', 'wb') as f:\n"
        "            f.write(b'x' * (1 << 20))\n"
        "    except OSError as e:\n"
        "        assert e.errno == errno.EFBIG, e\n        return\n"
        "    raise AssertionError('the judge wrote past its file size limit')\n"
    )
    v = verify(SandboxLimits(fsize_bytes=64 << 10), checker)
    assert v.outcome is Outcome.PASS, v.detail


def test_a_judge_past_the_wall_clock_is_killed_by_its_worker_as_a_timeout():
    checker = "import time\ndef check(candidate):\n    candidate()\n    time.sleep(60)\n"
    with Verifier(workers=1, limits=SandboxLimits(wall_s=1.5)) as v:
        with v.pool.slot() as slot:
            judge_pid = slot.judge.pid
        t0 = time.monotonic()
        verdict = v.verify(checked(checker), "def f():\n    return 1\n")
        assert time.monotonic() - t0 < 3.0
        with v.pool.slot() as slot:
            assert slot.judge.pid == judge_pid  # killed the checker, not the worker
    assert verdict.outcome is Outcome.TIMEOUT, verdict.detail
    assert Limit.WALL_CLOCK in verdict.refusals.limits
