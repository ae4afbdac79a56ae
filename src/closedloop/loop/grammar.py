"""The list-functions grammar: small Python programs on lists of integers, for the cold start.

A program is ``def f(xs):`` followed by 1..``max_depth`` transformation steps and a return::

    def f(xs):
        xs = [x * 3 for x in xs]
        xs = xs[::-1]
        return xs

Primitives (each a list -> list step, with the Python it becomes):

- ``map``: ``[x + c for x in xs]`` for ``+ - *`` with ``c`` in 1..9, ``x // 2``, ``x % (c + 1)``, ``-x``,
  ``abs(x)``, ``x * x``;
- ``filter``: ``[x for x in xs if P]`` with ``P`` one of ``x > c``, ``x < c``, ``x % 2 == 0``,
  ``x % 2 == 1``, ``x % k == 0`` (``k`` in 3..5);
- ``order``: ``sorted(xs)``, ``sorted(xs, reverse=True)``, ``xs[::-1]``;
- ``slice``: ``xs[k:]``, ``xs[:k]``, ``xs[:-1]``, ``xs[::2]``, ``xs[1::2]`` (``k`` in 1..3);
- ``extend``: ``xs + [c]``, ``[c] + xs``, ``xs + xs``, ``xs + xs[::-1]``;
- ``pairs``: ``[b - a for a, b in zip(xs, xs[1:])]``, ``[a + b for a, b in zip(xs, xs[1:])]``,
  running sums ``[sum(xs[: i + 1]) for i in range(len(xs))]``, ``list(dict.fromkeys(xs))``;

and an optional final aggregate, returned as a one-element list: ``[sum(xs)]``,
``[max(xs)]``, ``[min(xs)]``, ``[len(xs)]``, ``[xs[k]]``, ``[xs[-1]]``,
``[max(xs) - min(xs)]``, ``[xs.count(xs[0])]``.

Depth: 1 to ``max_depth`` (default 2) steps, depth ``d`` drawn with weight ``2 ** -(d - 1)``
(single primitives are the most common, so the cold start masters them first), plus the aggregate with probability
``aggregate_prob``. Every primitive carries its Python semantics here as a function, so expected
outputs are computed by *calling that function*, never by executing program text; the rendered
code and the semantics are checked against each other in the tests (through the sandbox).

Item ``i`` of :func:`sample_tasks` is rebuilt from ``Random(seed * 1_000_003 + i)``.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass

Fn = Callable[[list[int]], list[int]]

MAX_OUTPUT_LEN = 20
"""Longest output list a task may show (longer ones make prompts the model cannot read)."""
MAX_ABS_VALUE = 10**6
"""Largest output magnitude a task may show."""


@dataclass(frozen=True)
class Step:
    """One primitive: the line of code and what it does."""

    code: str  # an expression over ``xs``
    fn: Fn
    family: str


def render_program(steps: Sequence[str], aggregate: str | None = None) -> str:
    """Python source of a grammar program from its step expressions (each assigned to ``xs``)
    and an optional aggregate expression (returned instead of ``xs``)."""
    lines = ["def f(xs):"]
    lines += [f"    xs = {code}" for code in steps]
    lines.append(f"    return {aggregate}" if aggregate else "    return xs")
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class ListProgram:
    """A grammar program: its steps, an optional aggregate, and provenance."""

    steps: tuple[Step, ...]
    aggregate: Step | None
    seed: int

    @property
    def code(self) -> str:
        """The program as Python source (``def f(xs): ...``)."""
        return render_program(
            [s.code for s in self.steps], self.aggregate.code if self.aggregate else None
        )

    @property
    def families(self) -> tuple[str, ...]:
        """The primitive families used, in order."""
        return tuple(s.family for s in self.steps) + (("aggregate",) if self.aggregate else ())

    def __call__(self, xs: list[int]) -> list[int]:
        """The program's semantics (raises like the code would on, e.g., ``max([])``)."""
        for s in self.steps:
            xs = s.fn(list(xs))
        return self.aggregate.fn(xs) if self.aggregate else xs


_MAP_KINDS = ("add", "sub", "mul", "half", "mod", "neg", "abs", "sq")
_FILTER_KINDS = ("gt", "lt", "even", "odd", "div")


def _map_table(c: int) -> dict[str, tuple[str, Fn]]:
    return {
        "add": (f"[x + {c} for x in xs]", lambda xs: [x + c for x in xs]),
        "sub": (f"[x - {c} for x in xs]", lambda xs: [x - c for x in xs]),
        "mul": (f"[x * {c} for x in xs]", lambda xs: [x * c for x in xs]),
        "half": ("[x // 2 for x in xs]", lambda xs: [x // 2 for x in xs]),
        "mod": (f"[x % {c + 1} for x in xs]", lambda xs: [x % (c + 1) for x in xs]),
        "neg": ("[-x for x in xs]", lambda xs: [-x for x in xs]),
        "abs": ("[abs(x) for x in xs]", lambda xs: [abs(x) for x in xs]),
        "sq": ("[x * x for x in xs]", lambda xs: [x * x for x in xs]),
    }


def _filter_table(c: int, k: int) -> dict[str, tuple[str, Fn]]:
    return {
        "gt": (f"[x for x in xs if x > {c}]", lambda xs: [x for x in xs if x > c]),
        "lt": (f"[x for x in xs if x < {c}]", lambda xs: [x for x in xs if x < c]),
        "even": ("[x for x in xs if x % 2 == 0]", lambda xs: [x for x in xs if x % 2 == 0]),
        "odd": ("[x for x in xs if x % 2 == 1]", lambda xs: [x for x in xs if x % 2 == 1]),
        "div": (f"[x for x in xs if x % {k} == 0]", lambda xs: [x for x in xs if x % k == 0]),
    }


def _shape_table(k: int, c: int) -> list[tuple[str, Fn, str]]:
    return [
        ("sorted(xs)", sorted, "order"),
        ("sorted(xs, reverse=True)", lambda xs: sorted(xs, reverse=True), "order"),
        ("xs[::-1]", lambda xs: xs[::-1], "order"),
        (f"xs[{k}:]", lambda xs: xs[k:], "slice"),
        (f"xs[:{k}]", lambda xs: xs[:k], "slice"),
        ("xs[:-1]", lambda xs: xs[:-1], "slice"),
        ("xs[::2]", lambda xs: xs[::2], "slice"),
        ("xs[1::2]", lambda xs: xs[1::2], "slice"),
        (f"xs + [{c}]", lambda xs: xs + [c], "extend"),
        (f"[{c}] + xs", lambda xs: [c] + xs, "extend"),
        ("xs + xs", lambda xs: xs + xs, "extend"),
        ("xs + xs[::-1]", lambda xs: xs + xs[::-1], "extend"),
        (
            "[b - a for a, b in zip(xs, xs[1:])]",
            lambda xs: [b - a for a, b in zip(xs, xs[1:], strict=False)],
            "pairs",
        ),
        (
            "[a + b for a, b in zip(xs, xs[1:])]",
            lambda xs: [a + b for a, b in zip(xs, xs[1:], strict=False)],
            "pairs",
        ),
        (
            "[sum(xs[:i + 1]) for i in range(len(xs))]",
            lambda xs: [sum(xs[: i + 1]) for i in range(len(xs))],
            "pairs",
        ),
        ("list(dict.fromkeys(xs))", lambda xs: list(dict.fromkeys(xs)), "pairs"),
    ]


def _aggregate_table(k: int) -> list[tuple[str, Fn]]:
    return [
        ("[sum(xs)]", lambda xs: [sum(xs)]),
        ("[max(xs)]", lambda xs: [max(xs)]),
        ("[min(xs)]", lambda xs: [min(xs)]),
        ("[len(xs)]", lambda xs: [len(xs)]),
        (f"[xs[{k}]]", lambda xs: [xs[k]]),
        ("[xs[-1]]", lambda xs: [xs[-1]]),
        ("[max(xs) - min(xs)]", lambda xs: [max(xs) - min(xs)]),
        ("[xs.count(xs[0])]", lambda xs: [xs.count(xs[0])]),
    ]


# The draws below are the corpus's and the seed pools': their order of rng calls is fixed.
def _map_steps(rng: random.Random) -> Step:
    c = rng.randint(1, 9)
    code, fn = _map_table(c)[rng.choice(_MAP_KINDS)]
    return Step(code, fn, "map")


def _filter_steps(rng: random.Random) -> Step:
    c = rng.randint(1, 9) * rng.choice([1, 5, 10])
    k = rng.randint(3, 5)
    code, fn = _filter_table(c, k)[rng.choice(_FILTER_KINDS)]
    return Step(code, fn, "filter")


def _shape_steps(rng: random.Random) -> Step:
    k = rng.randint(1, 3)
    c = rng.randint(0, 9)
    code, fn, family = rng.choice(_shape_table(k, c))
    return Step(code, fn, family)


def _aggregate(rng: random.Random) -> Step:
    k = rng.randint(0, 2)
    code, fn = rng.choice(_aggregate_table(k))
    return Step(code, fn, "aggregate")


def all_steps() -> list[Step]:
    """Every step the grammar can draw, each once (by its code), in a fixed order: what an
    exhaustive search over the grammar's programs enumerates."""
    found: dict[str, Step] = {}
    for c in range(1, 10):
        for code, fn in _map_table(c).values():
            found.setdefault(code, Step(code, fn, "map"))
    for c in sorted({a * m for a in range(1, 10) for m in (1, 5, 10)}):
        for k in range(3, 6):
            for code, fn in _filter_table(c, k).values():
                found.setdefault(code, Step(code, fn, "filter"))
    for k in range(1, 4):
        for c in range(10):
            for code, fn, family in _shape_table(k, c):
                found.setdefault(code, Step(code, fn, family))
    return list(found.values())


def all_aggregates() -> list[Step]:
    """Every aggregate the grammar can draw, each once, in a fixed order."""
    found: dict[str, Step] = {}
    for k in range(3):
        for code, fn in _aggregate_table(k):
            found.setdefault(code, Step(code, fn, "aggregate"))
    return list(found.values())


def random_program(
    rng: random.Random, seed: int, max_depth: int = 2, aggregate_prob: float = 0.3
) -> ListProgram:
    """One program drawn from the grammar."""
    depth = rng.choices(range(1, max_depth + 1), weights=[2.0**-d for d in range(max_depth)])[0]
    makers = [_map_steps, _filter_steps, _shape_steps, _shape_steps]
    steps = tuple(rng.choice(makers)(rng) for _ in range(depth))
    agg = _aggregate(rng) if rng.random() < aggregate_prob else None
    return ListProgram(steps, agg, seed)


def random_input(rng: random.Random, max_len: int = 10, max_value: int = 100) -> list[int]:
    """A random list of non-negative integers (length 1..``max_len``, values 0..``max_value``).

    Lengths start at 1 so single-element lists, and the longer lists that cross the
    model's habits, appear in the corpus; a model that only saw short lists broke on long ones.
    """
    return [rng.randint(0, max_value) for _ in range(rng.randint(1, max_len))]


@dataclass(frozen=True)
class GrammarTask:
    """A grammar program with inputs and the outputs its semantics give."""

    program: ListProgram
    inputs: tuple[tuple[int, ...], ...]
    outputs: tuple[tuple[int, ...], ...]


def sample_task(
    seed: int, n_inputs: int = 5, max_depth: int = 2, tries: int = 20
) -> GrammarTask | None:
    """A program and ``n_inputs`` inputs on which it runs and whose outputs are not all equal
    nor all equal to the inputs; None when ``tries`` draws fail."""
    rng = random.Random(seed)
    for _ in range(tries):
        task = draw_examples(random_program(rng, seed, max_depth), rng, n_inputs)
        if task is not None:
            return task
    return None


def draw_examples(prog: ListProgram, rng: random.Random, n_inputs: int) -> GrammarTask | None:
    """``prog`` on ``n_inputs`` random inputs it runs on within the grammar's output bounds (up
    to three tries per input), or None when too few run or the outputs carry no information
    (all equal, or all equal to the inputs)."""
    ins, outs = [], []
    for _ in range(n_inputs * 3):
        xs = random_input(rng)
        try:
            ys = prog(xs)
        except (ValueError, IndexError, ZeroDivisionError):
            continue
        if len(ys) > MAX_OUTPUT_LEN or any(abs(y) > MAX_ABS_VALUE for y in ys):
            continue
        ins.append(tuple(xs))
        outs.append(tuple(ys))
        if len(ins) == n_inputs:
            break
    if (
        len(ins) < n_inputs
        or len(set(outs)) < 2
        or all(a == b for a, b in zip(ins, outs, strict=True))
    ):
        return None
    return GrammarTask(prog, tuple(ins), tuple(outs))


def drawn_inputs(prog: ListProgram, rng: random.Random, n: int) -> list[tuple[int, ...]]:
    """Up to ``n`` random inputs (three draws each at most) on which ``prog`` runs within the
    grammar's output bounds. The loop adds such inputs to its seed tasks as private tests:
    five inputs, three of them shown, leave a misread threshold or constant a fair chance of
    passing the other two."""
    out: list[tuple[int, ...]] = []
    for _ in range(n * 3):
        xs = random_input(rng)
        try:
            ys = prog(list(xs))
        except (ValueError, IndexError, ZeroDivisionError):
            continue
        if len(ys) > MAX_OUTPUT_LEN or any(abs(y) > MAX_ABS_VALUE for y in ys):
            continue
        out.append(tuple(xs))
        if len(out) == n:
            break
    return out


def drawn_like(
    examples: Sequence[Sequence[int]], rng: random.Random, n: int
) -> list[tuple[int, ...]]:
    """``n`` random lists shaped like ``examples`` (a task's own inputs), so that a task that
    assumes something of its inputs is not tested outside it: lengths and values within the
    examples' ranges, sorted (either way) or without repeats when every example of two or more
    items is. Duplicates of an example or of each other are left out, so fewer may come back.
    """
    if not examples:
        return []
    lengths = [len(xs) for xs in examples]
    values = [x for xs in examples for x in xs]
    lo, hi = (min(values), max(values)) if values else (0, 0)
    longer = [list(xs) for xs in examples if len(xs) > 1]
    ascending = bool(longer) and all(xs == sorted(xs) for xs in longer)
    descending = bool(longer) and all(xs == sorted(xs, reverse=True) for xs in longer)
    distinct = bool(longer) and all(len(set(xs)) == len(xs) for xs in longer)
    seen = {tuple(xs) for xs in examples}
    out: list[tuple[int, ...]] = []
    for _ in range(n * 3):
        size = rng.randint(min(lengths), max(lengths))
        if distinct:
            size = min(size, hi - lo + 1)
            xs = rng.sample(range(lo, hi + 1), size)
        else:
            xs = [rng.randint(lo, hi) for _ in range(size)]
        if ascending or descending:
            xs.sort(reverse=descending and not ascending)
        if tuple(xs) not in seen:
            seen.add(tuple(xs))
            out.append(tuple(xs))
            if len(out) == n:
                break
    return out


def identity_task(seed: int, n_inputs: int = 5) -> GrammarTask:
    """The identity rule (program ``return xs``, no step and no aggregate) on ``n_inputs``
    random inputs. :func:`draw_examples` drops every task whose outputs equal its inputs (a
    random program that leaves them as they were, ``abs(x)`` on non-negative lists, would teach
    the wrong rule), so this is the only way the identity reaches a corpus or a pool."""
    rng = random.Random(seed)
    ins = tuple(tuple(random_input(rng)) for _ in range(n_inputs))
    return GrammarTask(ListProgram((), None, seed), ins, ins)


def sample_tasks(n: int, seed: int, n_inputs: int = 5, max_depth: int = 2) -> list[GrammarTask]:
    """``n`` grammar tasks; item ``i`` comes from ``Random(seed * 1_000_003 + i)``
    (items whose draws all fail are skipped, so fewer than ``n`` may come back)."""
    out = []
    for i in range(n):
        t = sample_task(seed * 1_000_003 + i, n_inputs, max_depth)
        if t is not None:
            out.append(t)
    return out
