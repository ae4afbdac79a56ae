"""Prompt texts of the roles. Solver prompts are built from a task's *public* tests only.

Rendering a test: the argument tuple ``([3, 1, 2],)`` becomes the call ``f([3, 1, 2])`` and the
output literal is normalised with ``repr(ast.literal_eval(...))``; nothing is executed.
"""

from __future__ import annotations

import ast
import re

from closedloop.tasks.format import Task, TestCase
from closedloop.verify.outcome import TestResult

SOLVER_SUFFIX = "Write the Python function."
FEEDBACK_HEAD = "Your function failed these tests:"
FEEDBACK_TAIL = "Write the corrected function."
MAX_FEEDBACK_TESTS = 2
ERROR_TAIL_CHARS = 120


def call_text(entry_point: str, input_literal: str) -> str:
    """``f(a, b)`` for the argument-tuple literal ``(a, b)``; the raw text when it is no tuple."""
    try:
        args = ast.literal_eval(input_literal)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return f"{entry_point}{input_literal}"
    if not isinstance(args, tuple):
        return f"{entry_point}({input_literal})"
    return f"{entry_point}({', '.join(repr(a) for a in args)})"


def literal_text(text: str | None) -> str:
    """A literal normalised by ``repr(ast.literal_eval(text))`` (the text itself if it fails)."""
    if text is None:
        return "None"
    try:
        return repr(ast.literal_eval(text))
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return text.strip()


def example_line(entry_point: str, test: TestCase) -> str:
    """One public test as ``f(args) == output``."""
    return f"{call_text(entry_point, test.input)} == {literal_text(test.output)}"


def solver_prompt(task: Task) -> str:
    """The solver's first message: the instruction, the prompt code, the public tests (each
    once: those the instruction already shows as ``f(args) == output`` are not repeated).

    Private tests never appear here (a test in tests/roles proves it).
    """
    parts = [task.instruction.strip()]
    if task.prompt.strip():
        parts.append(task.prompt.rstrip())
    # An example the instruction already shows verbatim, as a line of its own, is not shown
    # again: importers whose instructions list the examples (reasoning-gym's) would otherwise
    # double the prompt. A line, not a substring: ``f([1]) == [1] + [9]`` in an instruction
    # hid the example ``f([1]) == [1]`` behind a misleading one.
    shown = {ln.strip() for part in parts for ln in part.splitlines()}
    lines = [example_line(task.entry_point, t) for t in task.public_tests]
    lines = [ln for ln in lines if ln not in shown]
    if lines:
        parts.append("Examples:\n" + "\n".join(lines))
    parts.append(SOLVER_SUFFIX)
    return "\n".join(p for p in parts if p)


def feedback_message(entry_point: str, failing: list[TestResult]) -> str:
    """Feedback on failing *public* tests: input, expected, got, and the error's tail."""
    lines = [FEEDBACK_HEAD]
    for r in failing[:MAX_FEEDBACK_TESTS]:
        call = call_text(entry_point, r.input)
        if r.error:
            lines.append(
                f"{call} should be {literal_text(r.expected)} but raised {r.error[-ERROR_TAIL_CHARS:]}"
            )
        else:
            lines.append(
                f"{call} should be {literal_text(r.expected)} but got {literal_text(r.got)}"
            )
    lines.append(FEEDBACK_TAIL)
    return "\n".join(lines)


def load_error_message(detail: str) -> str:
    """Feedback when the code did not load or produced no per-test results."""
    return f"{FEEDBACK_HEAD}\n{detail[-ERROR_TAIL_CHARS:]}\n{FEEDBACK_TAIL}"


_OPEN = re.compile(r"```([^\n`]*)\n")  # a fence and its info string, to the end of its line
_CLOSE = re.compile(r"```")
_PYTHON = frozenset({"", "python", "py", "python3", "py3"})


def extract_code(text: str) -> str:
    """The code in a completion: the first fenced block whose info string names Python (or
    none, in any case: ```` ```Python ````, ```` ``` python ````), else the text. A block in
    another language is skipped whole, and a closing fence never opens a block: a decoy block
    with a tag the pattern did not know once had the text *after* it graded instead."""
    pos = 0
    while (m := _OPEN.search(text, pos)) is not None:
        end = _CLOSE.search(text, m.end())
        if m.group(1).strip().lower() in _PYTHON:
            code = text[m.end() : end.start() if end else len(text)]
            return code.strip("\n") + "\n"
        if end is None:
            break
        pos = end.end()
    return text.strip("\n") + "\n"
