"""The fan-out: jobs to the node actors in bounded batches, each job's result back once.

Owns back-pressure (at most ``max_in_flight`` batches per actor, shared by every call running
at once; jobs are drawn from the caller's iterable only as capacity frees, so a long
generator is never read ahead), the hard deadline of each batch (past it the actor is killed,
Ray restarts it on its node with a fresh sandbox pool, and its jobs go to the other actors),
and the retry of a lost batch's jobs: a job lost more than ``max_losses`` times gets the
caller's ``failed`` result (``infra_error``), never a verdict against the candidate.

Must never: yield two results for one job id (the :class:`Ledger` keeps the first); wait on
an actor without a deadline; retry inside Ray (``max_task_retries=0``), where a retry would be
invisible here.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import TYPE_CHECKING, Any

import ray
from ray.exceptions import ActorUnavailableError, GetTimeoutError, RayActorError, RayError

from closedloop.distributed.actor import ActorInfo, BatchResult
from closedloop.distributed.ledger import Job, Ledger

if TYPE_CHECKING:
    from closedloop.distributed.replica import ReplicaInfo

_POLL_S = 0.05
"""How often a call waiting for capacity held by another call looks again."""
_GRACE_S = 15.0
"""Added to every batch's deadline: Ray's scheduling, moving the batch, a slow worker start."""
_REPROBE_S = 0.5
"""Pause before probing again an actor Ray says is restarting (its calls fail meanwhile)."""


class JobKind(StrEnum):
    """What a batch asks an actor for: the name of the actor's method."""

    VERIFY = "verify_batch"
    CALL = "call_batch"
    GENERATE = "generate_batch"  # a generation replica's (closedloop.distributed.replica)


class ActorState(StrEnum):
    READY = "ready"
    REVIVING = "reviving"
    """Lost (died, or killed past a deadline); Ray is restarting it, a probe says when it is
    back. It gets no work until then."""
    DEAD = "dead"
    """Its probes failed (restarts used up, node gone) or it did not come back in time."""


@dataclass
class Member:
    """One actor, as the dispatcher sees it."""

    handle: Any
    info: ActorInfo | ReplicaInfo
    """What it said about itself: the dispatcher reads ``node_id`` and ``slots``."""
    state: ActorState = ActorState.READY
    in_flight: int = 0
    used: int = 0
    probe: Any = None
    probe_at: float = 0.0
    """When to send the next probe (after one that found it still restarting)."""
    lost_at: float = 0.0
    kills: int = 0
    """Times the dispatcher killed it (a batch past its deadline)."""


@dataclass
class _Flight:
    member: Member
    jobs: list[Job]
    budget: float
    deadline: float
    kills: int
    """Its actor's ``kills`` when it was sent: a kill after that was for another batch."""


@dataclass
class DispatchStats:
    """What the fan-out had to do besides running jobs (totals over every call)."""

    batches: int = 0
    lost_batches: int = 0
    """Batches whose actor died or was unreachable."""
    timed_out_batches: int = 0
    """Batches past their deadline (their actor was killed and restarted)."""
    retried_jobs: int = 0
    failed_jobs: int = 0
    """Jobs given the ``failed`` result: lost too often, or no actor left."""
    duplicates: int = 0
    """Results for a job id that already had one: dropped."""
    sandbox_retries: int = 0
    """Jobs the nodes' verifiers retried after a sandbox worker was lost."""


class _Source:
    """The caller's jobs, read only as far as needed, with lost jobs put back in front."""

    def __init__(self, payloads: Iterable[Any]) -> None:
        self._it = enumerate(payloads)
        self._next: Job | None = None
        self._done = False
        self.retry: deque[Job] = deque()

    def has_more(self) -> bool:
        if self.retry or self._next is not None:
            return True
        if not self._done:
            try:
                i, payload = next(self._it)
                self._next = Job(i, payload)
            except StopIteration:
                self._done = True
        return self._next is not None

    def take(self, n: int) -> list[Job]:
        out: list[Job] = []
        while len(out) < n and self.has_more():
            if self.retry:
                out.append(self.retry.popleft())
            else:
                assert self._next is not None
                out.append(self._next)
                self._next = None
        return out


class Dispatcher:
    """Runs jobs on ``members`` (verification actors, one per node, or policy replicas); safe
    to use from several threads."""

    def __init__(
        self,
        members: list[Member],
        max_in_flight: int = 2,
        max_losses: int = 2,
        revive_timeout_s: float = 120.0,
        jobs_per_slot: int = 1,
        what: str = "verification actor",
    ) -> None:
        self.members = members
        self.what = what
        """What the actors are, for messages."""
        self.max_in_flight = max_in_flight
        self.jobs_per_slot = jobs_per_slot
        self.max_losses = max_losses
        self.revive_timeout_s = revive_timeout_s
        self.stats = DispatchStats()
        self._lock = threading.Lock()

    def run(
        self,
        kind: JobKind,
        payloads: Iterable[Any],
        args: tuple[Any, ...],
        cost: Callable[[Any], float],
        failed: Callable[[Any, str], Any],
        batch_timeout_s: float | None = None,
    ) -> Iterator[tuple[int, Any]]:
        """``(index, result)`` for each payload, once each, in the order they finish.

        ``cost(payload)``: the most seconds a node's verifier may spend on it (sets a batch's
        deadline with the load on its actor, unless ``batch_timeout_s`` fixes it);
        ``failed(payload, why)``: its result when it cannot be run."""
        src, ledger = _Source(payloads), Ledger()
        flights: dict[Any, _Flight] = {}
        try:
            while True:
                while src.has_more():
                    member = self._acquire()
                    if member is None:
                        break
                    jobs = src.take(member.info.slots * self.jobs_per_slot)
                    try:
                        ref = getattr(member.handle, kind.value).remote(
                            [(j.id, j.payload) for j in jobs], *args
                        )
                    except BaseException:  # e.g. a payload Ray cannot pickle: room back
                        self._release(member)
                        raise
                    budget = batch_timeout_s or self._budget(jobs, member, cost)
                    flights[ref] = _Flight(
                        member, jobs, budget, time.monotonic() + budget, member.kills
                    )
                    self._count(batches=1)
                if not flights:
                    if not src.has_more():
                        return
                    if not self._usable():
                        why = f"no {self.what} is left on the Ray cluster"
                        while src.has_more():
                            yield from self._fail(src.take(1), why, ledger, failed)
                        return
                    time.sleep(_POLL_S)  # every actor is busy with other calls' batches
                    continue
                wait_s = min(f.deadline for f in flights.values()) - time.monotonic()
                if src.has_more():
                    wait_s = min(wait_s, _POLL_S)
                ready, _ = ray.wait(list(flights), num_returns=1, timeout=max(0.0, wait_s))
                for ref in ready:
                    yield from self._settle(ref, flights.pop(ref), src, ledger, failed)
                now = time.monotonic()
                for ref in [r for r, f in flights.items() if f.deadline <= now]:
                    if ray.wait([ref], timeout=0)[0]:  # it answered just now after all
                        yield from self._settle(ref, flights.pop(ref), src, ledger, failed)
                        continue
                    flight = flights.pop(ref)
                    self._kill(flight.member)
                    why = f"its batch ran past its {flight.budget:.0f}s deadline"
                    yield from self._requeue(flight.jobs, why, src, ledger, failed)
        finally:
            self._count(duplicates=ledger.duplicates)
            for ref, flight in flights.items():  # the caller stopped early: give capacity back
                self._release(flight.member)
                try:
                    ray.cancel(ref)
                except Exception:  # cancelling is best effort: the batch may be running
                    pass

    # -- one batch's end ---------------------------------------------------------------------

    def _settle(
        self,
        ref: Any,
        flight: _Flight,
        src: _Source,
        ledger: Ledger,
        failed: Callable[[Any, str], Any],
    ) -> Iterator[tuple[int, Any]]:
        node = flight.member.info.node_id[:8]
        try:
            out: BatchResult = ray.get(ref, timeout=30)
        except RayActorError as e:
            self._lost(flight.member)
            self._count(lost_batches=1)
            why = f"the actor on node {node} was lost ({type(e).__name__})"
            # killed for another batch's deadline: not these jobs' doing, not charged to them
            charge = flight.member.kills == flight.kills
            yield from self._requeue(flight.jobs, why, src, ledger, failed, charge)
            return
        except (RayError, GetTimeoutError) as e:
            self._release(flight.member)
            self._count(lost_batches=1)
            why = f"its batch failed on node {node}: {type(e).__name__}: {str(e)[:200]}"
            yield from self._requeue(flight.jobs, why, src, ledger, failed)
            return
        self._release(flight.member)
        self._count(sandbox_retries=out.sandbox_retries)
        answered = set()
        for job_id, result in out.results:
            answered.add(job_id)
            if ledger.record(job_id):
                yield job_id, result
        missing = [j for j in flight.jobs if j.id not in answered]
        if missing:
            why = f"the actor on node {node} returned no result for it"
            yield from self._requeue(missing, why, src, ledger, failed)

    def _requeue(
        self,
        jobs: list[Job],
        why: str,
        src: _Source,
        ledger: Ledger,
        failed: Callable[[Any, str], Any],
        charge: bool = True,
    ) -> Iterator[tuple[int, Any]]:
        """Put lost jobs back in front of the queue, or fail those lost too often. Only a
        loss with ``charge`` counts towards ``max_losses``."""
        given_up = []
        for job in jobs:
            if job.id in ledger:
                continue
            job = replace(job, lost=job.lost + charge, why=why)
            if job.lost > self.max_losses:
                given_up.append(job)
            else:
                src.retry.append(job)
                self._count(retried_jobs=1)
        yield from self._fail(
            given_up, f"lost {self.max_losses + 1} times; last: {why}", ledger, failed
        )

    def _fail(
        self, jobs: list[Job], why: str, ledger: Ledger, failed: Callable[[Any, str], Any]
    ) -> Iterator[tuple[int, Any]]:
        for job in jobs:
            if ledger.record(job.id):
                self._count(failed_jobs=1)
                yield job.id, failed(job.payload, why)

    def _budget(self, jobs: list[Job], member: Member, cost: Callable[[Any], float]) -> float:
        """A batch's deadline: its own jobs and as many more ahead of it on its actor, spread
        over the actor's slots, plus its longest job and a grace."""
        costs = [cost(j.payload) for j in jobs]
        spread = math.ceil(sum(costs) / member.info.slots)
        return _GRACE_S + self.max_in_flight * (spread + max(costs))

    # -- actors' capacity and health (shared by every call) ----------------------------------

    def _acquire(self) -> Member | None:
        """A ready actor with room for one more batch (least loaded first), or None."""
        with self._lock:
            self._probe()
            free = [
                m
                for m in self.members
                if m.state is ActorState.READY and m.in_flight < self.max_in_flight
            ]
            if not free:
                return None
            member = min(free, key=lambda m: (m.in_flight, m.used))
            member.in_flight += 1
            member.used += 1
            return member

    def _release(self, member: Member) -> None:
        with self._lock:
            member.in_flight -= 1

    def _lost(self, member: Member) -> None:
        """Its batch failed because the actor is gone: no work for it until a probe answers."""
        with self._lock:
            member.in_flight -= 1
            self._reviving(member)

    def _kill(self, member: Member) -> None:
        """Its batch ran past the deadline: kill the actor (Ray restarts it, with a fresh
        sandbox pool); its other batches fail and are requeued by their callers."""
        with self._lock:
            member.in_flight -= 1
            self.stats.timed_out_batches += 1
            if member.state is ActorState.READY:
                member.kills += 1
                try:
                    ray.kill(member.handle, no_restart=False)
                except Exception:  # already dead: the probe will say so
                    pass
            self._reviving(member)

    def _reviving(self, member: Member) -> None:
        if member.state is ActorState.READY:
            member.state = ActorState.REVIVING
            member.probe = member.handle.info.remote()
            member.lost_at = time.monotonic()

    def _probe(self) -> None:
        """Bring back the actors whose probe answered; bury those that will not come back."""
        for m in self.members:
            if m.state is not ActorState.REVIVING:
                continue
            now = time.monotonic()
            if m.probe is None:
                if now >= m.probe_at:
                    m.probe = m.handle.info.remote()
            elif ray.wait([m.probe], timeout=0)[0]:
                try:
                    m.info = ray.get(m.probe)
                    m.state = ActorState.READY
                except ActorUnavailableError:  # restarting: calls fail until it is back
                    m.probe, m.probe_at = None, now + _REPROBE_S
                except RayError:
                    m.state = ActorState.DEAD
            if m.state is ActorState.REVIVING and now - m.lost_at > self.revive_timeout_s:
                m.state = ActorState.DEAD
                try:
                    ray.kill(m.handle, no_restart=True)
                except Exception:
                    pass

    def _usable(self) -> bool:
        with self._lock:
            self._probe()
            return any(m.state is not ActorState.DEAD for m in self.members)

    def _count(self, **deltas: int) -> None:
        with self._lock:
            for name, n in deltas.items():
                setattr(self.stats, name, getattr(self.stats, name) + n)
