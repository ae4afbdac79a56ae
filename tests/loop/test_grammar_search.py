"""The grammar's enumeration and the exhaustive search over it (the held-out ceiling's tool)."""

from __future__ import annotations

import random

import pytest

from closedloop.loop.grammar import all_aggregates, all_steps, random_program, sample_tasks
from closedloop.loop.grammar_search import search


def test_every_enumerated_step_does_in_the_sandbox_what_its_semantics_say(verifier):
    steps, aggs = all_steps(), all_aggregates()
    # 40 maps, 49 filters (22 thresholds both ways, even, odd, 3 divisors), 38 shapes; 10 aggregates
    assert (len(steps), len(aggs)) == (127, 10)
    assert len({s.code for s in steps + aggs}) == 137
    xs = [7, 0, 15, 4, 4, 90, 33]
    for s in steps + aggs:
        [res] = verifier.call(f"def f(xs):\n    return {s.code}\n", "f", [repr((xs,))])
        assert res.value == repr(s.fn(list(xs))), s.code


def test_the_enumeration_covers_every_step_the_corpus_draws():
    codes = {s.code for s in all_steps() + all_aggregates()}
    rng = random.Random(11)
    for i in range(400):
        prog = random_program(rng, i, max_depth=3, aggregate_prob=0.5)
        for s in (*prog.steps, *([prog.aggregate] if prog.aggregate else [])):
            assert s.code in codes, s.code


def test_search_recovers_a_program_as_short_as_the_one_that_made_the_task():
    tasks = sample_tasks(25, seed=77, max_depth=2)
    assert len(tasks) >= 20
    for gt in tasks:
        ins, outs = [list(x) for x in gt.inputs], [list(o) for o in gt.outputs]
        fit = search(ins, outs, n_fit=len(ins), max_depth=2)
        assert fit is not None, gt.program.code
        assert fit.passes_all
        assert fit.depth <= len(gt.program.steps)
        assert [fit(x) for x in ins] == outs, (fit.code, gt.program.code)


def test_identity_is_written_with_a_step_and_what_the_grammar_lacks_is_not_found():
    ins = [[3, 3, 3], [5, 5, 5, 5], [10, 0, 4]]
    fit = search(ins, ins, n_fit=3, max_depth=1)
    assert fit is not None and fit.depth == 1 and fit.aggregate is None
    # x + i (the value plus its index) has no program of up to two steps
    plus_index = [[x + i for i, x in enumerate(xs)] for xs in ins]
    assert search(ins, plus_index, n_fit=3, max_depth=2) is None


def test_a_program_fitting_the_shown_examples_is_checked_on_the_held_back_ones():
    ins = [[3, 1, 2], [5, 4], [2, 1]]
    fit = search(ins, [[1, 2, 3], [4, 5], [1, 2, 9]], n_fit=2)
    assert fit is not None and "sorted(xs)" in fit.code and not fit.passes_all
    assert search(ins, [[1, 2, 3], [4, 5], [1, 2]], n_fit=2).passes_all


def test_search_refuses_a_fit_count_outside_the_examples():
    with pytest.raises(ValueError, match="n_fit"):
        search([[1]], [[2]], n_fit=2)
