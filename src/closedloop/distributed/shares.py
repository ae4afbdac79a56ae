"""A generation batch cut into shares, and the seed of each share.

A batch of prompts is cut into shares of ``per_share`` consecutive prompts, in order, whatever
the number of replicas. Share ``j`` is sampled with its own seed::

    share_seed(seed, j) = seed + j * SEED_STRIDE        (None stays None)

so share 0 has the batch's own seed, and a batch that fits in one share is sampled exactly as
``policy.sample_ids(prompts, n, params)`` samples it. Each share is sampled by one call of the
policy on its prompts alone, so a share's completions depend on the weights, its prompts,
``n``, the sampling parameters and its seed -- never on which replica ran it, how many replicas
there are, or whether it ran again after its replica was lost. :func:`sample_in_shares` runs
the same shares in this process: what a :class:`~closedloop.distributed.replicas.ReplicaSet`
returns for a seeded batch.

What it does not promise: the completions of ``policy.sample_ids`` called on the whole batch
at once (that draws every row from one random stream); bit-equal numbers across machines
whose kernels differ (another GPU, another thread count can round differently, and a
different rounding can flip a sampled token). Must never import Ray.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

from closedloop.policy.base import Completion, SamplingParams

SEED_STRIDE = 2_147_483_647
"""The distance between the seeds of two consecutive shares (a prime, 2**31 - 1: the loop's
own per-iteration seeds never come near it)."""


class Method(StrEnum):
    """Which sampling call of the ``Policy`` protocol a share makes."""

    SAMPLE = "sample"  # prompts as text or conversations
    SAMPLE_IDS = "sample_ids"  # prompts as token ids


@dataclass(frozen=True)
class Share:
    """Consecutive prompts of one batch, sampled together by one replica."""

    index: int
    """Its place among the batch's shares (its job id, and its seed's offset)."""
    method: Method
    prompts: tuple[Any, ...]
    n: int
    params: SamplingParams
    """The batch's parameters with this share's seed."""


def share_seed(seed: int | None, index: int) -> int | None:
    """The seed of share ``index`` of a batch seeded with ``seed`` (see the module)."""
    return None if seed is None else seed + index * SEED_STRIDE


def split(
    method: Method, prompts: Sequence[Any], n: int, params: SamplingParams, per_share: int
) -> list[Share]:
    """``prompts`` as shares of ``per_share`` consecutive prompts, each with its seed."""
    if per_share < 1:
        raise ValueError(f"per_share={per_share}: must be >= 1 (prompts in one share)")
    if n < 1:
        raise ValueError(f"n={n}: must be >= 1")
    return [
        Share(
            j,
            method,
            tuple(prompts[start : start + per_share]),
            n,
            replace(params, seed=share_seed(params.seed, j)),
        )
        for j, start in enumerate(range(0, len(prompts), per_share))
    ]


def run_share(policy: Any, share: Share) -> list[list[Completion]]:
    """Sample one share with ``policy`` (on a replica, or here)."""
    return getattr(policy, share.method.value)(list(share.prompts), share.n, share.params)


def sample_in_shares(
    policy: Any,
    method: Method,
    prompts: Sequence[Any],
    n: int,
    params: SamplingParams,
    per_share: int,
) -> list[list[Completion]]:
    """What replicas return for this batch, sampled here, share by share."""
    return [
        group
        for share in split(method, prompts, n, params, per_share)
        for group in run_share(policy, share)
    ]
