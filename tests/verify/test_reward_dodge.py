"""No reward dodge (EXPLOITS.md row 30): a candidate can never make its verdict the verifier's
own fault (``infra_error``) or the task's (``invalid``), which the loop drops unscored.

One test per path by which it once could: a forged sandbox-failure frame (at load and inside
a call), a value whose decoding or comparison raised an exception the host did not expect,
a value that broke the judge's verdict, a checker kept busy past the deadline. And the
converse: the host still blames the sandbox when the job never confirmed its lock-down.
"""

from __future__ import annotations

import os
import time

import pytest

from closedloop.sandbox import Limit, SandboxLimits, WorkerLost
from closedloop.sandbox.wire import write_frame
from closedloop.sandbox.worker import JobChannel
from closedloop.tasks.format import Split, parse_task
from closedloop.verify import Outcome, Verifier
from closedloop.verify.runner import _load

from .._hostile import PAGE_TABLES

IO = parse_task(
    {
        "id": "double",
        "entry_point": "f",
        "private_tests": [{"input": "(1,)", "output": "2"}, {"input": "(2,)", "output": "4"}],
    }
)
COMPLEX = parse_task(
    {"id": "cx", "entry_point": "f", "private_tests": [{"input": "(1,)", "output": "1j"}]}
)
CHECKED = parse_task(
    {
        "id": "double-checked",
        "entry_point": "f",
        "checker": "def check(candidate):\n    r = candidate(1)\n    assert r == 2, r\n",
    }
)
LOOPING = parse_task(
    {
        "id": "loop-checked",
        "entry_point": "f",
        "checker": "def check(candidate):\n    n = 0\n    for _ in range(candidate(1)):\n"
        "        n += 1\n    assert n == 2\n",
    }
)

FORGE = (
    "import os, json, struct\n"
    "def _frame(obj):\n"
    "    data = json.dumps(obj).encode()\n"
    "    os.write(4, struct.pack('>I', len(data)) + data)\n"
)


@pytest.fixture(scope="module")
def verifier():
    with Verifier(workers=1, limits=SandboxLimits(wall_s=2.0)) as v:
        yield v


def _scored(verdict):
    assert verdict.outcome not in (Outcome.INFRA_ERROR, Outcome.INVALID), verdict
    assert verdict.reward == 0.0, verdict


def test_forged_sandbox_error_at_load_is_the_candidates_error(verifier):
    code = FORGE + "_frame({'sandbox_error': 'seccomp: forged'})\nos._exit(0)\n"
    _scored(verifier.verify(IO, code))


def test_forged_sandbox_error_inside_a_call_is_the_candidates_error(verifier):
    code = FORGE + "def f(x):\n    _frame({'sandbox_error': 'forged'})\n    os._exit(71)\n"
    _scored(verifier.verify(IO, code))


def test_value_whose_decoding_overflows_is_the_candidates_error(verifier):
    code = FORGE + "def f(x):\n    _frame({'i': x - 1, 'value': '0x' + 'f' * 2000 + ' + 1j'})\n"
    code += "    os._exit(0)\n"
    _scored(verifier.verify(IO, code))


def test_value_whose_comparison_overflows_is_unequal(verifier):
    code = FORGE + "def f(x):\n    _frame({'i': 0, 'value': '0x' + 'f' * 1000})\n    os._exit(0)\n"
    verdict = verifier.verify(COMPLEX, code)
    _scored(verdict)


def test_value_too_large_to_print_does_not_break_the_judges_verdict(verifier):
    code = FORGE + (
        "def f(x):\n    _frame({'i': 1, 'value': hex(1 << 14300)})\n"
        "    return 0\n"  # never reached: the frame above is the reply
    )
    _scored(verifier.verify(CHECKED, code))


def test_candidate_that_keeps_the_checker_busy_times_out(verifier):
    verdict = verifier.verify(LOOPING, "def f(x):\n    return 10 ** 12\n")
    assert verdict.outcome is Outcome.TIMEOUT, verdict
    assert verifier.verify(LOOPING, "def f(x):\n    return 2\n").outcome is Outcome.PASS


def _channel_with(*frames):
    r, w = os.pipe()
    for f in frames:
        write_frame(w, f)
    os.close(w)
    in_r, in_w = os.pipe()
    ch = JobChannel(in_w, r, time.monotonic() + 5.0)
    return ch, in_r


def test_no_lock_down_confirmation_blames_the_sandbox():
    for frames in ([{"sandbox_error": "capset: EPERM"}], [{"ready": True}], []):
        ch, in_r = _channel_with(*frames)
        try:
            with pytest.raises(WorkerLost):
                _load(ch, "def f(x):\n    return x\n", "f")
        finally:
            ch.close()
            os.close(in_r)


def test_sandbox_error_after_the_confirmation_is_a_load_error():
    ch, in_r = _channel_with({"locked": True}, {"sandbox_error": "forged"})
    try:
        load = _load(ch, "def f(x):\n    return x\n", "f")
        assert "load_error" in load and "ready" not in load
    finally:
        ch.close()
        os.close(in_r)


def test_a_judge_the_candidate_left_no_time_is_not_the_sandboxs_fault(verifier):
    # A candidate can load, wait out its clock and confirm at the last moment: the judge then
    # starts with (next to) nothing, is stopped before it confirms, and that read as the
    # sandbox's failure (infra_error, dropped unscored). The deadline is set here directly,
    # since a candidate hits that window only now and then.
    for _ in range(3):
        with verifier.pool.slot() as slot:
            ch = slot.candidate.begin("candidate")
            try:
                assert "ready" in _load(ch, "def f(x):\n    return 2 * x\n", "f")
                ch.deadline = time.monotonic()  # nothing left: the judge is stopped at once
                outcome, _ = verifier._run_checker(CHECKED, ch, slot.judge)
            finally:
                slot.candidate.end(ch)
        assert outcome[0] not in (Outcome.INFRA_ERROR, Outcome.INVALID), outcome
    assert verifier.verify(CHECKED, "def f(x):\n    return 2 * x\n").outcome is Outcome.PASS


def test_arguments_a_raise_made_too_deep_to_send_back_are_the_candidates(verifier):
    # A forged raise changed the checker's list (through the in-place sync) into one nested
    # past the wire's caps; no value had been returned, so passing it again blamed the task.
    task = parse_task(
        {
            "id": "stack",
            "entry_point": "op",
            "checker": "def check(candidate):\n    s = []\n    try:\n"
            "        candidate(s, 'pop')\n    except IndexError:\n        pass\n"
            "    assert candidate(s, 'push', 5) is None and s == [5]\n",
        }
    )
    deep = "[" * 150 + "]" * 150
    code = FORGE + (
        "def op(s, what, x=None):\n"
        "    _frame({'i': 1, 'raised': 'IndexError', 'base': 'IndexError', 'error': 'x', "
        f"'args': '({deep}, \\'pop\\')'}})\n    os._exit(0)\n"
    )
    _scored(verifier.verify(task, code))


def test_a_file_path_past_path_max_in_tmp_is_not_the_sandboxs_fault(verifier):
    # the worker looks through /tmp after each job (for a file at the size limit); a path it
    # could not look at ended the worker before its report: infra_error, every time
    sol = (
        "import os\nos.chdir('/tmp')\nfor _ in range(16):\n    os.mkdir('d' * 250)\n"
        "    os.chdir('d' * 250)\nopen('f' * 200, 'w').close()\nos.chdir('/tmp')\n"
        "def f(x):\n    return x\n"
    )
    assert verifier.verify(IO, sol).outcome is Outcome.FAIL
    assert verifier.verify(IO, "def f(x):\n    return 2 * x\n").outcome is Outcome.PASS


def test_a_report_too_large_for_the_workers_socket_is_not_the_sandboxs_fault(verifier):
    # thousands of distinct refused call numbers (one report key each) and output that
    # escaped to six times its size made the job's report larger than the socket carries
    sol = (
        "import ctypes, os\nlibc = ctypes.CDLL(None)\nlibc.syscall.restype = ctypes.c_long\n"
        "for k in range(9990):\n    libc.syscall(ctypes.c_long(-2147483648 + k))\n"
        "os.write(1, b'\\xff' * 8192)\nos.write(2, b'\\xff' * 8192)\n"
        "def f(x):\n    return x\n"
    )
    verdict = verifier.verify(IO, sol)
    assert verdict.outcome is Outcome.FAIL, verdict.detail
    assert verdict.refusals.denied == {"other": 9990}


def test_a_job_the_kernel_kills_for_its_memory_is_the_candidates_failure():
    # page tables past the jobs' memory cgroup's bound: the OOM killer takes the job, never
    # its worker, so the verdict is the candidate's (and says which limit it hit)
    from closedloop.sandbox import cgroups

    probe = cgroups.make_job_memory(1 << 30, 64)
    if probe is None:
        pytest.skip("the memory cgroup is made where the host is root and has cgroup v1 memory")
    cgroups.remove(probe)
    limits = SandboxLimits(mem_bytes=256 << 20, tmp_bytes=1 << 20, wall_s=20.0)
    task = parse_task(
        {"id": "pt", "entry_point": "f", "private_tests": [{"input": "(60000,)", "output": "1"}]}
    )
    with Verifier(workers=1, limits=limits) as v:
        verdict = v.verify(task, PAGE_TABLES)
    _scored(verdict)
    assert verdict.refusals.limits.get(Limit.MEMORY) == 1, verdict
    assert "killed at its memory limit" in verdict.detail  # not a bare "signal 9"


def test_correct_solutions_still_pass(verifier):
    assert verifier.verify(IO, "def f(x):\n    return 2 * x\n", Split.ALL).outcome is Outcome.PASS
    assert verifier.verify(CHECKED, "def f(x):\n    return 2 * x\n").outcome is Outcome.PASS
