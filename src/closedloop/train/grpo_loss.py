"""GRPO math on tensors: group-normalised advantages and the clipped token-level surrogate.

Source: DeepSeekMath (Shao et al., 2024, arXiv:2402.03300), eq. 3 and 4 — outcome supervision,
advantage ``(r - mean(r_group)) / std(r_group)`` given to every token, PPO's clipped ratio, and
the k3 KL estimator ``exp(ref - logp) - (ref - logp) - 1`` added per token; written to match
TRL's ``GRPOTrainer._compute_loss`` (TRL 1.16; ``loss_type`` ``"grpo"``, ``"bnpo"``, ``"dapo"``
and ``"dr_grpo"``), including its ``1e-4`` in the advantage denominator, its Bessel-corrected
std and its ratio-weighted (bias-corrected) KL term. Departures are listed in
:mod:`closedloop.train.grpo`. Tests check this against TRL as an oracle.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from closedloop.train.grpo_config import LossAggregation, RewardScaling

ADVANTAGE_EPS = 1e-4  # TRL's constant in ``advantages / (std + 1e-4)``


def _unbiased_std(x: torch.Tensor) -> torch.Tensor:
    if x.numel() < 2:
        return torch.tensor(float("nan"), dtype=x.dtype)
    return x.std(unbiased=True)


@dataclass
class Advantages:
    """Per-trajectory advantages and, per trajectory, whether its group had zero reward spread."""

    values: torch.Tensor  # (B,)
    zero_std: torch.Tensor  # (B,) bool; a group of one counts as zero spread


def group_advantages(
    rewards: torch.Tensor, group_index: torch.Tensor, scaling: RewardScaling = RewardScaling.GROUP
) -> Advantages:
    """``(r - group mean) / (std + 1e-4)``; a group with one member gets advantage 0.

    ``group_index[i]`` is the integer group of trajectory ``i``; groups may differ in size
    (dropped ``infra_error`` attempts shrink a group; they never count as reward 0).
    """
    rewards = rewards.double()
    values = torch.zeros_like(rewards)
    stds = torch.zeros_like(rewards)
    for g in torch.unique(group_index):
        rows = group_index == g
        r = rewards[rows]
        values[rows] = r - r.mean()
        stds[rows] = _unbiased_std(r)
    zero_std = torch.nan_to_num(stds, nan=0.0).abs() < 1e-8
    if scaling is RewardScaling.GROUP:
        values = values / (stds + ADVANTAGE_EPS)
    elif scaling is RewardScaling.BATCH:
        values = values / (_unbiased_std(rewards) + ADVANTAGE_EPS)
    return Advantages(torch.nan_to_num(values, nan=0.0).float(), zero_std)


@dataclass
class LossParts:
    """The scalar loss and the statistics of the step that produced it (all detached but loss)."""

    loss: torch.Tensor
    clip_ratio: float  # fraction of trained tokens whose ratio was clipped (low or high region)
    kl_ref: float | None  # mean k3 KL to the reference over trained tokens (None without one)
    ratio_dev: float  # max |ratio - 1| over trained tokens (0 when there are none)


def masked_mean(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of ``x`` over positions where ``mask`` is 1 (0 when the mask is empty)."""
    return (x * mask).sum() / mask.sum().clamp(min=1.0)


def grpo_loss(
    logps: torch.Tensor,
    old_logps: torch.Tensor,
    advantages: torch.Tensor,
    mask: torch.Tensor,
    epsilon_low: float = 0.2,
    epsilon_high: float = 0.2,
    beta: float = 0.0,
    ref_logps: torch.Tensor | None = None,
    aggregation: LossAggregation = LossAggregation.SEQUENCE,
    kl_ratio_correction: bool = True,
    dapo_normalizer: float | None = None,
    max_completion_length: int | None = None,
) -> LossParts:
    """The clipped surrogate loss over a (B, T) batch of completion tokens.

    ``logps`` carries the gradient; ``old_logps`` (the sampling log-probs) and ``ref_logps`` are
    constants. ``mask`` is 1 on trained tokens only (padding and environment tokens are 0), so
    masked positions contribute nothing to the loss or its gradient, whatever their values.
    With ``kl_ratio_correction`` the per-token KL is multiplied by the (differentiable) ratio,
    which makes its gradient the unbiased reverse-KL gradient (DeepSeek-V3.2; TRL's default
    ``use_bias_correction_kl=True``). The reported ``kl_ref`` is the uncorrected k3 mean.

    ``dapo_normalizer`` (required by ``dapo``) is the update batch's trained tokens per
    optimizer step, so every token of the update weighs the same whichever minibatch it is in
    (TRL's ``num_items_in_batch`` rescaled to one step); ``max_completion_length`` (required by
    ``dr_grpo``) is the constant of Dr. GRPO's normaliser.
    """
    mask = mask.to(logps.dtype)
    # Masked positions may hold anything (an environment token's sampling log-prob is
    # meaningless); zero their log-ratio so exp() cannot overflow into NaN * 0.
    log_ratio = torch.where(mask.bool(), logps - old_logps, torch.zeros_like(logps))
    ratio = torch.exp(log_ratio)
    adv = advantages.unsqueeze(1) if advantages.dim() == 1 else advantages
    clipped = torch.clamp(ratio, 1 - epsilon_low, 1 + epsilon_high)
    per_token = -torch.min(ratio * adv, clipped * adv)
    kl_value = None
    if ref_logps is not None:
        delta = torch.where(mask.bool(), ref_logps - logps, torch.zeros_like(logps))
        per_token_kl = torch.exp(delta) - delta - 1
        kl_value = masked_mean(per_token_kl.detach(), mask).item()
        if beta != 0.0:
            penalty = per_token_kl * ratio if kl_ratio_correction else per_token_kl
            per_token = per_token + beta * penalty
    elif beta != 0.0:
        raise ValueError(f"beta={beta} needs ref_logps; pass the reference's log-probs or beta=0")
    loss = _aggregate(per_token, mask, aggregation, dapo_normalizer, max_completion_length)
    low = (ratio < 1 - epsilon_low) & (adv < 0)
    high = (ratio > 1 + epsilon_high) & (adv > 0)
    clip_ratio = masked_mean((low | high).float().detach(), mask).item()
    ratio_dev = ((ratio.detach() - 1).abs() * mask).max().item() if mask.numel() else 0.0
    return LossParts(loss=loss, clip_ratio=clip_ratio, kl_ref=kl_value, ratio_dev=ratio_dev)


def _aggregate(
    per_token: torch.Tensor,
    mask: torch.Tensor,
    aggregation: LossAggregation,
    dapo_normalizer: float | None,
    max_completion_length: int | None,
) -> torch.Tensor:
    total = (per_token * mask).sum()
    if aggregation is LossAggregation.SEQUENCE:
        return ((per_token * mask).sum(-1) / mask.sum(-1).clamp(min=1.0)).mean()
    if aggregation is LossAggregation.TOKEN:
        return total / mask.sum().clamp(min=1.0)
    if aggregation is LossAggregation.DAPO:
        if dapo_normalizer is None:
            raise ValueError(
                "dapo_normalizer=None: the 'dapo' aggregation needs the update batch's trained "
                "tokens per optimizer step"
            )
        return total / max(dapo_normalizer, 1.0)  # TRL clamps it at 1 too
    if max_completion_length is None or max_completion_length < 1:
        raise ValueError(
            f"max_completion_length={max_completion_length}: the 'dr_grpo' aggregation needs "
            "its constant normaliser, the longest completion in tokens (>= 1)"
        )
    return total / (per_token.shape[0] * max_completion_length)
