"""The challenger role: propose a Code-as-Task task, and its learnability reward.

A proposal is plain text in sections (headers at the start of a line, case-insensitive)::

    Instruction: one line saying what f does (optional)
    Inputs:
    f([3, 1, 2])
    f([5, 0])
    Solution:
    def f(xs):
        return sorted(xs)
    Wrong:
    def f(xs):
        return xs
    Wrong:
    ...

The parser is lenient (missing instruction, fenced code, extra blank lines, inputs written as
argument tuples) and typed in what it refuses (:class:`ProposalRejection`). Expected outputs are
**never** read from the proposal: :func:`build_task` runs the example solution on the proposed
inputs in the sandbox (``Verifier.call``) and takes the returned literals. The task then goes
through ``closedloop.tasks.validate`` (with the contamination guard) like any other.

Learnability (after Absolute Zero, Zhao et al. 2025, arXiv:2505.03335, eq. 4, and R-Zero's
uncertainty reward): with the solver's private-test success rate ``p`` on the task this
iteration, the reward is ``4 p (1 - p)`` — 1 at ``p = 1/2``, 0 when the solver always or never
succeeds — and a fixed negative ``rejected_reward`` for a proposal that is rejected.
Departure: Absolute Zero uses ``1 - p`` for ``0 < p < 1``; the symmetric form keeps the
challenger from preferring tasks the solver almost never solves.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from closedloop.roles.prompts import call_text, extract_code, literal_text
from closedloop.sandbox.wire import contains_nan, decode_plain
from closedloop.tasks.format import Task, TaskFormatError, parse_task
from closedloop.tasks.literals import value_key
from closedloop.verify import CallResult, VerificationBackend
from closedloop.verify.text import safe_text


class ProposalRejection(StrEnum):
    """Why a proposal did not even become a task (validation reasons come after these)."""

    UNPARSEABLE = "unparseable"  # same value as tasks.validate.RejectReason.UNPARSEABLE
    NO_SOLUTION = "no_solution"
    TOO_FEW_INPUTS = "too_few_inputs"
    EXAMPLE_RAISES = "example_raises"  # the example solution failed on some proposed input
    UNTESTABLE = "untestable"  # it returns on under half the loop's drawn inputs
    SHOWS_PRIVATE = "shows_private"  # its instruction shows a private test's call or answer
    AMBIGUOUS = "ambiguous"  # its shown examples fit two rules that differ on a hidden test


@dataclass(frozen=True)
class Proposal:
    """A parsed proposal: texts only, nothing run yet."""

    instruction: str
    inputs: tuple[str, ...]  # argument-tuple literals, e.g. "([3, 1, 2],)"
    solution: str
    entry_point: str
    failure_cases: tuple[str, ...]


class ProposalError(ValueError):
    """A proposal that cannot become a task; ``reason`` says why."""

    def __init__(self, reason: ProposalRejection, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else str(reason))
        self.reason = reason


_HEADER = re.compile(r"^\s*(instruction|inputs?|solution|wrong)\s*:\s*", re.I | re.M)


PROPOSAL_SOURCE = "challenger"
"""The ``source`` of a task built from a proposal."""


def _entry_point(code: str) -> str | None:
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return None
    names = [n.name for n in tree.body if isinstance(n, ast.FunctionDef)]
    return names[-1] if names else None


def _input_literal(line: str) -> str | None:
    """``f(1, [2])`` or ``(1, [2])`` -> ``"(1, [2])"``; None when not literal arguments."""
    line = line.strip().rstrip(",;")
    if not line:
        return None
    try:
        node = ast.parse(line, mode="eval").body
    except (SyntaxError, ValueError):
        return None
    if isinstance(node, ast.Call) and not node.keywords:
        parts = node.args
    elif isinstance(node, ast.Tuple):
        parts = node.elts
    else:
        return None
    try:
        args = tuple(ast.literal_eval(a) for a in parts)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None
    return repr(args)


def parse_proposal(text: str) -> Proposal:
    """Parse a challenger completion; raises :class:`ProposalError` with a typed reason.

    A lone surrogate (a backend that decodes JSON text can return one) becomes U+FFFD first:
    a task holding one could not be hashed by the contamination guard nor stored."""
    text = safe_text(text)
    marks = list(_HEADER.finditer(text))
    if not marks:
        raise ProposalError(ProposalRejection.UNPARSEABLE, "no section headers")
    sections: list[tuple[str, str]] = []
    for m, nxt in zip(marks, [*marks[1:], None], strict=True):
        body = text[m.end() : nxt.start() if nxt else len(text)]
        sections.append((m.group(1).lower().rstrip("s"), body))
    instruction = next(
        (b.strip().splitlines()[0] for k, b in sections if k == "instruction" and b.strip()), ""
    )
    inputs = [
        lit
        for k, b in sections
        if k == "input"
        for ln in b.splitlines()
        if (lit := _input_literal(ln))
    ]
    solution = next((extract_code(b) for k, b in sections if k == "solution" and b.strip()), "")
    entry = _entry_point(solution) if solution else None
    if not solution or entry is None:
        raise ProposalError(ProposalRejection.NO_SOLUTION, "no parseable example solution")
    wrong = tuple(extract_code(b) for k, b in sections if k == "wrong" and b.strip())
    return Proposal(instruction, tuple(dict.fromkeys(inputs)), solution, entry, wrong)


@dataclass(frozen=True)
class TaskShape:
    """How a proposal's inputs become tests."""

    public_tests: int = 3
    """The first inputs become public tests (shown to the solver) ..."""
    min_private_tests: int = 1
    """... and the rest private ones (at least this many)."""
    default_instruction: str = (
        "Write a Python function f that maps each input to its output, as in these examples."
    )
    """Instruction used when the proposal gives none (``neutral_instruction`` names the
    proposal's own function)."""

    def neutral_instruction(self, entry_point: str) -> str:
        """``default_instruction`` for a function named ``entry_point``."""
        return self.default_instruction.replace(" f ", f" {entry_point} ", 1)


def build_task(
    proposal: Proposal,
    verifier: VerificationBackend,
    shape: TaskShape,
    provenance: dict[str, Any],
    draw: Callable[[Sequence[str]], Sequence[str]] | None = None,
) -> Task:
    """The task of a proposal, with outputs computed by running its example solution in the
    sandbox. ``draw``: given the proposal's inputs, argument tuples the loop chooses itself
    (``closedloop.loop.domain.drawn_calls``), added as private tests where the example solution
    returns a usable value on them: the proposal is not refused for one it raises on (the
    challenger never saw them), but it is, ``UNTESTABLE``, when it fails on more than half of
    them. They run in one job after the proposal's own inputs have all returned, so an example
    that hangs costs one more wall clock at most. Raises :class:`ProposalError`."""
    need = shape.public_tests + shape.min_private_tests
    if len(proposal.inputs) < need:
        raise ProposalError(ProposalRejection.TOO_FEW_INPUTS, f"{len(proposal.inputs)} < {need}")
    calls = list(proposal.inputs)
    results = verifier.call(proposal.solution, proposal.entry_point, calls)
    bad = next((r for r in results if not r.ok), None)
    if bad is not None:
        raise ProposalError(ProposalRejection.EXAMPLE_RAISES, (bad.error or "")[:200])
    calls, results = _distinct_tests(calls, results)
    if len(calls) < need:
        raise ProposalError(
            ProposalRejection.TOO_FEW_INPUTS,
            f"{len(calls)} < {need} once inputs equal in value with equal outputs are one",
        )
    own = {value_key(c, tuples_as_lists=True) for c in calls}
    drawn = [
        d for d in (draw(calls) if draw else ()) if value_key(d, tuples_as_lists=True) not in own
    ]
    if drawn:
        more = verifier.call(proposal.solution, proposal.entry_point, drawn, resume=False)
        kept = [(d, r) for d, r in zip(drawn, more, strict=True) if usable_result(r)]
        if 2 * len(kept) < len(drawn):
            # else a challenger could keep its tasks' tests to its own few inputs, by an
            # example that raises on the rest: weak tests a solver passes by luck
            raise ProposalError(
                ProposalRejection.UNTESTABLE,
                f"the example solution returned on {len(kept)} of the {len(drawn)} inputs "
                "the loop drew",
            )
        calls += [d for d, _ in kept]
        results += [r for _, r in kept]
    tests = [{"input": i, "output": r.value} for i, r in zip(calls, results, strict=True)]
    if (shown := _private_shown(proposal, tests, shape.public_tests)) is not None:
        raise ProposalError(ProposalRejection.SHOWS_PRIVATE, shown)
    obj = {
        "kind": "function",
        "instruction": proposal.instruction or shape.neutral_instruction(proposal.entry_point),
        "entry_point": proposal.entry_point,
        "public_tests": tests[: shape.public_tests],
        "private_tests": tests[shape.public_tests :],
        "example_solution": proposal.solution,
        "failure_cases": list(proposal.failure_cases),
        "source": PROPOSAL_SOURCE,
        "metadata": dict(provenance),
    }
    try:
        return parse_task(obj)
    except TaskFormatError as e:
        raise ProposalError(ProposalRejection.UNPARSEABLE, str(e)) from None


def _distinct_tests(calls: list[str], results: list[CallResult]) -> tuple[list[str], list[Any]]:
    """The proposal's inputs less those equal in value to an earlier one (``[3.0, 1, 2]``,
    ``(3, 1, 2)`` for ``[3, 1, 2]``) on which the example returned an equal value too: a
    private test that is a public one written otherwise is passed by a table of the shown
    examples. Inputs a function tells apart (``True`` and ``1`` for ``type``) stay."""
    seen: set[tuple[str | None, str | None]] = set()
    kept_calls, kept_results = [], []
    for c, r in zip(calls, results, strict=True):
        key = (value_key(c, tuples_as_lists=True), value_key(r.value))
        if key not in seen:
            seen.add(key)
            kept_calls.append(c)
            kept_results.append(r)
    return kept_calls, kept_results


def _private_shown(proposal: Proposal, tests: list[dict[str, Any]], public: int) -> str | None:
    """What of a private test the proposal's instruction (or its function's name) shows, if
    anything: its call (``f(20)``, spaces aside), or its answer (``6765``, two characters or
    more, not inside a longer number or name) unless a public test has that answer too. The
    instruction is the solver's prompt, so a test it shows is no private test: a lookup table
    of what it states would earn the reward (the loop draws no private tests of its own
    outside list functions). Text, not values: an answer spelt otherwise still gets by."""
    text = f"{proposal.instruction} {proposal.entry_point}"
    flat = re.sub(r"\s", "", text)
    shown_answers = {re.sub(r"\s", "", literal_text(t["output"])) for t in tests[:public]}
    for t in tests[public:]:
        call = re.sub(r"\s", "", call_text(proposal.entry_point, t["input"]))
        out = re.sub(r"\s", "", literal_text(t["output"]))
        spaced = r"\s*".join(re.escape(ch) for ch in out)
        said = re.compile(r"(?<![0-9A-Za-z.])" + spaced + r"(?![0-9A-Za-z])")
        if call in flat or (len(out) >= 2 and out not in shown_answers and said.search(text)):
            return f"the instruction shows {call_text(proposal.entry_point, t['input'])[:80]}"
    return None


def usable_result(result: CallResult) -> bool:
    """Whether a call's result can be a test's expected output: it returned a plain literal
    with no NaN in it (NaN equals nothing: the task format refuses it)."""
    if not result.ok or result.value is None:
        return False
    try:
        return not contains_nan(decode_plain(result.value))
    except Exception:  # not a plain literal: the task format would refuse it
        return False


def learnability(successes: int, attempts: int) -> float:
    """``4 p (1 - p)`` for success rate ``p``; 0 when there were no attempts."""
    if attempts <= 0:
        return 0.0
    p = successes / attempts
    return 4.0 * p * (1.0 - p)


def render_proposal(instruction: str, calls: list[str], solution: str, wrong: list[str]) -> str:
    """A proposal in the challenger's format (used to write the cold-start corpus)."""
    parts = [f"Instruction: {instruction}", "Inputs:", *calls, "Solution:", solution.rstrip()]
    for w in wrong:
        parts += ["Wrong:", w.rstrip()]
    return "\n".join(parts) + "\n"
