"""The verification actor: what runs on each node, in a Ray worker process.

Owns one :class:`closedloop.verify.Verifier` (so one sandbox pool) per node and the batch
methods the dispatcher calls. It is a plain class, made a Ray actor by
:mod:`closedloop.distributed.placement`; Ray pickles it by reference, so each node runs the
``closedloop`` its own Python imports, and :func:`code_fingerprint` lets the driver check that
this is the code it runs itself.

Must never: judge anything (the node's ``Verifier`` does); import torch or transformers; keep
a job's result past the batch that returns it.
"""

from __future__ import annotations

import hashlib
import os
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from closedloop.sandbox import SandboxLimits
from closedloop.tasks.format import Split
from closedloop.verify.outcome import Verdict
from closedloop.verify.runner import CallJob, CallResult, Verifier

_VERDICT_CODE = ("sandbox", "verify", "tasks")
"""Sub-packages whose source decides a verdict: the driver and every node must agree on them."""


def code_fingerprint() -> str:
    """A hash of the source of every module that decides a verdict (sandbox, verify, tasks).

    Equal on two machines when they would judge alike: a node running another ``closedloop``
    than the driver's is refused instead of giving other verdicts."""
    import closedloop

    root = Path(closedloop.__file__).parent
    h = hashlib.sha256()
    for part in _VERDICT_CODE:
        for path in sorted((root / part).rglob("*.py")):
            h.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()[:16]


@dataclass(frozen=True)
class ActorInfo:
    """What an actor says about itself once its sandbox pool is up."""

    node_id: str
    """The Ray node it runs on (hex)."""
    pid: int
    slots: int
    """Its sandbox pool's size: jobs it runs at once."""
    fingerprint: str
    """:func:`code_fingerprint` on its node."""
    package: str
    """Where its ``closedloop`` was imported from."""
    torch_imported: bool
    """Whether torch is loaded in its process (it must not be)."""


@dataclass(frozen=True)
class BatchResult:
    """A batch's results, one per job id, and the sandbox retries spent since the last batch
    (reported once each, so that the driver's sum counts every retry once)."""

    results: list[tuple[int, Any]]
    sandbox_retries: int


class VerifyActor:
    """One node's verifier. Methods may run concurrently (Ray's ``max_concurrency``): the
    ``Verifier`` hands each job a free slot of its pool."""

    def __init__(self, workers: int, limits: SandboxLimits, retries: int) -> None:
        self._verifier = Verifier(workers=workers, limits=limits, retries=retries)
        self._lock = threading.Lock()
        self._reported = 0

    def info(self) -> ActorInfo:
        """Who and where this actor is (also the probe that says it is up)."""
        import closedloop

        return ActorInfo(
            node_id=_node_id(),
            pid=os.getpid(),
            slots=self._verifier.pool.size,
            fingerprint=code_fingerprint(),
            package=str(Path(closedloop.__file__).parent),
            torch_imported="torch" in sys.modules,
        )

    def verify_batch(self, jobs: list[tuple[int, Any]], split: Split, rerun: bool) -> BatchResult:
        """Verdicts of ``jobs`` (``(id, (task, solution))``), each with its id."""
        verdicts: list[Verdict] = self._verifier.verify_many(
            [payload for _, payload in jobs], split=split, rerun=rerun
        )
        return BatchResult(
            [(job_id, v) for (job_id, _), v in zip(jobs, verdicts, strict=True)], self._retries()
        )

    def call_batch(self, jobs: list[tuple[int, CallJob]]) -> BatchResult:
        """Results of ``jobs`` (``(id, CallJob)``), each with its id."""
        results: list[list[CallResult]] = self._verifier.call_many([job for _, job in jobs])
        return BatchResult(
            [(job_id, r) for (job_id, _), r in zip(jobs, results, strict=True)], self._retries()
        )

    def close(self) -> None:
        """Stop the sandbox pool (before the actor is killed)."""
        self._verifier.close()

    def _retries(self) -> int:
        with self._lock:
            now = self._verifier.infra_retries
            delta, self._reported = now - self._reported, now
        return delta


def _node_id() -> str:
    import ray

    return ray.get_runtime_context().get_node_id()
