"""Inputs a task can be called on: its own test inputs, literal calls in its checker, and
shared probe inputs generated from the argument types.

Everything here reads code as a syntax tree (``ast.parse``) and literals with
``ast.literal_eval``; nothing is executed. Probe inputs depend only on the *type schema* of a
task's arguments (e.g. ``(list[int], int)``), never on the task itself, so two tasks with the
same signature are probed on the same inputs and their behaviour can be compared.

Does not cover: calls with keyword arguments, starred arguments or computed arguments in a
checker (those are skipped), and argument types beyond plain literals (they get no probes).
"""

from __future__ import annotations

import ast
import hashlib
import math
import random
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from closedloop.tasks.format import Task


def parse_code(code: str) -> ast.Module:
    """``ast.parse`` without the Syntax/DeprecationWarnings old code triggers (``"\\d"``).

    Raises ``SyntaxError`` (or ``ValueError`` for NUL bytes) like ``ast.parse``.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ast.parse(code)


@dataclass(frozen=True)
class CheckerCall:
    """A literal call found in a checker: its argument tuple text and, for
    ``assert f(...) == LITERAL``, the expected value's text."""

    input: str
    output: str | None = None


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


def checker_calls(checker: str, names: Iterable[str] = ("candidate",)) -> list[CheckerCall]:
    """Literal calls to any of ``names`` in ``checker``, in source order, without duplicates."""
    try:
        tree = parse_code(checker)
    except (SyntaxError, ValueError, RecursionError, MemoryError):  # 3,000 nested `not`s
        return []
    wanted = set(names)
    expected: dict[int, str] = {}
    for node in ast.walk(tree):
        for call, other in _compared(node):
            if isinstance(call, ast.Call):
                text = _literal_node_text(other)
                if text is not None:
                    expected[id(call)] = text
    out: list[CheckerCall] = []
    seen: set[str] = set()
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call)]
    calls.sort(key=lambda n: (n.lineno, n.col_offset))
    for call in calls:
        if not (isinstance(call.func, ast.Name) and call.func.id in wanted) or call.keywords:
            continue
        args = []
        for a in call.args:
            if isinstance(a, ast.Starred):
                break
            try:
                args.append(ast.literal_eval(a))
            except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
                break
        else:
            text = literal_text(tuple(args))
            if text is not None and text not in seen:
                seen.add(text)
                out.append(CheckerCall(input=text, output=expected.get(id(call))))
    return out


_WRAPPERS = frozenset(
    {"tuple", "list", "set", "frozenset", "sorted", "str", "int", "float", "round"}
)
"""Calls a checker wraps both sides of a comparison in (``tuple(candidate(x)) == tuple(y)``):
the value compared is the one inside."""


def _unwrap(node: ast.AST) -> ast.AST:
    while (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in _WRAPPERS
        and len(node.args) == 1
        and not node.keywords
    ):
        node = node.args[0]
    return node


def _compared(node: ast.AST) -> list[tuple[ast.AST, ast.AST]]:
    """The (side, other side) pairs a checker compares for equality in ``node``: ``f(x) == y``,
    ``y == f(x)`` and ``f(x) is y``, each side unwrapped of ``_WRAPPERS``; ``abs(f(x) - y) <
    eps``; ``isclose(f(x), y)`` (``math.isclose``, ``np.isclose``...); and ``assert f(x)`` /
    ``assert not f(x)`` (True / False)."""
    if isinstance(node, ast.Assert):  # assert f(x)  /  assert not f(x)
        test = node.test
        if isinstance(test, ast.Call):
            return [(test, ast.Constant(True))]
        if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
            return [(test.operand, ast.Constant(False))]
    if isinstance(node, ast.Compare) and len(node.ops) == 1:
        left, right = node.left, node.comparators[0]
        if isinstance(node.ops[0], ast.Eq | ast.Is):
            a, b = _unwrap(left), _unwrap(right)
            return [(a, b), (b, a)]
        if (
            isinstance(node.ops[0], ast.Lt | ast.LtE)
            and isinstance(left, ast.Call)
            and isinstance(left.func, ast.Name)
            and left.func.id == "abs"
            and len(left.args) == 1
            and isinstance(diff := left.args[0], ast.BinOp)
            and isinstance(diff.op, ast.Sub)
        ):
            return [(diff.left, diff.right), (diff.right, diff.left)]
    if isinstance(node, ast.Call) and len(node.args) >= 2:
        name = (
            node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
        )
        if name == "isclose":
            a, b = node.args[:2]
            return [(a, b), (b, a)]
    return []


def _literal_node_text(node: ast.AST) -> str | None:
    try:
        return literal_text(ast.literal_eval(node))
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None


def task_inputs(task: Task) -> list[str]:
    """The inputs a task itself names: test inputs, then literal calls in its checker."""
    seen: dict[str, None] = {}
    for t in task.public_tests + task.private_tests:
        seen.setdefault(t.input, None)
    if task.checker:
        names = ("candidate", task.entry_point) if task.entry_point else ("candidate",)
        for c in checker_calls(task.checker, names):
            seen.setdefault(c.input, None)
    return list(seen)


# --- shared probes -------------------------------------------------------------------------


def type_tag(value: Any) -> str:
    """A coarse type tag of a literal: ``int``, ``list[int]``, ``str``, ... (``?`` if mixed)."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float | str | bytes | type(None)):
        return type(value).__name__
    if isinstance(value, list | tuple | set):
        inner = {type_tag(v) for v in value}
        elem = inner.pop() if len(inner) == 1 else ("?" if inner else "int")
        return f"{type(value).__name__}[{elem}]"
    if isinstance(value, dict):
        return "dict"
    return "?"


def schema(input_text: str) -> tuple[str, ...] | None:
    """The type tags of an input tuple's arguments, or None if it is not a literal tuple."""
    try:
        args = ast.literal_eval(input_text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None
    return tuple(type_tag(a) for a in args) if isinstance(args, tuple) else None


_WORDS = ("", "a", "ab", "abc", "hello", "Hello World", "racecar", "a b c", "xyzzy", "1234")


def _gen(tag: str, rng: random.Random, depth: int = 0) -> Any:
    if tag == "int":
        return rng.choice([0, 1, 2, 3, 5, 7, 10, 12, 25, 100, -1, -4])
    if tag == "float":
        return rng.choice([0.0, 0.5, 1.0, 2.5, -1.5, 3.25, 10.0])
    if tag == "bool":
        return rng.random() < 0.5
    if tag == "str":
        return rng.choice(_WORDS)
    if tag == "NoneType":
        return None
    if tag == "dict":
        return {rng.choice("abcde"): rng.randint(0, 9) for _ in range(rng.randint(0, 3))}
    if "[" in tag and depth < 3:
        outer, inner = tag.split("[", 1)
        inner = inner[:-1]
        items = [
            _gen(inner if inner != "?" else "int", rng, depth + 1) for _ in range(rng.randint(0, 6))
        ]
        return {"list": list, "tuple": tuple, "set": set}.get(outer, list)(items)
    raise ValueError(tag)


def probe_inputs(tags: tuple[str, ...], n: int = 8) -> list[str]:
    """``n`` probe input tuples for a type schema; the same schema always gives the same probes.

    Returns [] for schemas with types it cannot generate.
    """
    seed = int.from_bytes(hashlib.sha256(",".join(tags).encode()).digest()[:8], "big")
    rng = random.Random(seed)
    out: list[str] = []
    for _ in range(n * 3):
        try:
            args = tuple(_gen(t, rng) for t in tags)
        except ValueError:
            return []
        text = literal_text(args)
        if text is not None and text not in out:
            out.append(text)
        if len(out) == n:
            break
    return out


def task_probes(task: Task, n: int = 8) -> list[str]:
    """Shared probe inputs for a task, from the schema of its first literal input."""
    for text in task_inputs(task):
        tags = schema(text)
        if tags is not None and "?" not in "".join(tags):
            return probe_inputs(tags, n)
    return []
