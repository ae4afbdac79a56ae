"""Checkpoints round-trip: a resumed trainer continues exactly where the saved one was."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from transformers import AutoModelForCausalLM

from closedloop.policy.hf import HFPolicy
from closedloop.train.checkpoint import latest_checkpoint
from closedloop.train.grpo import GRPOConfig, GRPOTrainer
from closedloop.train.trajectory import Trajectory
from closedloop.verify.outcome import Outcome


def batch(seed: int) -> list[Trajectory]:
    gen = torch.Generator().manual_seed(seed)
    out = []
    for i in range(4):
        ids = tuple(torch.randint(3, 12, (5,), generator=gen).tolist())
        out.append(
            Trajectory((3, 4), ids, (1,) * 5, (-2.0,) * 5, 1.0, float(i % 2), "g", 0, Outcome.FAIL)
        )
    return out


def test_save_then_resume_continues_identically(char_model_dir: Path, tmp_path: Path) -> None:
    cfg = GRPOConfig(learning_rate=1e-2, minibatch_size=2)
    first = GRPOTrainer(
        HFPolicy.from_pretrained(char_model_dir, device="cpu"), cfg, checkpoint_root=tmp_path
    )
    first.step(batch(0))
    saved = first.save()
    assert latest_checkpoint(tmp_path) == saved
    # the checkpoint is a normal Hugging Face model directory
    reloaded = AutoModelForCausalLM.from_pretrained(str(saved))
    for a, b in zip(reloaded.parameters(), first.policy.model.parameters(), strict=True):
        assert torch.equal(a, b)
    first.step(batch(1))

    second = GRPOTrainer(
        HFPolicy.from_pretrained(char_model_dir, device="cpu"), cfg, checkpoint_root=tmp_path
    )
    assert second.resume() and second.version == 1 and second.probe == first.probe
    second.step(batch(1))
    for a, b in zip(first.policy.model.parameters(), second.policy.model.parameters(), strict=True):
        assert torch.allclose(a, b, atol=1e-6)


def test_resume_without_checkpoint_starts_fresh(char_policy, tmp_path: Path) -> None:
    assert not GRPOTrainer(char_policy, checkpoint_root=tmp_path / "none").resume()


def test_resumed_trainer_takes_the_step_an_uninterrupted_one_takes(
    char_model_dir: Path, tmp_path: Path
) -> None:
    cfg = GRPOConfig(learning_rate=1e-2, minibatch_size=2, beta=0.1)  # the reference matters
    straight = GRPOTrainer(HFPolicy.from_pretrained(char_model_dir, device="cpu"), cfg)
    for seed in range(3):
        straight.step(batch(seed))

    first = GRPOTrainer(HFPolicy.from_pretrained(char_model_dir, device="cpu"), cfg)
    first.step(batch(0))
    first.step(batch(1))
    first.policy.save(tmp_path / "policy")
    first.save_state(tmp_path / "policy" / "trainer_state.pt")
    del first

    cold_start = AutoModelForCausalLM.from_pretrained(str(char_model_dir))
    resumed = GRPOTrainer(
        HFPolicy.from_pretrained(tmp_path / "policy", device="cpu"), cfg, reference=cold_start
    )
    resumed.load_state(tmp_path / "policy" / "trainer_state.pt")
    assert resumed.version == 2
    resumed.step(batch(2))
    for a, b in zip(
        straight.policy.model.parameters(), resumed.policy.model.parameters(), strict=True
    ):
        assert torch.equal(a, b)  # bit-exact on CPU


def test_state_saved_under_another_config_is_refused(char_policy, tmp_path: Path) -> None:
    trainer = GRPOTrainer(char_policy, GRPOConfig(beta=0.1))
    trainer.save_state(tmp_path / "state.pt")
    other = GRPOTrainer(char_policy, GRPOConfig(beta=0.2))
    with pytest.raises(ValueError, match="beta: saved 0.1, now 0.2"):
        other.load_state(tmp_path / "state.pt")
