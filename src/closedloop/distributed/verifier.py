"""``RayVerifier``: a :class:`~closedloop.verify.VerificationBackend` with one sandbox pool per
node of a Ray cluster.

Owns the life of a fan-out (connect, place an actor per node, check each node runs this
process's verdict code, close) and the translation between the ``VerificationBackend``
contract and batches of jobs: results in input order, ``on_done`` once per job, a job that could not be
run at all answered as the local pool answers a lost worker (``infra_error`` verdicts, call
results with ``infra_error`` set, :class:`WorkerLost` from :meth:`RayVerifier.call`).

Must never: judge anything here; hand back two results for one input; leave an actor it
placed running after :meth:`RayVerifier.close`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from typing import Any

import ray

from closedloop.distributed.actor import ActorInfo, code_fingerprint
from closedloop.distributed.dispatch import Dispatcher, DispatchStats, JobKind, Member
from closedloop.distributed.factory import LOCAL, ClusterUnavailable
from closedloop.distributed.placement import (
    alive_nodes,
    await_started,
    connect,
    place,
    stop_actors,
)
from closedloop.sandbox import SandboxLimits, WorkerLost
from closedloop.tasks.format import Split, Task
from closedloop.verify.outcome import Outcome, Verdict
from closedloop.verify.runner import CallJob, CallResult, _test_count

_START_S = 5.0
"""Seconds a job may take beyond its wall clock (a sandbox worker replaced, results decoded)."""


@dataclass(frozen=True)
class ClusterPool:
    """The backend's ``pool`` (``VerificationBackend.pool``): its size, every node's slots."""

    size: int


class RayVerifier:
    """Verifies on every node of a Ray cluster: a :class:`~closedloop.verify.VerificationBackend`,
    so a drop-in for :class:`closedloop.verify.Verifier`.

    Example::

        with RayVerifier(address="local") as v:      # or "auto", or "HEAD_IP:6379"
            verdicts = v.verify_many([(task, solution), ...])

    ``workers``: sandbox slots per node (default: one per CPU Ray counts there). Each node's
    actor takes at most ``max_in_flight`` batches at once, a batch being ``jobs_per_slot``
    jobs for each of the node's slots (4: Ray's cost per call is then under 5% of HumanEval's
    checks, benchmarks/ray_verify.py). A batch past its deadline (``batch_timeout_s``, default from ``limits``
    and the load on its actor) has its actor killed and restarted and its jobs run elsewhere;
    a job lost more than ``max_losses`` times is ``infra_error``. ``max_nodes`` uses at most
    that many nodes (in node-id order).

    Nodes must import a ``closedloop`` with the same verdict code as this process (a node
    that does not is refused): install it on every node, or start the nodes with this tree on
    their ``PYTHONPATH``.
    """

    def __init__(
        self,
        address: str = LOCAL,
        workers: int | None = None,
        limits: SandboxLimits | None = None,
        retries: int = 1,
        *,
        max_in_flight: int = 2,
        jobs_per_slot: int = 4,
        max_nodes: int | None = None,
        batch_timeout_s: float | None = None,
        max_losses: int = 2,
        max_restarts: int = 3,
        start_timeout_s: float = 120.0,
    ) -> None:
        for name, value in (
            ("max_in_flight", max_in_flight),
            ("jobs_per_slot", jobs_per_slot),
            ("max_nodes", 1 if max_nodes is None else max_nodes),
        ):
            if value < 1:
                raise ValueError(f"{name} must be at least 1, got {value}")
        if workers is not None and workers < 1:
            raise ValueError(f"workers must be at least 1, got {workers}")
        self.address = address
        self.limits = limits or SandboxLimits()
        self.retries = retries
        self.batch_timeout_s = batch_timeout_s
        self.skipped: list[str] = []
        """Nodes that could not start a sandbox pool, and why (the others are used)."""
        self._closed = False
        self._owns_connection = connect(address)
        self._members: list[Member] = []
        self._placed: list[Any] = []  # every actor placed, up or not: close() kills them all
        try:
            nodes = alive_nodes(max_nodes)
            for n in nodes:
                self._placed.append(
                    place(n, workers, self.limits, retries, max_in_flight, max_restarts)
                )
            self._members = self._start(self._placed, [n.node_id for n in nodes], start_timeout_s)
        except BaseException:
            self.close()
            raise
        self._dispatch = Dispatcher(
            self._members, max_in_flight, max_losses, jobs_per_slot=jobs_per_slot
        )
        self.pool = ClusterPool(sum(m.info.slots for m in self._members))

    # -- VerificationBackend (its docstring holds the contract) ------------------------------

    def verify(
        self,
        task: Task,
        solution: str,
        split: Split = Split.PRIVATE,
        rerun: bool = False,
        line: int | None = None,
    ) -> Verdict:
        """One verdict."""
        return replace(self.verify_many([(task, solution)], split, rerun)[0], line=line)

    def verify_many(
        self,
        items: Iterable[tuple[Task, str]],
        split: Split = Split.PRIVATE,
        rerun: bool = False,
        on_done: Callable[[Verdict], None] | None = None,
    ) -> list[Verdict]:
        """Verdicts in input order."""
        return list(self.iter_verify(items, split, rerun, on_done))

    def iter_verify(
        self,
        items: Iterable[tuple[Task, str]],
        split: Split = Split.PRIVATE,
        rerun: bool = False,
        on_done: Callable[[Verdict], None] | None = None,
    ) -> Iterator[Verdict]:
        """Verdicts in input order as they become ready; ``on_done`` once per verdict, in the
        order they finish. Items are read only as the nodes have room for them."""
        per_job = self.limits.wall_s * (1 + self.retries) * (2 if rerun else 1) + _START_S

        def failed(item: tuple[Task, str], why: str) -> Verdict:
            task = item[0]
            return Verdict(task.id, Outcome.INFRA_ERROR, 0, _test_count(task, split), detail=why)

        yield from self._ordered(
            JobKind.VERIFY, items, (split, rerun), lambda _: per_job, failed, on_done
        )

    def call(
        self,
        code: str,
        entry_point: str,
        inputs: list[str],
        prompt: str = "",
        resume: bool = True,
    ) -> list[CallResult]:
        """The calls on one node; raises :class:`WorkerLost` when it could not run."""
        results = self.call_many([CallJob(code, entry_point, inputs, prompt, resume)])[0]
        if results and all(r.infra_error for r in results):
            raise WorkerLost(results[0].error or "the call could not run")
        return results

    def call_many(
        self,
        jobs: Iterable[CallJob],
        on_done: Callable[[list[CallResult]], None] | None = None,
    ) -> list[list[CallResult]]:
        """Results in job order; a job that could not run gets one ``infra_error`` result per
        input."""

        def cost(job: CallJob) -> float:  # each input may cost a job of its own
            return (self.limits.wall_s * max(1, len(job.inputs)) + _START_S) * (1 + self.retries)

        def failed(job: CallJob, why: str) -> list[CallResult]:
            return [CallResult(False, error=why, infra_error=True) for _ in job.inputs]

        return list(self._ordered(JobKind.CALL, jobs, (), cost, failed, on_done))

    @property
    def infra_retries(self) -> int:
        """Jobs run again: after a node's sandbox worker was lost, or a node's actor was."""
        s = self._dispatch.stats
        return s.sandbox_retries + s.retried_jobs

    @property
    def stats(self) -> DispatchStats:
        """Batches, losses, deadlines, retries and dropped duplicates so far."""
        return self._dispatch.stats

    @property
    def actors(self) -> list[tuple[Any, ActorInfo]]:
        """Each node's actor handle and what it said about itself, in node-id order."""
        return [(m.handle, m.info) for m in self._members]

    def summary(self) -> dict[str, Any]:
        """The cluster's verification work so far, as plain data (the loop records it in its
        run store, so a run says where its attempts were verified)."""
        st = self.stats
        return {
            "nodes": len(self._members),
            "slots": sum(m.info.slots for m in self._members),
            "batches": st.batches,
            "lost_batches": st.lost_batches + st.timed_out_batches,
            "retried_jobs": st.retried_jobs + st.sandbox_retries,
            "failed_jobs": st.failed_jobs,
            "duplicates_dropped": st.duplicates,
        }

    def close(self) -> None:
        """Stop every node's sandbox pool and actor; disconnect if this verifier connected."""
        if self._closed:
            return
        self._closed = True
        handles = self._placed
        try:
            ray.wait([h.close.remote() for h in handles], num_returns=len(handles), timeout=10)
        except Exception:  # an actor already gone has nothing to close
            pass
        stop_actors(handles)
        if self._owns_connection:
            ray.shutdown()

    def __enter__(self) -> RayVerifier:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- internals -----------------------------------------------------------------------------

    def _ordered(
        self,
        kind: JobKind,
        payloads: Iterable[Any],
        args: tuple[Any, ...],
        cost: Callable[[Any], float],
        failed: Callable[[Any, str], Any],
        on_done: Callable[[Any], None] | None,
    ) -> Iterator[Any]:
        """The dispatcher's results, put back in input order."""
        if self._closed:
            raise RuntimeError("this RayVerifier is closed")
        waiting: dict[int, Any] = {}
        next_id = 0
        for job_id, result in self._dispatch.run(
            kind, payloads, args, cost, failed, self.batch_timeout_s
        ):
            if on_done:
                on_done(result)
            waiting[job_id] = result
            while next_id in waiting:
                yield waiting.pop(next_id)
                next_id += 1
        assert not waiting, f"results for ids {sorted(waiting)[:5]} never became due"

    def _start(self, handles: list[Any], node_ids: list[str], timeout_s: float) -> list[Member]:
        """Wait for every actor's sandbox pool; keep those that came up with this process's
        verdict code."""
        started, self.skipped = await_started(
            handles, [f"node {n[:8]}" for n in node_ids], timeout_s, "verify"
        )
        mine = code_fingerprint()
        members = [Member(h, info) for h, info in started]
        for m, node in zip(members, [i.node_id for _, i in started], strict=True):
            if m.info.fingerprint != mine:
                raise ClusterUnavailable(
                    f"node {node[:8]} judges with other code than this process "
                    f"(its closedloop at {m.info.package} has verdict code "
                    f"{m.info.fingerprint}, this process's {mine}): install the "
                    "same closedloop on every node, or start the nodes with this tree "
                    "on PYTHONPATH"
                )
        if not members:
            raise ClusterUnavailable(
                f"--ray {self.address}: no node could start a sandbox pool: "
                + "; ".join(self.skipped)
            )
        return members
