"""Literal values as text: parse code, write values back as literals, and compare them.

Reads code as a syntax tree (``ast.parse``) and literals with ``ast.literal_eval``; nothing
is executed. ``value_key`` and ``value_text`` give one text for values equal as data (sets and
dicts in any order, ``1.0`` and ``True`` for ``1``, tuples as lists where asked): what the
contamination guard, the validator and the challenger compare.
"""

from __future__ import annotations

import ast
import math
import warnings
from typing import Any


def parse_code(code: str) -> ast.Module:
    """``ast.parse`` without the Syntax/DeprecationWarnings old code triggers (``"\\d"``).

    Raises ``SyntaxError`` (or ``ValueError`` for NUL bytes) like ``ast.parse``.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ast.parse(code)


def literal_text(value: Any) -> str | None:
    """``repr(value)`` when it reads back equal with ``ast.literal_eval``; else None
    (NaN, infinities, objects)."""
    try:
        text = repr(value)
        back = ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None
    return text if _same(back, value) else None


def canonical(text: str | None) -> str | None:
    """A canonical text of a returned value's literal: sets and dicts in sorted order, so
    equal values get equal texts whatever the hash seed; unparseable text comes back as is."""
    if text is None:
        return None
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return text
    return _canon(value)


def _canon(v: Any) -> str:
    if isinstance(v, set | frozenset):
        inner = ", ".join(sorted(_canon(x) for x in v))
        return f"{{{inner}}}" if v else "set()"
    if isinstance(v, dict):
        return "{" + ", ".join(sorted(f"{_canon(k)}: {_canon(x)}" for k, x in v.items())) + "}"
    if isinstance(v, list):
        return "[" + ", ".join(_canon(x) for x in v) + "]"
    if isinstance(v, tuple):
        items = [_canon(x) for x in v]
        return f"({items[0]},)" if len(items) == 1 else "(" + ", ".join(items) + ")"
    return repr(v)


def value_key(text: str | None, tuples_as_lists: bool = False) -> str | None:
    """A text equal for literals the verifier takes as equal values: ``canonical``'s sorted
    sets and dicts, and numbers as numbers (``1``, ``1.0`` and ``True`` alike; ``-0.0`` is
    ``0``), as ``plain_equal`` compares them; with ``tuples_as_lists``, ``(3, 1)`` as
    ``[3, 1]`` too. For telling inputs and outputs apart by value (a private input that is a
    public one written ``[3.0, 1, 2]``) and for the contamination guard's pairs (a held-out
    pair written with floats). A literal too deep to compare comes back as its text."""
    if text is None:
        return None
    try:
        return value_text(ast.literal_eval(text), tuples_as_lists)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return text


def value_text(value: Any, tuples_as_lists: bool = False) -> str:
    """``value_key`` of a decoded literal."""
    return _canon(_numbers_alike(value, tuples_as_lists))


def _numbers_alike(v: Any, lists: bool) -> Any:
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, float) and math.isfinite(v) and v == int(v):
        return int(v)
    if isinstance(v, complex) and v.imag == 0:
        return _numbers_alike(v.real, lists)
    if isinstance(v, list) or (lists and isinstance(v, tuple)):
        return [_numbers_alike(x, lists) for x in v]
    if isinstance(v, tuple):
        return tuple(_numbers_alike(x, lists) for x in v)
    # a set's items and a dict's keys stay tuples: a list is no key
    if isinstance(v, set | frozenset):
        return type(v)(_numbers_alike(x, False) for x in v)
    if isinstance(v, dict):
        return {_numbers_alike(k, False): _numbers_alike(x, lists) for k, x in v.items()}
    return v


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    return type(a) is type(b) and a == b
