"""Answer tasks are scored in the trusted parent by parsing, never evaluating."""

from __future__ import annotations

import gc
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


# -- forms a model writes a correct answer in (red team y1/y2), and wrong answers near them ------


def test_a_full_stop_after_a_decimal_ends_the_sentence() -> None:
    """``3.14.`` was neither a number nor the gold's text: a ``.`` after a digit was kept so
    that ``42.`` and ``3.`` stay numbers, also when a point was already written."""
    for gold, answer in [("3.14", "3.14."), ("-2.5", "-2.5."), ("0.75", "0.75."), ("0.5", "0.5.")]:
        assert score_answer(_answer_task(gold, "numeric"), answer), answer
    assert score_answer(_answer_task("1,234.5", "numeric"), "1,234.5.")
    assert score_answer(_answer_task("100000", "numeric"), "1e5.")
    assert score_answer(_answer_task("0.4", "numeric"), "1/2.5.")
    assert score_answer(_answer_task("[3.14, 2]", "list"), "3.14. 2")
    assert score_answer(_answer_task("3.14"), "3.14.")  # the exact rule too
    # unchanged: "42." and "1/2." were numbers already, "3." keeps its point under exact
    assert score_answer(_answer_task("42", "numeric"), "42.")
    assert score_answer(_answer_task("0.5", "numeric"), "1/2.")
    assert score_answer(_answer_task("3."), "3.")
    assert not score_answer(_answer_task("3."), "3")
    assert not score_answer(_answer_task("3"), "3.")
    assert normalize_answer("3.") == "3." and normalize_answer("1/2.") == "1/2."
    assert normalize_answer("1.2.3.") == "1.2.3."  # not a number without the stop either
    # wrong answers stay wrong
    assert not score_answer(_answer_task("3.15", "numeric"), "3.14.")
    assert not score_answer(_answer_task("314", "numeric"), "3.14.")
    assert not score_answer(_answer_task("3.14", "numeric"), "3.1.4.")
    assert parse_number("1e5.5.") is None and parse_number("3.14.5.") is None


def test_the_minus_sign_and_full_width_forms_are_read() -> None:
    """``−5`` (U+2212) was not a number. The minus sign and the full-width signs, point,
    comma and slash are their ASCII forms; dashes are not minus signs."""
    gold = _answer_task("-5", "numeric")
    for answer in ("\u22125", "\uff0d5", "\u2212\uff15", "$\u22125"):
        assert score_answer(gold, answer), answer
    assert parse_number("\uff11\uff12\uff0e\uff15") == Fraction(25, 2)  # １２．５
    assert parse_number("\uff11\uff0c\uff10\uff10\uff10") == 1000  # １，０００
    assert parse_number("\uff13\uff0f\uff14") == Fraction(3, 4)  # ３／４
    assert parse_number("\u0664\u0662") == 42  # Arabic-Indic digits: any decimal digits
    assert score_answer(_answer_task("[-1, 2]", "list"), "[\u22121, 2]")
    assert score_answer(_answer_task("-2.5", "numeric"), "\u22122.5.")
    # wrong answers stay wrong; dashes and superscripts are not read as numbers
    assert not score_answer(_answer_task("5", "numeric"), "\u22125")
    assert not score_answer(_answer_task("-4", "numeric"), "\u22125")
    for dash in ("\u2010", "\u2012", "\u2013", "\u2014"):
        assert parse_number(dash + "5") is None
        assert not score_answer(gold, dash + "5")
        assert not score_answer(_answer_task("5", "numeric"), dash + "5")
    assert parse_number("10\u00b2") is None  # 10², not 102
    assert not score_answer(_answer_task("5"), "\u22125")  # the exact rule compares text


def test_markdown_bold_and_a_currency_sign_are_formatting() -> None:
    """``**42**`` and ``$42`` were not 42. Bold is stripped as quotes are (only when it wraps
    the whole answer); a ``$`` may lead a number."""
    assert score_answer(_answer_task("42", "numeric"), "**42**")
    assert score_answer(_answer_task("42", "numeric"), "**42**.")
    assert score_answer(_answer_task("42", "numeric"), "**`42`**")
    assert score_answer(_answer_task("Paris"), "**Paris**")
    assert score_answer(_answer_task("[1, 2]", "list"), "**[1, 2]**")
    assert score_answer(_answer_task("42", "numeric"), "$42")
    assert score_answer(_answer_task("1234.5", "numeric"), "$1,234.50")
    assert score_answer(_answer_task("-5", "numeric"), "-$5")
    assert score_answer(_answer_task("-5", "numeric"), "$-5")
    assert score_answer(_answer_task("4.2", "numeric"), "$4.2")
    # wrong answers stay wrong
    for wrong in ("**42**", "**4**2", "4**2**", "***"):
        assert not score_answer(_answer_task("4", "numeric"), wrong), wrong
        assert not score_answer(_answer_task("2", "numeric"), wrong), wrong
    assert not score_answer(_answer_task("42", "numeric"), "**4**2")
    assert not score_answer(_answer_task("42", "numeric"), "$4.2")
    assert not score_answer(_answer_task("42", "numeric"), "$$42")
    assert not score_answer(_answer_task("42", "numeric"), "42$")
    assert not score_answer(_answer_task("5", "numeric"), "-$5")
    assert normalize_answer("**") == "**" and normalize_answer("****") == "****"


def test_underscores_group_digits_as_commas_do() -> None:
    """``1_000`` (Python's digit separator) was not a number; underscores, like commas, only
    group the whole part by threes, so ``1010_2`` is not 10102."""
    for answer in ("1_000", "1_000.0", "+1_000", "$1_000"):
        assert score_answer(_answer_task("1000", "numeric"), answer), answer
    assert parse_number("10_000_000") == 10_000_000
    assert parse_number("-1_234.5") == Fraction(-2469, 2)
    for not_a_number in ("1_0", "1010_2", "1__000", "1_000_00", "_1000", "1000_", "1,000_000"):
        assert parse_number(not_a_number) is None, not_a_number
    assert not score_answer(_answer_task("10", "numeric"), "1_0")
    assert not score_answer(_answer_task("10102", "numeric"), "1010_2")


def test_json_constants_in_an_answer_are_the_gold_constants() -> None:
    """``[true, false]`` did not match ``[True, False]``. JSON's bare names are the constants
    when the gold has a constant, else text as before (they still match the strings)."""
    assert score_answer(_answer_task("[True, False]", "list"), "[true, false]")
    assert score_answer(_answer_task("[True, None]", "list"), "[true, null]")
    assert score_answer(_answer_task("[True, False]", "list"), "true, false")
    assert score_answer(_answer_task("[True, False]", "list"), "true false")
    assert score_answer(_answer_task("[True, False]", "list"), "True False")
    assert score_answer(_answer_task("[[True, 1], [False, 2]]", "list"), "[[true, 1], [false, 2]]")
    assert score_answer(_answer_task("{True, False}", "set"), "[false, true, true]")
    # unchanged: bare words match the gold's strings, quoted names are never constants
    assert score_answer(_answer_task("['true', 'false']", "list"), "[true, false]")
    assert score_answer(_answer_task("['null']", "list"), "[null]")
    assert not score_answer(_answer_task("[True]", "list"), "['True']")
    assert not score_answer(_answer_task("[True]", "list"), "['true']")
    # wrong answers stay wrong
    assert not score_answer(_answer_task("[True, False]", "list"), "[false, true]")
    assert not score_answer(_answer_task("[True, False]", "list"), "[true, true]")
    assert not score_answer(_answer_task("[True, None]", "list"), "[true, false]")
    assert not score_answer(_answer_task("[1, 0]", "list"), "[true, false]")
    assert not score_answer(_answer_task("[True, 1]", "list"), "[true, true]")
    assert not score_answer(_answer_task("['true']", "list"), "[True]")
    assert not score_answer(_answer_task("[True]", "set"), "[true, truex]")


def test_nested_items_are_compared_item_by_item() -> None:
    """Nested items were compared by ``repr``: ``[1.0, 2.0]`` was not ``[1, 2]``, nor a
    tuple a list. They now agree item by item under the same rules (nested sets as sets),
    in order also under the set rule; deeper than ``_MAX_DEPTH`` by ``repr`` as before."""
    lst = _answer_task("[[1, 2], [3, 4]]", "list")
    for answer in ("[[1.0, 2.0], [3, 4]]", "[(1, 2), (3, 4)]", "((1, 2), [3.0, 4e0])"):
        assert score_answer(lst, answer), answer
    assert score_answer(_answer_task("[[1, 2]]", "list"), "[(1, 2)]")
    assert score_answer(_answer_task("[[0.5, 1]]", "list"), "[[1/2, 1]]")
    assert score_answer(_answer_task("[[0.1, 'a']]", "list"), "[[0.1000000000001, 'a']]")
    assert score_answer(_answer_task("[[0.5, 1]]", "list", 0.1), "[[0.55, 1]]")
    assert score_answer(_answer_task("[{1, 2}, [3]]", "list"), "[{2, 1, 2}, [3.0]]")
    assert score_answer(_answer_task("[[1, 2], [3, 4]]", "set"), "[[3, 4], [1.0, 2], (1, 2)]")
    assert score_answer(_answer_task("[[[1, [2]]]]", "list"), "[[[1.0, (2.0,)]]]")
    deep = "[" * 12 + "1" + "]" * 12
    assert score_answer(_answer_task(deep, "list"), deep)  # past the cap: repr, as before
    # wrong answers stay wrong
    for wrong in (
        "[[2, 1], [3, 4]]",
        "[[1, 2], [3]]",
        "[[1, 2, 3], [4]]",
        "[[1, 2], [3, 4, 5]]",
        "[[1, 2], [3, 4.5]]",
        "[[1, 2], 3, 4]",
        "[1, 2, 3, 4]",
        "[{1, 2}, {3, 4}]",
        "[[1, 2], [[3, 4]]]",
        "[['1', 2], [3, 4]]x",
    ):
        assert not score_answer(lst, wrong), wrong
    assert not score_answer(_answer_task("[[1, 2], [3, 4]]", "set"), "[[2, 1], [4, 3]]")
    assert not score_answer(_answer_task("[[1, 2], [3, 4]]", "set"), "[[1, 2]]")
    assert not score_answer(_answer_task("[[1, 2]]", "set"), "[[1, 2], [1, 3]]")
    assert not score_answer(_answer_task("[[0.5, 1]]", "list", 0.1), "[[0.7, 1]]")
    assert not score_answer(_answer_task("[[0.5, 1]]", "set", 0.1), "[[0.55, 1], [0.7, 1]]")
    assert not score_answer(_answer_task("[{1, 2}]", "list"), "[{1, 2, 3}]")
    assert not score_answer(_answer_task("[{1, 2}]", "list"), "[[1, 2]]")
    assert not score_answer(_answer_task("[[1, 2]]", "list"), "[{1, 2}]")
    assert not score_answer(_answer_task("[[[1, [2]]]]", "list"), "[[[1, [3]]]]")
    assert not score_answer(_answer_task(deep, "list"), deep.replace("1", "1.0"))


def test_a_set_of_inexact_pairs_in_any_order_is_matched() -> None:
    """Nested set items that are not equal to a gold item are tried only against the items
    whose first leaf agrees: hundreds of inexact pairs in shuffled order fit the budget."""
    rng = random.Random(2)
    for shape in ("[{k}.25{x}, {k}]", '["n{k}", {k}.25{x}]', "[[{k}.25{x}], {k}]"):
        gold = "[" + ", ".join(shape.format(k=k, x="") for k in range(300)) + "]"
        items = [shape.format(k=k, x="00000001") for k in range(300)]
        rng.shuffle(items)
        for tol in (None, 1e-6):
            assert answers_match(gold, "[" + ", ".join(items) + "]", AnswerMatch.SET, tol)
            wrong = items[:-1] + [shape.format(k=7, x="01")]  # one item off, one missing
            assert not answers_match(gold, "[" + ", ".join(wrong) + "]", AnswerMatch.SET, tol)


def test_a_set_call_wraps_a_set() -> None:
    """``set([1, 2])`` was not read; ``set(...)`` and ``frozenset(...)`` around a container
    literal are that container, at any length."""
    gold = _answer_task("{1, 2}", "set")
    for answer in ("set([1, 2])", "set((2, 1))", "frozenset({1, 2})", "set([2, 1, 1])"):
        assert score_answer(gold, answer), answer
    assert score_answer(gold, "set([" + "1, " * 33_000 + "2])")
    assert score_answer(_answer_task("set()", "set"), "set()")
    assert score_answer(_answer_task("[1, 2]", "list"), "set([1, 2])")  # its written order
    # wrong answers stay wrong
    for wrong in ("set([1, 3])", "set([1])", "set(1, 2)", "set([1, 2]) | {3}", "sets([1, 2])"):
        assert not score_answer(gold, wrong), wrong
    assert not score_answer(gold, "set([1]), set([2])")
    assert not score_answer(_answer_task("[2, 1]", "list"), "set([1, 2])")


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


def _reference_set_match(gold: list, answer: list, tol: float | None) -> bool:
    """The ``set`` rule by its definition (every item of each side agrees with one of the
    other), in exact arithmetic, written independently of the scorer. An item is a number's
    text or a list of items (a nested list: agrees item by item, in order)."""

    def value(x):
        return [value(v) for v in x] if isinstance(x, list) else Fraction(x)

    g, a = [value(x) for x in gold], [value(y) for y in answer]

    def agree(x, y) -> bool:
        if isinstance(x, list) or isinstance(y, list):
            return (
                isinstance(x, list)
                and isinstance(y, list)
                and len(x) == len(y)
                and all(agree(p, q) for p, q in zip(x, y, strict=True))
            )
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


def _written(item) -> str:
    return f"[{', '.join(_written(v) for v in item)}]" if isinstance(item, list) else item


def test_nested_set_matching_agrees_with_its_definition() -> None:
    """Nested items were compared by ``repr`` (``[1.0, 2]`` was not ``[1, 2]``); they now
    agree item by item, found through an index on their first number: random sets of
    numbers and (nested) pairs, with near ties, must score as the pairwise definition does."""
    rng = random.Random(1)
    pool = ["0", "1", "0.5", "0.55", "0.6", "2", "2.05", "1/3", "0.5000000001", str(2**53)]
    pool += [str(2**53 + 1), "1.0000000001", "0.4999999999"]

    def item(depth: int = 0):
        if depth < 2 and rng.random() < 0.5:
            return [item(depth + 1) for _ in range(rng.randint(0, 2))]
        return rng.choice(pool)

    for _ in range(1500):
        gold = [item() for _ in range(rng.randint(1, 4))]
        answer = [item() for _ in range(rng.randint(1, 4))]
        if rng.random() < 0.5:  # an answer near the gold, reordered
            answer = gold[::-1] + answer[:1]
        tol = rng.choice([None, 0.0, 0.05, 0.1, 0.5, 1.0])
        want = _reference_set_match(gold, answer, tol)
        got = answers_match(_written(gold), _written(answer), AnswerMatch.SET, tol)
        assert got is want, (gold, answer, tol)


def _filled(item, tail: str = "", cap: int = 100_000, head: str = "") -> str:
    """An answer ``head`` + ``item(0),item(1),...,`` + ``tail`` of at most ``cap`` characters
    (the 100,000-character answer cap; the 10,000 up to which a literal goes to ``ast``)."""
    parts, size, i = [head], len(head) + len(tail), 0
    while size + len(item(i)) + 1 <= cap:
        parts.append(item(i) + ",")
        size += len(parts[-1])
        i += 1
    return "".join(parts) + tail


PRIMES = "[2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79]"
WIDE_GOLD = "[" + ", ".join(f"{k}.5" for k in range(1000)) + "]"
NESTED_GOLD = "[" + ", ".join(f"[{k}.5]" for k in range(1000)) + "]"
STRING_LED_GOLD = "[" + ", ".join(f'["a", {k}.5]' for k in range(600)) + "]"
SETS_GOLD = "[" + ", ".join(f"{{{k}.5}}" for k in range(1000)) + "]"
HOSTILE_ANSWERS = {  # (gold, answer, rule, tolerance): each up to the answer cap
    "set-filler-then-gold": (PRIMES, _filled(lambda i: "x", PRIMES[1:-1]), "set", None),
    "set-all-near-a-wide-gold": (WIDE_GOLD, _filled(lambda i: f"{i % 1000}.5{i}"), "set", 0.1),
    "set-distinct-fractions": ("[1]", _filled(lambda i: f"{i}/{i + 7}"), "set", 1e9),
    "set-distinct-decimals": ("[0.5]", _filled(lambda i: f"0.4{i}"), "set", 0.1),
    "list-names-literal": (PRIMES, "[" + "a," * 49_990 + "]", "list", None),
    "set-f-strings-literal": (PRIMES, "[" + "f'{a}'," * 14_000 + "]", "set", None),
    "numeric-digits": ("42", "1" * 100_000, "numeric", None),
    # nested items (through ``ast``, so up to its 10,000-character cap): each answer item
    # agrees with the last gold item only, or is tried against every one, till the budget
    "nested-all-near-the-last": (
        NESTED_GOLD,
        _filled(lambda i: f"[999.5{i:06d}1]", "[0]]", 10_000, "["),
        "set",
        1e-3,
    ),
    "nested-no-first-leaf": (
        STRING_LED_GOLD,
        _filled(lambda i: f'["a",599.5{i:06d}1]', "[0]]", 10_000, "["),
        "set",
        1e-3,
    ),
    "nested-sets-near-the-last": (
        SETS_GOLD,
        _filled(lambda i: f"{{999.5{i:06d}1}}", "[0]]", 10_000, "["),
        "set",
        1e-3,
    ),
    "nested-deep-items": (
        "[1]",
        _filled(lambda i: "[" * 12 + "1" + "]" * 12, "0]", 10_000, "["),
        "set",
        None,
    ),
    "nested-deepest": ("[1]", "[" * 199 + "1" + "]" * 199, "list", None),
    "set-call-literal": (PRIMES, "set([" + _filled(lambda i: "1", "2])", 99_995), "set", None),
    "json-names-literal": ("[True, False]", "[" + _filled(lambda i: "true", "false]"), "set", None),
    "full-stop-decimals": ("[0.5]", _filled(lambda i: f"0.{i}."), "set", 0.1),
    "full-width-decimals": ("[0.5]", _filled(lambda i: f"\u2212{i}\uff0e5"), "set", 0.1),
    "bold-currency-decimals": ("[0.5]", _filled(lambda i: f"**${i}.5**"), "set", 0.1),
}


def test_answers_at_the_cap_are_scored_quickly() -> None:
    """Set matching re-parsed every item against every other (a 100,000-char answer cost
    6-9 s of host CPU) and every answer went through ``ast``; now 0.01-0.13 s each here."""
    for name, (gold, answer, match, tol) in HOSTILE_ANSWERS.items():
        assert len(answer) <= 100_000
        # the scorer's own cost: inside a full test run a collection of everything earlier
        # tests left alive can land in the window (0.6 s once in CI against 0.1 s here)
        gc.collect()
        gc.disable()
        try:
            t0 = time.process_time()
            answers_match(gold, answer, AnswerMatch(match), tol)
            spent = time.process_time() - t0
        finally:
            gc.enable()
        assert spent < 0.5, name


def test_an_answer_task_takes_no_tests_whose_feedback_would_show_its_answer():
    # public_tests on an answer task were judged against the gold answer, and the solver's
    # feedback turn printed "should be <gold answer>" for the next turn to copy
    from closedloop.tasks.format import TaskFormatError, parse_task

    base = {"id": "a", "kind": "answer", "instruction": "17 * 23?", "answer": "391"}
    assert parse_task(base).answer == "391"
    for extra in (
        {"public_tests": [{"input": "()", "output": "391"}]},
        {"private_tests": [{"input": "()", "output": "391"}]},
        {"checker": "def check(candidate):\n    pass\n"},
    ):
        with pytest.raises(TaskFormatError, match="judged by its answer alone"):
            parse_task({**base, **extra})
