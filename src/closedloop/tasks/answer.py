"""Scoring answer tasks in the trusted parent: normalise, then compare with the task's rule.

The answer text comes from a model, so it is only ever *parsed*: numbers into exact values
(``int``/``Fraction``, never ``float``), containers with a small scanner or, for other short
literals, ``ast``. Nothing is evaluated. In particular we do not call reasoning-gym's own
``score_answer`` methods: several of them ``eval`` the answer (e.g. ``number_sorting``,
``spiral_matrix``, ``n_queens``), and the default one gives partial credit when the gold
merely appears inside the answer. A task counts as solved only on a full match, which for
reasoning-gym tasks is exact match after trimming whitespace (score 1.0).

Rules (``Task.answer_match``):

- ``exact``: equal after stripping surrounding whitespace, quotes/backticks and a trailing
  full stop, and collapsing inner runs of whitespace;
- ``numeric``: both parse as numbers and agree (below), else the ``exact`` rule applies. A
  number is a decimal of at most 100 characters (``1,000``, ``-2.5e3``, ``.5``; spaces are
  dropped) or one decimal over another (``3/4``), parsed exactly; ``50%``, ``nan``, ``inf``,
  ``0x10``, ``1/2/3`` and ``\\frac{1}{2}`` are not numbers, nor is a decimal whose magnitude is
  1e309 or more or, unless it is zero, under 1e-309 (``float`` would make the first infinite
  and the second inexact; the check looks at the written exponent, so ``1e999999999`` costs
  nothing). Two numbers agree when, computed exactly: with ``float_tolerance`` set,
  ``|answer - gold| <= float_tolerance`` (the tolerance's shortest decimal form, so ``1e-3``
  is 1/1000; 0 means equal, infinity anything); without it, they are equal when the gold is a whole number
  (``12``, ``2.0``, ``1e3``, ``6/3``), and within a relative 1e-9
  (``|a - g| <= 1e-9 * max(|a|, |g|)``) otherwise;
- ``list``: both parse as sequences of equal length whose items agree pairwise (as numbers
  under the ``numeric`` rule when both items are numbers, else equal; a nested container by
  its ``repr``). A sequence is a Python list, tuple or set literal (items in written order),
  else the text split at commas, semicolons and whitespace after stripping outer brackets.
  Flat literals of plain strings (no backslash), decimals and ``True``/``False``/``None`` are
  read at any length; other literals (nested containers, escapes, ``0x1f``, which is 31) only
  up to ``_MAX_LITERAL_CHARS``, past which the split applies. A number in a literal is read
  from its written text (``0.1`` is exactly 1/10); a string item that is a number counts as
  the number;
- ``set``: as ``list``, ignoring order and repeats: every item of each side agrees with some
  item of the other side.

Any failure to parse or compare an answer is a non-match, never an exception; an answer over
``_MAX_ANSWER_CHARS`` is wrong unread. Scoring costs O((n + m) log m) for n answer and m gold
items (each item is parsed once; exact keys are hashed, tolerance matches bisect the sorted
gold numbers).
"""

from __future__ import annotations

import ast
import math
import re
from bisect import bisect_left
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
_REL_TOL = Fraction(1, 10**9)  # DEFAULT_REL_TOL, exactly
_MAX_ANSWER_CHARS = 100_000  # longer answers are wrong, not parsed
_MAX_NUMBER_CHARS = 100  # longer texts are not numbers
_EXP_LIMIT = 309  # a non-zero number's magnitude lies in [1e-309, 1e309)
_TOO_BIG = 10**_EXP_LIMIT
# Literals the flat scanner cannot read go to ``ast`` only up to this size: parsing costs
# ~4-6 us a character in the worst shapes (f-strings, long tuples), ~60 ms at this cap.
_MAX_LITERAL_CHARS = 10_000

Number = int | Fraction
Key = tuple[str, Any]  # ("n", number) | ("s", text) | ("b", bool) | ("o", repr) | ("x", object)


def normalize_answer(text: str) -> str:
    """Trim whitespace, wrapping quotes or backticks and a trailing full stop; collapse spaces."""
    s = text.strip()
    for _ in range(3):
        before = s
        if s.endswith(".") and not s[-2:-1].isdigit():
            s = s[:-1].rstrip()
        if len(s) >= 2 and s[0] == s[-1] and s[0] in "`'\"":
            s = s[1:-1].strip()
        if s is before:
            break
    return _WS.sub(" ", s)


_WS = re.compile(r"\s+")
# sign, whole part (digits, or digits grouped by commas), fraction digits, exponent
_DEC = re.compile(r"([+-]?)(\d{1,3}(?:,\d{3})+|\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?")


def parse_number(text: str) -> Number | None:
    """The exact number in ``text`` (``1,000``, ``-3/4``, ``2.5e-3``; ``\\frac{1}{2}`` is not
    one), else None. Whole numbers come back as ``int``, others as ``Fraction``."""
    return _number(normalize_answer(text).replace(" ", ""))


def _number(s: str) -> Number | None:
    """``parse_number`` of an already normalised text without spaces."""
    if not s or len(s) > _MAX_NUMBER_CHARS:
        return None
    if s.isdigit() and s.isascii():
        return int(s)
    if "/" in s:
        num, _, den = s.partition("/")
        a, b = _decimal(num), _decimal(den)  # one slash only: "1/2/3" is not a number
        if a is None or b is None or b == 0:
            return None
        q = Fraction(a, b) if type(a) is int and type(b) is int else Fraction(a) / b
        return q.numerator if q.denominator == 1 else q
    return _decimal(s)


def _decimal(s: str) -> Number | None:
    """A decimal's exact value, or None. The magnitude is checked from the digit count and the
    written exponent before any power of ten is built, so ``1e999999999`` is cheap."""
    m = _DEC.fullmatch(s)
    if m is None:
        return None
    sign, whole, frac, exp = m.groups()
    if "," in whole:
        whole = whole.replace(",", "")
    frac = frac or ""
    if not whole and not frac:  # "", ".", "e5", "-"
        return None
    digits = (whole + frac).lstrip("0")
    if not digits:
        return 0
    e = (int(exp) if exp else 0) - len(frac)
    lead = len(digits) - 1 + e  # 10**lead <= |value| < 10**(lead + 1)
    if not -_EXP_LIMIT <= lead < _EXP_LIMIT:
        return None
    n = -int(digits) if sign == "-" else int(digits)
    if e >= 0:
        return n * 10**e
    q = Fraction(n, 10**-e)
    return q.numerator if q.denominator == 1 else q


def _tolerance(tol: float | None) -> Fraction | float | None:
    """``float_tolerance`` as an exact value: its shortest decimal form (``1e-3`` is 1/1000).
    An infinite one stays a float: every number is within it."""
    if tol is None:
        return None
    t = float(tol)
    return Fraction(repr(t)) if math.isfinite(t) else t


def _close(gold: Number, answer: Number, tol: Fraction | float | None) -> bool:
    """Whether ``answer`` agrees with ``gold`` (see the module docstring), exactly."""
    if gold == answer:
        return True
    if tol is not None:
        return abs(gold - answer) <= tol
    if type(gold) is int:  # a whole-number gold needs the very number
        return False
    return abs(gold - answer) <= _REL_TOL * max(abs(gold), abs(answer))


# -- sequences --------------------------------------------------------------------------------

_STR = r"'[^'\\]*+'|\"[^\"\\]*+\""  # no backslash: the text between the quotes is the value
_NUMTOK = r"[+-]?(?:\d++(?:\.\d*+)?+|\.\d++)(?:[eE][+-]?\d++)?+"
_ATOM_RE = rf"{_STR}|{_NUMTOK}|True|False|None"
_ATOM = re.compile(rf"({_STR})|({_NUMTOK})|(True|False|None)")
# atoms separated by commas, an optional trailing comma; possessive, so never backtracking
_FLAT = re.compile(rf" ?(?>(?:{_ATOM_RE}) ?, ?)*+(?>(?:{_ATOM_RE}) ?)?+")
_PAIRS = {"[": "]", "(": ")", "{": "}"}
_BASES = ("x", "X", "o", "O", "b", "B")


def _text_key(text: str) -> Key:
    s = normalize_answer(text)
    n = _number(s.replace(" ", ""))
    return ("s", s) if n is None else ("n", n)


def _flat_keys(s: str, count: int | None) -> list[Key] | None:
    """Keys of a flat list/tuple/set literal of plain strings, decimals and
    ``True``/``False``/``None`` (any length, one regex pass), or None for any other text."""
    opener = s[0] if len(s) >= 2 and _PAIRS.get(s[0]) == s[-1] else ""
    inner = s[1:-1] if opener else s
    if not _FLAT.fullmatch(inner):
        return None
    atoms = _ATOM.findall(inner)
    if len(atoms) == 1 and opener in ("(", "") and not inner.rstrip().endswith(","):
        return None  # "(1)" and "1" are not containers
    _check_count(len(atoms), count)
    memo: dict[tuple[str, str, str], Key] = {}
    keys = []
    for atom in atoms:
        key = memo.get(atom)
        if key is None:
            text, num, name = atom
            if text:
                key = _text_key(text[1:-1])
            elif num:
                n = _number(num)
                key = ("s", num) if n is None else ("n", n)
            else:
                key = ("b", name == "True") if name != "None" else ("o", "None")
            memo[atom] = key
        keys.append(key)
    return keys


def _value_key(value: Any) -> Key:
    """The key of a value ``ast.literal_eval`` gave (not a top-level number literal)."""
    if isinstance(value, bool):
        return ("b", value)
    if isinstance(value, str):
        return _text_key(value)
    if isinstance(value, int) and abs(value) < _TOO_BIG:
        return ("n", value)
    try:
        return ("o", repr(value))
    except (ValueError, RecursionError, MemoryError):  # e.g. an int too long to print
        return ("x", object())  # agrees with nothing


def _literal_keys(s: str, count: int | None) -> list[Key] | None:
    """Keys of a short list/tuple/set literal through ``ast`` (never evaluated), or None.
    A number item is read from its written text, exactly."""
    try:
        body = ast.parse(s, mode="eval").body
    except (SyntaxError, ValueError, TypeError, RecursionError, MemoryError, OverflowError):
        return None
    if (
        isinstance(body, ast.Call)
        and getattr(body.func, "id", None) == "set"
        and not body.args
        and not body.keywords
    ):
        return []
    if not isinstance(body, ast.List | ast.Tuple | ast.Set):
        return None
    raw = s.encode("utf-8", "surrogatepass")
    keys = []
    for node in body.elts:
        value = _signed_number(node)
        if value is None:
            try:
                keys.append(_value_key(ast.literal_eval(node)))
            except (ValueError, TypeError, SyntaxError, RecursionError, MemoryError):
                return None  # not a literal: the whole text is not one
            continue
        if node.lineno != 1 or node.end_lineno != 1:  # cannot happen: the text is one line
            keys.append(_value_key(value))
            continue
        text = raw[node.col_offset : node.end_col_offset].decode("utf-8", "replace")
        text = text.replace(" ", "").replace("_", "")
        n = _number(text)
        if n is not None:
            keys.append(("n", n))
        elif text.lstrip("+-")[1:2] in _BASES and abs(value) < _TOO_BIG:  # 0x1f, 0o17, 0b11
            keys.append(("n", value))
        else:
            keys.append(("s", text))
    _check_count(len(keys), count)  # only now: a failed literal falls back to the split
    return keys


def _signed_number(node: ast.expr) -> int | float | None:
    """The value of an int or float literal, signed or not (not a bool or complex), or None."""
    sign = 1
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.UAdd | ast.USub):
        sign = -1 if isinstance(node.op, ast.USub) else 1
        node = node.operand
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        return sign * node.value
    return None


class _WrongCount(Exception):
    """A sequence whose item count rules it out, found before its items are read."""


def _check_count(n: int, count: int | None) -> None:
    if count is not None and n != count:
        raise _WrongCount


def _keys(text: str, count: int | None = None) -> list[Key] | None:
    """The keys of the items of the sequence in ``text``, or None if it is not one or (given
    ``count``) has another number of items: then no item is read."""
    try:
        return _sequence_keys(text, count)
    except _WrongCount:
        return None


def _sequence_keys(text: str, count: int | None) -> list[Key] | None:
    s = normalize_answer(text)
    keys = _flat_keys(s, count)
    if keys is None and len(s) <= _MAX_LITERAL_CHARS:
        keys = _literal_keys(s, count)
    if keys is not None:
        return keys
    s = s.strip("[](){}")
    parts = [p for p in _SEP.split(s) if p]
    _check_count(len(parts), count)
    if not parts:
        return [] if s == "" else None
    memo: dict[str, Key] = {}
    out = []
    for p in parts:
        key = memo.get(p)
        if key is None:
            key = memo[p] = _text_key(p)
        out.append(key)
    return out


_SEP = re.compile(r"[,\s;]+")


def _keys_agree(g: Key, a: Key, tol: Fraction | float | None) -> bool:
    if g[0] == a[0] == "n":
        return _close(g[1], a[1], tol)
    return g == a


def _approx(v: Number) -> float:
    """The float nearest ``v`` (correctly rounded, so never out of order), or an infinity."""
    try:
        return float(v) if type(v) is int else v.numerator / v.denominator
    except OverflowError:
        return math.inf if v > 0 else -math.inf


_SLACK = 1e-15  # relative: several times the float rounding (2**-53) of the few steps below


def _agree(g: tuple[float, Number], a: tuple[float, Number], tol: Any, tol_f: float) -> bool:
    """``_close`` of two (approximation, value) pairs: decided with floats when they are clear
    of the boundary by far more than their rounding (or an infinity is involved: then never),
    else exactly."""
    fg, fa = g[0], a[0]
    d = abs(fg - fa)
    if tol is not None:
        if tol_f == math.inf:
            return True
        bound = tol_f
    elif type(g[1]) is int:
        return g[1] == a[1]
    else:
        bound = 1e-9 * max(abs(fg), abs(fa))
    slack = _SLACK * (abs(fg) + abs(fa) + d + bound) + 1e-300
    if d + slack < bound:
        return True
    if d - slack > bound:
        return False
    return _close(g[1], a[1], tol)  # near the boundary, or an infinity: exactly


def _numbers(keys: list[Key]) -> dict[tuple[int, int], tuple[float, Number]]:
    """The distinct numbers among ``keys``, by (numerator, denominator) (cheap to hash, unlike
    a ``Fraction``), each as (float approximation, exact value)."""
    out: dict[tuple[int, int], tuple[float, Number]] = {}
    for kind, v in keys:
        if kind == "n":
            nk = (v, 1) if type(v) is int else (v.numerator, v.denominator)
            if nk not in out:
                out[nk] = (_approx(v), v)
    return out


def _sets_agree(gold: list[Key], answer: list[Key], tol: Fraction | float | None) -> bool:
    """Every item of each side agrees with some item of the other side, in
    O((n + m) log m): non-numbers and numbers that must be equal by hashing; the rest through
    the nearest numbers on either side (the numbers agreeing with one number form an interval
    around it, so the nearest ones decide). Numbers are ordered as (float, exact value)
    pairs, which is their exact order, compared in C unless the floats tie."""
    if {k for k in gold if k[0] != "n"} != {k for k in answer if k[0] != "n"}:
        return False
    g_nums, a_nums = _numbers(gold), _numbers(answer)
    if tol is None:  # whole-number golds need the very number; the rest are relative
        exact = {nk for nk in g_nums if nk[1] == 1}
    elif tol == 0:
        exact = set(g_nums)
    else:
        exact = set()
    if not exact <= a_nums.keys():
        return False
    near = sorted(rec for nk, rec in g_nums.items() if nk not in exact)
    if not near:
        return a_nums.keys() <= exact
    tol_f = float(tol) if tol is not None else 0.0
    k = len(near)
    least: list[Any] = [None] * (k + 1)  # per gap (near[i-1], near[i]]: least answer
    most: list[Any] = [None] * (k + 1)  # and greatest answer
    for nk, y in a_nums.items():
        i = bisect_left(near, y)
        if not (
            nk in exact
            or (i < k and _agree(near[i], y, tol, tol_f))
            or (i > 0 and _agree(near[i - 1], y, tol, tol_f))
        ):
            return False
        if least[i] is None or y < least[i]:
            least[i] = y
        if most[i] is None or y > most[i]:
            most[i] = y
    for t in range(k - 1, -1, -1):  # least answer in gap t or after it
        if least[t] is None:
            least[t] = least[t + 1]
    below = None  # greatest answer <= near[j]
    for j in range(k):
        if most[j] is not None:
            below = most[j]
        above = least[j + 1]  # least answer > near[j]
        if not (
            (below is not None and _agree(near[j], below, tol, tol_f))
            or (above is not None and _agree(near[j], above, tol, tol_f))
        ):
            return False
    return True


def answers_match(gold: str, answer: str, match: AnswerMatch, tol: float | None = None) -> bool:
    """Whether ``answer`` matches ``gold`` under the rule ``match``. Never raises for any
    answer: whatever cannot be parsed or compared is a non-match."""
    try:
        return _answers_match(gold, answer, match, tol)
    except Exception:  # a bug must not turn a candidate's text into an unscored verdict
        return False


def _answers_match(gold: str, answer: str, match: AnswerMatch, tol: float | None) -> bool:
    if len(answer) > _MAX_ANSWER_CHARS:
        return False
    if match is AnswerMatch.EXACT:
        return normalize_answer(gold) == normalize_answer(answer)
    exact_tol = _tolerance(tol)
    if match is AnswerMatch.NUMERIC:
        g, a = parse_number(gold), parse_number(answer)
        if g is None or a is None:
            return normalize_answer(gold) == normalize_answer(answer)
        return _close(g, a, exact_tol)
    g_keys = _keys(gold)
    if g_keys is None:
        return False
    if match is AnswerMatch.LIST:
        a_keys = _keys(answer, len(g_keys))
        return (
            a_keys is not None
            and len(g_keys) == len(a_keys)
            and all(_keys_agree(x, y, exact_tol) for x, y in zip(g_keys, a_keys, strict=True))
        )
    a_keys = _keys(answer)
    return a_keys is not None and _sets_agree(g_keys, a_keys, exact_tol)


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
