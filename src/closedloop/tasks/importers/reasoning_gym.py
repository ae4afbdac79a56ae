"""reasoning-gym datasets (PyPI ``reasoning-gym``) as tasks, reproducible from (name, size, seed).

- Generic datasets become **answer** tasks: the question is the instruction, the gold answer
  is ``answer``, compared by exact match after trimming (``answer_match="exact"``): a task is
  solved only at reasoning-gym score 1.0. We never call reasoning-gym's own scorers on model
  text (some of them ``eval`` it; see ``closedloop.tasks.answer``).
- ``list_functions`` becomes **function** tasks: the shown input/output pairs are the public
  tests and the query pair is the private test; the solver writes ``f(xs)``. Pairs are read
  back from the item's question text (``Input k: ...`` / ``Output k: ...`` / ``Input: ...``)
  with ``ast.literal_eval``, so a task is exactly the item reasoning-gym produced. The rule
  family (0-16) is kept in ``metadata["rule_family"]``.

Item ``i`` is reasoning-gym's item ``i`` of ``create_dataset(name, size=size, seed=seed)``;
its id is ``rg/{name}/{seed}/{i}``.

Determinism: reasoning-gym seeds each item with ``Random(seed + i)``, but some generators also
draw from the global ``random`` (``list_functions`` rule family 14, through
``create_random_odd_numbers``) or numpy's global stream (e.g. ``pool_matrix``), which differ
from one process to the next. Each item is therefore built with both global streams seeded
from ``(name, seed, i)`` and restored afterwards (:func:`seeded_globals`), so an import is the
same in every process and leaves the caller's random state alone. Items from such generators
differ from what reasoning-gym alone gives (which was never reproducible). This does not guard
against other process-dependent inputs (set iteration order of strings under
``PYTHONHASHSEED``, the clock); ``list_functions`` uses none. A held-out set is still read
from the run directory once written (``closedloop.loop.heldout``), never re-imported.

Several seeds (:func:`import_reasoning_gym_seeds`): since item ``i`` of seed ``s`` uses
``Random(s + i)``, two seeds closer than ``size`` share item streams (item ``i`` of ``s + 1``
is item ``i + 1`` of ``s`` whenever their rule families agree), so such seeds are refused.
"""

from __future__ import annotations

import ast
import hashlib
import itertools
import random
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from closedloop.tasks.format import Task, parse_task

SOURCE = "reasoning-gym"
LIST_FUNCTIONS = "list_functions"
LIST_FUNCTIONS_ENTRY = "f"
LIST_FUNCTIONS_INSTRUCTION = (
    "Write a Python function `f(xs)` that takes a list of integers and returns a list of "
    "integers, following the same rule as these examples:"
)
"""The sentence above a list_functions task's examples (reasoning-gym's own framing)."""

_PAIR = re.compile(r"^Input (\d+): (.*)\nOutput \1: (.*)$", re.M)
_QUERY = re.compile(r"^Input: (.*)$", re.M)


class ReasoningGymError(ValueError):
    """A dataset name reasoning-gym does not know, or an item the importer cannot read."""


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return repr(value)


def _literal(text: str, where: str) -> str:
    try:
        value = ast.literal_eval(text.strip())
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        raise ReasoningGymError(f"{where}: {text!r} is not a Python literal") from None
    return repr(value)


def list_function_task(entry: dict[str, Any], task_id: str, family: int | None) -> Task:
    """A ``list_functions`` item as a function task (shown pairs public, query private)."""
    q = entry["question"]
    pairs = _PAIR.findall(q)
    query = _QUERY.search(q)
    if not pairs or query is None:
        raise ReasoningGymError(f"{task_id}: question has no Input/Output pairs")
    public = [
        {"input": f"({_literal(a, task_id)},)", "output": _literal(b, task_id)} for _, a, b in pairs
    ]
    private = [
        {
            "input": f"({_literal(query.group(1), task_id)},)",
            "output": _literal(entry["answer"], task_id),
        }
    ]
    shown = "\n".join(f"f({a.strip()}) == {b.strip()}" for _, a, b in pairs)
    instruction = LIST_FUNCTIONS_INSTRUCTION + "\n" + shown
    meta = {"rg_dataset": LIST_FUNCTIONS, **_jsonable(entry.get("metadata", {}))}
    if family is not None:
        meta["rule_family"] = family
    return parse_task(
        {
            "id": task_id,
            "kind": "function",
            "instruction": instruction,
            "entry_point": LIST_FUNCTIONS_ENTRY,
            "public_tests": public,
            "private_tests": private,
            "source": SOURCE,
            "metadata": meta,
        }
    )


def answer_task(entry: dict[str, Any], task_id: str, name: str) -> Task:
    """A generic reasoning-gym item as an answer task (exact match)."""
    return parse_task(
        {
            "id": task_id,
            "kind": "answer",
            "instruction": str(entry["question"]),
            "answer": str(entry["answer"]),
            "answer_match": "exact",
            "source": SOURCE,
            "metadata": {"rg_dataset": name, **_jsonable(entry.get("metadata", {}))},
        }
    )


@contextmanager
def seeded_globals(key: str) -> Iterator[None]:
    """Seed the global ``random`` and numpy streams from ``key``, and restore both after.

    For third-party generators that draw from the global streams: inside, they are a function of
    ``key`` alone (``random.seed`` of a string hashes it with SHA-512, not ``hash()``)."""
    state = random.getstate()
    try:
        import numpy as np
    except ImportError:  # reasoning-gym does not require numpy; without it nothing draws there
        np = None  # type: ignore[assignment]
    np_state = np.random.get_state() if np is not None else None
    random.seed(key)
    if np is not None:
        np.random.seed(int.from_bytes(hashlib.sha256(key.encode()).digest()[:4], "little"))
    try:
        yield
    finally:
        random.setstate(state)
        if np is not None:
            np.random.set_state(np_state)


def import_reasoning_gym(name: str, size: int = 100, seed: int = 0) -> list[Task]:
    """``size`` tasks from reasoning-gym dataset ``name`` with ``seed``, the same in every
    process (see the module docstring).

    Raises :class:`ReasoningGymError` for an unknown dataset name or bad size.
    """
    import reasoning_gym
    from reasoning_gym.factory import DATASETS

    if name not in DATASETS:
        raise ReasoningGymError(
            f"reasoning-gym has no dataset {name!r}; e.g. {sorted(DATASETS)[:8]} "
            f"({len(DATASETS)} in all)"
        )
    if size < 1:
        raise ReasoningGymError(f"size: {size} must be at least 1")
    with seeded_globals(f"reasoning-gym/{name}/{seed}"):
        ds = reasoning_gym.create_dataset(name, size=size, seed=seed)
    families = getattr(ds, "task_indices", None)
    tasks = []
    for i in range(size):
        tid = f"rg/{name}/{seed}/{i}"
        with seeded_globals(tid):
            entry = ds[i]
        if name == LIST_FUNCTIONS:
            tasks.append(list_function_task(entry, tid, families[i] if families else None))
        else:
            tasks.append(answer_task(entry, tid, name))
    return tasks


def import_reasoning_gym_seeds(name: str, size: int, seeds: Sequence[int]) -> list[Task]:
    """``size`` tasks per seed from reasoning-gym dataset ``name``, seed by seed in the given
    order (ids ``rg/{name}/{seed}/{i}`` stay unique).

    Raises :class:`ReasoningGymError` when two seeds are closer than ``size`` (their item
    streams ``Random(seed + i)`` overlap) or a seed repeats.
    """
    if not seeds:
        raise ReasoningGymError("seeds: give at least one seed")
    ordered = sorted(seeds)
    for a, b in itertools.pairwise(ordered):
        if b - a < size:
            raise ReasoningGymError(
                f"seeds {a} and {b} overlap: item i of a seed is drawn from Random(seed + i), "
                f"with {size} tasks per seed, seeds must be at least {size} apart"
            )
    return [t for s in seeds for t in import_reasoning_gym(name, size=size, seed=s)]
