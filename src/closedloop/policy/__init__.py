"""Policies: generation and log-probs behind one small protocol, over several backends.

Owns: the :class:`Policy` protocol (sample ``n`` completions per prompt with token ids and
per-token log-probs; score given completions; save as a Hugging Face model directory), the
backend registry, and the backends themselves — ``hf`` (transformers on CPU/GPU, LoRA through
PEFT; :mod:`closedloop.policy.hf`), ``vllm`` (:mod:`closedloop.policy.vllm_backend`),
``openai`` (any OpenAI-compatible endpoint; :mod:`closedloop.policy.openai_backend`), and the
embedded small model built from scratch (:mod:`closedloop.policy.embedded`); and sampling from
an engine apart from the trained model, handed its weights after each update
(:mod:`closedloop.policy.engine`).

Must never: decide a reward or a verdict, run candidate code, or train (that is ``train``'s
job; trainers update an ``HFPolicy``'s model in place).

Importing this package imports no torch: the backends load it when used.
"""

from closedloop.policy.base import (
    BackendName,
    ChatMessage,
    Completion,
    FinishReason,
    Policy,
    PolicyError,
    Prompt,
    SamplingParams,
)
from closedloop.policy.registry import (
    DuplicateBackendError,
    PolicyRegistry,
    UnknownBackendError,
    default_registry,
    load_policy,
)
from closedloop.policy.render import PromptFormat

__all__ = [
    "BackendName",
    "ChatMessage",
    "Completion",
    "DuplicateBackendError",
    "FinishReason",
    "Policy",
    "PolicyError",
    "PolicyRegistry",
    "Prompt",
    "PromptFormat",
    "SamplingParams",
    "UnknownBackendError",
    "default_registry",
    "load_policy",
]
