"""Program variety, the collapse figure of held-out evaluations."""

from __future__ import annotations

import pytest

from closedloop.monitor.names import Metric
from closedloop.monitor.variety import narrowing_line, program_variety

EVEN = "def f(xs):\n    xs = [x for x in xs if x % 2 == 0]\n    return xs"


def test_a_collapsed_policy_has_few_programs_and_a_high_top_share():
    v = program_variety([EVEN, EVEN, EVEN, EVEN, "def f(xs):\n    return xs"])
    assert (v.n, v.distinct) == (5, 2) and v.top_share == pytest.approx(4 / 5)
    assert v.metrics() == {
        "heldout_distinct_programs": 2.0,
        "heldout_top_program_share": pytest.approx(0.8),
    }


def test_whitespace_is_not_variety_but_an_empty_attempt_is_a_program():
    spaced = EVEN.replace("    xs = ", "  xs =  ")
    v = program_variety([EVEN, spaced, ""])
    assert (v.distinct, v.top_share) == (2, pytest.approx(2 / 3))


def test_no_programs_give_no_metrics():
    v = program_variety([])
    assert (v.n, v.distinct, v.metrics()) == (0, 0, {})


def test_variety_is_reported_under_the_heldout_metric_names():
    v = program_variety([EVEN, EVEN])
    assert v.metrics() == {
        Metric.HELDOUT_DISTINCT_PROGRAMS: 1.0,
        Metric.HELDOUT_TOP_PROGRAM_SHARE: 1.0,
    }


def test_the_narrowing_line_states_both_evaluations_and_needs_both():
    first = {"heldout_distinct_programs": 37.0, "heldout_top_program_share": 0.175}
    last = {"heldout_distinct_programs": 17.0, "heldout_top_program_share": 0.485}
    line = narrowing_line("rg", first, last)
    assert line == (
        "greedy programs on rg: cold start 37 distinct (the most common written for 18% of "
        "tasks), final 17 distinct (48%)"
    )
    assert narrowing_line("rg", {"heldout_pass@1": 0.1}, last) is None


def test_one_favourite_program_dressed_differently_per_task_is_one_program() -> None:
    # a comment per task ("# task 7") once made 40 copies of one program read as 40 programs,
    # and the collapse alarm stayed quiet; a real model's comments and docstrings would do the same
    from closedloop.monitor.variety import program_variety

    dressed = [f"def f(xs):\n    # task {i}\n    return xs[::-1]\n" for i in range(10)] + [
        'def f(values):\n    """Reverse the list."""\n    return (values[::-1])  # done\n',
        "def f(xs):\n    pass\n    return xs[::-1]\n",
    ]
    assert program_variety(dressed).distinct == 1
    different = [
        "def f(xs):\n    return xs[::-1]\n",
        "def f(xs):\n    return sorted(xs)\n",
        "def f(xs):\n    return xs[1:]\n",
        "def f(xs):\n    return [x + 1 for x in xs]\n",
        "def f(xs):\n    return [x + 2 for x in xs]\n",
        "def f(xs):\n    return xs[::-1\n",  # does not parse: its text is the program
    ]
    assert program_variety(different).distinct == len(different)
