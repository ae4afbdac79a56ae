"""Generation in an engine apart from the trained model: the weight hand-off after each update.

The loop trains an :class:`~closedloop.policy.hf.HFPolicy` (optionally with a LoRA adapter)
and may draw its samples from another engine: vLLM on a GPU, or a second HF model (the CPU
stand-in, which runs this same code path). :class:`EnginePolicy` is the one policy the loop
sees: training, log-probs, rendering and saving go to the trained model; sampling goes to the
engine, and before the first sample after any change of the trained weights the engine is
handed them (:func:`engine_weights`: LoRA merged, Hugging Face parameter names). A change is
any in-place write to a trainable parameter (an optimizer step, a loaded checkpoint), seen
through torch's per-tensor version counters, so no trainer has to remember to announce it.

Source: TRL's vLLM "colocate" weight sync (``VLLMGeneration.sync_weights``, TRL 1.x): the
same parameter-name mapping (PEFT's ``base_model.model.`` prefix and ``.base_layer`` removed,
adapter tensors and ``original_module`` copies left out, ``modules_to_save.default.``
stripped). Departure: TRL merges the adapter into the base weights in place and unmerges it
after the transfer; in bfloat16 each merge/unmerge round-trip rounds the frozen base weights,
so the trained model would drift a little with every sync. Here the merged weight of each
adapted layer is computed out of place (base + PEFT's ``get_delta_weight``) and the trained
model is never written.

Not covered: sharded models (FSDP, DeepSpeed ZeRO-3) and tensor-parallel engines; the engine
and the trainer live in one process.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import torch

from closedloop.policy.base import Completion, Prompt, SamplingParams
from closedloop.policy.hf import HFPolicy

NamedWeights = Iterator[tuple[str, torch.Tensor]]
"""(Hugging Face parameter name, tensor) pairs, as a checkpoint names them."""


@runtime_checkable
class GenerationEngine(Protocol):
    """What :class:`EnginePolicy` needs from an engine.

    Contract:
    - ``sample_ids`` is :meth:`~closedloop.policy.base.Policy.sample_ids`: ``n`` completions per
      token-id prompt, with token ids and the tempered, untruncated log-probs.
    - ``load_weights`` replaces the engine's weights by the given ones, named as in a Hugging
      Face checkpoint of the same architecture; every later sample uses them. It raises on a
      name the engine does not hold (a silent skip would leave a stale weight).
    """

    def sample_ids(
        self, prompts: Sequence[Sequence[int]], n: int, params: SamplingParams
    ) -> list[list[Completion]]:
        """Sample ``n`` completions for each prompt given as token ids."""
        ...

    def load_weights(self, weights: NamedWeights) -> None:
        """Replace the engine's weights by ``weights``."""
        ...


def _hf_name(name: str) -> str:
    """A PEFT-wrapped model's parameter name as the plain model's checkpoint names it."""
    return (
        name.removeprefix("base_model.model.")
        .replace(".base_layer", "")
        .replace("modules_to_save.default.", "")
    )


def _merged(layer: Any, weight: torch.Tensor) -> torch.Tensor:
    """A LoRA layer's base ``weight`` plus the scaled B @ A of each active adapter."""
    for adapter in layer.active_adapters:
        if adapter in layer.lora_A:
            weight = weight + layer.get_delta_weight(adapter).to(weight.dtype)
    return weight


def engine_weights(model: torch.nn.Module) -> NamedWeights:
    """The weights an engine needs to sample as ``model`` does: every parameter under its
    Hugging Face name, each LoRA-adapted layer's weight merged with its active adapters.
    Merged weights are computed one at a time, out of place, as the engine reads them:
    ``model`` is not written and never held twice."""
    adapted = {
        f"{name}.base_layer.weight": module
        for name, module in model.named_modules()
        if hasattr(module, "get_delta_weight")
        and hasattr(module, "base_layer")
        and not getattr(module, "merged", False)
    }
    for name, param in model.named_parameters():
        if "lora_" in name or "original_module" in name:
            continue  # adapters are merged into their layer; original_module is a spare copy
        layer = adapted.get(name)
        with torch.no_grad():
            weight = _merged(layer, param.detach()) if layer is not None else param.detach()
        yield _hf_name(name), weight


def trainable_version(model: torch.nn.Module) -> int:
    """A number that changes whenever a trainable parameter is written in place (an optimizer
    step, ``copy_``, ``load_state_dict``): the sum of their version counters."""
    return sum(p._version for p in model.parameters() if p.requires_grad)


class EnginePolicy:
    """A trained :class:`HFPolicy` whose samples come from ``engine`` (the
    :class:`~closedloop.policy.Policy` API). ``model``, ``tokenizer`` and the log-prob and
    save methods are the trained policy's; ``sample``/``sample_ids`` hand the engine the
    trained weights first whenever they changed since the last hand-off (and always before
    the first sample: the engine may have been built from other weights)."""

    def __init__(self, trained: HFPolicy, engine: GenerationEngine) -> None:
        self.trained = trained
        self.engine = engine
        self.backend = getattr(engine, "backend", trained.backend)
        self.handoffs = 0
        """How many times the engine was handed the trained weights."""
        self._synced: int | None = None

    # -- the trained side ---------------------------------------------------------------
    @property
    def model(self) -> Any:
        """The trained model (trainers update it in place)."""
        return self.trained.model

    @property
    def tokenizer(self) -> Any:
        """The trained policy's tokenizer (the engine's is the same vocabulary)."""
        return self.trained.tokenizer

    @property
    def device(self) -> torch.device:
        """Where the trained weights live."""
        return self.trained.device

    @property
    def pad_id(self) -> int:
        """The padding token id."""
        return self.trained.pad_id

    @property
    def eos_id(self) -> int:
        """The end-of-sequence token id."""
        return self.trained.eos_id

    def render(self, prompt: Prompt) -> str:
        """The prompt as the model sees it (chat template applied when in use)."""
        return self.trained.render(prompt)

    def encode_prompt(self, prompt: Prompt) -> list[int]:
        """Token ids of the rendered prompt."""
        return self.trained.encode_prompt(prompt)

    def encode_completion(self, text: str, add_eos: bool = True) -> list[int]:
        """Token ids of a completion (with the end-of-sequence token when ``add_eos``)."""
        return self.trained.encode_completion(text, add_eos)

    def decode(self, ids: Sequence[int]) -> str:
        """Text of completion ids."""
        return self.trained.decode(ids)

    def completion_logprobs(
        self, prompts: Sequence[Prompt], completions: Sequence[str]
    ) -> list[list[float]]:
        """Log-probs under the trained model (what the update optimises)."""
        return self.trained.completion_logprobs(prompts, completions)

    def token_logprobs(
        self, prompt_ids: Sequence[Sequence[int]], completion_ids: Sequence[Sequence[int]]
    ) -> list[list[float]]:
        """Per-token log-probs under the trained model, from token ids."""
        return self.trained.token_logprobs(prompt_ids, completion_ids)

    def save(self, out_dir: str | Path) -> Path:
        """The trained policy's directory (LoRA merged; the adapter beside it)."""
        return self.trained.save(out_dir)

    # -- the engine side -----------------------------------------------------------------
    def sync(self) -> bool:
        """Hand the engine the trained weights if they changed since the last hand-off;
        True when it did."""
        version = trainable_version(self.trained.model)
        if version == self._synced:
            return False
        self.engine.load_weights(engine_weights(self.trained.model))
        self._synced = trainable_version(self.trained.model)
        self.handoffs += 1
        return True

    def sample_ids(
        self, prompts: Sequence[Sequence[int]], n: int, params: SamplingParams
    ) -> list[list[Completion]]:
        """The engine's samples, from the current trained weights."""
        self.sync()
        return self.engine.sample_ids(prompts, n, params)

    def sample(
        self, prompts: Sequence[Prompt], n: int, params: SamplingParams
    ) -> list[list[Completion]]:
        """Prompts rendered by the trained policy's tokenizer, sampled by the engine."""
        return self.sample_ids([self.encode_prompt(p) for p in prompts], n, params)
