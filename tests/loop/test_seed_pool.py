"""The seed pool: grammar tasks that start self-play, and the identity share beside them."""

from __future__ import annotations

import ast
import random

from closedloop.loop.config import Domain, RunConfig
from closedloop.loop.domain import drawn_calls, grammar_task, seed_pool, with_drawn_tests
from closedloop.loop.grammar import GrammarTask, ListProgram, Step, drawn_like
from closedloop.verify.outcome import Outcome

IDENTITY = "def f(xs):\n    return xs\n"


def test_the_identity_share_adds_identity_tasks_and_keeps_the_rest_of_the_pool(verifier) -> None:
    plain = seed_pool(RunConfig.model_validate({"seed": 3}), 40)
    mixed = seed_pool(
        RunConfig.model_validate({"seed": 3, "cold_start": {"identity_share": 0.1}}), 40
    )
    assert len(mixed) == 40
    # the grammar's draws never give the identity: without the share the pool holds none
    assert not any(t.example_solution == IDENTITY for t in plain)
    ids = [t for t in mixed if t.example_solution == IDENTITY]
    assert len(ids) == 4
    # the other 36 are the plain pool's first 36, so a run without the share is unchanged
    assert [(t.instruction, t.example_solution) for t in mixed[:36]] == [
        (t.instruction, t.example_solution) for t in plain[:36]
    ]
    for t in ids:
        assert all(c.input.removeprefix("(").removesuffix(",)") == c.output for c in t.public_tests)
    assert len({t.public_tests[0].input for t in ids}) == 4
    verdicts = verifier.verify_many([(t, IDENTITY) for t in ids])
    assert all(v.outcome is Outcome.PASS for v in verdicts)
    # and the private tests tell the identity from a near miss
    wrong = verifier.verify_many([(t, "def f(xs):\n    return [x - 1 for x in xs]\n") for t in ids])
    assert not any(v.outcome is Outcome.PASS for v in wrong)


def _filter_gt(c: int) -> ListProgram:
    return ListProgram(
        (Step(f"[x for x in xs if x > {c}]", lambda xs: [x for x in xs if x > c], "filter"),),
        None,
        0,
    )


def test_drawn_private_tests_fail_a_misread_threshold_the_task_own_tests_pass(verifier) -> None:
    # `x > 15` shown on lists with nothing between 10 and 15: `x > 9` (a misread the reward
    # reinforced in a preset run) passes the task's own five inputs
    own = ((3, 40, 20), (1, 2, 99), (16, 8), (30, 5, 70, 9), (17, 0))
    prog = _filter_gt(15)
    gt = GrammarTask(prog, own, tuple(tuple(prog(list(xs))) for xs in own))
    misread = "def f(xs):\n    xs = [x for x in xs if x > 9]\n    return xs\n"
    plain = grammar_task(gt, "t", "Keep some.")
    drawn = grammar_task(with_drawn_tests(gt, random.Random(0), 12), "t", "Keep some.")
    assert drawn.public_tests == plain.public_tests  # the prompt is unchanged
    assert drawn.private_tests[:2] == plain.private_tests and len(drawn.private_tests) == 14
    right, fooled, caught = verifier.verify_many(
        [(drawn, prog.code), (plain, misread), (drawn, misread)]
    )
    assert right.outcome is Outcome.PASS
    assert fooled.outcome is Outcome.PASS
    assert caught.outcome is Outcome.FAIL


def test_the_seed_pool_keeps_its_tasks_and_adds_drawn_private_tests(verifier) -> None:
    none = seed_pool(
        RunConfig.model_validate({"seed": 3, "challenger": {"drawn_private_tests": 0}}), 30
    )
    pool = seed_pool(RunConfig.model_validate({"seed": 3}), 30)
    for a, b in zip(none, pool, strict=True):
        assert (a.instruction, a.example_solution, a.public_tests) == (
            b.instruction,
            b.example_solution,
            b.public_tests,
        )
        assert b.private_tests[:2] == a.private_tests
    added = [len(b.private_tests) - 2 for b in pool]
    assert sum(added) >= 12 * 30 * 0.9 and max(added) == 12
    # outputs are the program's own: every example solution passes its task
    assert all(
        v.outcome is Outcome.PASS
        for v in verifier.verify_many([(t, t.example_solution) for t in pool])
    )


def test_proposals_get_their_own_drawn_inputs_in_the_list_domain_only() -> None:
    cfg = RunConfig.model_validate({"seed": 3})
    own = ["([3, 1, 2],)", "([5, 5],)", "([0, 9, 4, 4],)"]
    calls = drawn_calls(cfg, 4, 1)(own)
    assert len(calls) == 12 and calls == drawn_calls(cfg, 4, 1)(own)
    assert calls != drawn_calls(cfg, 4, 2)(own) and calls != drawn_calls(cfg, 5, 1)(own)
    assert not set(calls) & set(own)
    for c in calls:
        (xs,) = ast.literal_eval(c)
        assert 2 <= len(xs) <= 4 and all(0 <= x <= 9 for x in xs)
    assert drawn_calls(cfg.model_copy(update={"domain": Domain.CODE}), 4, 1)(own) == []
    none = RunConfig.model_validate({"seed": 3, "challenger": {"drawn_private_tests": 0}})
    assert drawn_calls(none, 4, 1)(own) == []
    # only where every input is one list of integers
    for odd in (["('ab',)"], ["([1], 2)"], ["([1, True],)"], ["([1.5],)"], ["f(["]):
        assert drawn_calls(cfg, 4, 1)([*own, *odd]) == []


def test_lists_drawn_like_examples_keep_their_order_repeats_and_ranges() -> None:
    rng = random.Random(0)
    asc = drawn_like([[1, 5, 9], [2, 3, 40, 41], [7, 8]], rng, 30)
    assert all(list(xs) == sorted(xs) and 2 <= len(xs) <= 4 for xs in asc)
    assert all(1 <= x <= 41 for xs in asc for x in xs) and len(asc) == 30
    desc = drawn_like([[9, 5, 1], [3, 2]], rng, 10)
    assert all(list(xs) == sorted(xs, reverse=True) for xs in desc)
    distinct = drawn_like([[3, 1, 2], [9, 4]], rng, 10)
    assert all(len(set(xs)) == len(xs) for xs in distinct)
    mixed = drawn_like([[3, 1, 3], [1, 2]], rng, 40)
    assert any(list(xs) != sorted(xs) for xs in mixed) and any(
        len(set(xs)) < len(xs) for xs in mixed
    )
    assert (3, 1, 3) not in mixed and len(set(mixed)) == len(mixed)
    assert drawn_like([], rng, 5) == []
