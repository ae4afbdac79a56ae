"""Challenger proposals: robust parsing, outputs only from the sandbox, learnability."""

from __future__ import annotations

import json

import pytest

from closedloop.roles.challenger import (
    ProposalError,
    ProposalRejection,
    TaskShape,
    build_task,
    learnability,
    parse_proposal,
)

TEXT = """instruction: double each element
Inputs:
f([1, 2])
([3],)
f([0, 5, 5]) == [999]
f([4, 4, 4, 4])
Solution:
```python
def f(xs):
    return [x * 2 for x in xs]
```
Wrong:
def f(xs):
    return xs
WRONG:
def f(xs):
    return [x + 2 for x in xs]
Wrong:
def f(xs):
    return xs[::-1]
"""


def test_parser_tolerates_fences_case_and_tuple_inputs():
    p = parse_proposal(TEXT)
    assert p.entry_point == "f"
    assert p.inputs == (
        "([1, 2],)",
        "([3],)",
        "([4, 4, 4, 4],)",
    )  # the 'f(...) == ...' line is not an input
    assert len(p.failure_cases) == 3
    assert p.instruction == "double each element"


def test_expected_outputs_come_from_running_the_example(verifier):
    text = TEXT.replace("f([0, 5, 5]) == [999]", "f([0, 5, 5])")
    task = build_task(parse_proposal(text), verifier, TaskShape(public_tests=3), {"iteration": 1})
    outs = [t.output for t in task.public_tests + task.private_tests]
    assert outs == ["[2, 4]", "[6]", "[0, 10, 10]", "[8, 8, 8, 8]"]
    assert len(task.private_tests) == 1 and task.source == "challenger"


def test_a_lone_surrogate_in_a_proposal_becomes_a_replacement_character(verifier):
    # a backend decoding JSON text can return one: the contamination guard's hash and the
    # pool's store then raised UnicodeEncodeError inside the generate phase
    text = TEXT.replace("f([0, 5, 5]) == [999]", "f([0, 5, 5])")
    p = parse_proposal(text.replace("double each", "double \ud800 each"))
    assert p.instruction == "double \ufffd each element"
    task = build_task(p, verifier, TaskShape(public_tests=3), {"iteration": 1})
    json.dumps(task.to_json(), ensure_ascii=False).encode("utf-8")


@pytest.mark.parametrize(
    "text, reason",
    [
        ("nothing here", ProposalRejection.UNPARSEABLE),
        ("Inputs:\nf([1])\nSolution:\nnot python (", ProposalRejection.NO_SOLUTION),
    ],
)
def test_unusable_proposals_have_typed_reasons(text, reason):
    with pytest.raises(ProposalError) as e:
        parse_proposal(text)
    assert e.value.reason is reason


def test_too_few_inputs_and_raising_examples_are_rejected(verifier):
    few = parse_proposal("Inputs:\nf([1])\nSolution:\ndef f(xs):\n    return xs\n")
    with pytest.raises(ProposalError) as e:
        build_task(few, verifier, TaskShape(), {})
    assert e.value.reason is ProposalRejection.TOO_FEW_INPUTS
    bad = parse_proposal(
        "Inputs:\nf([1])\nf([])\nf([2])\nf([3])\nSolution:\ndef f(xs):\n    return [max(xs)]\n"
    )
    with pytest.raises(ProposalError) as e:
        build_task(bad, verifier, TaskShape(), {})
    assert e.value.reason is ProposalRejection.EXAMPLE_RAISES


def test_learnability_is_zero_at_the_extremes_and_highest_in_between():
    assert learnability(0, 4) == 0.0 and learnability(4, 4) == 0.0 and learnability(0, 0) == 0.0
    assert learnability(2, 4) == 1.0 > learnability(1, 4) > 0.0


def test_drawn_inputs_become_private_tests_and_one_the_example_raises_on_is_left_out(verifier):
    text = (
        "Inputs:\nf([1])\nf([4, 2])\nf([3, 3])\nf([7])\n"
        "Solution:\ndef f(xs):\n    return [max(xs) - min(xs)]\n"
    )
    drawn = ["([5, 1, 9],)", "([],)", "([1],)", "([2, 8],)"]
    task = build_task(parse_proposal(text), verifier, TaskShape(), {}, lambda _: drawn)
    assert [t.output for t in task.public_tests] == ["[0]", "[2]", "[0]"]
    # the proposal's own fourth input, then the drawn ones but `[]` (max raises; the challenger
    # never saw it, so the proposal is not refused for it) and `[1]` (already a test)
    assert [(t.input, t.output) for t in task.private_tests] == [
        ("([7],)", "[0]"),
        ("([5, 1, 9],)", "[8]"),
        ("([2, 8],)", "[6]"),
    ]


def test_a_proposal_whose_example_raises_on_most_drawn_inputs_is_untestable(verifier):
    # an example that works only on the challenger's own inputs would keep the task's tests to
    # them: the drawn ones could never tell a lucky solver from a right one
    text = (
        "Inputs:\nf([1, 2, 3])\nf([4, 5, 6])\nf([7, 8, 9])\nf([2, 2, 2])\n"
        "Solution:\ndef f(xs):\n    assert len(xs) == 3\n    return [xs[0] + xs[2]]\n"
    )
    drawn = ["([5, 1, 9],)", "([1],)", "([2, 8],)", "([3, 3, 3, 3],)"]
    with pytest.raises(ProposalError) as e:
        build_task(parse_proposal(text), verifier, TaskShape(), {}, lambda _: drawn)
    assert e.value.reason is ProposalRejection.UNTESTABLE and "1 of the 4" in str(e.value)
    # half of them returning is enough; no drawn inputs at all (the code domain) is no refusal
    half = ["([5, 1, 9],)", "([1],)", "([2, 8, 0],)", "([3, 3, 3, 3],)"]
    task = build_task(parse_proposal(text), verifier, TaskShape(), {}, lambda _: half)
    assert len(task.private_tests) == 3
    assert len(build_task(parse_proposal(text), verifier, TaskShape(), {}).private_tests) == 1


def test_drawn_inputs_are_shaped_like_the_proposals_own(verifier):
    # the task assumes sorted inputs (its example reads the middle element): lists drawn like
    # its inputs keep that, so a second correct solution is not failed on unsorted ones
    from closedloop.loop.config import RunConfig
    from closedloop.loop.domain import drawn_calls

    text = (
        "Instruction: the input is sorted; return its median element\nInputs:\n"
        "f([1, 4, 9])\nf([2, 3, 5, 8, 13])\nf([0, 0, 7])\nf([5, 6, 7, 8, 9])\n"
        "Solution:\ndef f(xs):\n    return [xs[len(xs) // 2]]\n"
    )
    draw = drawn_calls(RunConfig.model_validate({"seed": 1}), 2, 0)
    task = build_task(parse_proposal(text), verifier, TaskShape(), {}, draw)
    assert len(task.private_tests) > 8
    other = "def f(xs):\n    return [sorted(xs)[len(xs) // 2]]\n"
    assert verifier.verify(task, other).passed == len(task.private_tests)
    # a task on strings gets no drawn lists of integers
    words = (
        "Inputs:\nf('ab')\nf('abc')\nf('x')\nf('hello')\nSolution:\ndef f(s):\n    return s[::-1]\n"
    )
    assert draw(parse_proposal(words).inputs) == []
    assert (
        len(build_task(parse_proposal(words), verifier, TaskShape(), {}, draw).private_tests) == 1
    )


def test_an_example_that_hangs_on_the_drawn_lists_costs_one_wall_clock_more():
    import time

    from closedloop.sandbox import SandboxLimits
    from closedloop.verify import Verifier

    text = (
        "Inputs:\nf([1])\nf([2])\nf([3])\nf([4])\n"
        "Solution:\ndef f(xs):\n    while xs[0] > 4:\n        pass\n    return xs\n"
    )
    drawn = [repr(([k],)) for k in range(5, 17)]
    with Verifier(workers=1, limits=SandboxLimits(wall_s=1.0)) as v:
        start = time.monotonic()
        with pytest.raises(ProposalError) as e:
            build_task(parse_proposal(text), v, TaskShape(), {}, lambda _: drawn)
        took = time.monotonic() - start
    assert e.value.reason is ProposalRejection.UNTESTABLE
    assert took < 4.0  # a job a drawn list, as before, took 12 wall clocks


def test_a_drawn_list_whose_output_holds_nan_is_left_out_not_held_against_the_proposal(verifier):
    text = (
        "Inputs:\nf([1, 2])\nf([3])\nf([4, 4])\nf([6])\n"
        "Solution:\ndef f(xs):\n    return [x / 2 if x != 7 else float('nan') for x in xs]\n"
    )
    drawn = ["([7],)", "([8],)", "([10, 12],)"]
    task = build_task(parse_proposal(text), verifier, TaskShape(), {}, lambda _: drawn)
    assert [t.input for t in task.private_tests] == ["([6],)", "([8],)", "([10, 12],)"]


def test_an_input_equal_in_value_to_another_with_the_same_output_is_one_input(verifier):
    # red team 19: a private input written [3.0, 1, 2] (or (3, 1, 2)) beside the public
    # [3, 1, 2] was a private test that a table of the shown examples passed; red team 20:
    # inputs a function tells apart (True and 1 for type names) must stay
    same = parse_proposal(
        "Inputs:\nf([3, 1, 2])\nf([5])\nf([9, 4])\nf([3.0, 1, 2])\nf((3, 1, 2))\n"
        "Solution:\ndef f(xs):\n    return sorted(xs)\n"
    )
    with pytest.raises(ProposalError) as e:
        build_task(same, verifier, TaskShape(), {})
    assert e.value.reason is ProposalRejection.TOO_FEW_INPUTS and "equal in value" in str(e.value)
    told_apart = parse_proposal(
        "Inputs:\nf(1)\nf('a')\nf(2.5)\nf(True)\nf(1.0)\n"
        "Solution:\ndef f(x):\n    return type(x).__name__\n"
    )
    task = build_task(told_apart, verifier, TaskShape(), {})
    assert [t.input for t in task.private_tests] == ["(True,)", "(1.0,)"]


@pytest.mark.parametrize(
    "instruction",
    [
        "Fibonacci numbers; note f(20) == 6765.",
        "Fibonacci numbers, e.g. fib( 20 ) is 6765.",
        "Fibonacci numbers: n = 20 gives 6765",
        "Fibonacci numbers: (20) -> 6 765",
    ],
)
def test_a_proposal_whose_instruction_shows_a_private_test_is_refused(verifier, instruction):
    # red team 19: outside list functions the loop draws no private tests, so an instruction
    # stating a private test's answer made a lookup table of the prompt earn the reward
    text = (
        f"Instruction: {instruction}\nInputs:\nf(1)\nf(2)\nf(7)\nf(20)\n"
        "Solution:\ndef f(n):\n    a, b = 0, 1\n    for _ in range(n):\n        a, b = b, a + b\n"
        "    return a\n"
    )
    with pytest.raises(ProposalError) as e:
        build_task(parse_proposal(text), verifier, TaskShape(), {})
    assert e.value.reason is ProposalRejection.SHOWS_PRIVATE
    # a public test stated in the instruction is only shown twice
    shown = text.replace("20) == 6765", "7) == 13").replace("20 ) is 6765", "7 ) is 13")
    shown = shown.replace("20 gives 6765", "7 gives 13").replace("(20) -> 6 765", "(7) -> 13")
    assert build_task(parse_proposal(shown), verifier, TaskShape(), {}).private_tests
    # another function's call is no leak (red team 20: sqrt(20) was refused as f(20))
    other = text.replace(instruction, "Fibonacci numbers, nothing like sqrt(20).")
    assert build_task(parse_proposal(other), verifier, TaskShape(), {}).private_tests
