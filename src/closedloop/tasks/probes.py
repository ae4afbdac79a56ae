"""Inputs a task can be called on: its own test inputs, literal calls in its checker, and
shared probe inputs generated from the argument types.

Nothing is executed. Probe inputs depend only on the *type schema* of a task's arguments
(e.g. ``(list[int], int)``), never on the task itself, so two tasks with the same signature
are probed on the same inputs and their behaviour can be compared. A checker's calls are read
by :mod:`closedloop.tasks.checker_reading`.

Does not cover: argument types beyond plain literals (they get no probes).
"""

from __future__ import annotations

import ast
import hashlib
import random
from typing import Any

from closedloop.tasks.checker_reading import checker_calls
from closedloop.tasks.format import Task
from closedloop.tasks.literals import literal_text


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
