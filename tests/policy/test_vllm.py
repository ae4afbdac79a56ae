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
