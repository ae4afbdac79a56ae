"""The pool survives its workers dying, and the sandbox refuses to run weaker."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

from closedloop.sandbox import SandboxLimits
from closedloop.tasks.format import parse_task
from closedloop.verify import Outcome, Verifier

TASK = parse_task(
    {"id": "t", "entry_point": "f", "private_tests": [{"input": "(1,)", "output": "1"}]}
)
SLOW = "import time\ndef f(x):\n    time.sleep(0.6)\n    return x\n"


def _kill_worker_soon(v: Verifier, times: int, delay: float = 0.25) -> threading.Thread:
    def run() -> None:
        for _ in range(times):
            time.sleep(delay)
            slot = v.pool._slots[0]
            os.killpg(slot.candidate.pid, signal.SIGKILL)
            time.sleep(0.3)  # let the retry start on the replacement worker

    t = threading.Thread(target=run)
    t.start()
    return t


def test_a_worker_killed_mid_job_is_replaced_and_the_job_retried():
    with Verifier(workers=1, limits=SandboxLimits(wall_s=5)) as v:
        old = v.pool._slots[0].candidate.pid
        killer = _kill_worker_soon(v, times=1)
        verdict = v.verify(TASK, SLOW)
        killer.join()
        assert verdict.outcome is Outcome.PASS
        assert v.infra_retries == 1
        assert v.pool._slots[0].candidate.pid != old
        assert v.verify(TASK, "def f(x):\n    return x\n").outcome is Outcome.PASS


def test_a_job_whose_worker_dies_twice_is_an_infra_error_not_a_zero():
    with Verifier(workers=1, limits=SandboxLimits(wall_s=5)) as v:
        killer = _kill_worker_soon(v, times=2)
        verdict = v.verify(TASK, SLOW)
        killer.join()
        assert verdict.outcome is Outcome.INFRA_ERROR and verdict.reward is None
        assert "lost twice" in verdict.detail
        assert v.verify(TASK, "def f(x):\n    return x\n").outcome is Outcome.PASS


def test_refuses_to_start_when_the_kernel_denies_namespaces():
    """Run the host under a seccomp filter that denies unshare(2): the worker must refuse,
    loudly, rather than run without namespaces."""
    src = str(Path(__file__).resolve().parents[2] / "src")
    code = textwrap.dedent(f"""
        import ctypes, struct, sys
        sys.path.insert(0, {src!r})
        libc = ctypes.CDLL(None, use_errno=True)
        prog = b"".join(struct.pack("HBBI", *i) for i in [
            (0x20, 0, 0, 0), (0x15, 0, 1, 272), (0x06, 0, 0, 0x00050001), (0x06, 0, 0, 0x7FFF0000)])
        buf = ctypes.create_string_buffer(prog, len(prog))
        class F(ctypes.Structure):
            _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]
        f = F(len(prog) // 8, ctypes.cast(buf, ctypes.c_void_p))
        assert libc.prctl(38, 1, 0, 0, 0) == 0 and libc.prctl(22, 2, ctypes.byref(f), 0, 0) == 0
        from closedloop.sandbox import SandboxUnavailable, Worker
        try:
            Worker()
        except SandboxUnavailable as e:
            print("REFUSED:", e)
    """)
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.stdout.startswith("REFUSED:") and "unshare" in r.stdout, (r.stdout, r.stderr)


def test_rerun_flags_nondeterminism():
    flaky = "import random\ndef f(x):\n    return x if random.random() < 0.5 else -x\n"
    with Verifier(workers=2) as v:
        flagged = [v.verify(TASK, flaky, rerun=True) for _ in range(12)]
        assert any(x.nondeterministic for x in flagged)
        assert all(x.outcome is not Outcome.PASS for x in flagged if x.nondeterministic)
        steady = v.verify(TASK, "def f(x):\n    return x\n", rerun=True)
        assert steady.outcome is Outcome.PASS and not steady.nondeterministic


def test_rerun_in_a_batch_runs_the_second_time_on_another_worker():
    # each worker hashes strings with its own seed: a solution that depends on it differs
    # between workers. In a batch every slot was busy, so the second run took the same worker
    # and 0 of 30 were flagged (one at a time: all were).
    by_hash = "def f(x):\n    return hash('abc')\n"
    task = parse_task(
        {"id": "h", "entry_point": "f", "private_tests": [{"input": "(1,)", "output": "0"}]}
    )
    with Verifier(workers=2) as v:
        verdicts = v.verify_many([(task, by_hash)] * 12, rerun=True)
    assert all(x.nondeterministic for x in verdicts), [x.detail for x in verdicts]
