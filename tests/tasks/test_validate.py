"""Code-as-Task validation accepts good tasks and rejects bad ones for the right reason."""

from __future__ import annotations

import pytest

from closedloop.tasks.format import Split
from closedloop.tasks.importers import import_humaneval, import_mbpp
from closedloop.tasks.validate import (
    RejectReason,
    ValidationConfig,
    reason_counts,
    validate_tasks,
    weak_tests,
)

FAST = ValidationConfig(max_mutants=12)


def _one(verifier, task, config: ValidationConfig = FAST):
    (result,) = validate_tasks([task], verifier, config)
    return result


def test_good_task_is_accepted_with_its_mutation_score(verifier, make_task) -> None:
    r = _one(verifier, make_task())
    assert r.accepted, r.detail
    assert r.task is not None and r.task.metadata["mutation_score"] == r.mutation_score
    assert r.mutants_total >= 1 and 0.5 <= r.mutation_score <= 1.0


def test_unparseable_object_is_rejected(verifier) -> None:
    (r,) = validate_tasks([{"kind": "function", "entry_point": "not an id"}], verifier, FAST)
    assert r.reason is RejectReason.UNPARSEABLE and "entry_point" in r.detail


def test_example_that_fails_is_rejected(verifier, make_task) -> None:
    r = _one(verifier, make_task(example_solution="def f(xs):\n    return xs[::-1]\n"))
    assert r.reason is RejectReason.EXAMPLE_FAILS


def test_failure_case_that_passes_is_rejected(verifier, make_task) -> None:
    passing = "def f(xs):\n    return list(sorted(xs))\n"
    r = _one(
        verifier, make_task(failure_cases=["def f(xs):\n    return xs\n", passing, passing + "\n"])
    )
    assert r.reason is RejectReason.FAILURE_CASE_PASSES
    assert r.detail == "failure_cases[1] passes every test"  # which one to mend


def test_challenger_task_needs_three_failure_cases(verifier, make_task) -> None:
    r = _one(verifier, make_task(failure_cases=["def f(xs):\n    return xs\n"]))
    assert r.reason is RejectReason.TOO_FEW_FAILURE_CASES
    assert _one(verifier, make_task(failure_cases=[], source="mbpp")).accepted


def test_nondeterministic_example_is_rejected(verifier, make_task) -> None:
    task = make_task(
        public_tests=[],
        private_tests=[],
        checker="def check(candidate):\n    assert isinstance(candidate(1), float)\n    assert candidate(2) < 1\n",
        example_solution="import random\n\ndef f(x):\n    return random.random()\n",
        failure_cases=[],
        source="seed",
    )
    assert _one(verifier, task).reason is RejectReason.NONDETERMINISTIC


def test_constant_output_is_trivial(verifier, make_task) -> None:
    task = make_task(
        public_tests=[{"input": "([3, 1],)", "output": "0"}],
        private_tests=[{"input": "([5],)", "output": "0"}, {"input": "([],)", "output": "0"}],
        example_solution="def f(xs):\n    return 0\n",
        failure_cases=["def f(xs):\n    return 1\n"] * 3,
    )
    assert _one(verifier, task).reason is RejectReason.TRIVIAL_CONSTANT


def test_identity_is_trivial_unless_the_instruction_asks_for_it(verifier, make_task) -> None:
    fields = {
        "public_tests": [{"input": "([3, 1],)", "output": "[3, 1]"}],
        "private_tests": [{"input": "([5],)", "output": "[5]"}, {"input": "([],)", "output": "[]"}],
        "example_solution": "def f(xs):\n    return list(xs)\n",
        "failure_cases": ["def f(xs):\n    return []\n"] * 3,
    }
    r = _one(verifier, make_task(instruction="Reverse the list twice.", **fields))
    assert r.reason is RejectReason.TRIVIAL_IDENTITY
    r = _one(verifier, make_task(instruction="Return the input unchanged.", **fields))
    assert r.reason is not RejectReason.TRIVIAL_IDENTITY


def test_slow_example_is_too_slow(verifier, make_task) -> None:
    slow = "import time\n\ndef f(xs):\n    t = time.time()\n    while time.time() - t < 0.15:\n        pass\n    return sorted(xs)\n"
    r = _one(
        verifier,
        make_task(example_solution=slow),
        ValidationConfig(max_example_seconds=0.3, max_mutants=0),
    )
    assert r.reason is RejectReason.TOO_SLOW


def test_weak_tests_are_rejected_by_mutation_score(verifier, make_task) -> None:
    task = make_task(
        public_tests=[],
        private_tests=[],
        checker="def check(candidate):\n    assert candidate(3) is not None\n",
        example_solution="def f(x):\n    y = x * 2\n    return y + 1\n",
        failure_cases=[],
        source="seed",
    )
    r = _one(verifier, task)
    assert (
        r.reason is RejectReason.WEAK_TESTS
        and r.mutation_score is not None
        and r.mutation_score < 0.5
    )


def test_task_without_mutants_is_accepted_unscored_at_any_minimum(verifier, make_task) -> None:
    # an import is never dropped and holds nothing else to mutate: no mutant, so no score
    task = make_task(example_solution="from builtins import sorted as f\n")
    r = _one(verifier, task, ValidationConfig(max_mutants=12, min_mutation_score=1.0))
    assert r.accepted and r.mutation_score is None and r.mutants_total == 0, r.detail
    # benchmarks/tasks_validation.py applies its threshold with this rule: it must agree
    assert not weak_tests(r.mutation_score, 1.0)


def test_function_task_without_example_solution_is_not_validated(verifier, make_task) -> None:
    r = _one(verifier, make_task(example_solution=None))
    assert r.reason is RejectReason.NO_EXAMPLE_SOLUTION


def test_oversized_task_is_rejected(verifier, make_task) -> None:
    r = _one(verifier, make_task(instruction="x" * 9000))
    assert r.reason is RejectReason.TOO_LARGE


def test_answer_task_needs_only_a_gold_answer(verifier) -> None:
    results = validate_tasks(
        [
            {"kind": "answer", "instruction": "2+2?", "answer": "4"},
            {"kind": "answer", "answer": " "},
        ],
        verifier,
        FAST,
    )
    assert [r.reason for r in results] == [None, RejectReason.UNPARSEABLE]


@pytest.mark.parametrize("which", ["humaneval", "mbpp"])
def test_benchmark_sample_is_accepted(verifier, data_dir, which) -> None:
    tasks = (
        import_humaneval()[:4]
        if which == "humaneval"
        else import_mbpp(data_dir / "mbpp" / "mbpp.jsonl")[:4]
    )
    results = validate_tasks(
        tasks, verifier, ValidationConfig(max_mutants=8, min_mutation_score=0.0)
    )
    assert reason_counts(results)["accepted"] == 4, [r.detail for r in results]
    assert all(r.mutants_total > 0 for r in results)


def test_results_keep_input_order(verifier, make_task) -> None:
    good, bad = make_task(), make_task(example_solution="def f(xs):\n    return xs\n")
    results = validate_tasks([bad, good], verifier, FAST)
    assert [r.task_id for r in results] == [bad.id, good.id]
    assert [r.accepted for r in results] == [False, True]


# A public test only (a duplicate) tells sorted(set(xs)) from sorted(xs); the private tests
# hold no duplicates. Each check must run the public tests too, or it misses the difference.
_DEDUP = "def f(xs):\n    return sorted(set(xs))\n"
_PUBLIC_ONLY_DUPLICATES = {
    "public_tests": [{"input": "([2, 2, 1],)", "output": "[1, 2, 2]"}],
    "private_tests": [
        {"input": "([5, 4],)", "output": "[4, 5]"},
        {"input": "([],)", "output": "[]"},
        {"input": "([3, 1, 2],)", "output": "[1, 2, 3]"},
    ],
}


def test_example_failing_only_a_public_test_is_rejected(verifier, make_task) -> None:
    task = make_task(example_solution=_DEDUP, **_PUBLIC_ONLY_DUPLICATES)
    assert verifier.verify(task, _DEDUP, split=Split.PRIVATE).outcome == "pass"  # the premise
    r = _one(verifier, task)
    assert r.reason is RejectReason.EXAMPLE_FAILS, r.detail


def test_failure_case_failing_only_a_public_test_counts_as_failing(verifier, make_task) -> None:
    task = make_task(
        failure_cases=[
            "def f(xs):\n    return xs\n",
            "def f(xs):\n    return sorted(xs, reverse=True)\n",
            _DEDUP,  # passes every private test
        ],
        **_PUBLIC_ONLY_DUPLICATES,
    )
    assert verifier.verify(task, _DEDUP, split=Split.PRIVATE).outcome == "pass"  # the premise
    r = _one(verifier, task)
    assert r.accepted, r.detail


def test_mutants_killed_only_by_public_tests_count_as_killed(verifier, make_task) -> None:
    # the private tests never enter the loop body: they kill 3 of the 12 mutants, the public
    # tests kill all 12, so the score clears 0.5 only when mutants meet the public tests too
    task = make_task(
        instruction="Return three times the sum of the items above 2.",
        public_tests=[
            {"input": "([1, 5, 3],)", "output": "24"},
            {"input": "([2, 4],)", "output": "12"},
        ],
        private_tests=[{"input": "([],)", "output": "0"}, {"input": "([0, 1],)", "output": "0"}],
        example_solution=(
            "def f(xs):\n    total = 0\n    for x in xs:\n        if x > 2:\n"
            "            total += x * 3\n    return total\n"
        ),
        failure_cases=[],
        source="mbpp",
    )
    r = _one(verifier, task)
    assert r.accepted, r.detail
    assert r.mutants_total == 12 and r.mutants_killed == 12


def test_contaminated_task_is_rejected(verifier) -> None:
    from closedloop.tasks.contamination import ContaminationGuard

    he = import_humaneval()[:5]
    copy = {**he[2].to_json(), "id": "copied", "source": "challenger"}
    (r,) = validate_tasks([copy], verifier, FAST, guard=ContaminationGuard(he))
    assert r.reason is RejectReason.CONTAMINATED and he[2].id in r.detail


def _shown_inputs_only(make_task, elsewhere: str, private: list[str]):
    """A descending-sort task whose example sorts only its three shown inputs and returns
    ``elsewhere`` on any other, with ``private`` as its private tests' outputs."""
    example = (
        "def f(xs):\n    if tuple(xs) in {(3, 1, 2), (5, 0), (9, 4)}:\n"
        f"        return sorted(xs, reverse=True)\n    return {elsewhere}\n"
    )
    inputs = ["([8, 2, 5],)", "([1, 7],)"][: len(private)]
    return make_task(
        example_solution=example,
        public_tests=[
            {"input": "([3, 1, 2],)", "output": "[3, 2, 1]"},
            {"input": "([5, 0],)", "output": "[5, 0]"},
            {"input": "([9, 4],)", "output": "[9, 4]"},
        ],
        private_tests=[{"input": i, "output": o} for i, o in zip(inputs, private, strict=True)],
    )


def test_private_tests_that_all_expect_one_value_are_trivial(verifier, make_task) -> None:
    # red team 19: an example that computes its rule on the shown inputs alone and returns []
    # for every other made every private test (the loop's drawn ones too) expect []: the
    # public tests varied, mutants and failure cases died on them, and `return []` earned 1
    task = _shown_inputs_only(make_task, "[]", ["[]", "[]"])
    (r,) = validate_tasks([task], verifier, ValidationConfig(min_failure_cases=0))
    assert r.reason is RejectReason.TRIVIAL_CONSTANT, r
    assert "every private test expects []" in r.detail


@pytest.mark.parametrize(
    "elsewhere, private",
    [
        ("list(xs)", ["[8, 2, 5]", "[1, 7]"]),
        ("sorted(xs)", ["[2, 5, 8]", "[1, 7]"]),
        ("[]", ["[]"]),
    ],
    ids=["identity", "sorted", "one private test"],
)
def test_a_trivial_program_passing_only_the_private_tests_is_refused(
    verifier, make_task, elsewhere, private
) -> None:
    # red team 20: the example computes its rule on the shown inputs alone and returns its
    # input, or it sorted, elsewhere: every private test differs (no constant), and
    # `return list(xs)` earned the reward; with one private test, `return []` did
    task = _shown_inputs_only(make_task, elsewhere, private)
    (r,) = validate_tasks([task], verifier, ValidationConfig(min_failure_cases=0))
    assert r.reason is RejectReason.TRIVIAL_PRIVATE, r
    # the honest task is kept: its shown tests are passed by the same program
    honest = make_task(failure_cases=[])
    (r,) = validate_tasks([honest], verifier, ValidationConfig(min_failure_cases=0))
    assert r.accepted, r.detail
