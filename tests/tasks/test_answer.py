"""Answer tasks are scored in the trusted parent by parsing, never evaluating."""

from __future__ import annotations

import pytest

from closedloop.tasks.answer import AnswerMatch, answers_match, normalize_answer, score_answer
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
