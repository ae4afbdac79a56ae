"""Loss aggregations: ``dapo`` weighs every token of an update the same across minibatches;
``dr_grpo`` divides by a constant, whatever the completions' lengths."""

from __future__ import annotations

import torch

from closedloop.train.grpo_loss import LossAggregation, grpo_loss

GEN = torch.Generator().manual_seed(3)
LOGPS = -torch.rand(4, 6, generator=GEN)
ADV = torch.tensor([1.0, -0.5, 0.7, -1.2])
# uneven lengths: minibatch {0, 1} holds 8 tokens, minibatch {2, 3} holds 3
MASK = torch.tensor(
    [[1, 1, 1, 1, 1, 1], [1, 1, 0, 0, 0, 0], [1, 1, 0, 0, 0, 0], [1, 0, 0, 0, 0, 0]]
).float()


def loss(rows: slice, aggregation: LossAggregation, **kw: float) -> float:
    return grpo_loss(
        LOGPS[rows], LOGPS[rows], ADV[rows], MASK[rows], aggregation=aggregation, **kw
    ).loss.item()


def test_dapo_minibatch_losses_average_to_the_update_token_mean() -> None:
    per_step = MASK.sum().item() / 2  # the update's trained tokens per optimizer step
    halves = [
        loss(s, LossAggregation.DAPO, dapo_normalizer=per_step) for s in (slice(0, 2), slice(2, 4))
    ]
    whole = loss(slice(0, 4), LossAggregation.TOKEN)
    assert abs(sum(halves) / 2 - whole) < 1e-6


def test_bnpo_minibatch_losses_weigh_short_minibatches_more() -> None:
    halves = [loss(s, LossAggregation.TOKEN) for s in (slice(0, 2), slice(2, 4))]
    assert abs(sum(halves) / 2 - loss(slice(0, 4), LossAggregation.TOKEN)) > 1e-3


def test_dr_grpo_divides_by_sequences_times_max_completion_length() -> None:
    ours = loss(slice(0, 4), LossAggregation.DR_GRPO, max_completion_length=16)
    # at ratio 1 each token's loss is -advantage
    expected = -(ADV[:, None] * MASK).sum().item() / (4 * 16)
    assert abs(ours - expected) < 1e-6
