"""A slot's processes share one CPU: its candidate and judge take turns, and a turn handed
across CPUs costs an interrupt where on one it is a switch."""

import os
import time

import pytest

from closedloop.sandbox.pool import SandboxPool, slot_cpus


def test_slots_take_the_cpus_this_process_may_use_in_turn():
    allowed = sorted(os.sched_getaffinity(0))
    cpus = slot_cpus(2 * len(allowed))
    if len(allowed) < 2:
        assert cpus == [None] * (2 * len(allowed))
        return
    assert sorted(cpus) == sorted(allowed * 2)  # each CPU twice, none left out
    assert all(a != b for a, b in zip(cpus, cpus[1:], strict=False))  # neighbours differ


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="one CPU: nothing to pin")
def test_every_process_of_a_slot_runs_on_the_slots_cpu(descendants):
    with SandboxPool(2) as pool:
        assert {s.cpu for s in pool._slots} == set(slot_cpus(2))
        for slot in pool._slots:
            workers = [slot.candidate.pid, slot.judge.pid]
            # worker, PID 1, zygote and its ready child; the judge's. PID 1 reports ready
            # before its zygote makes the first child: on a loaded machine that comes later
            deadline = time.monotonic() + 20
            while True:
                procs = workers + [p for w in workers for p in descendants(w)]
                if len(procs) >= 5 or time.monotonic() > deadline:
                    break
                time.sleep(0.05)
            assert len(procs) >= 5, procs
            for pid in procs:
                assert os.sched_getaffinity(pid) == {slot.cpu}, pid
