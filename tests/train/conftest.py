"""Tiny models for the training tests: a character-level Llama of ~30 k parameters."""

from __future__ import annotations

import string
from pathlib import Path

import pytest

ALPHABET = string.ascii_lowercase[:8] + " "


def build_char_model(out_dir: Path, seed: int = 0) -> Path:
    """A 2-layer, 32-wide Llama over a 9-character vocabulary plus specials, saved with
    ``save_pretrained`` (tokenizer trained here with ``tokenizers``: one token per character)."""
    import torch
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    specials = ["<|pad|>", "<|bos|>", "<|end|>"]
    vocab = {tok: i for i, tok in enumerate(specials + list(ALPHABET))}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="<|pad|>"))
    tok.pre_tokenizer = pre_tokenizers.Split(Regex("."), behavior="isolated")
    tok.decoder = decoders.Fuse()
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        pad_token="<|pad|>",
        bos_token="<|bos|>",
        eos_token="<|end|>",
        clean_up_tokenization_spaces=False,
        padding_side="left",
    )
    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=len(vocab),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=2,
        max_position_embeddings=128,
        pad_token_id=0,
        bos_token_id=1,
        eos_token_id=2,
    )
    model = LlamaForCausalLM(config)
    model.save_pretrained(str(out_dir))
    fast.save_pretrained(str(out_dir))
    return out_dir


@pytest.fixture(scope="session")
def char_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A saved character-level model directory, built once per session."""
    return build_char_model(tmp_path_factory.mktemp("char_model"))


@pytest.fixture
def char_policy(char_model_dir: Path):
    """A fresh HFPolicy on CPU loaded from the character-level model directory."""
    from closedloop.policy.hf import HFPolicy

    return HFPolicy.from_pretrained(char_model_dir, device="cpu")
