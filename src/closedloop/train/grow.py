"""Depth growth: a saved model with more transformer blocks that computes what it computed.

A base that has plateaued may lack the depth for a two-hop read (a step, then an aggregate of
its result). Training a deeper model from scratch costs the hours the base already took, so
``closedloop pretrain --init-from BASE --layers N`` grows the base instead, the way LLaMA Pro
(Wu et al. 2024, "block expansion") does: each new block is a copy of the block before it with
its two output projections (attention ``o_proj``, MLP ``down_proj``) zeroed. A zeroed block
adds nothing to the residual stream, so the grown model's outputs equal the base's exactly,
and training then starts from the base's skill rather than from a perturbed copy of it. The
zeroed projections still get gradients (their inputs are the copied block's activations), so
the new blocks start learning at once.

Owns rewriting a model directory's weights and config; never trains or samples.
"""

from __future__ import annotations

import json
from pathlib import Path

OUTPUT_PROJECTIONS = ("self_attn.o_proj.weight", "mlp.down_proj.weight")
"""A block's weights that write into the residual stream (zeroed in a new block)."""


def growth_plan(old_layers: int, new_layers: int) -> list[int | None]:
    """For each block of the grown model, the base block it starts as (``None``: a new block,
    copied from the base block before it). New blocks are spread evenly through the stack.

    >>> growth_plan(4, 6)
    [0, 1, None, 2, 3, None]
    """
    if old_layers < 1 or new_layers < old_layers:
        raise ValueError(f"cannot grow {old_layers} blocks to {new_layers}")
    extra = new_layers - old_layers
    if not extra:
        return list(range(old_layers))
    # a new block after base block round((i + 1) * old / extra) - 1, for each new block i
    after = [max(round((i + 1) * old_layers / extra) - 1, 0) for i in range(extra)]
    plan: list[int | None] = []
    for b in range(old_layers):
        plan.append(b)
        plan.extend([None] * after.count(b))
    return plan


def grow_layers(model_dir: str | Path, num_layers: int) -> list[int | None]:
    """Rewrite the Hugging Face model in ``model_dir`` (safetensors weights, a Llama-style
    ``model.layers.N.`` naming) to ``num_layers`` blocks by block expansion (module
    docstring). Returns :func:`growth_plan`'s plan. Raises ValueError naming the directory
    when it holds no such model or already has more blocks."""
    import torch
    from safetensors.torch import load_file, save_file

    path = Path(model_dir)
    config_file, weights_file = path / "config.json", path / "model.safetensors"
    try:
        config = json.loads(config_file.read_text())
        old_layers = int(config["num_hidden_layers"])
        weights = load_file(str(weights_file))
    except (OSError, ValueError, KeyError) as e:
        raise ValueError(f"{path}: no model to grow ({e})") from None
    try:
        plan = growth_plan(old_layers, num_layers)
    except ValueError as e:
        raise ValueError(f"{path}: {e}") from None
    prefix = "model.layers."
    blocks: dict[int, dict[str, torch.Tensor]] = {}
    grown: dict[str, torch.Tensor] = {}
    for name, tensor in weights.items():
        if name.startswith(prefix):
            index, rest = name[len(prefix) :].split(".", 1)
            blocks.setdefault(int(index), {})[rest] = tensor
        else:
            grown[name] = tensor
    if sorted(blocks) != list(range(old_layers)):
        raise ValueError(f"{path}: weights hold blocks {sorted(blocks)}, config says {old_layers}")
    if missing := [p for p in OUTPUT_PROJECTIONS if p not in blocks[0]]:
        raise ValueError(f"{path}: blocks have no {', '.join(missing)}")
    source = 0
    for new_index, base_index in enumerate(plan):
        if base_index is not None:
            source = base_index
        for rest, tensor in blocks[source].items():
            t = tensor.clone()
            if base_index is None and rest in OUTPUT_PROJECTIONS:
                t.zero_()
            grown[f"{prefix}{new_index}.{rest}"] = t
    save_file(grown, str(weights_file), metadata={"format": "pt"})
    config["num_hidden_layers"] = num_layers
    if isinstance(config.get("layer_types"), list):  # transformers 5 lists one type per block
        config["layer_types"] = [config["layer_types"][0]] * num_layers
    config_file.write_text(json.dumps(config, indent=2) + "\n")
    return plan
