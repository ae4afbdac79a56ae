"""The ``vllm`` backend: fast sampling on a GPU with vLLM, when vLLM is installed.

Import-guarded: this module imports without vLLM; :func:`vllm_available` says whether the
backend can run (vLLM importable and a CUDA device present) and :class:`VLLMPolicy` raises
:class:`~closedloop.policy.PolicyError` otherwise.

Departures and limits, said plainly:
- vLLM reports log-probs of the *raw* model distribution by default (before temperature). Pass
  ``logprobs_mode="processed_logprobs"`` (vLLM >= 0.10) through ``engine_kwargs`` to get
  tempered ones, or sample at temperature 1 when the log-probs feed a GRPO update; vLLM's
  numerics also differ slightly from the trainer's, which GRPO's clipped ratio tolerates.
- Weights: the engine loads the model directory once; :meth:`VLLMPolicy.load_weights` replaces
  them in place afterwards (the hand-off of :mod:`closedloop.policy.engine`, which the loop runs
  after each update). That reaches into the engine's model as TRL's "colocate" mode does
  (``llm.llm_engine.model_executor.driver_worker.model_runner.model.load_weights``), which
  needs the engine in this process: :meth:`VLLMPolicy.colocated` builds it so
  (``distributed_executor_backend="external_launcher"``, one process, one GPU).
- Written to vLLM's documented API (>= 0.10.2: ``logprobs_mode``) and to TRL's use of its
  internals (TRL tests vLLM 0.16-0.25.1); no GPU was available to this project, so this module
  has never run (its tests skip without vLLM and CUDA).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import socket
from collections.abc import Iterable, Sequence
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

    @classmethod
    def colocated(
        cls,
        path: str | Path,
        dtype: str = "bfloat16",
        gpu_memory_utilization: float = 0.3,
        max_model_len: int | None = None,
        seed: int = 0,
        prompt_format: PromptFormat = PromptFormat.AUTO,
    ) -> VLLMPolicy:
        """An engine in this process beside a trainer on the same GPU (TRL's colocate mode),
        whose weights :meth:`load_weights` can replace; its log-probs are of the tempered
        distribution (``logprobs_mode="processed_logprobs"``), as the loop's GRPO expects."""
        # external_launcher runs vLLM's worker in this process and reads the torch.distributed
        # rendezvous from the environment, as under torchrun; a lone process is rank 0 of 1.
        for key, value in (("RANK", "0"), ("LOCAL_RANK", "0"), ("WORLD_SIZE", "1")):
            os.environ.setdefault(key, value)
        os.environ.setdefault("MASTER_ADDR", "127.0.0.1")
        os.environ.setdefault("MASTER_PORT", str(_free_port()))
        # vLLM's V1 engine exposes llm_engine.model_executor only when its core runs in-process
        os.environ.setdefault("VLLM_ENABLE_V1_MULTIPROCESSING", "0")
        kwargs: dict[str, Any] = {
            "dtype": dtype,
            "gpu_memory_utilization": gpu_memory_utilization,
            "distributed_executor_backend": "external_launcher",
            "logprobs_mode": "processed_logprobs",
            # vLLM's memory profiler misjudges the default batch budget when sharing a GPU
            # (TRL sets the same)
            "max_num_batched_tokens": 4096,
        }
        if max_model_len is not None:
            kwargs["max_model_len"] = max_model_len
        return cls(path, prompt_format, seed, kwargs)

    def load_weights(self, weights: Iterable[tuple[str, Any]]) -> None:
        """Replace the engine's weights by ``weights`` (Hugging Face names; vLLM maps them onto
        its fused layers) and drop its prefix cache, which holds keys of the old weights."""
        executor = getattr(self.llm.llm_engine, "model_executor", None)
        if executor is None:
            raise PolicyError(
                "load_weights: this vLLM engine runs its model in another process; build it "
                "with VLLMPolicy.colocated (VLLM_ENABLE_V1_MULTIPROCESSING=0)"
            )
        executor.driver_worker.model_runner.model.load_weights(weights=weights)
        self.llm.reset_prefix_cache()

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


def _free_port() -> int:
    """A TCP port free on this machine now (the lone rank's rendezvous)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
