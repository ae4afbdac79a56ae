"""The embedded small model: size, exact tokenizer round trip, and loading through Auto* classes."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from closedloop.policy.base import FinishReason, SamplingParams
from closedloop.policy.embedded import EmbeddedConfig

from .conftest import LIST_FUNCTIONS

CODE = [
    "def f(xs):\n    return [x * 2 for x in xs if x % 3 != 0]\n",
    "def f(xs):\n\tif not xs:\n\t\treturn []\n\n\n    return xs[::-1]  # é, 中文, trailing   \n",
    "  leading spaces,\r\nwindows newline, ' quotes ' and n't , . ;",
]


def test_default_config_has_one_to_five_million_parameters() -> None:
    from transformers import LlamaConfig, LlamaForCausalLM

    cfg = EmbeddedConfig()
    with torch.device("meta"):
        model = LlamaForCausalLM(
            LlamaConfig(
                vocab_size=cfg.vocab_size,
                hidden_size=cfg.hidden_size,
                intermediate_size=cfg.intermediate_size,
                num_hidden_layers=cfg.num_layers,
                num_attention_heads=cfg.num_heads,
                tie_word_embeddings=True,
            )
        )
    n = sum(p.numel() for p in {id(p): p for p in model.parameters()}.values())
    assert 1_000_000 <= n <= 5_000_000, n


def test_bad_config_raises_with_the_rule() -> None:
    with pytest.raises(ValueError, match="num_heads"):
        EmbeddedConfig(hidden_size=30, num_heads=4)
    with pytest.raises(ValueError, match="vocab_size"):
        EmbeddedConfig(vocab_size=100)


def test_tokenizer_round_trip_is_exact(embedded_dir: Path) -> None:
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(embedded_dir))
    for text in CODE:
        ids = tok(text, add_special_tokens=False)["input_ids"]
        assert tok.decode(ids) == text
    # the domain's text is compressed: common code pieces merge (across words too) and every
    # integer is one token, so the corpus takes well under half a token per character
    tokens = sum(len(tok(t, add_special_tokens=False)["input_ids"]) for t in LIST_FUNCTIONS)
    assert tokens <= 0.45 * sum(len(t) for t in LIST_FUNCTIONS)


def test_saved_directory_loads_with_auto_classes(embedded_dir: Path, embedded) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(str(embedded_dir))
    tok = AutoTokenizer.from_pretrained(str(embedded_dir))
    ids = torch.tensor([embedded.encode_prompt("Write f.")])
    assert torch.allclose(model(ids).logits, embedded.model(ids).logits)
    assert tok.eos_token == "<|end|>" and tok.chat_template


def test_sampling_returns_ids_and_logprobs_that_rescoring_reproduces(embedded) -> None:
    groups = embedded.sample(
        ["Write f.", "f([1]) == [2]"], 3, SamplingParams(max_new_tokens=12, seed=0)
    )
    assert [len(g) for g in groups] == [3, 3]
    flat = [c for g in groups for c in g]
    for c in flat:
        assert len(c.token_ids) == len(c.logprobs) <= 12
        assert c.text == embedded.decode(c.token_ids)
        assert (c.finish_reason is FinishReason.STOP) == (c.token_ids[-1] == embedded.eos_id)
    rescored = embedded.token_logprobs([c.prompt_ids for c in flat], [c.token_ids for c in flat])
    for c, row in zip(flat, rescored, strict=True):
        assert row == pytest.approx(list(c.logprobs), abs=1e-4)


def test_chat_template_renders_the_prompt(embedded) -> None:
    assert embedded.render("hi") == "<|bos|><|user|>\nhi<|end|><|assistant|>\n"
    convo = [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "yo"},
        {"role": "user", "content": "again"},
    ]
    assert embedded.render(convo).endswith("<|user|>\nagain<|end|><|assistant|>\n")
