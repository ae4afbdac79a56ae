"""Exhaustive search over the list-functions grammar: the shortest program that fits examples.

The loop's solver writes programs of :mod:`closedloop.loop.grammar`; this search tells what any
such solver could reach at best. Breadth first over up to ``max_depth`` steps (then an optional
aggregate, or a bare aggregate), with programs that behave alike on the examples' inputs kept
once (observational equivalence), so depth 3 is a few thousand states per level rather than
two million programs. Used by ``benchmarks/grammar_ceiling.py`` to measure how much of a
held-out set the grammar can express at all, family by family.

Owns the search; runs the grammar's own Python semantics in this process on the examples'
literal inputs, so it is for trusted task files only, and it never scores a policy.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from closedloop.loop.grammar import Step, all_aggregates, all_steps, render_program

_MAX_LEN = 64
"""Intermediate lists longer than this are dropped (no task of interest needs them)."""
_MAX_ABS = 10**9
"""Nor values larger than this: squaring twice would otherwise grow numbers without bound."""

State = tuple[tuple[int, ...] | None, ...]  # one output per input; None where the step raised


@dataclass(frozen=True)
class Fit:
    """A grammar program that reproduces a task's fitted examples."""

    steps: tuple[Step, ...]
    aggregate: Step | None
    passes_all: bool  # it also gives every held-back example's output

    @property
    def code(self) -> str:
        """The program as Python source."""
        return render_program(
            [s.code for s in self.steps], self.aggregate.code if self.aggregate else None
        )

    def __call__(self, xs: list[int]) -> list[int]:
        """The program's semantics on ``xs`` (raises as its code would)."""
        for s in self.steps:
            xs = s.fn(list(xs))
        return self.aggregate.fn(xs) if self.aggregate else xs

    @property
    def depth(self) -> int:
        """Number of list steps (the aggregate not counted)."""
        return len(self.steps)


def _apply(fn, state: State) -> State | None:  # noqa: ANN001 - a grammar Fn
    out: list[tuple[int, ...] | None] = []
    for xs in state:
        if xs is None:
            out.append(None)
            continue
        try:
            ys = fn(list(xs))
        except (ValueError, IndexError, ZeroDivisionError, TypeError):
            out.append(None)
            continue
        if len(ys) > _MAX_LEN or any(abs(y) > _MAX_ABS for y in ys):
            return None
        out.append(tuple(ys))
    return tuple(out)


def _may_fit(fn, xs: tuple[int, ...] | None, want: tuple[int, ...], aggregates: list[Step]) -> bool:  # noqa: ANN001
    """Whether ``fn`` on the first input, then nothing or an aggregate, can give ``want``."""
    if xs is None:
        return False
    try:
        ys = fn(list(xs))
        if tuple(ys) == want:
            return True
        if len(want) != 1:
            return False  # every aggregate returns one element
        for agg in aggregates:
            try:
                if tuple(agg.fn(ys)) == want:
                    return True
            except (ValueError, IndexError, ZeroDivisionError, TypeError):
                pass
    except (ValueError, IndexError, ZeroDivisionError, TypeError):
        return False
    return False


def search(
    inputs: Sequence[Sequence[int]],
    outputs: Sequence[Sequence[int]],
    n_fit: int,
    max_depth: int = 3,
) -> Fit | None:
    """The first program (fewest steps; then the grammar's enumeration order) whose outputs
    equal ``outputs[:n_fit]`` on ``inputs[:n_fit]``; ``passes_all`` says whether it also gives
    the rest. None when no program of up to ``max_depth`` steps fits.

    A program with no step and no aggregate (the identity) is not in the grammar, so it is
    never returned.

    >>> fit = search([[3, 1, 2], [5, 4]], [[1, 2, 3], [4, 5]], n_fit=2)
    >>> fit.code.splitlines()[1].strip()
    'xs = sorted(xs)'
    """
    if not 0 < n_fit <= len(inputs) == len(outputs):
        raise ValueError(f"n_fit must be in 1..{len(inputs)} with one output per input")
    target = tuple(tuple(o) for o in outputs)
    steps, aggregates = all_steps(), all_aggregates()

    def check(state: State, path: tuple[Step, ...]) -> Fit | None:
        if path and state[:n_fit] == target[:n_fit]:
            return Fit(path, None, state == target)
        for agg in aggregates:
            got = _apply(agg.fn, state)
            if got is not None and got[:n_fit] == target[:n_fit]:
                return Fit(path, agg, got == target)
        return None

    start: State = tuple(tuple(i) for i in inputs)
    found = check(start, ())
    if found:
        return found
    # The start is not marked seen: a step that leaves every input as it is (``abs(x)`` on
    # non-negative lists) is how the grammar writes the identity, and must be checked.
    seen: set[State] = set()
    frontier: list[tuple[State, tuple[Step, ...]]] = [(start, ())]
    first = target[0]
    for depth in range(1, max_depth + 1):
        nxt: list[tuple[State, tuple[Step, ...]]] = []
        last = depth == max_depth
        for state, path in frontier:
            for step in steps:
                if last and not _may_fit(step.fn, state[0], first, aggregates):
                    continue  # the last level is most of the work: most fail on input 0
                new = _apply(step.fn, state)
                if new is None or new in seen or any(x is None for x in new[:n_fit]):
                    continue
                seen.add(new)
                found = check(new, (*path, step))
                if found:
                    return found
                if depth < max_depth:
                    nxt.append((new, (*path, step)))
        frontier = nxt
    return None


def rival_fits(
    inputs: Sequence[Sequence[int]],
    outputs: Sequence[Sequence[int]],
    n_fit: int,
    max_depth: int = 2,
) -> tuple[Fit, Fit] | None:
    """Two programs of the fewest steps that fit ``outputs[:n_fit]`` on ``inputs[:n_fit]``
    yet differ on an input after them (one raising counts as differing); None when every such
    program agrees on the rest, or none of up to ``max_depth`` steps fits.

    This is what makes a task's shown examples ambiguous: a solver that reads them right, in
    the simplest rule they show, may still be marked wrong by the hidden ones. Programs are
    told apart on every input at once, so two that agree on the shown inputs stay apart.

    >>> rival_fits([[1, 2], [2, 5], [3, 1]], [[2, 1], [5, 2], [1, 3]], n_fit=2) is not None
    True
    >>> rival_fits([[1, 2], [5, 3], [3, 1]], [[2, 1], [3, 5], [1, 3]], n_fit=2) is None
    True
    """
    if not 0 < n_fit < len(inputs) == len(outputs):
        raise ValueError(f"n_fit must be in 1..{len(inputs) - 1} with one output per input")
    target = tuple(tuple(o) for o in outputs[:n_fit])
    steps, aggregates = all_steps(), all_aggregates()
    first: list[tuple[State, Fit]] = []  # the first fit found at the level, and its state

    def rival(state: State, fit: Fit) -> tuple[Fit, Fit] | None:
        if not first:
            first.append((state, fit))
            return None
        return (first[0][1], fit) if state[n_fit:] != first[0][0][n_fit:] else None

    def check(state: State, path: tuple[Step, ...]) -> tuple[Fit, Fit] | None:
        if path and state[:n_fit] == target:
            if (pair := rival(state, Fit(path, None, False))) is not None:
                return pair
        for agg in aggregates:
            got = _apply(agg.fn, state)
            if got is not None and got[:n_fit] == target:
                if (pair := rival(got, Fit(path, agg, False))) is not None:
                    return pair
        return None

    start: State = tuple(tuple(i) for i in inputs)
    if (pair := check(start, ())) is not None or first:
        return pair
    seen: set[State] = set()
    frontier: list[tuple[State, tuple[Step, ...]]] = [(start, ())]
    for depth in range(1, max_depth + 1):
        nxt: list[tuple[State, tuple[Step, ...]]] = []
        last = depth == max_depth
        for state, path in frontier:
            for step in steps:
                if last and not _may_fit(step.fn, state[0], target[0], aggregates):
                    continue
                new = _apply(step.fn, state)
                if new is None or new in seen or any(x is None for x in new[:n_fit]):
                    continue
                seen.add(new)
                if (pair := check(new, (*path, step))) is not None:
                    return pair
                if depth < max_depth:
                    nxt.append((new, (*path, step)))
        if first:
            return None
        frontier = nxt
    return None
