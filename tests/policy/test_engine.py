"""The weight hand-off from the trained model to a generation engine (closedloop.policy.engine),
run with a second HF model as the engine: the code path the vLLM engine takes, up to
``VLLMPolicy.load_weights``."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from closedloop.policy.base import PolicyError, SamplingParams
from closedloop.policy.engine import EnginePolicy, GenerationEngine, engine_weights
from closedloop.policy.hf import HFPolicy, LoraSettings
from closedloop.train.sft import examples_from_text, sft_steps

GREEDY = SamplingParams(max_new_tokens=8, temperature=0.0)


def lora_policy(path: Path, dtype: torch.dtype = torch.float32) -> HFPolicy:
    policy = HFPolicy.from_pretrained(path, device="cpu", dtype=dtype, lora=LoraSettings(4, 8))
    with torch.no_grad():
        for name, p in policy.model.named_parameters():
            if "lora_B" in name:
                p.normal_(0, 0.2)  # an adapter that changes what the model writes
    return policy


def logits(model: torch.nn.Module, ids: list[int]) -> torch.Tensor:
    with torch.no_grad():
        return model(torch.tensor([ids])).logits.float()


def test_engine_weights_are_the_merged_model_under_hf_names(
    embedded_dir: Path, tmp_path: Path
) -> None:
    trained = lora_policy(embedded_dir)
    plain = HFPolicy.from_pretrained(trained.save(tmp_path / "merged"), device="cpu")
    merged = dict(plain.model.named_parameters())
    weights = dict(engine_weights(trained.model))
    assert weights.keys() == merged.keys()  # no adapter tensors, no PEFT prefixes
    assert all(torch.allclose(weights[n], merged[n], atol=1e-6) for n in merged)
    changed = [n for n in merged if "q_proj" in n]
    assert changed and not torch.allclose(weights[changed[0]], _base_weight(trained, changed[0]))


def _base_weight(policy: HFPolicy, hf_name: str) -> torch.Tensor:
    peft_name = "base_model.model." + hf_name.replace(".weight", ".base_layer.weight")
    return dict(policy.model.named_parameters())[peft_name]


def test_a_handoff_in_bfloat16_leaves_the_frozen_base_weights_bit_for_bit(
    embedded_dir: Path,
) -> None:
    # TRL merges the adapter in place and unmerges it; in bfloat16 that rounds the base weights
    trained = lora_policy(embedded_dir, torch.bfloat16)
    before = {n: p.clone() for n, p in trained.model.named_parameters() if not p.requires_grad}
    engine = HFPolicy.from_pretrained(embedded_dir, device="cpu", dtype=torch.bfloat16)
    EnginePolicy(trained, engine).sync()
    after = dict(trained.model.named_parameters())
    assert all(torch.equal(before[n], after[n]) for n in before)


def test_the_engine_samples_the_trained_weights_after_every_update(embedded_dir: Path) -> None:
    trained = lora_policy(embedded_dir)
    engine = HFPolicy.from_pretrained(embedded_dir, device="cpu")
    policy = EnginePolicy(trained, engine)
    assert isinstance(engine, GenerationEngine)
    prompt = policy.encode_prompt("Write f.")
    assert not torch.allclose(logits(engine.model, prompt), logits(trained.model, prompt))
    first = policy.sample_ids([prompt], 1, GREEDY)[0][0]
    assert policy.handoffs == 1
    assert first.token_ids == trained.sample_ids([prompt], 1, GREEDY)[0][0].token_ids
    assert torch.allclose(logits(engine.model, prompt), logits(trained.model, prompt), atol=1e-5)

    policy.sample_ids([prompt], 1, GREEDY)
    assert policy.handoffs == 1  # nothing changed: no second transfer
    examples = examples_from_text(policy, [("Write f.", "def f(x):\n    return x\n")] * 4)
    sft_steps(policy, examples, 2, 4, 5e-2, 0)  # an update through the loop's own SFT path
    assert not torch.allclose(logits(engine.model, prompt), logits(trained.model, prompt))
    again = policy.sample_ids([prompt], 1, GREEDY)[0][0]
    assert policy.handoffs == 2
    assert torch.allclose(logits(engine.model, prompt), logits(trained.model, prompt), atol=1e-5)
    assert again.token_ids == trained.sample_ids([prompt], 1, GREEDY)[0][0].token_ids
    assert again.logprobs == pytest.approx(
        trained.sample_ids([prompt], 1, GREEDY)[0][0].logprobs, abs=1e-4
    )


def test_an_engine_refuses_weights_it_does_not_hold(embedded_dir: Path) -> None:
    engine = HFPolicy.from_pretrained(embedded_dir, device="cpu")
    with pytest.raises(PolicyError, match="no parameter 'base_model.model.x'"):
        engine.load_weights(iter([("base_model.model.x", torch.zeros(1))]))


def test_training_and_saving_go_to_the_trained_model(embedded_dir: Path, tmp_path: Path) -> None:
    trained = lora_policy(embedded_dir)
    policy = EnginePolicy(trained, HFPolicy.from_pretrained(embedded_dir, device="cpu"))
    assert policy.model is trained.model
    out = policy.save(tmp_path / "p")
    assert (out / "adapter" / "adapter_config.json").is_file()
    prompt = policy.encode_prompt("Write f.")
    reloaded = HFPolicy.from_pretrained(out, device="cpu")
    assert torch.allclose(logits(reloaded.model, prompt), logits(trained.model, prompt), atol=1e-5)
