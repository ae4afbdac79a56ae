"""distributed: verification spread over a Ray cluster, one sandbox pool per node; the loop's
generation on policy replicas placed by Ray.

Owns placing one verification actor on each node of a Ray cluster (each actor holds that
node's own :class:`closedloop.verify.Verifier` and so its own sandbox pool), feeding them
bounded batches of jobs, hard per-batch deadlines, retrying the jobs of a lost or stuck actor
on the others, and the one factory through which every command and the loop build their
verifier (:func:`make_verifier`: the local pool, or :class:`RayVerifier` for ``--ray`` /
``[distributed] ray_address``).

:class:`RayVerifier` is a drop-in for ``Verifier``: ``verify``, ``verify_many``,
``iter_verify``, ``call``, ``call_many``, ``close``, context manager, ``pool.size``,
``limits``, ``infra_retries``; it gives the verdicts the local pool gives, because the same
code judges them, on the nodes.

:class:`~closedloop.distributed.replicas.ReplicaSet` holds copies of the policy on the
cluster (``hf`` engines one per node on CPUs, ``hf`` or ``vllm`` engines on GPUs) and
:class:`~closedloop.distributed.replicas.ReplicatedPolicy` is the learner's ``Policy`` with its
sampling on them: a batch cut into seeded shares (the same completions for a seed whatever the
number of replicas or the failures), the learner's weights synced to the replicas before any
batch that follows an update (:func:`make_replicas` builds them for the loop's
``[distributed] policy_replicas``).

Must never: judge anything itself (every verdict comes from a ``Verifier`` on a node); count a
verdict twice (each job has an id and the first result for an id wins, later ones are
dropped and counted); turn a lost actor into a candidate's failure (its jobs are retried, and
at last are ``infra_error``, reward None, never a fail); import torch or transformers on the
verification path; import Ray before a Ray address is given; end Ray processes it did not
start; let a replica sample with weights older than the learner's, or train.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from closedloop.distributed.factory import ClusterUnavailable, make_replicas, make_verifier

if TYPE_CHECKING:
    from closedloop.distributed.verifier import RayVerifier

__all__ = ["ClusterUnavailable", "RayVerifier", "make_replicas", "make_verifier"]


def __getattr__(name: str) -> Any:
    # RayVerifier imports Ray: loaded on first use, so that importing this package (as the
    # loop and the CLI do) costs nothing when no Ray address is given.
    if name == "RayVerifier":
        from closedloop.distributed.verifier import RayVerifier

        return RayVerifier
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
