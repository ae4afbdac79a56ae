"""Inputs are read from tests and checkers as literals; probes depend only on the types."""

from __future__ import annotations

from closedloop.tasks.checker_reading import checker_calls
from closedloop.tasks.literals import literal_text
from closedloop.tasks.probes import probe_inputs, schema, task_inputs, task_probes

CHECKER = """
def check(candidate):
    assert candidate([1, 2], 3) == [4]
    assert candidate("a") == "b", "message"
    assert abs(candidate(1.5) - 2) < 1e-6
    assert candidate(unknown) == 1
    assert candidate(*args) == 1
"""


def test_checker_calls_are_literal_calls_with_expected_values() -> None:
    calls = checker_calls(CHECKER)
    assert [(c.input, c.output) for c in calls] == [
        ("([1, 2], 3)", "[4]"),
        ("('a',)", "'b'"),
        ("(1.5,)", "2"),  # abs(f(x) - y) < eps compares f(x) with y (the guard's pairs)
    ]


def test_task_inputs_merge_tests_and_checker_calls(make_task) -> None:
    task = make_task(checker=CHECKER)
    inputs = task_inputs(task)
    assert inputs[0] == "([3, 1, 2],)" and "([1, 2], 3)" in inputs


def test_literal_text_refuses_what_does_not_read_back() -> None:
    assert literal_text((1, "a")) == "(1, 'a')"
    assert literal_text(float("nan")) is None and literal_text(object()) is None


def test_probes_depend_only_on_the_schema(make_task) -> None:
    assert schema("([1, 2], 'x')") == ("list[int]", "str")
    a = make_task()
    b = make_task(public_tests=[{"input": "([9],)", "output": "[9]"}])
    assert task_probes(a) == task_probes(b) == probe_inputs(("list[int]",))
    assert len(set(task_probes(a))) == 8
    assert probe_inputs(("list[int]",)) != probe_inputs(("str",))


def test_canonical_text_ignores_set_and_dict_order() -> None:
    from closedloop.tasks.literals import canonical

    assert canonical("{'b', 'a', 'c'}") == canonical("{'c', 'b', 'a'}") == "{'a', 'b', 'c'}"
    assert canonical("{2: 0, 1: 0}") == canonical("{1: 0, 2: 0}")
    assert canonical("[1, (2,)]") == "[1, (2,)]" and canonical("set()") == "set()"
