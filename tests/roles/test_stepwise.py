"""Step-wise solving: a reader of single steps solves a two-step task one round at a time, with
every partial program run in the sandbox."""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

from closedloop.loop.domain import examples_task
from closedloop.policy.base import SamplingParams
from closedloop.roles.stepwise import Steps, parse_steps, stepwise_attempts, stepwise_programs

STEPS = ("[x * 2 for x in xs]", "[x - 4 for x in xs]", "xs[::-1]", "sorted(xs)")
_EXAMPLE = re.compile(r"^f\((\[.*\])\) == (\[.*\])$", re.M)


@dataclass
class _Text:
    text: str


class OneStepReader:
    """A policy that reads one step: it answers the first step of ``STEPS`` that gives every
    example shown, else ``x * 2`` (its habit), and records the examples it was shown."""

    def __init__(self) -> None:
        self.shown: list[list[tuple[list[int], list[int]]]] = []

    def sample(self, prompts, n, params):  # noqa: ANN001, ANN201 - the Policy protocol's
        out = []
        for p in prompts:
            pairs = [(ast.literal_eval(a), ast.literal_eval(b)) for a, b in _EXAMPLE.findall(p)]
            self.shown.append(pairs)
            step = next(
                (s for s in STEPS if all(eval(s, {"xs": i}) == o for i, o in pairs)),  # noqa: S307
                STEPS[0],
            )
            out.append([_Text(Steps((step,), "xs").code())] * n)
        return out


def _task(ins, fn, public=3):
    outs = [fn(x) for x in ins]
    return examples_task("t", "def f(xs):\n    return xs\n", ins, outs, "Same rule.", public)


def test_parse_steps_reads_the_grammar_shape_and_nothing_else():
    p = parse_steps(
        "def f(xs):\n    xs = xs[1:]\n    xs = [x * 2 for x in xs]\n    return [sum(xs)]\n"
    )
    assert p == Steps(("xs[1:]", "[x * 2 for x in xs]"), "[sum(xs)]")
    assert parse_steps(p.code()) == p
    for other in (
        "def f(ys):\n    return ys\n",
        "def f(xs):\n    ys = xs\n    return ys\n",
        "def f(xs):\n    xs = xs[1:]\n",
        "def g(xs):\n    return xs\ndef f(xs):\n    return xs\n",
        "def f(xs):\n    if xs:\n        return xs\n    return []\n",
        "not python (",
    ):
        assert parse_steps(other) is None, other


def test_a_one_step_reader_solves_a_two_step_task_round_by_round(verifier):
    task = _task([[28], [58], [9], [19], [3, 5]], lambda xs: [2 * x - 4 for x in xs])
    reader = OneStepReader()
    params = SamplingParams(max_new_tokens=64, temperature=0.0)
    [attempt] = stepwise_attempts(reader, [task], verifier, params)
    assert parse_steps(attempt.code).steps == ("[x * 2 for x in xs]", "[x - 4 for x in xs]")
    assert attempt.reward == 1.0  # the private tests, never shown
    # round 2 was shown the lists the first step made (run in the sandbox), not the inputs
    assert reader.shown[1] == [([56], [52]), ([116], [112]), ([18], [14])]


def test_a_round_that_changes_nothing_ends_the_search():
    # reverse on palindromes leaves the lists as they were: no second round, the program stands
    task = _task([[1, 2, 1], [3, 3], [5]], lambda xs: [x + 1 for x in xs])

    class Reverser(OneStepReader):
        def sample(self, prompts, n, params):  # noqa: ANN001, ANN201
            self.shown.append([])
            return [[_Text(Steps(("xs[::-1]",), "xs").code())] * n for _ in prompts]

    reader = Reverser()
    from closedloop.verify import Verifier

    with Verifier(workers=1) as v:
        [code] = stepwise_programs(reader, [task], v, SamplingParams(max_new_tokens=8))
    assert parse_steps(code).steps == ("xs[::-1]",) and len(reader.shown) == 1
