"""Execution-guided step-wise solving of list-function tasks: one step read at a time.

A policy that reads single primitives but not their compositions (issue 16: the shipped base
writes one step for 77 of 91 two-step tasks) can still solve a composition if it only ever has
to read one step. Each round shows the policy the task's shown inputs *as the program so far
leaves them* beside the shown outputs, as a task of its own. The policy writes a program; when
that program, after the steps so far, gives every shown output, it is the answer. Otherwise
its first step is kept, the sandbox runs the steps so far on the shown inputs, and the next
round shows the lists they produce (the first round is the plain attempt, on the task's own
prompt). A round that leaves the lists as they were, or raises,
ends the search with the last program. (After the execution-guided decoding of Chen et al.
2019 and the REPL of Ellis et al. 2019, reduced to one sample per round.)

Owns the rounds; the policy samples, the sandbox runs every partial program (never this
process), and the answer is judged on the private tests like any attempt. Only for tasks whose
function takes one list and whose programs have the grammar's shape (``xs = ...`` steps, then
``return``); others are solved in one round, as the plain solver would.
"""

from __future__ import annotations

import ast
from collections.abc import Sequence
from dataclasses import dataclass, replace

from closedloop.policy.base import SamplingParams
from closedloop.roles.prompts import extract_code, solver_prompt
from closedloop.roles.solver import Attempt, score_attempts
from closedloop.tasks.format import Task, TestCase
from closedloop.verify import CallJob, VerificationBackend


@dataclass(frozen=True)
class Steps:
    """A program in the grammar's shape: ``xs = <step>`` lines, then ``return <result>``."""

    steps: tuple[str, ...]
    result: str

    def code(self) -> str:
        """``def f(xs):`` with these steps and return."""
        lines = ["def f(xs):", *[f"    xs = {s}" for s in self.steps], f"    return {self.result}"]
        return "\n".join(lines) + "\n"


def parse_steps(code: str) -> Steps | None:
    """The steps of ``def f(xs): xs = ...; ...; return ...``, or None for any other shape."""
    try:
        mod = ast.parse(code)
    except (SyntaxError, ValueError):
        return None
    funcs = [n for n in mod.body if isinstance(n, ast.FunctionDef)]
    if len(funcs) != 1 or [a.arg for a in funcs[0].args.args] != ["xs"]:
        return None
    body, steps = funcs[0].body, []
    for node in body[:-1]:
        if not (
            isinstance(node, ast.Assign)
            and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name)
            and node.targets[0].id == "xs"
        ):
            return None
        steps.append(ast.unparse(node.value))
    last = body[-1] if body else None
    if not isinstance(last, ast.Return) or last.value is None:
        return None
    return Steps(tuple(steps), ast.unparse(last.value))


def _one_list(task: Task) -> list[list[int]] | None:
    out = []
    for t in task.public_tests:
        try:
            args = ast.literal_eval(t.input)
        except (ValueError, SyntaxError):
            return None
        if not (isinstance(args, tuple) and len(args) == 1 and isinstance(args[0], list)):
            return None
        out.append(args[0])
    return out or None


def _subtask(task: Task, shown: Sequence[list[int]], round_: int) -> Task:
    """``task`` asking for the rule from ``shown`` (the lists so far) to its shown outputs:
    its instruction's first line, the examples listed after it."""
    tests = tuple(
        TestCase(repr((xs,)), t.output) for xs, t in zip(shown, task.public_tests, strict=True)
    )
    head = task.instruction.strip().split("\n")[0]
    return replace(task, id=f"{task.id}#step{round_}", instruction=head, public_tests=tests)


def _run_many(
    verifier: VerificationBackend, jobs: Sequence[tuple[str, Sequence[list[int]]]]
) -> list[list[str] | None]:
    """``f`` of each ``(code, inputs)`` on its inputs in the sandbox, all in one batch: per
    job the returned literals, or None when any of its calls fails."""
    results = verifier.call_many(
        [CallJob(code, "f", [repr((xs,)) for xs in inputs]) for code, inputs in jobs]
    )
    return [
        [r.value for r in res] if all(r.ok and r.value is not None for r in res) else None  # type: ignore[misc]
        for res in results
    ]


def stepwise_programs(
    policy: object,
    tasks: Sequence[Task],
    verifier: VerificationBackend,
    params: SamplingParams,
    max_rounds: int = 3,
) -> list[str]:
    """The program step-wise solving gives for each task (see the module docstring); the
    policy is sampled once per active task and round, all tasks of a round in one batch, and
    the sandbox runs a round's programs in one batch too."""
    inputs = [_one_list(t) for t in tasks]
    wants = [[_norm(t.output) for t in task.public_tests] for task in tasks]
    shown: list[list[list[int]] | None] = list(inputs)
    kept: list[list[str]] = [[] for _ in tasks]
    final: list[str | None] = [None] * len(tasks)
    for round_ in range(max_rounds):
        active = [i for i, t in enumerate(tasks) if final[i] is None]
        if not active:
            break
        # The first round is the plain attempt, on the task's own prompt.
        prompts = [
            solver_prompt(_subtask(tasks[i], shown[i], round_) if round_ else tasks[i])
            for i in active
        ]
        outs = policy.sample(prompts, 1, params)  # type: ignore[attr-defined]
        wholes: dict[int, Steps] = {}
        for i, row in zip(active, outs, strict=True):
            code = extract_code(row[0].text)
            parsed = parse_steps(code) if shown[i] is not None else None
            if parsed is None:
                final[i] = code if not kept[i] else Steps((*kept[i],), "xs").code()
            else:
                wholes[i] = Steps((*kept[i], *parsed.steps), parsed.result)
        got = _run_many(verifier, [(w.code(), inputs[i]) for i, w in wholes.items()])  # type: ignore[misc]
        last = round_ == max_rounds - 1
        # a program that does not yet fit keeps its first new step, which runs next
        extend: list[int] = []
        for (i, whole), outputs in zip(wholes.items(), got, strict=True):
            fits = outputs is not None and [_norm(g) for g in outputs] == wants[i]
            if fits or len(whole.steps) == len(kept[i]) or last:
                final[i] = whole.code()
            else:
                extend.append(i)
        prefixes = [Steps((*kept[i], wholes[i].steps[len(kept[i])]), "xs") for i in extend]
        now = _run_many(
            verifier, [(p.code(), inputs[i]) for i, p in zip(extend, prefixes, strict=True)]
        )  # type: ignore[misc]
        for i, prefix, values in zip(extend, prefixes, now, strict=True):
            lists = [_as_list(v) for v in values] if values is not None else None
            if lists is None or any(v is None for v in lists) or lists == shown[i]:
                final[i] = wholes[i].code()
            else:
                kept[i].append(prefix.steps[-1])
                shown[i] = lists  # type: ignore[assignment]
    return [
        f if f is not None else Steps(tuple(k), "xs").code()
        for f, k in zip(final, kept, strict=True)
    ]


def _norm(literal: str) -> object:
    try:
        return ast.literal_eval(literal)
    except (ValueError, SyntaxError):
        return literal


def _as_list(literal: str) -> list[int] | None:
    v = _norm(literal)
    return v if isinstance(v, list) and all(type(x) is int for x in v) else None


def stepwise_attempts(
    policy: object,
    tasks: Sequence[Task],
    verifier: VerificationBackend,
    params: SamplingParams,
    max_rounds: int = 3,
) -> list[Attempt]:
    """One step-wise attempt per task, scored on the private tests."""
    codes = stepwise_programs(policy, tasks, verifier, params, max_rounds)
    attempts = [[Attempt(t.id, 0, [], codes=[c])] for t, c in zip(tasks, codes, strict=True)]
    score_attempts(verifier, tasks, attempts)
    return [row[0] for row in attempts]
