"""A pool of pre-warmed sandbox workers, handed out as slots.

A :class:`Slot` holds one candidate worker and, made when first needed, one judge worker:
checker code and the candidate never share a worker, so nothing the judge holds is ever in
memory a candidate's process was forked from. Slots are lent to one thread at a time.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

from closedloop.sandbox.limits import SandboxLimits
from closedloop.sandbox.worker import Worker


class Slot:
    """One unit of parallelism: a candidate worker and a lazily started judge worker."""

    def __init__(
        self, index: int, limits: SandboxLimits, prewarm_judge: bool = True, cpu: int | None = None
    ):
        self.index = index
        self.limits = limits
        self.cpu = cpu
        self._judge: Worker | None = None
        if prewarm_judge:  # both workers start at once: start-up is most of a short run's time
            with ThreadPoolExecutor(1) as ex:
                judge = ex.submit(Worker, limits, judge=True, cpu=cpu)
                self.candidate = Worker(limits, cpu=cpu)
                self._judge = judge.result()
        else:
            self.candidate = Worker(limits, cpu=cpu)

    @property
    def judge(self) -> Worker:
        if self._judge is None:
            self._judge = Worker(self.limits, judge=True, cpu=self.cpu)
        return self._judge

    def ensure_alive(self) -> None:
        """Replace a worker that died (OOM killer, a kernel refusal) before the next job."""
        if not self.candidate.alive():
            self.candidate.restart()
        if self._judge is not None and not self._judge.alive():
            self._judge.restart()

    def close(self) -> None:
        self.candidate.kill()
        if self._judge is not None:
            self._judge.kill()


def slot_cpus(size: int) -> list[int | None]:
    """The CPU each of ``size`` slots runs on: the ones this process may use, in turn. A job's
    candidate and its judge take turns (each call of the checker's wakes the other), and on
    one CPU a wake-up is a switch, where across two it is an interrupt between them: a
    round trip through a pipe cost 110 us across CPUs and 24 us on one (2-vCPU VM,
    ``benchmarks/proxy_latency.py``)."""
    try:
        allowed = sorted(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return [None] * size
    if len(allowed) < 2:
        return [None] * size
    first = os.getpid()  # two verifiers on one machine start their turns on different CPUs
    return [allowed[(first + i) % len(allowed)] for i in range(size)]


def default_size() -> int:
    """The pool's size when none is given: one slot more than cores."""
    return (os.cpu_count() or 1) + 1


class SandboxPool:
    """``size`` slots, started in parallel. Use as a context manager, or call :meth:`close`.

    Example::

        with SandboxPool(2) as pool, pool.slot() as slot:
            ch = slot.candidate.begin("candidate")
    """

    def __init__(
        self,
        size: int | None = None,
        limits: SandboxLimits | None = None,
        prewarm_judges: bool = True,
    ):
        # One slot more than cores: a slot spends part of each job waiting on its worker and
        # judge, and the extra slot fills those gaps (+22% on HumanEval, 2 cores).
        self.size = size or default_size()
        if self.size < 1:
            raise ValueError(f"pool size must be >= 1, got {self.size}")
        self.limits = limits or SandboxLimits()
        # Without checker tasks in sight a judge would be three processes started for nothing
        # (each ~70 ms of CPU); one is still started the first time a slot needs it.
        cpus = slot_cpus(self.size)
        with ThreadPoolExecutor(self.size) as ex:
            self._slots = list(
                ex.map(lambda i: Slot(i, self.limits, prewarm_judges, cpus[i]), range(self.size))
            )
        self._idle: list[Slot] = list(self._slots)
        self._free = threading.Condition()
        self._closed = threading.Event()

    @contextmanager
    def slot(self, avoid: int | None = None) -> Iterator[Slot]:
        """Borrow a slot, waiting for one to be free; ``avoid`` (a slot index) waits for any
        other slot, so that a second run is on another worker (another hash seed, another
        process tree) whenever the pool has two. A borrower waits holding no slot, and every
        slot is handed back when its job ends, so waiting cannot deadlock."""
        other_than = avoid if self.size > 1 else None
        with self._free:
            while True:
                s = next((x for x in self._idle if x.index != other_than), None)
                if s is not None:
                    self._idle.remove(s)
                    break
                self._free.wait()
        try:
            s.ensure_alive()
            yield s
        finally:
            with self._free:
                self._idle.append(s)
                self._free.notify_all()

    def close(self) -> None:
        if not self._closed.is_set():
            self._closed.set()
            for s in self._slots:
                s.close()

    def __enter__(self) -> SandboxPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
