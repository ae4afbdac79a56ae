"""Validation refuses a task whose expected output holds NaN: NaN equals nothing, so no
solution could ever pass it (the example solution included), and its failures would blame
every candidate."""

from __future__ import annotations

from closedloop.tasks.validate import RejectReason, validate_tasks


def test_task_expecting_nan_is_refused_as_unparseable(verifier, make_task) -> None:
    task = make_task().to_json()
    task["public_tests"] = [{"input": "([1],)", "output": "[1]"}]
    task["private_tests"] = [{"input": "([],)", "output": "float('nan')"}]
    task["example_solution"] = "def f(xs):\n    return float('nan')\n"
    (result,) = validate_tasks([task], verifier)
    assert result.reason is RejectReason.UNPARSEABLE and "NaN" in result.detail
