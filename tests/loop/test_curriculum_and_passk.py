"""Curriculum picks the frontier; pass@k matches the closed form; the grammar's code and
semantics agree (checked through the sandbox)."""

from __future__ import annotations

import random
from math import comb

from closedloop.loop.config import CurriculumConfig
from closedloop.loop.curriculum import pick_tasks
from closedloop.loop.evaluate import pass_at_k
from closedloop.loop.grammar import sample_tasks
from closedloop.loop.store import TaskStats
from closedloop.tasks.format import parse_task


def _task(i: int, code_len: int = 10):
    return parse_task(
        {
            "id": f"t{i}",
            "kind": "function",
            "instruction": "x",
            "entry_point": "f",
            "private_tests": [{"input": "([1],)", "output": "[1]"}],
            "example_solution": "#" * code_len,
        }
    )


def test_band_and_variance_prefer_tasks_sometimes_solved():
    pool = [_task(i) for i in range(30)]
    stats = {f"t{i}": TaskStats(8, 0 if i < 10 else 8 if i < 20 else 4) for i in range(30)}
    picked = pick_tasks(pool, stats, 10, CurriculumConfig(), False, random.Random(0))
    assert {t.id for t in picked} == {f"t{i}" for i in range(20, 30)}


def test_first_iteration_draws_from_the_easiest_third():
    pool = [_task(i, code_len=10 * (i + 1)) for i in range(30)]
    picked = pick_tasks(pool, {}, 5, CurriculumConfig(), True, random.Random(0))
    assert all(int(t.id[1:]) < 10 for t in picked)


def test_pass_at_k_matches_the_binomial_form():
    for n, c, k in [(10, 3, 1), (10, 3, 5), (20, 0, 5), (5, 5, 2)]:
        assert abs(pass_at_k(n, c, k) - (1 - comb(n - c, k) / comb(n, k))) < 1e-12


def test_grammar_code_and_semantics_agree_in_the_sandbox(verifier):
    for gt in sample_tasks(15, seed=3):
        inputs = [repr((list(x),)) for x in gt.inputs]
        res = verifier.call(gt.program.code, "f", inputs)
        assert [r.value for r in res] == [repr(list(o)) for o in gt.outputs], gt.program.code
