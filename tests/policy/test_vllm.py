"""The vllm backend runs only with vLLM installed and a GPU; elsewhere it refuses clearly."""

from __future__ import annotations

from pathlib import Path

import pytest

from closedloop.policy.base import PolicyError, SamplingParams
from closedloop.policy.vllm_backend import VLLMPolicy, vllm_available

needs_vllm = pytest.mark.skipif(not vllm_available(), reason="needs vLLM and a CUDA GPU")


@pytest.mark.gpu
@needs_vllm
def test_vllm_samples_and_scores(embedded_dir: Path) -> None:
    policy = VLLMPolicy(embedded_dir, engine_kwargs={"gpu_memory_utilization": 0.2})
    groups = policy.sample(["Write f."], 2, SamplingParams(max_new_tokens=8, seed=0))
    assert len(groups[0]) == 2 and all(len(c.token_ids) == len(c.logprobs) for c in groups[0])
    (again,) = policy.sample_ids([groups[0][0].prompt_ids], 1, SamplingParams(max_new_tokens=8))
    assert again[0].prompt_ids == groups[0][0].prompt_ids and again[0].token_ids
    assert len(policy.completion_logprobs(["Write f."], ["def f"])[0]) > 0


@pytest.mark.skipif(vllm_available(), reason="vLLM is available here")
def test_vllm_backend_refuses_without_vllm_or_gpu(embedded_dir: Path) -> None:
    with pytest.raises(PolicyError, match="vLLM"):
        VLLMPolicy(embedded_dir)


@pytest.mark.gpu
@needs_vllm
def test_a_colocated_engine_samples_the_trained_lora_weights_after_an_update(
    embedded_dir: Path,
) -> None:
    # never run in this project (no GPU): the real-model preset's hand-off, end to end
    import torch

    from closedloop.policy.engine import EnginePolicy
    from closedloop.policy.hf import HFPolicy, LoraSettings
    from closedloop.train.sft import examples_from_text, sft_steps

    trained = HFPolicy.from_pretrained(
        embedded_dir, device="cuda", dtype=torch.bfloat16, lora=LoraSettings(4, 8)
    )
    engine = VLLMPolicy.colocated(embedded_dir, gpu_memory_utilization=0.2)
    policy = EnginePolicy(trained, engine)
    prompt = policy.encode_prompt("Write f.")
    greedy = SamplingParams(max_new_tokens=8, temperature=0.0)
    examples = examples_from_text(policy, [("Write f.", "def f(x):\n    return x\n")] * 4)
    sft_steps(policy, examples, 3, 4, 5e-2, 0)
    out = policy.sample_ids([prompt], 1, greedy)[0][0]
    assert policy.handoffs == 1
    assert out.token_ids == trained.sample_ids([prompt], 1, greedy)[0][0].token_ids
