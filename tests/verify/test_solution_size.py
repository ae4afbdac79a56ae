"""A solution too large to cross into the sandbox gets a verdict that names the limit (it used
to say only that the candidate process exited while loading)."""

from __future__ import annotations

from closedloop.sandbox.wire import MAX_FRAME
from closedloop.tasks.format import Split, parse_task
from closedloop.verify import Outcome

TASK = parse_task(
    {
        "id": "sort",
        "entry_point": "f",
        "public_tests": [{"input": "([3, 1, 2],)", "output": "[1, 2, 3]"}],
        "private_tests": [{"input": "([5, 4],)", "output": "[4, 5]"}],
    }
)
RIGHT = "def f(xs):\n    return sorted(xs)\n"


def test_a_solution_over_the_wire_cap_is_an_error_naming_the_cap(verifier):
    big = RIGHT + "# " + "x" * (MAX_FRAME + 1000) + "\n"
    v = verifier.verify(TASK, big, split=Split.PRIVATE)
    assert v.outcome is Outcome.ERROR and v.reward == 0.0
    assert f"{MAX_FRAME:,} bytes" in v.detail and "exited" not in v.detail


def test_a_large_solution_under_the_cap_still_runs(verifier):
    big = RIGHT + "PAD = " + repr("y" * (MAX_FRAME // 2)) + "\n"
    assert verifier.verify(TASK, big, split=Split.PRIVATE).outcome is Outcome.PASS
