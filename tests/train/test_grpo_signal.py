"""Groups without reward spread never reach an optimizer step; rows are shuffled, seeded."""

from __future__ import annotations

import copy

import torch

from closedloop.train.grpo import GRPOConfig, GRPOTrainer
from closedloop.train.trajectory import Trajectory
from closedloop.verify.outcome import Outcome


def traj(gid: str, reward: float, salt: int) -> Trajectory:
    completion = (3 + salt % 8, 4 + (salt * 3) % 7, 2)
    return Trajectory((3, 4), completion, (1, 1, 1), (-2.0,) * 3, 1.0, reward, gid, 0, Outcome.FAIL)


def group(gid: str, rewards: list[float], salt: int = 0) -> list[Trajectory]:
    return [traj(gid, r, salt + i) for i, r in enumerate(rewards)]


SIGNAL = group("a", [1.0, 0.0, 0.0], 0) + group("b", [0.0, 1.0, 1.0], 3)
FLAT = group("c", [0.0, 0.0, 0.0], 6) + group("d", [1.0, 1.0, 1.0], 9) + group("e", [1.0], 12)


def weights(trainer: GRPOTrainer) -> list[torch.Tensor]:
    return [p.detach().clone() for p in trainer.policy.model.parameters()]


def test_flat_groups_take_no_optimizer_step(char_policy) -> None:
    trainer = GRPOTrainer(char_policy, GRPOConfig(minibatch_size=2))
    metrics = trainer.step(SIGNAL + FLAT)
    assert metrics.optimizer_steps == 3  # the 6 rows with signal, in 2s (not the 13 rows: 7)
    assert metrics.num_trajectories == 6
    assert (metrics.num_groups, metrics.num_zero_std_groups) == (5, 3)
    assert metrics.frac_zero_std_groups == 3 / 5


def test_flat_groups_leave_the_update_of_the_others_unchanged(char_policy) -> None:
    cfg = GRPOConfig(learning_rate=1e-2, minibatch_size=2)
    alone = GRPOTrainer(copy.deepcopy(char_policy), cfg)
    alone.step(SIGNAL)
    mixed = GRPOTrainer(char_policy, cfg)
    mixed.step(FLAT[:3] + SIGNAL[:3] + FLAT[3:] + SIGNAL[3:])
    for a, b in zip(weights(alone), weights(mixed), strict=True):
        assert torch.equal(a, b)


def test_an_update_without_signal_leaves_weights_and_version_unchanged(char_policy) -> None:
    trainer = GRPOTrainer(char_policy, GRPOConfig(learning_rate=1e-2, minibatch_size=2))
    trainer.step(SIGNAL)  # AdamW now has momentum: a zero-gradient step would still move
    before, version = weights(trainer), trainer.version
    metrics = trainer.step(FLAT)
    assert metrics.optimizer_steps == 0 and metrics.loss is None
    assert metrics.kl_probe == 0.0 and trainer.version == version
    for a, b in zip(before, weights(trainer), strict=True):
        assert torch.equal(a, b)


def test_rows_are_shuffled_the_same_way_for_the_same_seed(char_policy) -> None:
    orders = []
    for policy in (copy.deepcopy(char_policy), char_policy):
        trainer = GRPOTrainer(policy, GRPOConfig(minibatch_size=2))
        seen: list[str] = []
        step_one = trainer._optimise

        def spy(rows, *args, _seen=seen, _step=step_one):
            _seen.extend(t.group_id + str(t.completion_ids) for t in rows)
            return _step(rows, *args)

        trainer._optimise = spy  # type: ignore[method-assign]
        trainer.step(SIGNAL)
        orders.append(seen)
    assert orders[0] == orders[1]
    assert orders[0] != [t.group_id + str(t.completion_ids) for t in SIGNAL]
