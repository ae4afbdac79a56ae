"""The replay term (PPO-ptx): supervised examples join the GRPO step's loss, and only then."""

from __future__ import annotations

import copy
from dataclasses import replace

import torch

from closedloop.train.grpo import GRPOConfig, GRPOTrainer
from closedloop.train.sft import SFTExample

from .test_grpo_drops import GOOD

BATCH = GOOD  # one pass, two fails: a group with signal
REPLAY = [SFTExample((5, 5), (7, 8, 9, 2), (1, 1, 1, 1)) for _ in range(4)]


def _replay_nll(trainer: GRPOTrainer) -> float:
    with torch.no_grad():
        return float(trainer._replay_nll(REPLAY))


def test_replay_pulls_its_examples_up(char_policy) -> None:
    other = copy.deepcopy(char_policy)
    plain = GRPOTrainer(char_policy, GRPOConfig(learning_rate=1e-2))
    mixed = GRPOTrainer(other, GRPOConfig(learning_rate=1e-2, replay_coef=1.0))
    start = _replay_nll(plain)
    assert _replay_nll(mixed) == start  # same weights before the step
    ignored = plain.step(BATCH, seed=0, replay=REPLAY)  # weight 0: the examples are ignored
    used = mixed.step(BATCH, seed=0, replay=REPLAY)
    assert _replay_nll(mixed) < _replay_nll(plain) - 0.05
    assert (ignored.num_replay, used.num_replay) == (0, len(REPLAY))


def test_an_update_without_signal_reports_no_replay(char_policy) -> None:
    # every group's rewards equal: no optimizer step, so no replay example joined a loss
    flat = [replace(t, reward=1.0) for t in BATCH]
    m = GRPOTrainer(char_policy, GRPOConfig(replay_coef=1.0)).step(flat, seed=0, replay=REPLAY)
    assert m.optimizer_steps == 0 and m.num_replay == 0


def test_without_a_weight_replay_changes_nothing(char_policy) -> None:
    other = copy.deepcopy(char_policy)
    cfg = GRPOConfig(learning_rate=1e-2)
    GRPOTrainer(char_policy, cfg).step(BATCH, seed=0)
    GRPOTrainer(other, cfg).step(BATCH, seed=0, replay=REPLAY)
    for a, b in zip(char_policy.model.parameters(), other.model.parameters(), strict=True):
        assert torch.equal(a, b)
