"""The policy contract: what every backend offers, as plain data (no torch here).

A backend samples ``n`` completions per prompt and scores given completions with per-token
log-probs. Prompts are either a string or a conversation (a list of ``{"role", "content"}``
messages); a backend whose tokenizer has a chat template renders both through it, otherwise a
string is used as is. A backend that holds the tokenizer also samples from prompts given as
token ids (``sample_ids``), which multi-turn attempts need to continue exactly what was sampled.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Protocol, runtime_checkable

ChatMessage = Mapping[str, str]
"""One chat turn: ``{"role": "system" | "user" | "assistant", "content": "..."}``."""

Prompt = str | Sequence[ChatMessage]
"""A prompt: raw text, or a conversation rendered with the tokenizer's chat template."""


class BackendName(StrEnum):
    """The built-in policy backends (the registry accepts others by name)."""

    HF = "hf"  # transformers on CPU or GPU, optional LoRA through PEFT
    VLLM = "vllm"  # vLLM on a GPU, when installed
    OPENAI = "openai"  # any OpenAI-compatible HTTP endpoint (generation and scoring only)


class FinishReason(StrEnum):
    """Why a completion ended."""

    STOP = "stop"  # the model emitted its end-of-sequence token (or a stop string)
    LENGTH = "length"  # ``max_new_tokens`` ran out


class PolicyError(RuntimeError):
    """A backend cannot do what was asked (an unsupported operation, a bad endpoint reply)."""


@dataclass(frozen=True)
class SamplingParams:
    """How to sample. ``temperature == 0`` means greedy decoding."""

    max_new_tokens: int = 128
    """Most tokens generated per completion (the end-of-sequence token counts)."""
    temperature: float = 1.0
    """Softmax temperature; the returned log-probs are of this tempered distribution."""
    top_p: float = 1.0
    """Nucleus sampling mass; below 1 the returned log-probs are still of the untruncated distribution."""
    top_k: int = 0
    """Keep only the k likeliest tokens (0: all)."""
    seed: int | None = None
    """Seed for this call; None leaves the backend's generator as it is."""

    def __post_init__(self) -> None:
        if self.max_new_tokens < 1:
            raise ValueError(
                f"max_new_tokens={self.max_new_tokens}: must be >= 1; ask for at least one token"
            )
        if self.temperature < 0:
            raise ValueError(f"temperature={self.temperature}: must be >= 0 (0 means greedy)")
        if not 0 < self.top_p <= 1:
            raise ValueError(f"top_p={self.top_p}: must be in (0, 1]; use 1.0 to disable")
        if self.top_k < 0:
            raise ValueError(f"top_k={self.top_k}: must be >= 0; use 0 to disable")


@dataclass(frozen=True)
class Completion:
    """One sampled completion of one prompt.

    ``token_ids`` include the end-of-sequence token when the model emitted it (so training
    teaches the model to stop); ``text`` never contains it. ``logprobs[i]`` is the log-prob of
    ``token_ids[i]`` under the sampling distribution at the call's temperature. A backend that
    cannot report token ids (a plain OpenAI endpoint) leaves ``token_ids`` empty.
    """

    text: str
    token_ids: tuple[int, ...]
    logprobs: tuple[float, ...]
    finish_reason: FinishReason
    prompt_ids: tuple[int, ...] = ()  # the rendered prompt's ids, when the backend knows them


@runtime_checkable
class Policy(Protocol):
    """A model that writes completions and scores them.

    Contract:
    - ``sample`` returns, for each prompt in order, ``n`` completions; it never decides a reward.
    - ``sample_ids`` does the same for prompts given as token ids, already rendered: the model
      continues exactly those tokens, so a multi-turn attempt passes its earlier turns' sampled
      ids (re-rendering their text can tokenize differently) and each ``Completion`` carries
      token ids, the given prompt as ``prompt_ids``, and the log-probs of the tempered,
      untruncated distribution (``temperature == 0`` is greedy, with untempered log-probs). A
      backend that cannot take token ids (an HTTP text endpoint) raises :class:`PolicyError`.
    - ``completion_logprobs`` returns, for each (prompt, completion) pair, the per-token
      log-probs of the completion's tokens given the rendered prompt (temperature 1).
    - ``save`` writes a directory that ``transformers.AutoModelForCausalLM`` and
      ``AutoTokenizer`` load; a backend that holds no weights raises :class:`PolicyError`.
    """

    backend: BackendName | str

    def sample(
        self, prompts: Sequence[Prompt], n: int, params: SamplingParams
    ) -> list[list[Completion]]:
        """Sample ``n`` completions for each prompt."""
        ...

    def sample_ids(
        self, prompts: Sequence[Sequence[int]], n: int, params: SamplingParams
    ) -> list[list[Completion]]:
        """Sample ``n`` completions for each prompt given as token ids."""
        ...

    def completion_logprobs(
        self, prompts: Sequence[Prompt], completions: Sequence[str]
    ) -> list[list[float]]:
        """Per-token log-probs of each completion given its prompt."""
        ...

    def save(self, out_dir: str | Path) -> Path:
        """Write the policy as a Hugging Face model directory and return its path."""
        ...
