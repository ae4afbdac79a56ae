"""Training checkpoints: a Hugging Face model directory plus the trainer's state and RNG state.

Layout of ``ROOT/checkpoint-000012/``::

    config.json, model.safetensors, tokenizer files   # the policy (AutoModelForCausalLM loads it)
    adapter_config.json, adapter_model.safetensors   # instead, when the policy has a LoRA adapter
    rng.pt                                           # python, torch (and CUDA) RNG states
    trainer_state.pt                                 # the trainer's state_dict (torch.save):
                                                     # optimizer, policy version, probe, config

A checkpoint directory is written under a temporary name and renamed when complete, so a crash
mid-write never leaves a half checkpoint that :func:`latest_checkpoint` would pick.
"""

from __future__ import annotations

import os
import random
import shutil
from pathlib import Path
from typing import Any

import torch

from closedloop.policy.hf import HFPolicy
from closedloop.train.directories import replace_dir

PREFIX = "checkpoint-"
STATE_FILE = "trainer_state.pt"


def checkpoint_dir(root: str | Path, step: int) -> Path:
    """Where the checkpoint of ``step`` lives."""
    return Path(root) / f"{PREFIX}{step:06d}"


def latest_checkpoint(root: str | Path) -> Path | None:
    """The complete checkpoint with the highest step under ``root``, or None."""
    root = Path(root)
    if not root.is_dir():
        return None
    done = [p for p in root.glob(f"{PREFIX}*") if (p / STATE_FILE).is_file()]
    return max(done, key=lambda p: int(p.name[len(PREFIX) :]), default=None)


def save_state_file(state: dict[str, Any], path: str | Path) -> Path:
    """``torch.save`` ``state`` to ``path`` atomically: written beside it under a temporary
    name, flushed to disk, then renamed, so a crash leaves the old file or the new, never half."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        torch.save(state, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    return path


def load_state_file(path: str | Path, device: torch.device | str = "cpu") -> dict[str, Any]:
    """Inverse of :func:`save_state_file` (tensors mapped to ``device``; plain data only)."""
    return torch.load(Path(path), map_location=device, weights_only=True)


def save_checkpoint(
    root: str | Path,
    step: int,
    policy: HFPolicy,
    trainer_state: dict[str, Any],
    keep_last: int | None = 3,
) -> Path:
    """Write the checkpoint of ``step`` (the policy and ``trainer_state``) and prune older ones."""
    final = checkpoint_dir(root, step)
    tmp = final.with_name(final.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    policy.save(tmp, merge_lora=False)
    rng = {"python": random.getstate(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        rng["cuda"] = torch.cuda.get_rng_state_all()
    torch.save(rng, tmp / "rng.pt")
    torch.save(trainer_state, tmp / STATE_FILE)  # last: its presence marks a complete checkpoint
    replace_dir(tmp, final)
    if keep_last is not None:
        done = sorted(Path(root).glob(f"{PREFIX}*[0-9]"), key=lambda p: p.name)
        for old in done[:-keep_last]:
            shutil.rmtree(old, ignore_errors=True)
    return final


def _load_weights(model: torch.nn.Module, path: Path) -> None:
    from safetensors.torch import load_file

    if (path / "adapter_model.safetensors").is_file():
        from peft import set_peft_model_state_dict

        set_peft_model_state_dict(model, load_file(str(path / "adapter_model.safetensors")))
        return
    if (path / "model.safetensors.index.json").is_file():
        from transformers.modeling_utils import load_sharded_checkpoint

        load_sharded_checkpoint(model, str(path), strict=False)
        return
    weights = load_file(str(path / "model.safetensors"))
    result = model.load_state_dict(weights, strict=False)
    tied = set(getattr(model, "_tied_weights_keys", None) or [])
    missing = [k for k in result.missing_keys if k not in tied and not k.endswith("lm_head.weight")]
    if missing or result.unexpected_keys:
        raise RuntimeError(
            f"checkpoint {path} does not fit the model: missing {missing[:5]}, "
            f"unexpected {result.unexpected_keys[:5]}; resume with the same model architecture"
        )


def load_checkpoint(path: str | Path, policy: HFPolicy) -> dict[str, Any]:
    """Restore the weights and RNG state in place; return the saved trainer state."""
    path = Path(path)
    _load_weights(policy.model, path)
    rng = torch.load(path / "rng.pt", weights_only=False)
    random.setstate(rng["python"])
    torch.set_rng_state(rng["torch"])
    if "cuda" in rng and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(rng["cuda"])
    return load_state_file(path / STATE_FILE, policy.device)
