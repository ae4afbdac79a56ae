"""Benchmark ground truth nobody on this project wrote: every HumanEval and MBPP reference
solution must pass, and a simple automatic mutant of each (a flipped comparison, a changed
constant) must fail on most tasks."""

from __future__ import annotations

from collections import Counter

import pytest

from closedloop.data import MBPP
from closedloop.tasks.importers import import_humaneval, import_mbpp
from closedloop.tasks.mutate import MutationOperator, generate_mutants
from closedloop.verify import Outcome

SIMPLE = (MutationOperator.COMPARISON, MutationOperator.CONSTANT)


def _first_simple_mutant(source: str) -> str | None:
    mutants = generate_mutants(source, max_mutants=None)
    simple = [m for m in mutants if m.operator in SIMPLE]
    return (simple or mutants or [None])[0].source if (simple or mutants) else None


@pytest.fixture(scope="module")
def sets():
    return {"humaneval": import_humaneval(), "mbpp": import_mbpp(MBPP)}


@pytest.mark.parametrize("name,count", [("humaneval", 164), ("mbpp", 974)])
def test_every_reference_solution_passes(verifier, sets, name, count):
    tasks = sets[name]
    assert len(tasks) == count
    verdicts = verifier.verify_many([(t, t.example_solution) for t in tasks])
    failing = [
        (t.id, v.outcome, v.detail)
        for t, v in zip(tasks, verdicts, strict=True)  # one verdict per task, none missing
        if v.outcome is not Outcome.PASS
    ]
    assert failing == []


@pytest.mark.parametrize("name,floor", [("humaneval", 0.8), ("mbpp", 0.8)])
def test_simple_mutants_of_references_fail_on_most_tasks(
    verifier, sets, name, floor, record_property
):
    tasks = sets[name]
    pairs = [(t, m) for t in tasks if (m := _first_simple_mutant(t.example_solution)) is not None]
    verdicts = verifier.verify_many(pairs)
    assert len(verdicts) == len(pairs)
    killed = sum(v.outcome is not Outcome.PASS for v in verdicts)
    rate = killed / len(pairs)
    record_property(f"{name}_mutant_kill_rate", rate)
    print(
        f"\n{name}: {killed}/{len(pairs)} mutants killed ({rate:.1%}); outcomes "
        f"{dict(Counter(str(v.outcome) for v in verdicts))}"
    )
    assert not any(v.outcome is Outcome.INFRA_ERROR for v in verdicts)
    assert rate >= floor
