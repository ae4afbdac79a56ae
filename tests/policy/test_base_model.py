"""The shipped base model: present, small, bf16, loadable, and the one its card describes."""

from __future__ import annotations

import pytest

from closedloop.policy.base_model import WEIGHTS, base_model_dir, has_base_model

pytestmark = pytest.mark.skipif(not has_base_model(), reason="no shipped base model in this tree")


def test_shipped_weights_fit_in_twenty_megabytes() -> None:
    assert (base_model_dir() / WEIGHTS).stat().st_size <= 20_000_000


def test_model_card_names_the_sha256_of_the_shipped_weights() -> None:
    from closedloop.train.pretrain import CARD_FILE, sha256_of

    card = (base_model_dir() / CARD_FILE).read_text()
    assert sha256_of(base_model_dir() / WEIGHTS) in card


def test_shipped_base_loads_and_writes_a_program() -> None:
    from closedloop.policy.base import SamplingParams
    from closedloop.policy.hf import HFPolicy

    policy = HFPolicy.from_pretrained(base_model_dir(), device="cpu")
    prompt = "Find the rule and write f(xs) in Python. xs is a list of integers.\n"
    prompt += "Examples:\nf([3, 1, 2]) == [2, 1, 3]\nf([5, 9, 4, 7]) == [7, 4, 9, 5]\n"
    prompt += "f([10, 20, 30]) == [30, 20, 10]\nWrite the Python function."
    out = policy.sample([prompt], 1, SamplingParams(max_new_tokens=64, temperature=0.0))
    assert out[0][0].text.startswith("def f(xs):")
