"""The generation replica: what runs on a node, in a Ray worker process, to sample for the loop.

Owns one copy of the policy, built through the policy registry by backend name (``hf`` on a
CPU or a GPU, ``vllm`` on a GPU) from a model directory, the version of the weights it holds,
and the batch method the dispatcher calls. It is a plain class, made a Ray actor by
:mod:`closedloop.distributed.replicas`.

Weights: the replica starts with the directory's weights (version 0). Every batch it is given
names the version it must sample with and carries a reference to that version's state in Ray's
object store; a replica holding another version loads that state before it samples anything.
So a replica never samples with stale weights, also when Ray restarted it from the directory
after a crash. Every result says which version made it.

Must never: train, score completions for training (the learner does that in its own process),
or decide a reward.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from closedloop.distributed.actor import BatchResult
from closedloop.distributed.shares import Share, run_share
from closedloop.distributed.weights import apply_state
from closedloop.policy.registry import load_policy


@dataclass(frozen=True)
class ReplicaInfo:
    """What a replica says about itself once its policy is loaded."""

    node_id: str
    """The Ray node it runs on (hex)."""
    pid: int
    slots: int
    """Shares it samples at once (one: a share is already a batch for the engine)."""
    version: int
    """The version of the weights it holds."""
    backend: str
    device: str
    """Where its weights live (``cpu``, ``cuda:0``)."""


@dataclass(frozen=True)
class ShareResult:
    """One share's completions and the weights' version that sampled them."""

    version: int
    completions: list[list[Any]]


class PolicyReplica:
    """One copy of the policy. Its methods run one at a time (``max_concurrency=1``), so
    weights never change under a batch being sampled."""

    def __init__(self, model: str | list[Any], backend: str, policy_kwargs: dict[str, Any]) -> None:
        # ``model``: a directory every node can read, or ``[ref]`` to its files in Ray's
        # object store (nested in a list, so that Ray hands over the reference, not the value)
        path = model if isinstance(model, str) else _materialise(model[0])
        try:
            self._policy = load_policy(backend, path=path, **policy_kwargs)
        finally:
            if not isinstance(model, str):  # the weights are in memory now: the copy goes
                shutil.rmtree(path, ignore_errors=True)
        self._backend = backend
        self.version = 0

    def info(self) -> ReplicaInfo:
        """Who and where this replica is (also the probe that says it is up)."""
        import ray

        device = getattr(self._policy, "device", "cuda" if self._backend == "vllm" else "cpu")
        return ReplicaInfo(
            node_id=ray.get_runtime_context().get_node_id(),
            pid=os.getpid(),
            slots=1,
            version=self.version,
            backend=self._backend,
            device=str(device),
        )

    def load_weights(self, version: int, state: list[Any]) -> int:
        """Hold weights ``version`` (``state``: ``[ref]`` to its state dict); returns it."""
        if version != self.version:
            import ray

            apply_state(self._policy, ray.get(state[0]))
            self.version = version
        return self.version

    def generate_batch(
        self, jobs: list[tuple[int, Share]], version: int, state: list[Any]
    ) -> BatchResult:
        """Sample every share of ``jobs`` (``(id, Share)``) with weights ``version``."""
        self.load_weights(version, state)
        return BatchResult(
            [(job_id, ShareResult(self.version, run_share(self._policy, s))) for job_id, s in jobs],
            0,
        )


def _materialise(files_ref: Any) -> str:
    """Write a model directory's files (from the object store) into a new local directory."""
    import ray

    files: dict[str, bytes] = ray.get(files_ref)
    root = Path(tempfile.mkdtemp(prefix="closedloop-replica-"))
    for rel, data in files.items():
        dest = root / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(data)
    return str(root)
