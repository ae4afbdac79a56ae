"""The checker proxy behaves like a call (EXPLOITS.md row 32): the candidate's control-flow
exceptions cannot end a checker's loop early, its exceptions keep their builtin hierarchy,
and a checker sees what the candidate did to its arguments in place.
"""

from __future__ import annotations

import pytest

from closedloop.sandbox import SandboxLimits
from closedloop.tasks.format import parse_task
from closedloop.verify import Outcome, Verifier


def checked(checker: str):
    return parse_task({"id": "c", "entry_point": "f", "checker": checker})


@pytest.fixture(scope="module")
def verifier():
    with Verifier(workers=1, limits=SandboxLimits(wall_s=2.0)) as v:
        yield v


MAP_LOOP = checked(
    "def check(candidate):\n"
    "    for got, want in zip(map(candidate, [1, 2, 3]), [2, 3, 4]):\n"
    "        assert got == want\n"
)


def test_stop_iteration_cannot_end_a_checkers_map_early(verifier):
    code = "def f(x):\n    if x == 1:\n        return 2\n    raise StopIteration\n"
    assert verifier.verify(MAP_LOOP, code).outcome is not Outcome.PASS
    assert verifier.verify(MAP_LOOP, "def f(x):\n    return x + 1\n").outcome is Outcome.PASS


def test_generator_exit_cannot_end_a_checkers_loop_early(verifier):
    task = checked(
        "def check(candidate):\n    assert all(candidate(x) == x + 1 for x in [1, 2, 3])\n"
    )
    code = "def f(x):\n    if x == 1:\n        return 2\n    raise GeneratorExit\n"
    assert verifier.verify(task, code).outcome is not Outcome.PASS


RAISES_VALUE_ERROR = checked(
    "def check(candidate):\n"
    "    try:\n        candidate('x')\n    except ValueError:\n        pass\n"
    "    else:\n        raise AssertionError('no ValueError')\n"
)


@pytest.mark.parametrize(
    "code",
    [
        "class Bad(ValueError):\n    pass\ndef f(s):\n    raise Bad(s)\n",
        "import json\ndef f(s):\n    return json.loads(s)\n",  # JSONDecodeError: 3 args
        "def f(s):\n    return int(s)\n",
    ],
)
def test_a_value_error_subclass_is_caught_as_a_value_error(verifier, code):
    verdict = verifier.verify(RAISES_VALUE_ERROR, code)
    assert verdict.outcome is Outcome.PASS, verdict


def test_a_checker_sees_in_place_mutation(verifier):
    task = checked(
        "def check(candidate):\n    xs = [3, 1, 2]\n    assert candidate(xs) is None\n"
        "    assert xs == [1, 2, 3]\n"
        "    d = {'a': [2, 1]}\n    candidate(d['a'])\n    assert d == {'a': [1, 2]}\n"
    )
    verdict = verifier.verify(task, "def f(xs):\n    xs.sort()\n")
    assert verdict.outcome is Outcome.PASS, verdict
    assert verifier.verify(task, "def f(xs):\n    sorted(xs)\n").outcome is Outcome.FAIL


def test_a_checker_sees_a_candidate_mutate_what_it_must_not(verifier):
    task = checked(
        "def check(candidate):\n    xs = [[3, 1], [2]]\n    assert candidate(xs) == 3\n"
        "    assert xs == [[3, 1], [2]], 'the input was changed'\n"
    )
    mutates = "def f(xs):\n    xs[0].sort()\n    return len(xs[0]) + len(xs[1])\n"
    assert verifier.verify(task, mutates).outcome is Outcome.FAIL
    clean = "def f(xs):\n    return sum(len(x) for x in xs)\n"
    assert verifier.verify(task, clean).outcome is Outcome.PASS
