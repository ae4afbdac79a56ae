"""Training checkpoints: a Hugging Face model directory plus optimizer, step and RNG state.

Layout of ``ROOT/checkpoint-000012/``::

    config.json, model.safetensors, tokenizer files   # the policy (AutoModelForCausalLM loads it)
    adapter_config.json, adapter_model.safetensors   # instead, when the policy has a LoRA adapter
    optimizer.pt                                     # optimizer state_dict
    rng.pt                                           # python, torch (and CUDA) RNG states
    trainer_state.json                               # step, policy version, probe set, extra

A checkpoint directory is written under a temporary name and renamed when complete, so a crash
mid-write never leaves a half checkpoint that :func:`latest_checkpoint` would pick.
"""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path
from typing import Any

import torch

from closedloop.policy.hf import HFPolicy

PREFIX = "checkpoint-"
STATE_FILE = "trainer_state.json"


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


def save_checkpoint(
    root: str | Path,
    step: int,
    policy: HFPolicy,
    optimizer: torch.optim.Optimizer,
    state: dict[str, Any],
    keep_last: int | None = 3,
) -> Path:
    """Write the checkpoint of ``step`` (``state`` must be JSON-ready) and prune older ones."""
    final = checkpoint_dir(root, step)
    tmp = final.with_name(final.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    policy.save(tmp, merge_lora=False)
    torch.save(optimizer.state_dict(), tmp / "optimizer.pt")
    rng = {"python": random.getstate(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        rng["cuda"] = torch.cuda.get_rng_state_all()
    torch.save(rng, tmp / "rng.pt")
    (tmp / STATE_FILE).write_text(json.dumps({"step": step, **state}, indent=1))
    shutil.rmtree(final, ignore_errors=True)
    tmp.rename(final)
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


def load_checkpoint(
    path: str | Path, policy: HFPolicy, optimizer: torch.optim.Optimizer
) -> dict[str, Any]:
    """Restore weights, optimizer and RNG state in place; return the saved trainer state."""
    path = Path(path)
    _load_weights(policy.model, path)
    optimizer.load_state_dict(torch.load(path / "optimizer.pt", map_location=policy.device))
    rng = torch.load(path / "rng.pt", weights_only=False)
    random.setstate(rng["python"])
    torch.set_rng_state(rng["torch"])
    if "cuda" in rng and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(rng["cuda"])
    return json.loads((path / STATE_FILE).read_text())
