"""The reading probe: its tasks are right (outputs from the sandbox) and tell primitives apart."""

from __future__ import annotations

import ast

import pytest

from closedloop.loop.probe import PRIMITIVES, primitive_code, probe_tasks
from closedloop.roles.prompts import solver_prompt
from closedloop.verify.outcome import Outcome

PER = 3


@pytest.fixture(scope="module")
def tasks(verifier):
    return probe_tasks(verifier, list(PRIMITIVES), PER)


def test_probe_has_at_least_twelve_primitives_of_the_grammar() -> None:
    assert len(PRIMITIVES) >= 12


def test_each_primitives_program_passes_all_its_probe_tasks(tasks, verifier) -> None:
    items = [(t, primitive_code(str(t.metadata["primitive"]))) for t in tasks]
    verdicts = verifier.verify_many(items)
    failed = [v.task_id for v in verdicts if v.outcome is not Outcome.PASS]
    assert failed == []


# What each probe name means, written here apart from the probe's table: the per-primitive
# figures of the model card and summary are labelled by these names, so a table entry that
# computes something else (``add3`` as ``x + 4``) must fail a test, and running the table's
# own program against outputs made by that program could not.
MEANING = {
    "reverse": lambda xs: list(reversed(xs)),
    "sorted": lambda xs: sorted(xs),
    "sorted_desc": lambda xs: sorted(xs)[::-1],
    "drop_first": lambda xs: xs[1:],
    "take2": lambda xs: xs[:2],
    "add3": lambda xs: [x + 3 for x in xs],
    "sub1": lambda xs: [x - 1 for x in xs],
    "mul2": lambda xs: [2 * x for x in xs],
    "even": lambda xs: [x for x in xs if x % 2 == 0],
    "gt50": lambda xs: [x for x in xs if x > 50],
    "len": lambda xs: [len(xs)],
    "sum": lambda xs: [sum(xs)],
    "max": lambda xs: [max(xs)],
    "min": lambda xs: [min(xs)],
    "third": lambda xs: [xs[2]],
    "last": lambda xs: [xs[-1]],
}


def test_every_probe_task_computes_what_its_primitives_name_says(tasks) -> None:
    assert set(MEANING) == set(PRIMITIVES)
    wrong = []
    for t in tasks:
        meaning = MEANING[str(t.metadata["primitive"])]
        for case in (*t.public_tests, *t.private_tests):
            (xs,) = ast.literal_eval(case.input)
            if ast.literal_eval(case.output) != meaning(list(xs)):
                wrong.append((t.metadata["primitive"], case.input, case.output))
    assert wrong == []


def test_another_primitives_program_fails_most_probe_tasks(tasks, verifier) -> None:
    names = list(PRIMITIVES)
    items = [
        (t, primitive_code(names[(names.index(str(t.metadata["primitive"])) + 1) % len(names)]))
        for t in tasks
    ]
    verdicts = verifier.verify_many(items)
    passed = sum(v.outcome is Outcome.PASS for v in verdicts)
    assert passed <= len(tasks) // 10


def test_probe_prompts_show_the_public_examples_and_hide_the_private_ones(tasks) -> None:
    from closedloop.roles.prompts import call_text

    for t in tasks:
        prompt = solver_prompt(t)
        assert all(call_text("f", c.input) in prompt for c in t.public_tests)
        assert not any(call_text("f", c.input) in prompt for c in t.private_tests)


def test_probe_tasks_are_reproducible_from_their_seed(verifier) -> None:
    a = probe_tasks(verifier, ["reverse", "len"], 2, seed=5)
    b = probe_tasks(verifier, ["reverse", "len"], 2, seed=5)
    assert [solver_prompt(t) for t in a] == [solver_prompt(t) for t in b]


def test_unknown_primitive_is_refused(verifier) -> None:
    with pytest.raises(ValueError, match="unknown probe primitive"):
        probe_tasks(verifier, ["no_such"], 1)
