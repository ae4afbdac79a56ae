"""The hf backend: left padding does not change results; LoRA trains only the adapter and saves merged."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from closedloop.policy.base import SamplingParams
from closedloop.policy.hf import HFPolicy, LoraSettings


def test_left_padding_does_not_change_logprobs(embedded) -> None:
    prompts = ["Write f.", "def f(xs):\n    return sorted(xs)\nWrite another f."]
    completions = ["def f(xs):\n    return xs\n", "x"]
    together = embedded.completion_logprobs(prompts, completions)
    alone = [
        embedded.completion_logprobs([p], [c])[0] for p, c in zip(prompts, completions, strict=True)
    ]
    for a, b in zip(together, alone, strict=True):
        assert a == pytest.approx(b, abs=1e-5)


def test_greedy_sampling_is_batch_invariant(embedded) -> None:
    params = SamplingParams(max_new_tokens=6, temperature=0.0)
    prompts = ["a", "a much longer prompt than the first one"]
    batched = embedded.sample(prompts, 1, params)
    single = embedded.sample(prompts[:1], 1, params)
    assert batched[0][0].token_ids == single[0][0].token_ids


def test_lora_trains_only_the_adapter_and_saves_a_merged_model(
    embedded_dir: Path, tmp_path: Path
) -> None:
    from transformers import AutoModelForCausalLM

    policy = HFPolicy.from_pretrained(embedded_dir, device="cpu", lora=LoraSettings(r=4, alpha=8))
    trainable = [n for n, p in policy.model.named_parameters() if p.requires_grad]
    assert trainable and all("lora_" in n for n in trainable)
    with torch.no_grad():
        for n, p in policy.model.named_parameters():
            if "lora_B" in n:
                p.add_(0.05)  # make the adapter do something
    out = policy.save(tmp_path / "merged")
    merged = AutoModelForCausalLM.from_pretrained(str(out))
    ids = torch.tensor([policy.encode_prompt("Write f.")])
    assert torch.allclose(merged(ids).logits, policy.model(ids).logits, atol=1e-4)
    with policy.model.disable_adapter():
        assert not torch.allclose(merged(ids).logits, policy.model(ids).logits, atol=1e-4)


def test_a_tokenizer_without_a_pad_token_pads_with_eos(embedded_dir, tmp_path):
    import shutil

    from transformers import AutoTokenizer

    from closedloop.policy.hf import HFPolicy

    d = tmp_path / "nopad"
    shutil.copytree(embedded_dir, d)
    tok = AutoTokenizer.from_pretrained(str(d))
    tok.pad_token = None
    tok.save_pretrained(str(d))
    assert AutoTokenizer.from_pretrained(str(d)).pad_token is None  # as many hub models ship
    policy = HFPolicy.from_pretrained(d, device="cpu")
    assert policy.pad_id == policy.eos_id
