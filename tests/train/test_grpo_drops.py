"""infra_error attempts (and reward-less ones) are dropped from an update, never scored 0."""

from __future__ import annotations

import copy

import pytest
import torch

from closedloop.train.grpo import GRPOConfig, GRPOTrainer
from closedloop.train.grpo_config import RewardScaling
from closedloop.train.grpo_loss import group_advantages
from closedloop.train.trajectory import Trajectory
from closedloop.verify.outcome import Outcome


def traj(completion: tuple[int, ...], reward: float | None, outcome: Outcome) -> Trajectory:
    return Trajectory(
        (3, 4),
        completion,
        (1,) * len(completion),
        (-2.0,) * len(completion),
        1.0,
        reward,
        "g",
        0,
        outcome,
    )


GOOD = [
    traj((3, 3, 2), 1.0, Outcome.PASS),
    traj((5, 6, 2), 0.0, Outcome.FAIL),
    traj((4, 2), 0.0, Outcome.FAIL),
]
BROKEN = [traj((7, 7, 7), 0.0, Outcome.INFRA_ERROR), traj((8, 2), None, Outcome.INVALID)]


def test_infra_error_does_not_change_the_update(char_policy) -> None:
    other = copy.deepcopy(char_policy)
    cfg = GRPOConfig(learning_rate=1e-2, minibatch_size=16)
    clean = GRPOTrainer(char_policy, cfg).step(GOOD)
    mixed = GRPOTrainer(other, cfg).step(GOOD + BROKEN)
    assert mixed.num_dropped == 2 and clean.num_dropped == 0
    assert mixed.mean_reward == clean.mean_reward == pytest.approx(1 / 3)
    for a, b in zip(char_policy.model.parameters(), other.model.parameters(), strict=True):
        assert torch.equal(a, b)


def test_only_unusable_trajectories_raise(char_policy) -> None:
    with pytest.raises(ValueError, match="unusable"):
        GRPOTrainer(char_policy).step(BROKEN)


def test_group_advantages_match_the_formula_and_flag_flat_groups() -> None:
    adv = group_advantages(
        torch.tensor([1.0, 0.0, 0.0, 1.0, 1.0, 0.5]), torch.tensor([0, 0, 0, 1, 1, 2])
    )
    std = torch.tensor([1.0, 0.0, 0.0]).std()
    expected = (torch.tensor([1.0, 0.0, 0.0]) - 1 / 3) / (std + 1e-4)
    assert torch.allclose(adv.values[:3], expected)
    assert adv.values[3:].tolist() == [0.0, 0.0, 0.0]  # flat group, and a group of one
    assert adv.zero_std.tolist() == [False, False, False, True, True, True]


def test_batch_and_no_reward_scaling_divide_by_the_batch_std_and_by_nothing() -> None:
    # GRPOConfig.reward_scaling takes all three; only the default (per group) was checked, so
    # BATCH or NONE dividing by each group's std passed every test
    rewards = torch.tensor([1.0, 0.0, 0.0, 1.0, 1.0, 0.0])
    groups = torch.tensor([0, 0, 0, 1, 1, 1])
    centred = rewards - torch.tensor([1 / 3] * 3 + [2 / 3] * 3)
    none = group_advantages(rewards, groups, RewardScaling.NONE)
    assert torch.allclose(none.values, centred)
    batch = group_advantages(rewards, groups, RewardScaling.BATCH)
    assert torch.allclose(batch.values, centred / (rewards.std(unbiased=True) + 1e-4))
    group = group_advantages(rewards, groups, RewardScaling.GROUP)
    # the three differ here: each group's std (0.577) is not the batch's (0.548), nor 1
    assert not torch.allclose(group.values, batch.values)
    assert not torch.allclose(batch.values, none.values)
    assert none.zero_std.tolist() == batch.zero_std.tolist() == [False] * 6


def test_reported_optimizer_steps_equal_the_real_ones_with_a_partial_minibatch(
    char_policy,
) -> None:
    usable = [*GOOD, traj((6, 2), 1.0, Outcome.PASS), traj((7, 5, 2), 0.0, Outcome.FAIL)]
    trainer = GRPOTrainer(char_policy, GRPOConfig(minibatch_size=2, num_iterations=3))
    calls = []
    trainer.optimizer.register_step_post_hook(lambda *_: calls.append(1))
    metrics = trainer.step(usable + BROKEN)
    # 5 usable rows in minibatches of 2, 2 and 1, three passes; the dropped rows take no step
    # (counted with them it would be 12)
    assert metrics.optimizer_steps == len(calls) == 9
