"""Scoring answer tasks in the trusted parent: normalise, then compare with the task's rule.

The answer text comes from a model, so it is only ever *parsed*: numbers with ``float``/
``Fraction``, containers with ``ast.literal_eval``. Nothing is evaluated. In particular we do
not call reasoning-gym's own ``score_answer`` methods: several of them ``eval`` the answer
(e.g. ``number_sorting``, ``spiral_matrix``, ``n_queens``), and the default one gives partial
credit when the gold merely appears inside the answer. A task counts as solved only on a full
match, which for reasoning-gym tasks is exact match after trimming whitespace (score 1.0).

Rules (``Task.answer_match``):

- ``exact``: equal after stripping surrounding whitespace, quotes/backticks and a trailing
  full stop, and collapsing inner runs of whitespace;
- ``numeric``: both parse as numbers (``1,000``, ``3/4``, ``-2.5e3``, ``50%`` is not a number)
  and agree within ``float_tolerance`` (absolute) or a relative 1e-9 by default;
- ``list``: both parse as sequences (a Python literal, else comma/whitespace separated) of equal
  length whose items agree pairwise (numerically when both items are numbers);
- ``set``: as ``list``, ignoring order and repeats.
"""

from __future__ import annotations

import ast
import math
import re
from enum import StrEnum
from fractions import Fraction
from typing import Any

from closedloop.tasks.format import Task, TaskKind


class AnswerMatch(StrEnum):
    """How an answer is compared with the gold (the values of ``Task.answer_match``)."""

    EXACT = "exact"
    NUMERIC = "numeric"
    LIST = "list"
    SET = "set"


DEFAULT_REL_TOL = 1e-9
_MAX_ANSWER_CHARS = 100_000  # longer answers are wrong, not parsed


def normalize_answer(text: str) -> str:
    """Trim whitespace, wrapping quotes or backticks and a trailing full stop; collapse spaces."""
    s = text.strip()
    for _ in range(3):
        if s.endswith(".") and not s[-2:-1].isdigit():
            s = s[:-1].rstrip()
        if len(s) >= 2 and s[0] == s[-1] and s[0] in "`'\"":
            s = s[1:-1].strip()
    return re.sub(r"\s+", " ", s)


_NUM = re.compile(r"^[+-]?(\d{1,3}(,\d{3})+|\d+)?(\.\d*)?([eE][+-]?\d+)?$")


def parse_number(text: str) -> float | Fraction | None:
    """A number from text (``1,000``, ``-3/4``, ``2.5e-3``, ``\\frac{1}{2}`` is not), else None."""
    s = normalize_answer(text).replace(" ", "")
    if not s or len(s) > 100:
        return None
    if "/" in s:
        num, _, den = s.partition("/")
        a, b = parse_number(num), parse_number(den)
        if a is None or b is None or b == 0:
            return None
        return Fraction(a) / Fraction(b)
    if _NUM.match(s) and any(c.isdigit() for c in s):
        try:
            value = float(s.replace(",", ""))
        except ValueError:
            return None
        return value if math.isfinite(value) else None
    return None


def _numbers_close(a: float | Fraction, b: float | Fraction, tol: float | None) -> bool:
    fa, fb = float(a), float(b)
    if tol is not None:
        return abs(fa - fb) <= tol
    return math.isclose(fa, fb, rel_tol=DEFAULT_REL_TOL, abs_tol=0.0) or a == b


def _items(text: str) -> list[Any] | None:
    s = normalize_answer(text)
    try:
        value = ast.literal_eval(s)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        value = None
    if isinstance(value, list | tuple | set | frozenset):
        return list(value)
    s = s.strip("[](){}")
    parts = [p for p in re.split(r"[,\s;]+", s) if p]
    return parts if parts else ([] if s == "" else None)


def _item_key(item: Any) -> Any:
    if isinstance(item, bool):
        return ("b", item)
    if isinstance(item, int | float):
        return ("n", float(item))
    if isinstance(item, str):
        n = parse_number(item)
        return ("n", float(n)) if n is not None else ("s", normalize_answer(item))
    return ("o", repr(item))


def _items_equal(a: Any, b: Any, tol: float | None) -> bool:
    ka, kb = _item_key(a), _item_key(b)
    if ka[0] == kb[0] == "n":
        return _numbers_close(ka[1], kb[1], tol)
    return ka == kb


def answers_match(gold: str, answer: str, match: AnswerMatch, tol: float | None = None) -> bool:
    """Whether ``answer`` matches ``gold`` under the rule ``match``."""
    if len(answer) > _MAX_ANSWER_CHARS:
        return False
    if match is AnswerMatch.EXACT:
        return normalize_answer(gold) == normalize_answer(answer)
    if match is AnswerMatch.NUMERIC:
        g, a = parse_number(gold), parse_number(answer)
        if g is None or a is None:
            return normalize_answer(gold) == normalize_answer(answer)
        return _numbers_close(g, a, tol)
    g_items, a_items = _items(gold), _items(answer)
    if g_items is None or a_items is None:
        return False
    if match is AnswerMatch.LIST:
        return len(g_items) == len(a_items) and all(
            _items_equal(x, y, tol) for x, y in zip(g_items, a_items, strict=True)
        )
    # SET: every item of each side has an equal item on the other side
    return all(any(_items_equal(x, y, tol) for y in a_items) for x in g_items) and all(
        any(_items_equal(y, x, tol) for x in g_items) for y in a_items
    )


def score_answer(task: Task, answer_text: str | None) -> bool:
    """True when ``answer_text`` solves the answer task ``task`` (a full match only).

    Raises ``ValueError`` for a task that is not an answer task or has an unknown rule.
    """
    if task.kind is not TaskKind.ANSWER or task.answer is None:
        raise ValueError(f"task {task.id}: score_answer needs an answer task with a gold answer")
    if answer_text is None:
        return False
    try:
        match = AnswerMatch(task.answer_match)
    except ValueError:
        raise ValueError(
            f"task {task.id}: answer_match {task.answer_match!r} is not one of "
            f"{[m.value for m in AnswerMatch]}"
        ) from None
    return answers_match(task.answer, answer_text, match, task.float_tolerance)
