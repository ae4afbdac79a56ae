"""Answer tasks are scored in the trusted parent by parsing, never evaluating."""

from __future__ import annotations

import random
import time
from fractions import Fraction

import pytest

from closedloop.tasks.answer import (
    AnswerMatch,
    answers_match,
    normalize_answer,
    parse_number,
    score_answer,
)
from closedloop.tasks.format import parse_task


def _answer_task(gold: str, match: str = "exact", tol: float | None = None):
    return parse_task(
        {
            "kind": "answer",
            "instruction": "q",
            "answer": gold,
            "answer_match": match,
            "float_tolerance": tol,
        }
    )


def test_exact_ignores_surrounding_whitespace_quotes_and_full_stop() -> None:
    assert score_answer(_answer_task("Paris"), "  'Paris'. ")
    assert not score_answer(_answer_task("Paris"), "paris")
    assert normalize_answer("`a  b`") == "a b"


def test_exact_gives_no_partial_credit_for_gold_inside_answer() -> None:
    # reasoning-gym's default scorer would give len(gold)/len(answer) here
    assert not score_answer(_answer_task("-4"), "The answer is -4")


def test_numeric_with_and_without_tolerance() -> None:
    assert score_answer(_answer_task("1000", "numeric"), "1,000")
    assert score_answer(_answer_task("0.75", "numeric"), "3/4")
    assert not score_answer(_answer_task("0.75", "numeric"), "0.7501")
    assert score_answer(_answer_task("0.75", "numeric", 1e-3), "0.7501")
    assert not score_answer(_answer_task("1", "numeric"), "nan")


def test_list_is_ordered_and_set_is_not() -> None:
    assert score_answer(_answer_task("[1, 2, 3]", "list"), "1, 2, 3")
    assert not score_answer(_answer_task("[1, 2, 3]", "list"), "[3, 2, 1]")
    assert score_answer(_answer_task("[1, 2, 3]", "set"), "[3, 2, 1]")
    assert not score_answer(_answer_task("[1, 2, 3]", "set"), "[3, 2]")


def test_model_text_is_never_evaluated() -> None:
    # an expression that eval would compute to the gold is still wrong
    assert not answers_match("4", "2+2", AnswerMatch.NUMERIC)
    assert not answers_match("[0]", "[__import__('os').getpid() * 0]", AnswerMatch.LIST)


def test_function_task_is_refused() -> None:
    fn = parse_task(
        {"kind": "function", "entry_point": "f", "checker": "def check(candidate): pass"}
    )
    with pytest.raises(ValueError, match="answer task"):
        score_answer(fn, "x")


# -- regressions: answers that crashed the scorer, passed wrongly, or cost the host seconds ----

OVERFLOWING = {  # name: (gold, answer, rule)
    "numeric-quotient": ("42", "1e300/1e-300", "numeric"),
    "numeric-over-a-subnormal": ("42", "1/1e-320", "numeric"),
    "list-item-400-digits": ("[1, 2, 3]", "[1" + "0" * 400 + ", 2, 3]", "list"),
    "set-item-400-digits": ("{2, 3, 5}", "{1" + "0" * 400 + "}", "set"),
    "set-item-quotient": ("[0.5]", "[1e300/1e-300]", "set"),
    "list-nested-hex-int": ("[1]", "[[0x" + "f" * 5000 + "]]", "list"),
}


@pytest.mark.parametrize("name", sorted(OVERFLOWING))
def test_numbers_too_large_for_a_float_are_non_matches_not_errors(name) -> None:
    """``float()`` of a candidate's number raised OverflowError (or ``repr`` of a huge int
    ValueError) out of the scorer, which the runner turned into an ``infra_error`` the loop
    drops unscored: a reward dodge."""
    gold, answer, match = OVERFLOWING[name]
    for tol in (None, 0.0, 0.5):
        assert score_answer(_answer_task(gold, match, tol), answer) is False


def test_integers_beyond_float_precision_compare_exactly() -> None:
    """2**53 + 1 and 2**53 are the same float, so they matched even with tolerance 0."""
    big, near = str(2**53 + 1), str(2**53)
    for tol in (None, 0.0):
        assert not score_answer(_answer_task(big, "numeric", tol), near)
        assert score_answer(_answer_task(big, "numeric", tol), big)
        assert not score_answer(_answer_task(f"[{big}, 5]", "list", tol), f"[{near}, 5]")
        assert not score_answer(_answer_task(f"{{{big}, 5}}", "set", tol), f"{{{near}, 5}}")
    assert score_answer(_answer_task(big, "numeric", 1.0), near)


def test_a_whole_number_gold_needs_the_very_number() -> None:
    """The default relative 1e-9 let 123456789100 pass for the gold 123456789012."""
    gold = _answer_task("123456789012", "numeric")
    assert not score_answer(gold, "123456789100")
    assert not score_answer(gold, "123456789012.5")
    for same in ("123456789012", "123,456,789,012", "123456789012.0", "1.23456789012e11"):
        assert score_answer(gold, same), same
    assert score_answer(_answer_task("2", "numeric"), "6/3")
    # a non-whole gold keeps the relative 1e-9, computed exactly
    assert score_answer(_answer_task("0.1", "numeric"), "0.1000000000001")
    assert not score_answer(_answer_task("0.1", "numeric"), "0.1000000002")


def test_tolerance_is_applied_exactly() -> None:
    """Floats rounded both the numbers and their difference: 0.751 was not within 1e-3 of
    0.75, and with tolerance 0 decimals that differ past the 17th digit matched."""
    assert score_answer(_answer_task("0.75", "numeric", 1e-3), "0.751")
    assert not score_answer(_answer_task("0.75", "numeric", 1e-3), "0.7510000000000001")
    assert score_answer(_answer_task("0.1", "numeric", 0.0), "1/10")
    assert not score_answer(_answer_task("0.1", "numeric", 0.0), "0.10000000000000000001")
    assert not score_answer(_answer_task("[0.1]", "list", 0.0), "[0.10000000000000000001]")
    assert score_answer(_answer_task("[0.1, 0.2]", "list", 0.0), "0.1 0.2")


def test_an_exponent_is_never_expanded_past_the_float_range() -> None:
    """A decimal's magnitude is judged from its written exponent: ``1e999999999`` must not
    build a billion-digit integer, and, like ``float``, it is not a number."""
    t0 = time.process_time()
    assert parse_number("1e999999999") is None
    assert parse_number("-1e-999999999") is None
    assert parse_number("0e999999999") == 0
    assert parse_number("2.5e-3") == Fraction(1, 400)
    assert time.process_time() - t0 < 0.5


def _reference_set_match(gold: list[str], answer: list[str], tol: float | None) -> bool:
    """The ``set`` rule by its definition (every item of each side agrees with one of the
    other), in exact arithmetic, written independently of the scorer."""
    g, a = [Fraction(x) for x in gold], [Fraction(y) for y in answer]

    def agree(x: Fraction, y: Fraction) -> bool:
        if tol is not None:
            return abs(x - y) <= Fraction(repr(tol))
        if x.denominator == 1:
            return x == y
        return abs(x - y) <= Fraction(1, 10**9) * max(abs(x), abs(y))

    return all(any(agree(x, y) for y in a) for x in g) and all(
        any(agree(x, y) for x in g) for y in a
    )


def test_set_matching_agrees_with_its_definition() -> None:
    """The set rule once compared every pair (quadratic); it now looks up and bisects. Random
    small sets, with near ties, whole numbers past 2**53 and every kind of tolerance, must
    score as the pairwise definition does."""
    rng = random.Random(0)
    pool = ["0", "1", "-1", "0.5", "0.55", "0.6", "1.5", "2", "2.05", "0.3", "1/3", "2/3"]
    pool += ["0.5000000001", "0.4999999999", "1.0000000001", str(2**53), str(2**53 + 1)]
    for _ in range(1500):
        gold = rng.sample(pool, rng.randint(1, 4))
        answer = rng.sample(pool, rng.randint(1, 4))
        tol = rng.choice([None, 0.0, 0.05, 0.1, 0.5, 1.0])
        want = _reference_set_match(gold, answer, tol)
        got = answers_match(f"[{', '.join(gold)}]", ", ".join(answer), AnswerMatch.SET, tol)
        assert got is want, (gold, answer, tol)


def _filled(item, tail: str = "") -> str:
    """A comma-separated answer of items ``item(0), item(1), ...`` up to the 100,000-char cap."""
    parts, size, i = [], len(tail), 0
    while size + len(item(i)) + 1 <= 100_000:
        parts.append(item(i) + ",")
        size += len(parts[-1])
        i += 1
    return "".join(parts) + tail


PRIMES = "[2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79]"
WIDE_GOLD = "[" + ", ".join(f"{k}.5" for k in range(1000)) + "]"
HOSTILE_ANSWERS = {  # (gold, answer, rule, tolerance): each up to the answer cap
    "set-filler-then-gold": (PRIMES, _filled(lambda i: "x", PRIMES[1:-1]), "set", None),
    "set-all-near-a-wide-gold": (WIDE_GOLD, _filled(lambda i: f"{i % 1000}.5{i}"), "set", 0.1),
    "set-distinct-fractions": ("[1]", _filled(lambda i: f"{i}/{i + 7}"), "set", 1e9),
    "set-distinct-decimals": ("[0.5]", _filled(lambda i: f"0.4{i}"), "set", 0.1),
    "list-names-literal": (PRIMES, "[" + "a," * 49_990 + "]", "list", None),
    "set-f-strings-literal": (PRIMES, "[" + "f'{a}'," * 14_000 + "]", "set", None),
    "numeric-digits": ("42", "1" * 100_000, "numeric", None),
}


def test_answers_at_the_cap_are_scored_quickly() -> None:
    """Set matching re-parsed every item against every other (a 100,000-char answer cost
    6-9 s of host CPU) and every answer went through ``ast``; now 0.01-0.13 s each here."""
    for name, (gold, answer, match, tol) in HOSTILE_ANSWERS.items():
        assert len(answer) <= 100_000
        t0 = time.process_time()
        answers_match(gold, answer, AnswerMatch(match), tol)
        assert time.process_time() - t0 < 0.5, name
