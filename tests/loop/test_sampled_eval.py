"""The sampled evaluation submits, per task, the first sample whose outputs match the shown
examples; its confidence is the most common program's share, and it tracks correctness.
Verdicts come from the real sandbox on hand-written programs (no model needed to decide them)."""

from __future__ import annotations

import pytest

from closedloop.loop.evaluate import summarise_samples
from closedloop.roles.solver import Attempt, score_attempts
from closedloop.tasks.format import Split, parse_task

SORTED = "def f(xs):\n    return sorted(xs)\n"
SAME = "def f(xs):\n    return xs\n"
# passes the shown example [3, 1, 2] -> [1, 2, 3] but not the private [5, 4] -> [4, 5]
OVERFIT = "def f(xs):\n    return [1, 2, 3]\n"


def _task(tid: str):
    return parse_task(
        {
            "id": tid,
            "kind": "function",
            "instruction": "Sort the list.",
            "entry_point": "f",
            "public_tests": [{"input": "([3, 1, 2],)", "output": "[1, 2, 3]"}],
            "private_tests": [{"input": "([5, 4],)", "output": "[4, 5]"}],
        }
    )


def _attempts(verifier, task, codes: list[str]) -> list[Attempt]:
    row = [Attempt(task.id, j, [1], codes=[c], temperature=0.8) for j, c in enumerate(codes)]
    publics = verifier.verify_many([(task, c) for c in codes], split=Split.PUBLIC)
    for a, v in zip(row, publics, strict=True):
        a.public_pass = v.outcome == "pass"
    score_attempts(verifier, [task], [row])
    return row


def test_the_first_sample_passing_the_shown_examples_is_submitted(verifier):
    a, b, c = _task("a"), _task("b"), _task("c")
    rows = [
        _attempts(verifier, a, [SAME, SORTED, SAME, SAME]),  # 2nd passes the examples: solved
        _attempts(verifier, b, [SAME, OVERFIT, SORTED, SORTED]),  # overfit passes them first
        _attempts(verifier, c, [SAME, SAME, SAME, SAME]),  # none does: the first is submitted
    ]
    res = summarise_samples([a, b, c], rows)
    assert res.per_task == {"a": 1.0, "b": 0.0, "c": 0.0}
    assert res.filtered_pass_at_1 == pytest.approx(1 / 3)
    assert res.pass_at_1 == pytest.approx((1 / 4 + 2 / 4 + 0) / 3)
    assert res.confidence == pytest.approx((3 / 4 + 2 / 4 + 1) / 3)


def test_confidence_that_tracks_correctness_correlates_positively(verifier):
    tasks = [_task(f"t{i}") for i in range(4)]
    rows = [
        _attempts(verifier, tasks[0], [SORTED] * 4),  # sure and right
        _attempts(verifier, tasks[1], [SORTED] * 4),
        _attempts(verifier, tasks[2], [SAME, OVERFIT, "def f(xs):\n    return []\n", SAME]),
        _attempts(verifier, tasks[3], ["def f(xs):\n    return xs[::-1]\n", SAME, OVERFIT, SAME]),
    ]
    tracked = summarise_samples(tasks, rows)
    assert tracked.confidence_correctness is not None and tracked.confidence_correctness > 0.9
    # sure and wrong: the same confidence, unrelated to correctness
    rows[2] = _attempts(verifier, tasks[2], [SAME] * 4)
    rows[1] = _attempts(verifier, tasks[1], [SORTED, SAME, OVERFIT, SAME])
    drifted = summarise_samples(tasks, rows)
    assert drifted.confidence_correctness is not None
    assert drifted.confidence_correctness < tracked.confidence_correctness - 0.5
