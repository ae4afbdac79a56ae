"""Hindsight relabeling: a failed attempt's program becomes a solved example of its own.

An attempt that fails its task still computes *some* function. The loop runs that program in
the sandbox on the task's inputs and, when it returns well-formed outputs, rewrites the task
with those outputs: the program is then, by construction, a verified solution of the
rewritten task, and (rewritten prompt, program) is a supervised example for the solver. No
label is invented: every output comes from executing the program in the sandbox.

Why: with a small cold-started model most attempts fail, so plain rejection sampling keeps a
handful of examples per iteration, all from tasks the model could already solve. Relabeled
failures teach the skill the solver role needs (read examples, write a program that produces
them) on programs the policy itself writes, including the ones outside its corpus. After
CodeIt (Butt et al. 2024, arXiv:2402.04858, "prioritized hindsight replay"), which relabels
ARC programs the same way. Departure: CodeIt keeps a replay buffer across iterations; here
each iteration's relabels are used once (the policy that wrote them is the one trained).

A relabel is kept only if it carries information a prompt can show: every call returns a
list of at most 20 integers within a million of zero (the grammar's own bounds), the
outputs are not all equal, not equal to the inputs everywhere, and at least one *public*
output differs from the task's own, so the rewritten task's solver prompt (instruction and
public examples) differs from the original's. A program that reproduces every shown example
but fails a private test would otherwise be relabeled on the very prompt where GRPO just
scored it 0, and SFT would teach that wrong program for it. (A success also reproduces the
shown examples and is trained as one.) Identical programs are relabeled once per iteration.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

from closedloop.loop.grammar import MAX_ABS_VALUE, MAX_OUTPUT_LEN
from closedloop.roles.challenger import TaskShape
from closedloop.roles.prompts import call_text, example_line, literal_text, solver_prompt
from closedloop.roles.solver import Attempt
from closedloop.sandbox.wire import decode_plain
from closedloop.tasks.format import Task, TestCase
from closedloop.verify import CallJob, VerificationBackend


@dataclass(frozen=True)
class Relabel:
    """A rewritten task and the program that solves it (verified by construction)."""

    task: Task
    code: str

    @property
    def prompt(self) -> str:
        """The solver prompt of the rewritten task."""
        return solver_prompt(self.task)


def _int_list(text: str | None) -> list[int] | None:
    try:
        value = ast.literal_eval(text or "")
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None
    if isinstance(value, list) and all(type(v) is int for v in value):
        return value
    return None


def _readable(value: list[int]) -> bool:
    return len(value) <= MAX_OUTPUT_LEN and all(abs(v) <= MAX_ABS_VALUE for v in value)


def _tests(task: Task) -> list[TestCase]:
    return list(task.public_tests) + list(task.private_tests)


def relabel_outputs(task: Task, outputs: Sequence[str | None]) -> Task | None:
    """``task`` with its tests' outputs replaced by ``outputs`` (public tests first, then
    private), or None when the outputs carry no information or leave the solver prompt as it
    was (see the module docstring). Instructions that list the examples inline are rewritten
    with them."""
    tests = _tests(task)
    if len(outputs) != len(tests) or not tests:
        return None
    values = [_int_list(o) for o in outputs]
    if any(v is None or not _readable(v) for v in values):
        return None
    inputs = [decode_plain(t.input) for t in tests]  # parse_task read them with it
    if len({repr(v) for v in values}) < 2:
        return None
    if all(len(a) == 1 and a[0] == v for a, v in zip(inputs, values, strict=True)):
        return None
    npub = len(task.public_tests)
    shown = zip(task.public_tests, values[:npub], strict=True)
    if all(_int_list(t.output) == v for t, v in shown):
        return None  # the prompt would not change: see the module docstring
    new = [replace(t, output=repr(v)) for t, v in zip(tests, values, strict=True)]
    fresh = replace(
        task,
        id=f"{task.id}#hindsight",
        instruction=_relabel_instruction(task, new[:npub]),
        public_tests=tuple(new[:npub]),
        private_tests=tuple(new[npub:]),
        example_solution=None,
    )
    return fresh if solver_prompt(fresh) != solver_prompt(task) else None


def _relabel_instruction(task: Task, new: Sequence[TestCase]) -> str:
    """The relabel's instruction. The grammar's name no rule (``closedloop.loop.phrasing``):
    kept, with the examples they show inline rewritten. Any other may state the rule its task
    was made for, which the relabel's outputs no longer follow ("sorted in descending order"
    over ascending examples would teach the solver to ignore instructions): the neutral one
    instead. So also where an old output is still shown after the rewrite (written without
    the spaces ``_rewrite_inline`` matches)."""
    neutral = TaskShape().neutral_instruction(task.entry_point)
    if "grammar_seed" not in task.metadata:  # not a grammar task (domain.grammar_task)
        return neutral
    text = _rewrite_inline(task.instruction, task.public_tests, new)
    flat = re.sub(r"\s", "", text)
    for o, n in zip(task.public_tests, new, strict=True):
        if o.output != n.output and re.sub(r"\s", "", example_line("f", o)) in flat:
            return neutral
    return text


def _rewrite_inline(instruction: str, old: Sequence[TestCase], new: Sequence[TestCase]) -> str:
    """Replace ``f(args) == old`` lines an instruction shows inline by the relabeled outputs."""
    lines = instruction.split("\n")
    for o, n in zip(old, new, strict=True):
        for i, line in enumerate(lines):
            if (
                line.strip().endswith(f"== {literal_text(o.output)}")
                and call_text("f", o.input) in line
            ):
                lines[i] = line.replace(f"== {literal_text(o.output)}", f"== {n.output}")
                break
    return "\n".join(lines)


def relabel_attempts(
    verifier: VerificationBackend,
    tasks: Sequence[Task],
    attempts: Sequence[Sequence[Attempt]],
) -> list[Relabel]:
    """Relabels of the failed final attempts (one per distinct program), in task order."""
    jobs: list[tuple[Task, str]] = []
    seen: set[str] = set()
    for task, row in zip(tasks, attempts, strict=True):
        for a in row:
            if a.verdict is None or (a.reward or 0.0) >= 1.0 or not a.code.strip():
                continue
            key = a.code.strip()
            if key in seen:
                continue
            seen.add(key)
            jobs.append((task, a.code))
    if not jobs:
        return []
    calls = [
        CallJob(code, task.entry_point, [t.input for t in _tests(task)], task.prompt)
        for task, code in jobs
    ]
    out: list[Relabel] = []
    for (task, code), results in zip(jobs, verifier.call_many(calls), strict=True):
        if not all(r.ok for r in results):
            continue
        fresh = relabel_outputs(task, [r.value for r in results])
        if fresh is not None:
            out.append(Relabel(fresh, code))
    return out
