"""Generation on policy replicas placed by Ray: :class:`ReplicaSet` and :class:`ReplicatedPolicy`.

Owns the life of the replicas (placed on the first batch from the learner's own weights,
closed with the set), cutting a batch into shares (:mod:`closedloop.distributed.shares`: the
seed of each share, hence the same completions for a seed whatever the number of replicas or
the failures), sending shares through the verifier's :class:`~closedloop.distributed.dispatch.
Dispatcher` (bounded in-flight shares per replica, a hard deadline per share, a lost replica's
shares sampled again on the others, the first result for a share kept and any later one
dropped and counted), and keeping the replicas on the learner's weights (:meth:`ReplicaSet.
sync_weights`, run by :meth:`ReplicaSet.generate` whenever the learner's parameters changed
since the last batch).

Placement: without GPUs, one replica per node (pinned there, ``cpus_per_replica`` of the
node's CPUs in Ray's accounting, which also sets the replica's torch threads); with
``gpus_per_replica``, as many replicas as asked wherever Ray finds the GPUs (several on one
node). The replica's engine is the policy backend named by ``backend`` (``hf``; ``vllm`` for
GPUs), built through :mod:`closedloop.policy.registry`.

Must never: return a batch that misses a prompt's completions or holds two shares' worth for
one (a share that cannot be sampled at all raises :class:`ReplicasLost`; nothing is made up);
sample with weights older than the learner's at the call (each share names the version it
must be sampled with, and its result says which one was); score completions for training
(:class:`ReplicatedPolicy` leaves ``completion_logprobs`` and everything else to the learner).
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ray
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

from closedloop.distributed.dispatch import Dispatcher, DispatchStats, JobKind, Member
from closedloop.distributed.factory import LOCAL, ClusterUnavailable
from closedloop.distributed.placement import (
    alive_nodes,
    await_started,
    connect,
    stop_actors,
)
from closedloop.distributed.replica import PolicyReplica, ReplicaInfo, ShareResult
from closedloop.distributed.shares import Method, Share, split
from closedloop.distributed.weights import ChangeMark, change_mark, learner_state
from closedloop.policy.base import BackendName, Completion, PolicyError, Prompt, SamplingParams


class ReplicasLost(PolicyError):
    """A share could not be sampled: its replicas were lost too often, or none is left."""


class StaleWeights(PolicyError):
    """A replica answered with weights other than the ones it was asked to sample with."""


@dataclass
class SyncStats:
    """The weight syncs so far."""

    syncs: int = 0
    seconds: float = 0.0
    """Spent in :meth:`ReplicaSet.sync_weights` (state dict out, every replica's load)."""
    megabytes: float = 0.0
    """Size of the last state sent."""


class ReplicaSet:
    """Policy replicas on a Ray cluster, sampling batches for one learner.

    Example::

        with ReplicaSet("HEAD_IP:6379", replicas=2) as rs:
            policy = ReplicatedPolicy(learner, rs)     # a Policy; generation on the replicas
            groups = policy.sample_ids(prompts, 4, SamplingParams(seed=0))

    No actor is placed until the first batch: the replicas start from the learner's weights
    then (saved to a directory whose files reach every node through Ray's object store, so
    the nodes need no shared file system). ``per_share`` prompts go to a replica at a time;
    each replica holds at most ``max_in_flight`` shares; a share not answered within
    ``timeout_s`` (plus as long again for each share queued ahead of it on its replica) has its
    replica killed and restarted and is sampled elsewhere; a share lost more than
    ``max_losses`` times raises :class:`ReplicasLost`. ``policy_kwargs`` go to the backend's
    factory on each replica (``device`` is set from ``gpus_per_replica`` for ``hf``).

    One caller at a time (the loop's process): two threads sampling at once could both decide
    to sync the weights.
    """

    def __init__(
        self,
        address: str = LOCAL,
        replicas: int = 2,
        backend: str = BackendName.HF,
        *,
        gpus_per_replica: float = 0.0,
        cpus_per_replica: float = 1.0,
        per_share: int = 8,
        timeout_s: float = 600.0,
        max_in_flight: int = 2,
        max_losses: int = 2,
        max_restarts: int = 3,
        start_timeout_s: float = 300.0,
        policy_kwargs: dict[str, Any] | None = None,
    ) -> None:
        for name, value in (
            ("replicas", replicas),
            ("per_share", per_share),
            ("max_in_flight", max_in_flight),
        ):
            if value < 1:
                raise ValueError(f"{name}={value}: must be at least 1")
        if gpus_per_replica < 0 or cpus_per_replica < 0 or timeout_s <= 0:
            raise ValueError(
                f"gpus_per_replica={gpus_per_replica}, cpus_per_replica={cpus_per_replica}, "
                f"timeout_s={timeout_s}: GPUs and CPUs must be >= 0 and the timeout > 0"
            )
        if backend not in (BackendName.HF, BackendName.VLLM):
            raise ValueError(
                f"backend={backend!r}: replicas take weights in place only with 'hf' or 'vllm'"
            )
        if backend == BackendName.VLLM and not gpus_per_replica:
            raise ValueError("backend='vllm' runs on GPUs: set gpus_per_replica (e.g. 1)")
        self.address = address
        self.replicas = replicas
        self.backend = str(backend)
        self.gpus_per_replica = gpus_per_replica
        self.cpus_per_replica = cpus_per_replica
        self.per_share = per_share
        self.timeout_s = timeout_s
        self.max_in_flight = max_in_flight
        self.max_losses = max_losses
        self.max_restarts = max_restarts
        self.start_timeout_s = start_timeout_s
        self.policy_kwargs = dict(policy_kwargs or {})
        if backend == BackendName.HF:
            self.policy_kwargs.setdefault("device", "cuda" if gpus_per_replica else "cpu")
        self.version = 0
        """The learner's weights the replicas hold: 0 the ones they started from, +1 a sync."""
        self.sync_stats = SyncStats()
        self.skipped: list[str] = []
        """Replicas that did not start, and why (the others are used)."""
        self._closed = False
        self._placed: list[Any] = []
        self._dispatch: Dispatcher | None = None
        self._mark: ChangeMark | None = None
        self._files: Any = None  # the model directory's files, for Ray's restarts
        self._state: Any = None  # the current version's state dict (None: version 0)
        self._owns_connection = connect(address)
        try:
            self._places()  # too few nodes or GPUs: said now, not at the first batch
        except BaseException:
            self.close()
            raise

    # -- generation --------------------------------------------------------------------------

    def generate(
        self,
        learner: Any,
        method: Method,
        prompts: Sequence[Any],
        n: int,
        params: SamplingParams,
        on_share: Callable[[int], None] | None = None,
    ) -> list[list[Completion]]:
        """``n`` completions per prompt, in prompt order, sampled on the replicas with the
        learner's current weights (placing the replicas or syncing them first when needed).
        ``on_share(index)`` is called as each share's result arrives."""
        if self._closed:
            raise RuntimeError("this ReplicaSet is closed")
        self._follow(learner)
        assert self._dispatch is not None
        shares = split(method, prompts, n, params, self.per_share)
        out: list[list[list[Completion]] | None] = [None] * len(shares)

        def failed(share: Share, why: str) -> ShareResult:
            raise ReplicasLost(
                f"share {share.index} ({len(share.prompts)} prompts) could not be sampled: {why}"
            )

        for index, result in self._dispatch.run(
            JobKind.GENERATE,
            shares,
            (self.version, [self._state]),
            cost=lambda _: self.timeout_s,
            failed=failed,
            batch_timeout_s=self.timeout_s * self.max_in_flight,
        ):
            if result.version != self.version:  # the replica checks this itself: a bug if seen
                raise StaleWeights(
                    f"share {index} came back from weights version {result.version}, "
                    f"not {self.version}"
                )
            out[index] = result.completions
            if on_share:
                on_share(index)
        return [group for share in out if share is not None for group in share]

    def sync_weights(self, learner: Any) -> int:
        """Send the learner's weights to every replica as a new version and wait until each
        live one holds it (a replica that misses it loads it with its next share). Returns the
        new version."""
        t0 = time.monotonic()
        state = learner_state(learner)
        ref = ray.put(state)
        self.version, self._state = self.version + 1, ref
        members = self._dispatch.members if self._dispatch else []
        acks = [m.handle.load_weights.remote(self.version, [ref]) for m in members]
        done, _ = ray.wait(acks, num_returns=len(acks), timeout=self.timeout_s)
        for ack in done:
            try:
                ray.get(ack)
            except ray.exceptions.RayActorError:
                pass  # a lost replica: the dispatcher finds out with its next share
            except ray.exceptions.RayError as e:
                raise PolicyError(f"a replica could not load weights {self.version}: {e}") from e
        self._mark = change_mark(learner)
        self.sync_stats.syncs += 1
        self.sync_stats.seconds += time.monotonic() - t0
        self.sync_stats.megabytes = sum(v.numel() * v.element_size() for v in state.values()) / 1e6
        return self.version

    # -- what it is doing --------------------------------------------------------------------

    @property
    def stats(self) -> DispatchStats:
        """Shares sent, lost, past their deadline, sampled again, and dropped duplicates."""
        return self._dispatch.stats if self._dispatch else DispatchStats()

    def summary(self) -> dict[str, Any]:
        """The replicas' work so far, as plain data (the loop records it in its run store)."""
        st = self.stats
        return {
            "replicas": len(self.actors),
            "backend": self.backend,
            "devices": sorted({info.device for _, info in self.actors}),
            "version": self.version,
            "syncs": self.sync_stats.syncs,
            "sync_seconds": round(self.sync_stats.seconds, 3),
            "state_mb": round(self.sync_stats.megabytes, 3),
            "shares": st.batches,
            "lost_shares": st.lost_batches + st.timed_out_batches,
            "resampled_shares": st.retried_jobs,
            "duplicates_dropped": st.duplicates,
        }

    @property
    def actors(self) -> list[tuple[Any, ReplicaInfo]]:
        """Each replica's handle and what it last said about itself (empty before the first
        batch)."""
        return [(m.handle, m.info) for m in (self._dispatch.members if self._dispatch else [])]

    def close(self) -> None:
        """Stop every replica; disconnect if this set connected."""
        if self._closed:
            return
        self._closed = True
        stop_actors(self._placed)
        self._files = self._state = None
        if self._owns_connection:
            ray.shutdown()

    def __enter__(self) -> ReplicaSet:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- internals ---------------------------------------------------------------------------

    def _follow(self, learner: Any) -> None:
        """Place the replicas from the learner's weights, or sync them when the learner's
        weights changed since they were last sent."""
        if self._dispatch is None:
            self._start(learner)
        elif not change_mark(learner).same_as(self._mark):
            self.sync_weights(learner)

    def _start(self, learner: Any) -> None:
        mark = change_mark(learner)
        with tempfile.TemporaryDirectory(prefix="closedloop-replica-src-") as tmp:
            learner.save(tmp)
            root = Path(tmp)
            self._files = ray.put(
                {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}
            )
        try:
            where = self._places()
            cls = ray.remote(PolicyReplica)
            for _, options in where:
                self._placed.append(
                    cls.options(
                        **options,
                        max_restarts=self.max_restarts,
                        max_task_retries=0,  # every retry is the dispatcher's, and counted
                        max_concurrency=1,  # weights never change under a share being sampled
                    ).remote([self._files], self.backend, self.policy_kwargs)
                )
            started, self.skipped = await_started(
                self._placed,
                [label for label, _ in where],
                self.start_timeout_s,
                "hold a policy replica",
            )
        except BaseException:
            self.close()
            raise
        if not started:
            self.close()
            raise ClusterUnavailable(
                f"--ray {self.address}: no policy replica could start: "
                + "; ".join(self.skipped)
                + f" (each needs {self.cpus_per_replica:g} free CPUs and "
                f"{self.gpus_per_replica:g} GPUs of Ray's count, and must load the model)"
            )
        members = [Member(h, info) for h, info in started]
        self._dispatch = Dispatcher(
            members, self.max_in_flight, self.max_losses, what="policy replica"
        )
        self._mark = mark

    def _places(self) -> list[tuple[str, dict[str, Any]]]:
        """Where each replica goes (a label, its Ray options): pinned one per node on CPUs,
        anywhere Ray finds the GPUs otherwise."""
        if self.gpus_per_replica:
            have = ray.cluster_resources().get("GPU", 0)
            if have < self.replicas * self.gpus_per_replica:
                raise ClusterUnavailable(
                    f"{self.replicas} replicas x {self.gpus_per_replica} GPUs: the cluster has "
                    f"{have:g} GPUs; ask for fewer replicas or fewer GPUs each"
                )
            gpu = {
                "num_cpus": self.cpus_per_replica,
                "num_gpus": self.gpus_per_replica,
                "scheduling_strategy": "SPREAD",
            }
            return [(f"replica {i}", gpu) for i in range(self.replicas)]
        nodes = alive_nodes()
        if self.replicas > len(nodes):
            raise ClusterUnavailable(
                f"{self.replicas} policy replicas on CPUs: one per node, and the cluster has "
                f"{len(nodes)} nodes with a CPU; ask for at most {len(nodes)}, or give "
                "gpus_per_replica"
            )
        return [
            (
                f"node {n.node_id[:8]}",
                {
                    "num_cpus": self.cpus_per_replica,
                    "scheduling_strategy": NodeAffinitySchedulingStrategy(n.node_id, soft=False),
                },
            )
            for n in nodes[: self.replicas]
        ]


class ReplicatedPolicy:
    """The learner's :class:`~closedloop.policy.Policy` with ``sample`` and ``sample_ids`` on
    a :class:`ReplicaSet`; everything else (``completion_logprobs``, ``save``, the tokenizer,
    ``model`` for the trainers) is the learner's own, in this process.

    Sampling follows :mod:`closedloop.distributed.shares`: for a seeded call, the completions
    of :func:`~closedloop.distributed.shares.sample_in_shares` on the learner, whatever the
    number of replicas and whatever replicas were lost on the way. A view: make one per use,
    or keep it; it holds no state of its own.
    """

    def __init__(self, learner: Any, replicas: ReplicaSet) -> None:
        self.learner = learner
        self.replicas = replicas

    @property
    def backend(self) -> str:
        """The learner's backend (generation runs on ``replicas.backend``)."""
        return str(self.learner.backend)

    def sample(
        self, prompts: Sequence[Prompt], n: int, params: SamplingParams
    ) -> list[list[Completion]]:
        """``n`` completions per prompt, sampled on the replicas."""
        return self.replicas.generate(self.learner, Method.SAMPLE, prompts, n, params)

    def sample_ids(
        self, prompts: Sequence[Sequence[int]], n: int, params: SamplingParams
    ) -> list[list[Completion]]:
        """``n`` completions per prompt given as token ids, sampled on the replicas."""
        return self.replicas.generate(self.learner, Method.SAMPLE_IDS, prompts, n, params)

    def completion_logprobs(
        self, prompts: Sequence[Prompt], completions: Sequence[str]
    ) -> list[list[float]]:
        """The learner's log-probs (scoring for training stays in this process)."""
        return self.learner.completion_logprobs(prompts, completions)

    def save(self, out_dir: str | Path) -> Path:
        """The learner's :meth:`save`."""
        return self.learner.save(out_dir)

    def __getattr__(self, name: str) -> Any:
        # tokenizer, encode_prompt, render, eos_id, model, ...: the learner's
        if name == "learner":  # not set yet (a copy being built): no recursion
            raise AttributeError(name)
        return getattr(self.learner, name)
