"""Moved: sample from token ids with ``policy.sample_ids`` (the ``Policy`` protocol; the KV-cached
sampler is :meth:`closedloop.policy.hf.HFPolicy.sample_ids`). Kept until the loop calls it."""

from __future__ import annotations

from collections.abc import Sequence

from closedloop.policy.base import Completion, Policy, SamplingParams


def sample_ids(
    policy: Policy, prompts: Sequence[Sequence[int]], n: int, params: SamplingParams
) -> list[list[Completion]]:
    """``policy.sample_ids(prompts, n, params)``."""
    return policy.sample_ids(prompts, n, params)
