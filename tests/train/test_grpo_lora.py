"""GRPO on a LoRA policy: the reference is the adapter-disabled model; checkpoints keep the adapter."""

from __future__ import annotations

from pathlib import Path

import torch

from closedloop.policy.hf import HFPolicy, LoraSettings
from closedloop.train.grpo import GRPOConfig, GRPOTrainer
from closedloop.train.trajectory import Trajectory
from closedloop.verify.outcome import Outcome

BATCH = [
    Trajectory((3, 4), (3, 3, 2), (1, 1, 1), (-2.0,) * 3, 1.0, 1.0, "g", 0, Outcome.PASS),
    Trajectory((3, 4), (5, 6, 2), (1, 1, 1), (-2.0,) * 3, 1.0, 0.0, "g", 0, Outcome.FAIL),
]


def test_lora_grpo_updates_only_the_adapter_and_resumes(
    char_model_dir: Path, tmp_path: Path
) -> None:
    lora = LoraSettings(r=2, alpha=4)
    policy = HFPolicy.from_pretrained(char_model_dir, device="cpu", lora=lora)
    frozen = {
        n: p.detach().clone() for n, p in policy.model.named_parameters() if not p.requires_grad
    }
    cfg = GRPOConfig(learning_rate=1e-2, beta=0.1)
    trainer = GRPOTrainer(policy, cfg, checkpoint_root=tmp_path)
    assert trainer.reference is None and trainer.has_reference  # adapter disabled = reference
    first = trainer.step(BATCH)
    second = trainer.step(BATCH)
    assert first.kl_ref == 0.0 and second.kl_ref is not None and second.kl_ref > 0
    for n, p in policy.model.named_parameters():
        if n in frozen:
            assert torch.equal(p, frozen[n])
    saved = trainer.save()
    assert (saved / "adapter_model.safetensors").is_file()

    again = GRPOTrainer(
        HFPolicy.from_pretrained(char_model_dir, device="cpu", lora=lora),
        cfg,
        checkpoint_root=tmp_path,
    )
    assert again.resume() and again.version == 2
    for a, b in zip(policy.model.parameters(), again.policy.model.parameters(), strict=True):
        assert torch.equal(a, b)
