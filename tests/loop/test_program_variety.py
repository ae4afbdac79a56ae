"""The solver's program variety: the loop's own collapse figure (distinct / top share)."""

from __future__ import annotations

import pytest

from closedloop.loop.phases import Attempted
from closedloop.roles.solver import Attempt

EVEN = "def f(xs):\n    xs = [x for x in xs if x % 2 == 0]\n    return xs"


def attempts(*codes: str) -> list[Attempt]:
    return [Attempt("t", i, [1], codes=[c] if c else []) for i, c in enumerate(codes)]


def test_a_collapsed_solver_scores_low_variety_and_a_high_top_share():
    collapsed = Attempted(
        [], [attempts(EVEN, EVEN, EVEN), attempts(EVEN, "def f(xs):\n    return xs")]
    )
    m = collapsed.program_variety()
    assert m["solver_distinct_programs"] == pytest.approx(2 / 5)
    assert m["solver_top_program_share"] == pytest.approx(4 / 5)


def test_whitespace_is_not_variety_but_an_empty_attempt_is_a_program():
    spaced = EVEN.replace("    xs = ", "  xs =  ")
    m = Attempted([], [attempts(EVEN, spaced, "")]).program_variety()
    assert m["solver_distinct_programs"] == pytest.approx(2 / 3)
    assert m["solver_top_program_share"] == pytest.approx(2 / 3)


def test_no_attempts_give_no_figures():
    assert Attempted([], []).program_variety() == {}
