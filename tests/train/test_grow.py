"""Depth growth: a grown base computes exactly what the base did, and ``pretrain`` continues it."""

from __future__ import annotations

import shutil

import pytest

from closedloop.train.grow import grow_layers, growth_plan
from closedloop.train.pretrain import CARD_FILE, PretrainConfig, pretrain

# test_pretrain's tiny base (seconds to build)
TINY = {
    "steps": 4,
    "batch_size": 4,
    "micro_batches": 2,
    "hidden_size": 32,
    "intermediate_size": 64,
    "num_layers": 1,
    "num_heads": 2,
    "vocab_size": 300,
    "tokenizer_steps": 2,
    "warmup_steps": 2,
    "probe_every": 0,
    "final_probe_per": 0,
    "checkpoint_every": 2,
}


def test_growth_plan_spreads_the_new_blocks_through_the_stack() -> None:
    assert growth_plan(4, 6) == [0, 1, None, 2, 3, None]
    assert growth_plan(4, 8) == [0, None, 1, None, 2, None, 3, None]
    assert growth_plan(3, 3) == [0, 1, 2]
    with pytest.raises(ValueError, match="cannot grow 4 blocks to 3"):
        growth_plan(4, 3)


def test_a_grown_base_gives_the_same_logits_and_its_new_blocks_learn(tmp_path, verifier) -> None:
    import torch

    from closedloop.policy.hf import HFPolicy

    pretrain(
        PretrainConfig(**{**TINY, "num_layers": 2}), tmp_path / "base", tmp_path / "w", verifier
    )
    grown_dir = tmp_path / "grown"
    shutil.copytree(tmp_path / "base", grown_dir)
    assert grow_layers(grown_dir, 3) == [0, 1, None]
    base = HFPolicy.from_pretrained(tmp_path / "base", device="cpu")
    grown = HFPolicy.from_pretrained(grown_dir, device="cpu")
    assert grown.model.config.num_hidden_layers == 3
    ids = torch.randint(5, 300, (2, 17))
    with torch.no_grad():
        assert torch.equal(base.model(ids).logits, grown.model(ids).logits)
    # the new block is a copy of block 1 with its output projections zeroed; a loss still
    # reaches those projections, so training moves them off zero
    new = grown.model.model.layers[2]
    assert torch.equal(
        new.self_attn.q_proj.weight, grown.model.model.layers[1].self_attn.q_proj.weight
    )
    assert not new.self_attn.o_proj.weight.any() and not new.mlp.down_proj.weight.any()
    grown.model.train()
    grown.model(ids, labels=ids).loss.backward()
    assert new.self_attn.o_proj.weight.grad.abs().sum() > 0
    assert new.mlp.down_proj.weight.grad.abs().sum() > 0


def test_pretrain_grows_a_shallower_base_and_says_so_in_the_card(tmp_path, verifier) -> None:
    from safetensors.torch import load_file

    pretrain(PretrainConfig(**TINY), tmp_path / "base", tmp_path / "wbase", verifier)
    cfg = PretrainConfig(
        **{**TINY, "steps": 6, "num_layers": 2, "init_from": str(tmp_path / "base")}
    )
    result = pretrain(cfg, tmp_path / "out", tmp_path / "work", verifier)
    assert result.steps == 6
    weights = load_file(str(tmp_path / "out" / "model.safetensors"))
    assert any(k.startswith("model.layers.1.") for k in weights)
    assert "Grown from its 1 blocks to 2" in (tmp_path / "out" / CARD_FILE).read_text()
    # a deeper base is not cut down
    with pytest.raises(ValueError, match="--init-from .*num_layers"):
        pretrain(
            PretrainConfig(**{**TINY, "steps": 9, "init_from": str(tmp_path / "out")}),
            tmp_path / "o2",
            tmp_path / "w2",
            verifier,
        )
