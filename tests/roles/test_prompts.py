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
    # red team 19: an example found anywhere in the instruction was dropped, so a misleading
    # line that merely contains it hid the real example from the solver
    hidden = solver_prompt(
        _task("Hint: f([3, 1, 2]) == [1, 2, 3] + [9], f([5, 4]) == [4, 5] + [9]")
    )
    assert "Examples:\nf([3, 1, 2]) == [1, 2, 3]\nf([5, 4]) == [4, 5]" in hidden


def test_the_code_graded_is_the_first_python_block_whatever_its_tag_says():
    from closedloop.roles.prompts import extract_code

    # a tag the pattern did not know (```Python, ```python3, ``` python) made it take the
    # closing fence for an opening one and grade the text after the block: a wrong block
    # with the right code after it earned 1.0, a right block followed by a sentence 0.0
    for tag in ("Python", "python3", " python", "python ", "py", ""):
        text = f"```{tag}\nWRONG = 1\n```\n# the fix:\nRIGHT = 1\n"
        assert extract_code(text) == "WRONG = 1\n", tag
    # a block in another language is skipped whole, never read from its closing fence
    assert extract_code("```text\nout\n```\nprose\n```python\nx = 1\n```") == "x = 1\n"
    # unchanged: the first python block, an unclosed one, or the whole text without a fence
    assert extract_code("```python\na = 1\n```\n```python\nb = 2\n```") == "a = 1\n"
    assert extract_code("```py\nunclosed = 1") == "unclosed = 1\n"
    assert extract_code("def f():\n    return 1\n") == "def f():\n    return 1\n"
