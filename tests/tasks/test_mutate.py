"""Mutants come from the syntax tree, one change each, reproducibly."""

from __future__ import annotations

from closedloop.tasks.format import Split
from closedloop.tasks.mutate import MutationOperator, generate_mutants

SRC = '''def f(xs, k):
    """Keep doubled items above k, skipping the first."""
    out = []
    for i in range(len(xs)):
        if xs[i] > k and not i == 0:
            out.append(xs[i] * 2)
    return out[1:]
'''


def test_every_operator_family_is_generated() -> None:
    ops = {m.operator for m in generate_mutants(SRC, max_mutants=None)}
    assert ops == set(MutationOperator)


def test_mutants_are_distinct_and_differ_from_the_original() -> None:
    ms = generate_mutants(SRC, max_mutants=None)
    sources = [m.source for m in ms]
    assert len(set(sources)) == len(sources)
    assert all("Keep doubled items" in s for s in sources)  # the docstring is never mutated


def test_comparison_and_off_by_one_mutants_are_what_they_say() -> None:
    ms = generate_mutants(SRC, max_mutants=None)
    assert any("xs[i] >= k" in m.source for m in ms)
    assert any("range(len(xs) - 1)" in m.source for m in ms)
    assert any("out[2:]" in m.source for m in ms)


def test_sample_is_reproducible_and_bounded() -> None:
    a = generate_mutants(SRC, max_mutants=5, seed=7)
    b = generate_mutants(SRC, max_mutants=5, seed=7)
    assert [m.source for m in a] == [m.source for m in b]
    assert len(a) == 5


def test_code_that_does_not_parse_has_no_mutants() -> None:
    assert generate_mutants("def f(:\n") == []


def test_good_tests_kill_most_mutants_in_the_sandbox(verifier, make_task) -> None:
    task = make_task(
        example_solution="def f(xs):\n    out = list(xs)\n    out.sort()\n    return out\n"
    )
    ms = generate_mutants(task.example_solution)
    verdicts = verifier.verify_many([(task, m.source) for m in ms], split=Split.ALL)
    killed = sum(v.outcome != "pass" for v in verdicts)
    assert ms and killed / len(ms) >= 0.5
