"""The run's Hugging Face policy from ``[model]``: dtype, device, LoRA, and where samples are
drawn (``model.generation``: the trained model itself, or an engine handed the trained weights
after every update, :mod:`closedloop.policy.engine`).

Owns turning the ``hf`` kind's keys into a policy, for a new run and for a resumed one, and the
start-up check that the generation backend can run here. Must never train or sample.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

from closedloop.loop.config import ConfigError, Generation, ModelKind, RunConfig

CPU_STAND_IN = '--generation hf (or set model.generation = "hf")'
"""How to run a vLLM config without vLLM: what the start-up error tells the user."""


def check_generation(cfg: RunConfig) -> None:
    """Raise :class:`ConfigError` (one line, with the fix) when ``model.generation`` names an
    engine that cannot run on this machine, or ``model.device`` a CUDA device it lacks: called
    before anything of a run is built."""
    if cfg.model.device.startswith("cuda"):
        import torch

        if not torch.cuda.is_available():
            raise ConfigError(
                f"model.device = '{cfg.model.device}': torch sees no CUDA device here; "
                "use 'auto' or 'cpu'"
            )
    if cfg.model.generation is not Generation.VLLM:
        return
    if importlib.util.find_spec("vllm") is None:
        raise ConfigError(
            "model.generation = 'vllm': vLLM is not installed (pip install 'closedloop[vllm]' "
            f"on a machine with a CUDA GPU); to run the CPU stand-in, add {CPU_STAND_IN}"
        )
    import torch

    if not torch.cuda.is_available():
        raise ConfigError(
            "model.generation = 'vllm': vLLM is installed but torch sees no CUDA device; "
            f"to run without a GPU, add {CPU_STAND_IN}"
        )


def _load_settings(cfg: RunConfig) -> dict[str, Any]:
    import torch

    m = cfg.model
    return {
        "device": None if m.device == "auto" else m.device,
        "dtype": getattr(torch, str(m.dtype)),
    }


def _with_engine(cfg: RunConfig, trained: Any, reuse: Any = None) -> Any:
    """``trained`` as the loop's policy: itself, or behind the configured engine (``reuse``'s
    engine when it has one: a process holds one vLLM engine)."""
    m = cfg.model
    if m.generation is Generation.HF:
        return trained
    from closedloop.policy.engine import EnginePolicy
    from closedloop.policy.hf import HFPolicy

    if getattr(reuse, "engine", None) is not None:
        return EnginePolicy(trained, reuse.engine)  # handed the new weights before sampling
    base = Path(m.path or "")
    if m.generation is Generation.HF_ENGINE:
        engine: Any = HFPolicy.from_pretrained(base, **_load_settings(cfg))
    else:
        from closedloop.policy.vllm_backend import VLLMPolicy

        engine = VLLMPolicy.colocated(
            base,
            dtype=str(m.dtype),
            gpu_memory_utilization=m.vllm.gpu_memory_utilization,
            max_model_len=m.vllm.max_model_len,
            seed=cfg.seed,
        )
    return EnginePolicy(trained, engine)


def hf_policy(cfg: RunConfig) -> Any:
    """The policy of a new ``hf`` run: ``model.path`` at ``model.dtype`` on ``model.device``,
    with a fresh LoRA adapter when ``[model.lora]`` is set, behind its generation engine."""
    from closedloop.policy.hf import HFPolicy, LoraSettings

    lo = cfg.model.lora
    lora = (
        LoraSettings(lo.r, lo.alpha, lo.dropout, tuple(lo.target_modules))
        if lo is not None
        else None
    )
    trained = HFPolicy.from_pretrained(Path(cfg.model.path or ""), lora=lora, **_load_settings(cfg))
    return _with_engine(cfg, trained)


def load_run_policy(cfg: RunConfig, saved: Path, reuse: Any = None) -> Any:
    """A policy the run saved (``policies/<label>``), ready to train further as the run
    trains: for the ``hf`` kind with LoRA, ``model.path`` plus the saved adapter (so the
    optimizer state saved with it still fits); else the saved weights. Other kinds load as
    plain HF policies. ``reuse``: the run's current policy, whose generation engine (if any)
    serves the loaded one instead of a new engine."""
    from closedloop.policy.hf import ADAPTER_DIR, HFPolicy

    if cfg.model.kind is not ModelKind.HF:
        return HFPolicy.from_pretrained(saved)
    if cfg.model.lora is None:
        return _with_engine(cfg, HFPolicy.from_pretrained(saved, **_load_settings(cfg)), reuse)
    adapter = Path(saved) / ADAPTER_DIR
    if not adapter.is_dir():
        raise ConfigError(
            f"{saved}: no {ADAPTER_DIR}/ beside the merged weights, so its LoRA adapter cannot "
            "be trained further; start a new run"
        )
    trained = HFPolicy.from_pretrained(
        Path(cfg.model.path or ""), adapter=adapter, **_load_settings(cfg)
    )
    return _with_engine(cfg, trained, reuse)
