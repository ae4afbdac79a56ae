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


def test_value_features_relate_every_x_to_x_plus_k_by_one_linear_map() -> None:
    # the point of the features: "+ 3" is the same map wherever the numbers are, so a map
    # fitted on small numbers predicts the features of large ones almost exactly
    import torch

    from closedloop.policy.embedded import value_features

    f = value_features(1000, 64, 1.0).double()
    sincos = f[:, :42]  # the periodic part (the magnitude feature is affine, not periodic)
    fit = torch.linalg.lstsq(sincos[:600], sincos[3:603], driver="gelsd").solution
    err = (sincos[600:997] @ fit - sincos[603:1000]).abs().max()
    assert err < 1e-3 * sincos.abs().max()
    assert abs(f.norm(dim=1).mean() - 1) < 1e-6


def test_value_embeddings_change_only_the_integer_rows(tmp_path) -> None:
    import torch

    from closedloop.policy.embedded import INTEGER_TOKENS, EmbeddedConfig, build_embedded_policy

    corpus = ["f([1, 22, 333]) == [333, 22, 1]\ndef f(xs):\n    return xs[::-1]\n"] * 20
    plain = build_embedded_policy(corpus, tmp_path / "a", EmbeddedConfig(vocab_size=300))
    valued = build_embedded_policy(
        corpus, tmp_path / "b", EmbeddedConfig(vocab_size=300, value_embeddings=True)
    )
    ids = valued.tokenizer.convert_tokens_to_ids([str(n) for n in range(INTEGER_TOKENS)])
    a = plain.model.get_input_embeddings().weight.detach()
    b = valued.model.get_input_embeddings().weight.detach()
    others = [i for i in range(a.shape[0]) if i not in set(ids)]
    assert torch.equal(a[others], b[others]) and not torch.equal(a[ids], b[ids])
    # neighbours in value end up closer than far-apart numbers (they were random before)
    cos = torch.nn.functional.cosine_similarity
    near = cos(b[ids[500]], b[ids[501]], dim=0)
    far = cos(b[ids[500]], b[ids[3]], dim=0)
    assert near > far + 0.2
