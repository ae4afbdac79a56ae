"""reasoning-gym datasets (PyPI ``reasoning-gym``) as tasks, reproducible from (name, size, seed).

- Generic datasets become **answer** tasks: the question is the instruction, the gold answer
  is ``answer``, compared by exact match after trimming (``answer_match="exact"``): a task is
  solved only at reasoning-gym score 1.0. We never call reasoning-gym's own scorers on model
  text (some of them ``eval`` it; see ``closedloop.tasks.answer``).
- ``list_functions`` becomes **function** tasks: the shown input/output pairs are the public
  tests and the query pair is the private test; the solver writes ``f(xs)``. Pairs are read
  back from the item's question text (``Input k: ...`` / ``Output k: ...`` / ``Input: ...``)
  with ``ast.literal_eval``, so a task is exactly the item reasoning-gym produced (its
  generators partly use the global ``random``, so regenerating the pairs separately could
  differ). The rule family (0-16) is kept in ``metadata["rule_family"]``.

Item ``i`` is reasoning-gym's item ``i`` of ``create_dataset(name, size=size, seed=seed)``;
its id is ``rg/{name}/{seed}/{i}``.
"""

from __future__ import annotations

import ast
import re
from typing import Any

from closedloop.tasks.format import Task, parse_task

SOURCE = "reasoning-gym"
LIST_FUNCTIONS = "list_functions"
LIST_FUNCTIONS_ENTRY = "f"

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
    instruction = (
        "Write a Python function `f(xs)` that takes a list of integers and returns a list of "
        "integers, following the same rule as these examples:\n" + shown
    )
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


def import_reasoning_gym(name: str, size: int = 100, seed: int = 0) -> list[Task]:
    """``size`` tasks from reasoning-gym dataset ``name`` with ``seed``.

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
    ds = reasoning_gym.create_dataset(name, size=size, seed=seed)
    families = getattr(ds, "task_indices", None)
    tasks = []
    for i in range(size):
        entry = ds[i]
        tid = f"rg/{name}/{seed}/{i}"
        if name == LIST_FUNCTIONS:
            tasks.append(list_function_task(entry, tid, families[i] if families else None))
        else:
            tasks.append(answer_task(entry, tid, name))
    return tasks
