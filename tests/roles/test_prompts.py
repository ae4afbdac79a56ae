"""Solver prompts show each public example once, wherever the task put it."""

from __future__ import annotations

from closedloop.roles.prompts import solver_prompt
from closedloop.tasks.format import parse_task


def _task(instruction: str):
    return parse_task(
        {
            "id": "t",
            "kind": "function",
            "instruction": instruction,
            "entry_point": "f",
            "public_tests": [
                {"input": "([3, 1, 2],)", "output": "[1, 2, 3]"},
                {"input": "([5, 4],)", "output": "[4, 5]"},
            ],
            "private_tests": [{"input": "([9, 8, 7],)", "output": "[7, 8, 9]"}],
        }
    )


def test_examples_listed_in_the_instruction_are_not_repeated():
    inline = _task(
        "Follow the rule of these examples:\nf([3, 1, 2]) == [1, 2, 3]\nf([5, 4]) == [4, 5]"
    )
    prompt = solver_prompt(inline)
    assert prompt.count("f([3, 1, 2]) == [1, 2, 3]") == 1 and "Examples:" not in prompt
    partly = _task("Like this one:\nf([3, 1, 2]) == [1, 2, 3]")
    prompt = solver_prompt(partly)
    assert prompt.count("f([3, 1, 2]) == [1, 2, 3]") == 1
    assert "Examples:\nf([5, 4]) == [4, 5]" in prompt  # the one not shown yet still is
    plain = solver_prompt(_task("Sort the list."))
    assert "Examples:\nf([3, 1, 2]) == [1, 2, 3]\nf([5, 4]) == [4, 5]" in plain
