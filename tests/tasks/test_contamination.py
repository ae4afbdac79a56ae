"""The contamination guard rejects copies of held-out tasks and keeps new ones."""

from __future__ import annotations

import pytest

from closedloop.tasks.contamination import ContaminationField, ContaminationGuard
from closedloop.tasks.format import parse_task
from closedloop.tasks.importers import import_humaneval


@pytest.fixture(scope="module", name="guard")
def guard_fixture() -> ContaminationGuard:
    return ContaminationGuard(import_humaneval())


def test_copied_heldout_task_is_rejected_naming_the_source(guard) -> None:
    he = import_humaneval()[12]
    copy = parse_task({**he.to_json(), "id": "copy", "source": "challenger"})
    hit = guard.check(copy)
    assert hit is not None and hit.heldout_id == he.id and hit.overlap == 1.0


def test_copied_solution_with_new_wording_is_rejected(guard) -> None:
    he = import_humaneval()[30]
    task = parse_task(
        {
            "kind": "function",
            "instruction": "Write something original.",
            "entry_point": he.entry_point,
            "checker": "def check(candidate):\n    assert candidate([7]) == [7]\n",
            "example_solution": he.example_solution,
        }
    )
    hit = guard.check(task)
    assert hit is not None and hit.field in (
        ContaminationField.SOLUTION,
        ContaminationField.INSTRUCTION,
    )


def test_equal_io_pairs_are_contamination(guard) -> None:
    # HumanEval/0's checker asserts these exact pairs
    task = parse_task(
        {
            "kind": "function",
            "instruction": "Decide something about floats.",
            "entry_point": "f",
            "private_tests": [
                {"input": "([1.0, 2.0, 3.9, 4.0, 5.0, 2.2], 0.3)", "output": "True"},
                {"input": "([1.0, 2.0, 3.9, 4.0, 5.0, 2.2], 0.05)", "output": "False"},
            ],
        }
    )
    hit = guard.check(task)
    assert (
        hit is not None
        and hit.field is ContaminationField.IO_PAIRS
        and hit.heldout_id == "HumanEval/0"
    )


def test_new_task_is_kept(guard, make_task) -> None:
    report = guard.filter([make_task(instruction="Sort the list, keeping duplicates, ascending.")])
    assert len(report.kept) == 1 and not report.rejected
