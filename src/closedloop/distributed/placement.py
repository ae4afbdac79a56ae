"""Where the actors go: connecting to Ray, and one verification actor on each node.

Owns the Ray connection a :class:`~closedloop.distributed.verifier.RayVerifier` opens (and
closes, when it opened it) and the placement: one actor per live node that has CPUs, pinned to
that node with Ray's ``NodeAffinitySchedulingStrategy(node_id, soft=False)`` (documented as
stable; Ray's beta label selectors would do the same with ``ray.io/node-id``). Pinned hard, an
actor Ray restarts comes back on its own node, and an actor whose node is gone fails instead of
doubling up on another node. Each actor asks for 0 CPUs of Ray's accounting: its sandbox pool
uses the node's cores, which Ray cannot see.

Must never: start or stop Ray nodes (only a ``local`` instance of its own, through
``ray.init``); place two actors on one node.
"""

from __future__ import annotations

import logging
import socket
import time
import warnings
from dataclasses import dataclass
from typing import Any

import ray
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

from closedloop.distributed.actor import VerifyActor
from closedloop.distributed.factory import LOCAL, ClusterUnavailable
from closedloop.sandbox import SandboxLimits

log = logging.getLogger(__name__)

_CONNECT_S = 5.0
"""How long a head's port may take to accept a connection."""


@dataclass(frozen=True)
class Node:
    """A live Ray node that can hold a sandbox pool."""

    node_id: str
    address: str
    cpus: int


def connect(address: str) -> bool:
    """Connect this process to Ray at ``address`` (``local``: start an instance here). True
    when this call connected (the caller disconnects on close); False when the process was
    already connected to that cluster, which is then reused as it is."""
    if ray.is_initialized():
        current = ray.get_runtime_context().gcs_address
        if address not in (LOCAL, "auto") and address.removeprefix("ray://") != current:
            raise ClusterUnavailable(
                f"--ray {address}: this process is already connected to Ray at {current}; "
                "give that address, or use one cluster per process"
            )
        return False
    _answers(address)
    try:
        with warnings.catch_warnings():  # a tip about GPU env vars: no GPU is asked for here
            warnings.filterwarnings("ignore", category=FutureWarning, module=r"ray\.")
            ray.init(
                address=address,
                include_dashboard=False,
                log_to_driver=False,  # stdout carries verdicts: actors' logs stay in Ray's files
                logging_level=logging.WARNING,
            )
    except (ConnectionError, ValueError, RuntimeError) as e:
        raise ClusterUnavailable(f"--ray {address}: cannot connect to Ray: {e}") from None
    return True


def _answers(address: str) -> None:
    """Fail now when nothing listens at a ``HOST:PORT`` address: ``ray.init`` would retry
    for minutes before it gave up."""
    host, sep, port = address.removeprefix("ray://").rpartition(":")
    if address in (LOCAL, "auto") or not sep or not port.isdigit():
        return
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=_CONNECT_S).close()
    except OSError as e:
        raise ClusterUnavailable(
            f"--ray {address}: no Ray head answers there ({e.strerror or e}); start one with "
            "`ray start --head`, or give 'local' to start Ray in this process"
        ) from None


def alive_nodes(max_nodes: int | None = None) -> list[Node]:
    """The live nodes with at least one CPU, in node-id order (at most ``max_nodes``)."""
    nodes = sorted(
        (
            Node(n["NodeID"], n.get("NodeManagerAddress", ""), int(n["Resources"].get("CPU", 0)))
            for n in ray.nodes()
            if n.get("Alive") and n.get("Resources", {}).get("CPU", 0) >= 1
        ),
        key=lambda n: n.node_id,
    )
    if not nodes:
        raise ClusterUnavailable("the Ray cluster has no live node with a CPU to verify on")
    return nodes[:max_nodes] if max_nodes else nodes


def place(
    node: Node,
    workers: int | None,
    limits: SandboxLimits,
    retries: int,
    concurrency: int,
    max_restarts: int,
) -> Any:
    """Start a verification actor on ``node`` (its handle; it is up once ``info`` answers).

    ``workers`` sandbox slots (default: one per CPU Ray counts on the node). Ray restarts a
    dead actor up to ``max_restarts`` times, on the same node; it never retries a method
    itself (``max_task_retries=0``): the dispatcher does, so it knows of every retry."""
    cls = ray.remote(VerifyActor).options(
        num_cpus=0,
        scheduling_strategy=NodeAffinitySchedulingStrategy(node_id=node.node_id, soft=False),
        max_restarts=max_restarts,
        max_task_retries=0,
        max_concurrency=concurrency,
    )
    return cls.remote(workers or max(1, node.cpus), limits, retries)


def await_started(
    handles: list[Any], where: list[str], timeout_s: float, job: str
) -> tuple[list[tuple[Any, Any]], list[str]]:
    """Wait up to ``timeout_s`` for each actor's ``info``: ``(handle, info)`` of those that
    answered, and a line for each that did not (named by ``where``, e.g. ``node 1a2b3c4d``),
    which is killed. ``job`` names what the actors are for, in the log."""
    probes = [h.info.remote() for h in handles]
    ready, _ = ray.wait(probes, num_returns=len(probes), timeout=timeout_s)
    started, skipped = [], []
    for handle, probe, label in zip(handles, probes, where, strict=True):
        why = f"no answer in {timeout_s:.0f}s"
        if probe in ready:
            try:
                started.append((handle, ray.get(probe)))
                continue
            except ray.exceptions.RayError as e:
                why = f"{type(e).__name__}: {str(e).strip().splitlines()[-1][:300]}"
        skipped.append(f"{label}: {why}")
        log.warning("closedloop: %s cannot %s: %s", label, job, why)
        ray.kill(handle, no_restart=True)
    return started, skipped


def stop_actors(handles: list[Any]) -> None:
    """Kill every actor of ``handles`` for good and return once none answers any more."""
    for h in handles:
        try:
            ray.kill(h, no_restart=True)
        except Exception:  # already dead
            pass
    for h in handles:
        await_death(h)


def await_death(handle: Any, timeout_s: float = 10.0) -> None:
    """Return once the killed actor behind ``handle`` answers no more. ``ray.kill`` goes
    through Ray's control store while calls go straight to the actor, so a call made just
    after it can still be served: ask until one fails."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            ray.get(handle.info.remote(), timeout=max(0.1, deadline - time.monotonic()))
        except (ray.exceptions.RayActorError, ray.exceptions.GetTimeoutError):
            return
        except ray.exceptions.RayError:
            return
        time.sleep(0.05)
