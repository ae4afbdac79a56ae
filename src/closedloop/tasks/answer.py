"""Scoring answer tasks in the trusted parent: normalise, then compare with the task's rule.

The answer text comes from a model, so it is only ever *parsed*: numbers into exact values
(``int``/``Fraction``, never ``float``), containers with a small scanner or, for other short
literals, ``ast``. Nothing is evaluated. In particular we do not call reasoning-gym's own
``score_answer`` methods: several of them ``eval`` the answer (e.g. ``number_sorting``,
``spiral_matrix``, ``n_queens``), and the default one gives partial credit when the gold
merely appears inside the answer. A task counts as solved only on a full match, which for
reasoning-gym tasks is exact match after trimming whitespace (score 1.0).

Rules (``Task.answer_match``):

- ``exact``: equal after stripping surrounding whitespace, quotes/backticks, markdown bold
  (``**Paris**``) and a trailing full stop, and collapsing inner runs of whitespace. A full
  stop after a digit is kept when the text with it is a number (``42.``, ``3.``: gold ``3.``
  needs ``3.``), dropped when only the text without it is one (``3.14.``, ``-2.5.``,
  ``1e5.``: a number already written whole, then a full stop);
- ``numeric``: both parse as numbers and agree (below), else the ``exact`` rule applies. A
  number is a decimal of at most 100 characters (``1,000``, ``1_000``, ``-2.5e3``, ``.5``;
  spaces are dropped; commas or underscores only group the whole part by threes, so ``1_0``
  and ``3,5`` are not numbers) or one decimal over another (``3/4``), parsed exactly. A
  currency sign may lead (``$42``, ``-$5``, ``$-5``; so ``$4.2`` is 4.2). The minus sign
  U+2212 (``−5``) and the full-width ``＋ － ． ， ／`` are their ASCII forms; digits are any
  Unicode decimal digits, read by their value as ``int`` does (``１２`` and ``٤٢`` are 12
  and 42). Dashes (U+2010-2015) are not minus signs (they also write ranges and bullets),
  nor is ``10²`` 102. ``50%``, ``nan``, ``inf``, ``0x10``, ``1/2/3``, ``$42$`` and
  ``\\frac{1}{2}`` are not numbers, nor is a decimal whose magnitude is 1e309 or more or,
  unless it is zero, under 1e-309 (``float`` would make the first infinite and the second
  inexact; the check looks at the written exponent, so ``1e999999999`` costs nothing). Two
  numbers agree when, computed exactly: with ``float_tolerance`` set,
  ``|answer - gold| <= float_tolerance`` (the tolerance's shortest decimal form, so ``1e-3``
  is 1/1000; 0 means equal, infinity anything); without it, they are equal when the gold is
  a whole number (``12``, ``2.0``, ``1e3``, ``6/3``), and within a relative 1e-9
  (``|a - g| <= 1e-9 * max(|a|, |g|)``) otherwise;
- ``list``: both parse as sequences of equal length whose items agree pairwise: as numbers
  under the ``numeric`` rule when both items are numbers; nested lists and tuples (either
  way: ``(1, 2)`` agrees with ``[1, 2]``) of equal length item by item with these same
  rules, nested sets under the ``set`` rule, down to ``_MAX_DEPTH`` levels below the top
  (deeper containers, and other literals such as dicts, by their ``repr``); other items when
  equal. A sequence is a Python list, tuple or set literal (items in written order), also
  wrapped in ``set(...)`` or ``frozenset(...)``, else the text split at commas, semicolons
  and whitespace after stripping outer brackets (so nesting is lost). Flat literals of plain
  strings (no backslash), decimals and bare names are read at any length; other literals
  (nested containers, escapes, ``0x1f``, which is 31) only up to ``_MAX_LITERAL_CHARS``, past
  which the split applies. A number in a literal is read from its written text (``0.1`` is
  exactly 1/10; a quotient of two, ``1/3``, is one number); a string item that is a number
  counts as the number. JSON's bare ``true``,
  ``false`` and ``null`` in an answer are ``True``, ``False`` and ``None`` when the gold has
  such an item (``[true, false]`` matches ``[True, False]``), else text, as unquoted words
  are (``[true]`` still matches ``['true']``; a quoted ``'True'`` is never ``True``);
- ``set``: as ``list``, ignoring order and repeats: every item of each side agrees with some
  item of the other side (nested lists keep their order: ``[[1, 2]]`` is not ``[[2, 1]]``).

Any failure to parse or compare an answer is a non-match, never an exception; an answer over
``_MAX_ANSWER_CHARS`` is wrong unread. Scoring costs O((n + m) log m) for n answer and m gold
items (each item is parsed once; exact keys are hashed, tolerance matches bisect the sorted
gold numbers). Nested items of a set that equal no item of the other side are tried against
the other side's items whose first leaves agree (``_LeadIndex``), within
``_NESTED_BUDGET`` units of work, past which the answer is a non-match (a correct answer
needs about one try per such item, unless many of its items share their first leaf).
"""

from __future__ import annotations

import ast
import math
import re
from bisect import bisect_left, bisect_right
from enum import StrEnum
from fractions import Fraction
from functools import lru_cache
from itertools import chain
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
# ("n", number) | ("s", text) | ("b", bool) | ("o", repr) | ("x", object): agrees with nothing
# | ("l", tuple of keys): a nested list or tuple | ("u", frozenset of keys): a nested set
Key = tuple[str, Any]


def normalize_answer(text: str) -> str:
    """Trim whitespace, wrapping quotes, backticks or ``**`` and a trailing full stop; collapse
    spaces. A full stop after a digit is kept when the text with it is a number (``42.``,
    ``3.``), dropped when only the text without it is one (``3.14.``, ``1e5.``)."""
    s = text.strip()
    for _ in range(4):
        before = s
        if s.endswith(".") and (not s[-2:-1].isdigit() or _full_stop_after_number(s)):
            s = s[:-1].rstrip()
        if len(s) >= 2 and s[0] == s[-1] and s[0] in "`'\"":
            s = s[1:-1].strip()
        if len(s) > 4 and s.startswith("**") and s.endswith("**"):  # markdown bold
            s = s[2:-2].strip()
        if s is before:
            break
    return _WS.sub(" ", s)


def _full_stop_after_number(s: str) -> bool:
    """Whether the ``.`` ending ``s`` (after a digit) is punctuation: ``s`` is not a number,
    but ``s`` without it is (``3.14.``, ``1e5.``); so ``42.`` and ``3.`` keep theirs. The rest
    being a number, ``s`` is one unless the rest's last decimal has a point or an exponent."""
    if len(s) > 4 * _MAX_NUMBER_CHARS:  # spaces aside, not a number
        return False
    rest = _WS.sub("", s[:-1])
    last = rest.translate(_NUMBER_CHARS).rpartition("/")[2]
    return ("." in last or "e" in last or "E" in last) and _number(rest) is not None


_WS = re.compile(r"\s+")
# sign, whole part (digits, or digits grouped by three with commas or with underscores),
# fraction digits, exponent. ``\d`` is any Unicode decimal digit (``１２``, ``٤٢``): ``int``
# reads each by its value.
_DEC = re.compile(
    r"([+-]?)(\d{1,3}(?:,\d{3})+|\d{1,3}(?:_\d{3})+|\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?"
)
# the typographic minus and the full-width forms of the signs and separators a number uses
# (their NFKC forms; not NFKC itself, which also makes ``10²`` into ``102``)
_NUMBER_CHARS = str.maketrans(
    {"\u2212": "-", "\uff0b": "+", "\uff0d": "-", "\uff0e": ".", "\uff0c": ",", "\uff0f": "/"}
)


def parse_number(text: str) -> Number | None:
    """The exact number in ``text`` (``1,000``, ``-3/4``, ``2.5e-3``; ``\\frac{1}{2}`` is not
    one), else None. Whole numbers come back as ``int``, others as ``Fraction``."""
    return _number(normalize_answer(text).replace(" ", ""))


def _number(s: str) -> Number | None:
    """``parse_number`` of an already normalised text without spaces."""
    if not s or len(s) > _MAX_NUMBER_CHARS:
        return None
    return _read_number(s)


@lru_cache(maxsize=64)  # a list item ending in a full stop is read twice: "0.5." and "0.5"
def _read_number(s: str) -> Number | None:
    if s.isdigit() and s.isascii():
        return int(s)
    if not s.isascii():
        s = s.translate(_NUMBER_CHARS)
    if s[:1] == "$":  # a currency sign before the digits: $42, $-5, -$5
        s = s[1:]
    elif s[1:2] == "$" and s[:1] in "+-":
        s = s[:1] + s[2:]
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
    if "," in whole or "_" in whole:
        whole = whole.replace(",", "").replace("_", "")
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
_NAME_RE = r"True|False|None|true|false|null"
_ATOM_RE = rf"{_STR}|{_NUMTOK}|{_NAME_RE}"
_ATOM = re.compile(rf"({_STR})|({_NUMTOK})|({_NAME_RE})")
# atoms separated by commas, an optional trailing comma; possessive, so never backtracking
_FLAT = re.compile(rf" ?(?>(?:{_ATOM_RE}) ?, ?)*+(?>(?:{_ATOM_RE}) ?)?+")
_PAIRS = {"[": "]", "(": ")", "{": "}"}
_BASES = ("x", "X", "o", "O", "b", "B")
_MAX_DEPTH = 8  # containers nested deeper than this below the top are compared by ``repr``
_PY_NAMES: dict[str, Key] = {"True": ("b", True), "False": ("b", False), "None": ("o", "None")}
_JSON_NAMES: dict[str, Key] = {"true": ("b", True), "false": ("b", False), "null": ("o", "None")}
_NESTED = ("l", "u")  # key kinds of nested containers: ("l", items) ordered, ("u", items) a set
_SET_CALLS = ("set(", "frozenset(")


def _text_key(text: str) -> Key:
    s = normalize_answer(text)
    n = _number(s.replace(" ", ""))
    return ("s", s) if n is None else ("n", n)


def _name_key(name: str, json: bool) -> Key:
    """The key of a bare ``True``/``False``/``None``, or of JSON's ``true``/``false``/``null``:
    these are the constants only with ``json`` (the gold has such an item), else text."""
    key = _PY_NAMES.get(name)
    if key is None:
        key = _JSON_NAMES[name] if json else ("s", name)
    return key


def _flat_keys(s: str, count: int | None, json: bool) -> list[Key] | None:
    """Keys of a flat list/tuple/set literal of plain strings, decimals and bare names
    (``True``, ``true``, ...) (any length, one regex pass), or None for any other text."""
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
                key = _name_key(name, json)
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


class _NotLiteral(Exception):
    """An item that is not a literal: the whole text is not one."""


def _literal_keys(s: str, count: int | None, json: bool) -> list[Key] | None:
    """Keys of a short list/tuple/set literal through ``ast`` (never evaluated), or None.
    A number item is read from its written text, exactly; a nested list, tuple or set item
    is read item by item, down to ``_MAX_DEPTH`` levels."""
    try:
        body = ast.parse(s, mode="eval").body
    except (SyntaxError, ValueError, TypeError, RecursionError, MemoryError, OverflowError):
        return None
    if not isinstance(body, ast.List | ast.Tuple | ast.Set):
        return None
    raw = s.encode("utf-8", "surrogatepass")
    try:
        keys = [_node_key(node, raw, 1, json) for node in body.elts]
    except _NotLiteral:
        return None
    _check_count(len(keys), count)  # only now: a failed literal falls back to the split
    return keys


def _node_key(node: ast.expr, raw: bytes, depth: int, json: bool) -> Key:
    """The key of one item of a literal, ``depth`` levels below the top; raises
    ``_NotLiteral`` for an item that is not a literal."""
    value = _signed_number(node)
    if value is not None:
        return _number_node_key(node, value, raw)
    if (
        isinstance(node, ast.BinOp)
        and isinstance(node.op, ast.Div)
        and _signed_number(node.left) is not None
        and _signed_number(node.right) is not None
    ):  # a quotient of two number literals (3/4) is a number, as everywhere
        text = _node_text(node, raw)
        n = _number(text)
        return ("s", text) if n is None else ("n", n)
    if isinstance(node, ast.List | ast.Tuple | ast.Set) and depth <= _MAX_DEPTH:
        items = tuple(_node_key(e, raw, depth + 1, json) for e in node.elts)
        return ("u", frozenset(items)) if isinstance(node, ast.Set) else ("l", items)
    if isinstance(node, ast.Name) and (node.id in _JSON_NAMES or node.id in _PY_NAMES):
        return _name_key(node.id, json)
    try:
        return _value_key(ast.literal_eval(node))
    except (ValueError, TypeError, SyntaxError, RecursionError, MemoryError):
        raise _NotLiteral from None


def _number_node_key(node: ast.expr, value: int | float, raw: bytes) -> Key:
    """The key of a number literal, read from its written text (``0.1`` is exactly 1/10)."""
    text = _node_text(node, raw).replace("_", "")
    n = _number(text)
    if n is not None:
        return ("n", n)
    if text.lstrip("+-")[1:2] in _BASES and abs(value) < _TOO_BIG:  # 0x1f, 0o17, 0b11
        return ("n", value)
    return ("s", text)


def _node_text(node: ast.expr, raw: bytes) -> str:
    """The written text of a node of a one-line literal (``raw``, UTF-8), spaces dropped."""
    if node.lineno != 1 or node.end_lineno != 1:  # cannot happen: the text is normalised
        raise _NotLiteral
    text = raw[node.col_offset : node.end_col_offset].decode("utf-8", "replace")
    return text.replace(" ", "")


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


def _keys(text: str, count: int | None = None, json: bool = False) -> list[Key] | None:
    """The keys of the items of the sequence in ``text``, or None if it is not one or (given
    ``count``) has another number of items: then no item is read. With ``json``, bare
    ``true``/``false``/``null`` are the constants."""
    try:
        return _sequence_keys(text, count, json)
    except _WrongCount:
        return None


def _sequence_keys(text: str, count: int | None, json: bool) -> list[Key] | None:
    s = normalize_answer(text)
    for call in _SET_CALLS:  # set([1, 2]), frozenset({1, 2}), set(): the container inside
        if s.startswith(call) and s.endswith(")"):
            inner = s[len(call) : -1].strip()
            if not inner or _PAIRS.get(inner[0]) == inner[-1]:
                s = inner
            break
    keys = _flat_keys(s, count, json)
    if keys is None and len(s) <= _MAX_LITERAL_CHARS:
        keys = _literal_keys(s, count, json)
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
            if json and (p in _JSON_NAMES or p in _PY_NAMES):
                key = _name_key(p, json)
            else:
                key = _text_key(p)
            memo[p] = key
        out.append(key)
    return out


_SEP = re.compile(r"[,\s;]+")


def _has_constant(keys: Any) -> bool:
    """Whether ``keys`` holds a True, False or None item, at any depth."""
    return any(
        k[0] == "b" or k == ("o", "None") or (k[0] in _NESTED and _has_constant(k[1])) for k in keys
    )


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


# Work allowed for matching the nested items of sets that are not equal to an item of the
# other side (a unit is one candidate tried or one item compared, ~1 us; ``_SET_COST`` more
# for a nested set); past it the answer is a non-match. Candidates are found by first
# leaf (``_LeadIndex``), so a correct answer needs few: one per item, unless many items share
# their first leaf (``[["a", 0.5], ["a", 0.7], ...]``: each is tried against all).
_NESTED_BUDGET = 100_000
_SET_COST = 10


class _TooCostly(Exception):
    """Matching nested set items took more than ``_NESTED_BUDGET``."""


class _Comparer:
    """Compares keys under one tolerance, nested ones item by item, within a work budget."""

    def __init__(self, tol: Fraction | float | None) -> None:
        self.tol = tol
        self.tol_f = float(tol) if tol is not None else 0.0
        self.budget = _NESTED_BUDGET

    def _spend(self, units: int) -> None:
        self.budget -= units
        if self.budget < 0:
            raise _TooCostly

    def agree(self, g: Key, a: Key) -> bool:
        """Whether answer item ``a`` agrees with gold item ``g``."""
        kind = g[0]
        if kind != a[0]:
            return False
        if kind == "n":
            x, y = g[1], a[1]
            if type(x) is int and type(y) is int:
                return x == y or (self.tol is not None and abs(x - y) <= self.tol)
            return _agree((_approx(x), x), (_approx(y), y), self.tol, self.tol_f)
        if kind not in _NESTED:
            return g == a
        gi, ai = g[1], a[1]
        if kind == "u":
            self._spend(_SET_COST + len(gi) + len(ai))  # a set's overhead, ~10 units
            return gi == ai or self.sets_agree(list(gi), list(ai))
        if len(gi) != len(ai):
            return False
        for x, y in zip(gi, ai, strict=True):
            self._spend(1)
            if not self.agree(x, y):
                return False
        return True

    def sets_agree(self, gold: list[Key], answer: list[Key]) -> bool:
        """Every item of each side agrees with some item of the other side. Numbers and
        other flat items in O((n + m) log m) (``_flat_sets_agree``); nested items equal to
        one of the other side by hashing, the rest against the items of the other side whose
        first leaves agree (``_LeadIndex``), within the budget."""
        if not _flat_sets_agree(gold, answer, self.tol, self.tol_f):
            return False
        g_nested = list(dict.fromkeys(k for k in gold if k[0] in _NESTED))
        a_nested = list(dict.fromkeys(k for k in answer if k[0] in _NESTED))
        if not g_nested or not a_nested:
            return not g_nested and not a_nested
        g_set, a_set = set(g_nested), set(a_nested)
        a_todo = [y for y in a_nested if y not in g_set]
        g_todo = [x for x in g_nested if x not in a_set]
        if a_todo:
            index = _LeadIndex(g_nested, self)
            if not all(any(self._try(x, y) for x in index.near(y)) for y in a_todo):
                return False
        if g_todo:
            index = _LeadIndex(a_nested, self)
            if not all(any(self._try(x, y) for y in index.near(x)) for x in g_todo):
                return False
        return True

    def _try(self, g: Key, a: Key) -> bool:
        self._spend(1)
        return self.agree(g, a)


def _lead(key: Key) -> float | Key | None:
    """The first leaf of a nested item along first items (``[[0.5, 1], 2]``: 0.5): a
    number as its nearest float, another flat item as its key; None when there is none (a set
    on the way, an empty list) or it is a number past the float range."""
    while key[0] == "l" and key[1]:
        key = key[1][0]
    if key[0] in _NESTED:
        return None
    if key[0] != "n":
        return key
    f = _approx(key[1])
    return f if math.isfinite(f) else None


class _LeadIndex:
    """The nested items of one side of a set, by first leaf (``_lead``). Two items agree only
    if their first leaves do: a non-number only with the very same, a number only with those
    in a window around it: ``tol``, or under the relative rule 1e-9 of the larger magnitude,
    which is at most 1.000000001e-9 of either (widened for float rounding)."""

    def __init__(self, items: list[Key], cmp: _Comparer) -> None:
        self.items = items
        self.width = None if cmp.tol is None else cmp.tol_f  # None: relative
        pts: list[tuple[float, int, Key]] = []
        self.by_leaf: dict[Key, list[Key]] = {}
        self.rest: list[Key] = []  # items without a first leaf: candidates for every item
        for item in items:
            leaf = _lead(item)
            if leaf is None:
                self.rest.append(item)
            elif type(leaf) is float:
                pts.append((leaf, len(pts), item))
            else:
                self.by_leaf.setdefault(leaf, []).append(item)
        pts.sort(key=lambda p: p[:2])
        self.leads = [p[0] for p in pts]
        self.sorted = [p[2] for p in pts]

    def near(self, item: Key) -> Any:
        """The items that may agree with ``item`` (all, if it has no first leaf)."""
        f = _lead(item)
        if f is None or self.width == math.inf:
            return iter(self.items)
        if type(f) is not float:
            return chain(self.by_leaf.get(f, ()), self.rest)
        w = self.width if self.width is not None else 1.1e-9 * abs(f)
        w += 1e-12 * (abs(f) + w) + 1e-300
        lo, hi = bisect_left(self.leads, f - w), bisect_right(self.leads, f + w)
        return chain(map(self.sorted.__getitem__, range(lo, hi)), self.rest)


def _flat_sets_agree(gold: list[Key], answer: list[Key], tol: Any, tol_f: float) -> bool:
    """The set rule for the items that are not nested containers, in O((n + m) log m):
    non-numbers and numbers that must be equal by hashing; the rest through the nearest
    numbers on either side (the numbers agreeing with one number form an interval around it,
    so the nearest ones decide). Numbers are ordered as (float, exact value) pairs, which is
    their exact order, compared in C unless the floats tie."""
    skip = ("n", *_NESTED)
    if {k for k in gold if k[0] not in skip} != {k for k in answer if k[0] not in skip}:
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
    json = _has_constant(g_keys)
    cmp = _Comparer(exact_tol)
    try:
        if match is AnswerMatch.LIST:
            a_keys = _keys(answer, len(g_keys), json)
            return (
                a_keys is not None
                and len(g_keys) == len(a_keys)
                and all(cmp.agree(x, y) for x, y in zip(g_keys, a_keys, strict=True))
            )
        a_keys = _keys(answer, None, json)
        return a_keys is not None and cmp.sets_agree(g_keys, a_keys)
    except _TooCostly:
        return False


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
