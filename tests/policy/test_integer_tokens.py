"""One form per integer: the embedded tokenizer gives an integer the same id in every context."""

from __future__ import annotations

import pytest

from closedloop.policy.embedded import EmbeddedConfig, train_tokenizer

CORPUS = [
    "Find the rule.\nf([3, 17, 5]) == [17, 5, 3]\nWrite the Python function.\n"
    "def f(xs):\n    xs = [x + 3 for x in xs]\n    return xs\n"
] * 10
TEXTS = [
    "f([0, 17, 999]) == [1000, -5, 1234567]",
    "def f(xs):\n\treturn [x * 2 for x in xs if x % 3 != 0]  # é, 中文  \r\n",
    "xs[1:] + [7]  and x17y, 007",
]


@pytest.fixture(scope="module")
def tokenizer():
    return train_tokenizer(CORPUS, EmbeddedConfig(vocab_size=300))


def _ids(tok, text: str) -> list[int]:
    return list(tok(text, add_special_tokens=False)["input_ids"])


@pytest.mark.parametrize("n", [0, 5, 17, 42, 100, 617, 999])
def test_an_integer_has_one_id_after_any_character(tokenizer, n: int) -> None:
    lefts = ("[", ", ", "(", " ", "-", "x")
    forms = {tuple(_ids(tokenizer, f"{left}{n}")[len(_ids(tokenizer, left)) :]) for left in lefts}
    assert len(forms) == 1 and len(next(iter(forms))) == 1


def test_integers_below_a_thousand_are_one_token_each(tokenizer) -> None:
    assert all(len(_ids(tokenizer, str(n))) == 1 for n in range(1000))


@pytest.mark.parametrize("text", TEXTS)
def test_round_trip_is_exact(tokenizer, text: str) -> None:
    assert tokenizer.decode(_ids(tokenizer, text)) == text


def test_plain_bpe_gives_an_integer_two_forms() -> None:
    tok = train_tokenizer(CORPUS, EmbeddedConfig(vocab_size=300, integer_tokens=False))
    assert _ids(tok, "[17")[1:] != _ids(tok, ", 17")[len(_ids(tok, ", ")) :]
