"""Where a held-out gain came from: pass@1 per rule family of the primary set.

A run's one number can rise because one family was learned or because several moved a little;
the per-family table tells which, and whether the control moved the same families. A task's
family is reasoning-gym's ``rule_family`` (list_functions' 17 generators), else the first
grammar family of a grammar task, else ``"all"``.

Owns grouping per-task scores; never scores anything itself (the scores are the gate's).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from rich.table import Table

from closedloop.tasks.format import Task


def family_of(task: Task) -> str:
    """The rule family a task belongs to (see the module docstring)."""
    meta = task.metadata or {}
    if "rule_family" in meta:
        return str(meta["rule_family"])
    families = meta.get("families")
    if isinstance(families, list) and families:
        return str(families[0])
    return "all"


def family_table(
    tasks: Sequence[Task], per_task: Mapping[str, Mapping[str, float]]
) -> dict[str, dict[str, float]]:
    """Family -> ``{"n_tasks": n, <policy>: pass@1, ...}`` for every policy of ``per_task``
    (policy -> task id -> score), families in natural order (``2`` before ``10``). A task a
    policy has no score for counts as unsolved for it."""
    groups: dict[str, list[str]] = {}
    for t in tasks:
        groups.setdefault(family_of(t), []).append(t.id)
    out: dict[str, dict[str, float]] = {}
    for fam in sorted(groups, key=lambda f: (not f.isdigit(), int(f) if f.isdigit() else 0, f)):
        ids = groups[fam]
        row: dict[str, float] = {"n_tasks": float(len(ids))}
        for policy, scores in per_task.items():
            row[policy] = sum(float(scores.get(i, 0.0)) for i in ids) / len(ids)
        out[fam] = row
    return out


RG_LIST_FUNCTION_RULES = {
    "0": "identity",
    "1": "the third element",
    "2": "reverse",
    "3": "sum of the distinct items below 30",
    "4": "count of 5s",
    "5": "items followed by an even one",
    "6": "x + its index",
    "7": "the item the last one indexes",
    "8": "length",
    "9": "sum",
    "10": "sorted ascending",
    "11": "sorted descending",
    "12": "first and last + 1",
    "13": "[1] ascending, [0] descending",
    "14": "[1] by 10, [0] by 5",
    "15": "twice the last",
    "16": "2x - 4",
}
"""What each of reasoning-gym's ``list_functions`` generators computes (its ``rule_family``),
from the generators' own docstrings: the console's per-family table names them."""


def family_view(table: Mapping[str, Mapping[str, float]], policies: Sequence[str]) -> Table:
    """The per-family table for the console: one row per family (with its rule, for
    reasoning-gym's), one column per policy, and final minus cold start where both are
    there."""
    t = Table(title="held-out pass@1 per rule family")
    t.add_column("family")
    named = any(fam in RG_LIST_FUNCTION_RULES for fam in table)
    if named:
        t.add_column("rule")
    t.add_column("n", justify="right")
    for p in policies:
        t.add_column(p, justify="right")
    delta = "final" in policies and "cold_start" in policies
    if delta:
        t.add_column("final - cold", justify="right")
    for fam, row in table.items():
        cells = [f"{row[p]:.2f}" if p in row else "-" for p in policies]
        if delta:
            cells.append(f"{row['final'] - row['cold_start']:+.2f}")
        rule = [RG_LIST_FUNCTION_RULES.get(fam, "")] if named else []
        t.add_row(fam, *rule, str(int(row["n_tasks"])), *cells)
    return t
