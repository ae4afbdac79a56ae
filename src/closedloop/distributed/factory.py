"""The one place a verifier is built (the local sandbox pool, or one pool per Ray node), and
the loop's policy replicas (none, or a :class:`~closedloop.distributed.replicas.ReplicaSet`).

``closedloop verify``, ``serve``, ``run``, ``eval``, ``gate`` and the loop all call
:func:`make_verifier`; an empty address means the local pool, as before, and Ray is then
never imported. The loop calls :func:`make_replicas`; no replicas, no Ray.
"""

from __future__ import annotations

from contextlib import nullcontext
from typing import TYPE_CHECKING

from closedloop.sandbox import SandboxLimits, SandboxUnavailable

if TYPE_CHECKING:
    from closedloop.distributed.replicas import ReplicaSet
    from closedloop.verify import VerificationBackend

LOCAL = "local"
"""The address that starts a Ray instance on this machine (``ray.init(address="local")``)."""
RAY_OPTION_HELP = (
    "Verify on a Ray cluster, one sandbox pool per node: 'local' starts Ray here, 'auto' joins "
    "this machine's cluster, HOST:PORT that head's (needs Ray: the closedloop 'ray' extra). "
    "Default: this machine's pool."
)
"""The help of every command's ``--ray ADDRESS`` option."""


class ClusterUnavailable(SandboxUnavailable):
    """No verification can run on the Ray cluster: Ray is not installed, the address does not
    answer, no node could start a sandbox pool, or a node runs other verdict code than this
    process. A :class:`SandboxUnavailable`, so every command reports it as it reports a
    sandbox that cannot start (one line, exit code 3)."""


def make_verifier(
    workers: int | None = None,
    limits: SandboxLimits | None = None,
    ray_address: str = "",
    retries: int = 1,
    prewarm_judges: bool = True,
) -> VerificationBackend:
    """A :class:`~closedloop.verify.VerificationBackend`: the local sandbox pool when ``ray_address`` is empty, else a
    :class:`RayVerifier` with one pool per node of the cluster at ``ray_address``
    (``local``: a Ray instance started here; ``auto``: the cluster this machine belongs to;
    ``HOST:PORT``: that cluster's head). ``workers`` is the pool size, per node on Ray
    (default: one slot more than cores here, one per CPU Ray counts on a node).
    ``prewarm_judges``: start each slot's judge worker with the pool (for checker tasks) rather
    than when first needed (local pool only)."""
    if not ray_address:
        from closedloop.verify import Verifier

        return Verifier(
            workers=workers, limits=limits, retries=retries, prewarm_judges=prewarm_judges
        )
    try:
        from closedloop.distributed.verifier import RayVerifier
    except ImportError as e:
        raise ClusterUnavailable(
            f"--ray {ray_address}: Ray is not installed ({e}); pip install 'closedloop[ray]'"
        ) from None
    return RayVerifier(address=ray_address, workers=workers, limits=limits, retries=retries)


def make_replicas(
    ray_address: str, replicas: int, backend: str = "hf", gpus_per_replica: float = 0.0
) -> ReplicaSet | nullcontext[None]:
    """The loop's generation replicas as a context manager: a
    :class:`~closedloop.distributed.replicas.ReplicaSet` of ``replicas`` on the cluster at
    ``ray_address`` (placed at its first batch), or, for 0 replicas, one that gives None."""
    if not replicas:
        return nullcontext()
    try:
        from closedloop.distributed.replicas import ReplicaSet
    except ImportError as e:
        raise ClusterUnavailable(
            f"policy replicas on {ray_address}: Ray is not installed ({e}); "
            "pip install 'closedloop[ray]'"
        ) from None
    return ReplicaSet(ray_address, replicas, backend, gpus_per_replica=gpus_per_replica)
