"""Functions a checker passes to the candidate (`candidate(xs, key=lambda x: -x)`) reach it as
functions that call back into the checker's process (docs/checkers.md, "Functions the checker
passes"): a correct solution using them passes, and nothing about them lets a wrong one pass
or makes its verdict the task's or the sandbox's fault."""

from __future__ import annotations

import pytest

from closedloop.sandbox import SandboxLimits
from closedloop.sandbox.wire import WireError, decode_plain
from closedloop.tasks.format import parse_task
from closedloop.verify import Outcome, Verifier


def checked(checker: str):
    return parse_task({"id": "c", "entry_point": "f", "checker": checker})


@pytest.fixture(scope="module")
def verifier():
    with Verifier(workers=1, limits=SandboxLimits(wall_s=3.0)) as v:
        yield v


def outcome(verifier: Verifier, task, code: str) -> Outcome:
    return verifier.verify(task, code).outcome


SORT_BY_KEY = checked(
    "def check(candidate):\n"
    "    assert candidate([3, 1, 2], key=lambda x: -x) == [3, 2, 1]\n"
    "    assert candidate(['b', 'A', 'c'], key=str.lower) == ['A', 'b', 'c']\n"
    "    assert candidate([(1, 'b'), (0, 'a')], key=lambda p: p[1]) == [(0, 'a'), (1, 'b')]\n"
)


def test_a_key_function_of_the_checkers_is_called_back(verifier):
    right = "def f(xs, key):\n    return sorted(xs, key=key)\n"
    assert outcome(verifier, SORT_BY_KEY, right) is Outcome.PASS
    assert outcome(verifier, SORT_BY_KEY, "def f(xs, key):\n    return sorted(xs)\n") in (
        Outcome.FAIL,
        Outcome.ERROR,
    )


def test_its_exception_reaches_the_candidate_as_the_builtin_with_its_message(verifier):
    task = checked(
        "def check(candidate):\n"
        "    class Odd(ValueError):\n        pass\n"
        "    def no(x):\n        raise Odd(f'no {x}')\n"
        "    assert candidate(no, 3) == 'ValueError: no 3'\n"
        "    assert candidate(abs, -3) == 3\n"
    )
    code = (
        "def f(fn, x):\n    try:\n        return fn(x)\n"
        "    except ValueError as e:\n        return type(e).__name__ + ': ' + str(e)\n"
    )
    assert outcome(verifier, task, code) is Outcome.PASS


def test_one_function_is_one_object_both_ways_and_across_calls(verifier):
    task = checked(
        "def check(candidate):\n"
        "    a, b = (lambda: 1), (lambda: 2)\n"
        "    assert candidate(a, a, b) is a\n"  # the same function twice is one object there
        "    assert candidate(b, None, None) is a\n"  # kept from the last call, given back
        "    assert candidate(b, None, None) is b\n"
    )
    code = (
        "KEPT = []\n"
        "def f(x, y, z):\n"
        "    if y is not None:\n"
        "        assert x is y and x is not z and x() == 1 and z() == 2\n"
        "        KEPT.append(x)\n"
        "        return x\n"
        "    return KEPT.pop() if KEPT else x\n"
    )
    assert outcome(verifier, task, code) is Outcome.PASS


def test_a_call_from_a_thread_between_the_checkers_calls_is_refused_in_the_candidate(verifier):
    task = checked(
        "import time\n"
        "def check(candidate):\n"
        "    seen = []\n"
        "    assert candidate(seen.append) == 'started'\n"
        "    time.sleep(0.3)\n"  # the solution's thread calls it now, between two calls
        "    assert candidate(None) == 'RuntimeError'\n"
        "    assert seen == []\n"
    )
    code = (
        "import threading, time\n"
        "GOT = []\n"
        "def later(fn):\n"
        "    time.sleep(0.1)\n"
        "    try:\n        fn(1)\n        GOT.append('called')\n"
        "    except RuntimeError:\n        GOT.append('RuntimeError')\n"
        "def f(fn):\n"
        "    if fn is None:\n        return GOT[0] if GOT else 'nothing yet'\n"
        "    threading.Thread(target=later, args=(fn,)).start()\n"
        "    return 'started'\n"
    )
    assert outcome(verifier, task, code) is Outcome.PASS


def test_a_function_calling_the_candidate_back_is_the_candidates_error_not_the_tasks(verifier):
    # whether the checker's helper calls the candidate depends on the candidate's argument:
    # an unscored verdict would be a dodge
    task = checked(
        "def check(candidate):\n"
        "    def helper(y):\n        return candidate(len, y) if y else 0\n"
        "    assert candidate(helper, [1]) == 1\n"
    )
    verdict = verifier.verify(task, "def f(fn, x):\n    return fn(x)\n")
    assert verdict.outcome is Outcome.ERROR and "called the candidate" in verdict.detail


@pytest.mark.parametrize(
    "given",
    ["eval", "exec", "open", "__import__", "getattr", "os.system", "functools.partial(eval)"],
)
def test_functions_that_run_code_or_reach_files_are_never_handed_over(verifier, given):
    # a seatbelt for a checker passing one by mistake: the candidate would run code in the judge
    task = checked(
        f"import functools, os\ndef check(candidate):\n    assert candidate({given}) == 2\n"
    )
    verdict = verifier.verify(task, "def f(fn):\n    return fn('1+1')\n")
    assert verdict.outcome is Outcome.INVALID and "cannot cross" in verdict.detail


def test_a_number_the_checker_never_passed_is_the_candidates_error(verifier):
    task = checked("def check(candidate):\n    assert candidate(len) == 3\n")
    forged = "def f(fn):\n    return type(fn)(7, 'other')('abc')\n"  # number 7 was never sent
    verdict = verifier.verify(task, forged)
    assert verdict.outcome is Outcome.ERROR and "never passed" in verdict.detail


def test_what_cannot_cross_is_an_exception_in_the_candidate(verifier):
    task = checked(
        "def check(candidate):\n"
        "    assert candidate(lambda x: x, 'its argument') == 'TypeError'\n"
        "    assert candidate(lambda x: (i for i in []), 'its result') == 'TypeError'\n"
        "    assert candidate(lambda x: x, 'NaN') is None\n"
    )
    code = (
        "def f(fn, case):\n"
        "    x = {'its argument': (i for i in []), 'its result': 0, 'NaN': float('nan')}[case]\n"
        "    try:\n        fn(x)\n    except TypeError:\n        return 'TypeError'\n"
        "    return None\n"
    )
    verdict = verifier.verify(task, code)
    # NaN to the checker's function is refused as it is in a reply: the candidate's error
    assert verdict.outcome is Outcome.ERROR and "NaN" in verdict.detail, verdict


def test_a_function_never_crosses_where_plain_data_is_read():
    # the verifier's own process (I/O tests) reads results without the proxy's hooks
    with pytest.raises(WireError):
        decode_plain("__fn__(0, 'f')")
    with pytest.raises(WireError):
        decode_plain("[1, __fn__(0, 'f')]", {}, stdlib=True)


def test_a_list_of_the_checkers_functions_changed_in_place_keeps_them(verifier):
    task = checked(
        "def check(candidate):\n"
        "    f = lambda x: x * 2\n"
        "    fs = [f]\n"
        "    assert candidate(fs) == 6\n"
        "    assert len(fs) == 2 and fs[0] is f and fs[1] == 'seen'\n"
    )
    code = "def f(fs):\n    fs.append('seen')\n    return fs[0](3)\n"
    assert outcome(verifier, task, code) is Outcome.PASS
