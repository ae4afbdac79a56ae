"""The ``vllm`` backend: fast sampling on a GPU with vLLM, when vLLM is installed.

Import-guarded: this module imports without vLLM; :func:`vllm_available` says whether the
backend can run (vLLM importable and a CUDA device present) and :class:`VLLMPolicy` raises
:class:`~closedloop.policy.PolicyError` otherwise.

Departures and limits, said plainly:
- vLLM reports log-probs of the *raw* model distribution by default (before temperature). Pass
  ``logprobs_mode="processed_logprobs"`` (vLLM >= 0.10) through ``engine_kwargs`` to get
  tempered ones, or sample at temperature 1 when the log-probs feed a GRPO update; vLLM's
  numerics also differ slightly from the trainer's, which GRPO's clipped ratio tolerates.
- The engine loads weights once. After a training step, save the trained policy and build a new
  ``VLLMPolicy`` from that directory; there is no in-place weight sync here.
"""

from __future__ import annotations

import importlib.util
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from closedloop.policy.base import (
    BackendName,
    Completion,
    FinishReason,
    PolicyError,
    Prompt,
    SamplingParams,
)
from closedloop.policy.render import PromptFormat, encode_prompt


def vllm_available() -> bool:
    """True when vLLM is importable and a CUDA device is present."""
    if importlib.util.find_spec("vllm") is None:
        return False
    import torch

    return torch.cuda.is_available()


class VLLMPolicy:
    """A model directory served in-process by ``vllm.LLM``."""

    backend = BackendName.VLLM

    def __init__(
        self,
        path: str | Path,
        prompt_format: PromptFormat = PromptFormat.AUTO,
        seed: int = 0,
        engine_kwargs: dict[str, Any] | None = None,
    ) -> None:
        if not vllm_available():
            raise PolicyError(
                "the vllm backend needs vLLM installed (pip install 'closedloop[vllm]') and a "
                "CUDA GPU; use backend 'hf' otherwise"
            )
        from transformers import AutoTokenizer
        from vllm import LLM

        self.path = Path(path)
        self.prompt_format = PromptFormat(prompt_format)
        self.tokenizer = AutoTokenizer.from_pretrained(str(path))
        self.llm = LLM(model=str(path), seed=seed, **(engine_kwargs or {}))

    def _prompt(self, prompt: Prompt) -> dict[str, list[int]]:
        return {"prompt_token_ids": encode_prompt(self.tokenizer, prompt, self.prompt_format)}

    def sample(
        self, prompts: Sequence[Prompt], n: int, params: SamplingParams
    ) -> list[list[Completion]]:
        """Sample ``n`` completions per prompt in one vLLM batch."""
        return self.sample_ids([self._prompt(p)["prompt_token_ids"] for p in prompts], n, params)

    def sample_ids(
        self, prompts: Sequence[Sequence[int]], n: int, params: SamplingParams
    ) -> list[list[Completion]]:
        """Sample ``n`` completions per prompt given as token ids, in one vLLM batch."""
        from vllm import SamplingParams as VLLMSamplingParams

        if n < 1:
            raise ValueError(f"n={n}: must be >= 1")
        sp = VLLMSamplingParams(
            n=n,
            max_tokens=params.max_new_tokens,
            temperature=params.temperature,
            top_p=params.top_p,
            top_k=params.top_k if params.top_k > 0 else -1,
            seed=params.seed,
            logprobs=0,  # the sampled token's log-prob only
        )
        inputs = [{"prompt_token_ids": list(p)} for p in prompts]
        results = self.llm.generate(inputs, sp, use_tqdm=False)
        out: list[list[Completion]] = []
        for request, prompt in zip(results, inputs, strict=True):
            group = []
            for c in request.outputs:
                ids = tuple(c.token_ids)
                lps = tuple(
                    float(step[tok].logprob)
                    for step, tok in zip(c.logprobs or [], ids, strict=False)
                )
                group.append(
                    Completion(
                        text=c.text,
                        token_ids=ids,
                        logprobs=lps,
                        finish_reason=FinishReason.LENGTH
                        if c.finish_reason == "length"
                        else FinishReason.STOP,
                        prompt_ids=tuple(prompt["prompt_token_ids"]),
                    )
                )
            out.append(group)
        return out

    def completion_logprobs(
        self, prompts: Sequence[Prompt], completions: Sequence[str]
    ) -> list[list[float]]:
        """Per-token log-probs of each completion, from vLLM's prompt log-probs."""
        from vllm import SamplingParams as VLLMSamplingParams

        sp = VLLMSamplingParams(max_tokens=1, prompt_logprobs=0, temperature=0)
        inputs, starts = [], []
        for prompt, completion in zip(prompts, completions, strict=True):
            p_ids = encode_prompt(self.tokenizer, prompt, self.prompt_format)
            c_ids = list(self.tokenizer(completion, add_special_tokens=False)["input_ids"])
            inputs.append({"prompt_token_ids": p_ids + c_ids})
            starts.append(len(p_ids))
        results = self.llm.generate(inputs, sp, use_tqdm=False)
        out = []
        for request, item, start in zip(results, inputs, starts, strict=True):
            ids = item["prompt_token_ids"]
            steps = request.prompt_logprobs or []
            out.append([float(steps[i][ids[i]].logprob) for i in range(start, len(ids))])
        return out

    def save(self, out_dir: str | Path) -> Path:
        """Copy the served model directory (vLLM never changes the weights it loaded)."""
        dest = Path(out_dir)
        shutil.copytree(self.path, dest, dirs_exist_ok=True)
        return dest
