"""Moving a learner's weights to generation replicas: what is sent, how it is applied, and how
the learner tells that its weights changed.

Owns three small facts the replicas rely on: the state a learner sends (its model's state dict
on the CPU; a LoRA learner sends its adapters merged into a copy of the base, so a replica
built from a plain model directory can load it), how a replica's backend takes that state
(``hf``: ``load_state_dict`` into its model; ``vllm``: each vLLM worker's
``model_runner.model.load_weights``), and :func:`change_mark`, which changes whenever the
learner's parameters are changed in place (an optimizer step, ``load_state_dict``) or the
learner's model is another object.

Not protected against: a parameter replaced by assigning ``param.data = ...`` (PyTorch counts
no version for that; the loop's trainers never do it), and weights changed between two calls
to :func:`change_mark` in a way that leaves the counters where they were (none of PyTorch's
in-place operations does). Imports torch only inside its functions.
"""

from __future__ import annotations

import copy
import weakref
from dataclasses import dataclass
from typing import Any

from closedloop.policy.base import BackendName, PolicyError


@dataclass(frozen=True)
class ChangeMark:
    """Which model a learner holds and how often its parameters were changed in place."""

    model: weakref.ref[Any]
    """The learner's model (weakly: a mark never keeps an old model alive)."""
    versions: int
    """The sum of its parameters' in-place version counters (``Tensor._version``)."""

    def same_as(self, other: ChangeMark | None) -> bool:
        """True when ``other`` marks the same, still living, model with the same counters."""
        return (
            other is not None
            and self.model() is not None
            and self.model() is other.model()
            and self.versions == other.versions
        )


def change_mark(policy: Any) -> ChangeMark:
    """The learner's :class:`ChangeMark` now (its ``model`` is a torch module)."""
    model = policy.model
    return ChangeMark(weakref.ref(model), sum(p._version for p in model.parameters()))


def learner_state(policy: Any) -> dict[str, Any]:
    """The learner's weights as a replica loads them: a CPU state dict, LoRA merged in."""
    import torch

    model = policy.model
    if hasattr(model, "merge_and_unload"):  # PEFT: a plain model's keys, adapters merged in
        model = copy.deepcopy(model).merge_and_unload()
    with torch.no_grad():
        return {k: v.detach().to("cpu") for k, v in model.state_dict().items()}


def apply_state(policy: Any, state: dict[str, Any]) -> None:
    """Load ``state`` (from :func:`learner_state`) into a replica's policy, in place."""
    if policy.backend == BackendName.HF:
        policy.model.load_state_dict(state, strict=True)
        policy.model.eval()
        return
    if policy.backend == BackendName.VLLM:
        # Not run here (no GPU): vLLM's documented collective_rpc, a callable that is given
        # each worker; the worker's model loads (name, tensor) pairs as from a checkpoint.
        items = list(state.items())
        policy.llm.collective_rpc(_vllm_load, args=(items,))
        return
    raise PolicyError(
        f"backend {policy.backend!r} cannot take weights in place; generation replicas need "
        f"{BackendName.HF.value!r} or {BackendName.VLLM.value!r}"
    )


def _vllm_load(worker: Any, items: list[tuple[str, Any]]) -> None:
    worker.model_runner.model.load_weights(weights=items)
