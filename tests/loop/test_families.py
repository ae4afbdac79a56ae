"""The per-family table: pass@1 per rule family, for every policy scored."""

from __future__ import annotations

from closedloop.loop.families import family_of, family_table, family_view
from closedloop.tasks.format import parse_task


def _task(i: int, meta: dict) -> object:
    return parse_task(
        {
            "id": f"t{i}",
            "kind": "function",
            "instruction": "f",
            "entry_point": "f",
            "public_tests": [{"input": "([1],)", "output": "[1]"}],
            "private_tests": [{"input": "([2],)", "output": "[2]"}],
            "metadata": meta,
        }
    )


def test_family_comes_from_reasoning_gym_then_the_grammar_then_all() -> None:
    assert family_of(_task(0, {"rule_family": 10})) == "10"
    assert family_of(_task(1, {"families": ["order", "map"]})) == "order"
    assert family_of(_task(2, {})) == "all"


def test_table_groups_scores_per_family_in_natural_order() -> None:
    tasks = [_task(i, {"rule_family": f}) for i, f in enumerate([10, 2, 2, 10, 10])]
    per_task = {
        "cold_start": {"t0": 1.0, "t1": 0.0, "t2": 0.0, "t3": 0.0, "t4": 0.0},
        "final": {"t0": 1.0, "t1": 1.0, "t2": 1.0, "t3": 1.0},  # t4 missing: unsolved
    }
    table = family_table(tasks, per_task)
    assert list(table) == ["2", "10"]
    assert table["2"] == {"n_tasks": 2.0, "cold_start": 0.0, "final": 1.0}
    assert table["10"]["cold_start"] == 1 / 3 and table["10"]["final"] == 2 / 3
    view = family_view(table, ["cold_start", "final"])
    assert [c.header for c in view.columns][-1] == "final - cold"
    assert view.row_count == 2
    # reasoning-gym's families are numbers; the console names what each computes
    assert [c.header for c in view.columns][:2] == ["family", "rule"]
    assert list(view.columns[1].cells) == ["reverse", "sorted ascending"]
