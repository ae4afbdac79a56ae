"""List positions (closedloop.policy.list_llama): each integer of a prompt's lists carries its
index from both ends; completions never do; cached decoding sees what training saw."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import torch

from closedloop.policy.base import SamplingParams
from closedloop.policy.list_llama import list_positions, token_tables

from .conftest import LIST_FUNCTIONS

PROMPT = "Examples:\nf([10, 20, 30]) == [30, 20, 10]\nf([7, -8]) == [8]\nthe 5 values [1]"


@pytest.fixture(scope="module")
def listed(tmp_path_factory: pytest.TempPathFactory, tiny_config):
    from closedloop.policy.embedded import build_embedded_policy

    out = tmp_path_factory.mktemp("list-llama")
    cfg = dataclasses.replace(tiny_config, list_positions=True)
    policy = build_embedded_policy(LIST_FUNCTIONS * 4, out, cfg)
    # random list embeddings large enough that a wrong position changes every logit
    with torch.no_grad():
        for emb in (policy.model.model.list_from_start, policy.model.model.list_from_end):
            emb.weight.normal_(std=1.0)
    return policy


def _positions(policy, ids: list[int]) -> list[tuple[str, int, int]]:
    t = torch.tensor([ids])
    start, end = list_positions(t, token_tables(policy.model.config, t.device), 32)
    return [
        (policy.tokenizer.decode([i]).strip(), a, b)
        for i, a, b in zip(ids, start[0].tolist(), end[0].tolist(), strict=True)
        if a or b
    ]


def test_each_integer_of_a_prompt_list_gets_its_index_from_both_ends(listed) -> None:
    ids = listed.encode_prompt(PROMPT) + listed.encode_completion("return [xs[2], 3]")
    assert _positions(listed, ids) == [
        ("10", 1, 3), ("20", 2, 2), ("30", 3, 1),
        ("30", 1, 3), ("20", 2, 2), ("10", 3, 1),
        ("7", 1, 2), ("8", 2, 1),  # the minus sign is its own token: -8 is the second element
        ("8", 1, 1),
        ("1", 1, 1),  # "5" in the text is no list element; nor is any completion token
    ]  # fmt: skip


def test_left_and_right_padding_do_not_move_positions(listed) -> None:
    ids = listed.encode_prompt(PROMPT)
    pad = listed.pad_id
    plain = _positions(listed, ids)
    assert _positions(listed, [pad] * 5 + ids) == plain
    assert _positions(listed, ids + [pad] * 5) == plain


def test_cached_sampling_scores_as_a_full_forward_pass(listed) -> None:
    # generate() decodes one token at a time with a KV cache; token_logprobs runs the whole
    # sequence at once. Equal log-probs mean every completion token saw the positions it
    # would see in training.
    flat = [
        c
        for g in listed.sample([PROMPT, "f([1, 2]) == [2, 1]"], 3, SamplingParams(16, seed=1))
        for c in g
    ]
    rescored = listed.token_logprobs([c.prompt_ids for c in flat], [c.token_ids for c in flat])
    for c, row in zip(flat, rescored, strict=True):
        assert row == pytest.approx(list(c.logprobs), abs=1e-4)
    by_ids = listed.sample_ids([flat[0].prompt_ids], 1, SamplingParams(16, temperature=0))
    by_text = listed.sample([PROMPT], 1, SamplingParams(16, temperature=0))
    assert by_ids[0][0].token_ids == by_text[0][0].token_ids


def test_positions_change_the_model_and_survive_save_and_load(listed, tmp_path: Path) -> None:
    from transformers import AutoModelForCausalLM

    ids = torch.tensor([listed.encode_prompt(PROMPT)])
    logits = listed.model(ids).logits
    listed.save(tmp_path / "saved")
    loaded = AutoModelForCausalLM.from_pretrained(str(tmp_path / "saved"))
    assert type(loaded).__name__ == "ListLlamaForCausalLM"
    assert torch.allclose(loaded(ids).logits, logits, atol=1e-5)
    with torch.no_grad():
        loaded.model.list_from_start.weight.zero_()
    assert not torch.allclose(loaded(ids).logits, logits, atol=1e-3)
