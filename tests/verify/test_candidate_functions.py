"""Functions the candidate returns (`make_adder(3)(4)`, a decorator's wrapper, a `partial`)
reach the checker as handles it can call: each call runs in the candidate's process as a call
of the candidate does (docs/checkers.md, "Functions the candidate returns"). A correct
solution passes, a wrong one fails, and nothing about such a handle lets the checker run the
candidate's code in its own process or read more of it than its name."""

from __future__ import annotations

import pytest

from closedloop.sandbox import SandboxLimits
from closedloop.tasks.format import parse_task
from closedloop.verify import Outcome, Verifier


def checked(checker: str, prompt: str = "", entry: str = "f"):
    return parse_task({"id": "c", "entry_point": entry, "prompt": prompt, "checker": checker})


@pytest.fixture(scope="module")
def verifier():
    with Verifier(workers=1, limits=SandboxLimits(wall_s=3.0)) as v:
        yield v


def verdict(verifier: Verifier, task, code: str):
    return verifier.verify(task, code)


MAKE_ADDER = checked(
    "def check(candidate):\n"
    "    add3 = candidate(3)\n"
    "    assert add3(4) == 7\n"
    "    assert add3(-3) == 0\n"
    "    assert candidate(10)(x=1) == 11\n"
)


def test_a_closure_the_candidate_returns_is_called_in_its_process(verifier):
    right = "def f(n):\n    return lambda x: x + n\n"
    assert verdict(verifier, MAKE_ADDER, right).outcome is Outcome.PASS
    off_by_one = "def f(n):\n    return lambda x: x + n + 1\n"
    v = verdict(verifier, MAKE_ADDER, off_by_one)
    assert v.outcome is Outcome.FAIL
    assert "add3(4) == 7" in v.detail


def test_a_returned_function_where_the_checker_wants_a_value_fails(verifier):
    task = checked("def check(candidate):\n    assert candidate(3) == 7\n")
    assert verdict(verifier, task, "def f(n):\n    return lambda: n + 4\n").outcome is Outcome.FAIL


def test_curried_functions_and_functions_inside_data(verifier):
    task = checked(
        "def check(candidate):\n"
        "    assert candidate(1)(2)(3) == 6\n"
        "    ops = candidate(None)\n"
        "    assert ops['add'](2, 3) == 5 and ops['mul'](2, 3) == 6\n"
        "    assert [g(4) for g in ops['all']] == [8, 16]\n"
    )
    code = (
        "import functools, operator\n"
        "def f(a):\n"
        "    if a is None:\n"
        "        return {'add': operator.add, 'mul': lambda x, y: x * y,\n"
        "                'all': [functools.partial(operator.mul, 2), lambda x: x * x]}\n"
        "    return lambda b: lambda c: a + b + c\n"
    )
    assert verdict(verifier, task, code).outcome is Outcome.PASS


def test_a_decorator_wraps_the_checkers_function_and_keeps_its_name(verifier):
    # the wrapper runs in the candidate's process and calls the checker's function back;
    # `functools.wraps` is what the checker's __name__ and __doc__ look for (the stand-in
    # of the checker's function carries its name, not its docstring)
    task = checked(
        "def check(candidate):\n"
        "    calls = []\n"
        "    def square(x):\n"
        "        calls.append(x)\n"
        "        return x * x\n"
        "    g = candidate(square)\n"
        "    assert g(3) == 9 and g(3) == 9 and g(4) == 16\n"
        "    assert calls == [3, 4], calls\n"
        "    assert g.__name__ == 'square' and g.__qualname__ == 'square'\n"
        "    assert candidate(None).__doc__ == 'identity'\n"
    )
    memo = (
        "import functools\n"
        "def identity(x):\n"
        "    'identity'\n"
        "    return x\n"
        "def f(fn):\n"
        "    if fn is None:\n"
        "        return identity\n"
        "    cache = {}\n"
        "    @functools.wraps(fn)\n"
        "    def g(x):\n"
        "        if x not in cache:\n"
        "            cache[x] = fn(x)\n"
        "        return cache[x]\n"
        "    return g\n"
    )
    assert verdict(verifier, task, memo).outcome is Outcome.PASS
    no_cache = memo.replace("        if x not in cache:\n", "        if True:\n")
    assert verdict(verifier, task, no_cache).outcome is Outcome.FAIL
    unwrapped = memo.replace("    @functools.wraps(fn)\n", "")
    assert verdict(verifier, task, unwrapped).outcome is Outcome.FAIL


def test_one_function_is_one_handle_and_goes_back_as_itself(verifier):
    # the same function returned twice is the same object to the checker, and handed back
    # to the candidate it is the candidate's own function again (no call crosses for it)
    task = checked(
        "def check(candidate):\n"
        "    g = candidate(None)\n"
        "    assert g is candidate(None) and {g, candidate(None)} == {g}\n"
        "    assert candidate(g, 5) == 10\n"
        "    assert candidate(g, 'ab') == 'abab'\n"
    )
    code = (
        "def double(v):\n    return v * 2\n"
        "def f(op, x=None):\n"
        "    if op is None:\n        return double\n"
        "    assert op is double\n"
        "    return op(x)\n"
    )
    assert verdict(verifier, task, code).outcome is Outcome.PASS


def test_its_exception_keeps_its_builtin_class(verifier):
    task = checked(
        "def check(candidate):\n"
        "    g = candidate(0)\n"
        "    try:\n        g(-1)\n"
        "    except ValueError as e:\n        assert 'negative' in str(e)\n"
        "    else:\n        raise AssertionError('no ValueError')\n"
        "    assert g(2) == 2\n"
    )
    code = (
        "class Negative(ValueError):\n    pass\n"
        "def f(base):\n"
        "    def g(x):\n"
        "        if x < 0:\n            raise Negative('negative input')\n"
        "        return base + x\n"
        "    return g\n"
    )
    assert verdict(verifier, task, code).outcome is Outcome.PASS


def test_the_checker_reads_no_more_of_it_than_its_name(verifier):
    # the function's code, globals, closure and defaults stay in the candidate's process:
    # a checker asking for them gets AttributeError, as for any object of the candidate's
    task = checked(
        "def check(candidate):\n"
        "    g = candidate(3)\n"
        "    for name in ('__code__', '__globals__', '__closure__', '__defaults__',\n"
        "                 '__dict__', '__wrapped__', '__self__', '__kwdefaults__'):\n"
        "        try:\n"
        "            getattr(g, name)\n"
        "        except AttributeError:\n"
        "            continue\n"
        "        raise AssertionError(name + ' crossed')\n"
        "    assert g.__name__ == '<lambda>' and g.__doc__ is None\n"
        "    assert g(1) == 4\n"
    )
    assert verdict(verifier, task, "def f(n):\n    return lambda x: x + n\n").outcome is (
        Outcome.PASS
    )


def test_an_io_tests_output_is_still_plain_data_only(verifier):
    task = parse_task(
        {"id": "io", "entry_point": "f", "private_tests": [{"input": "(3,)", "output": "7"}]}
    )
    v = verdict(verifier, task, "def f(n):\n    return lambda x: x + n\n")
    assert v.outcome is Outcome.ERROR
    assert "not plain data" in v.detail


def test_a_class_tasks_method_may_return_a_function(verifier):
    task = checked(
        "def check(candidate):\n"
        "    m = candidate(2)\n"
        "    times = m.times()\n"
        "    assert times(5) == 10\n"
        "    assert m.scale(3) == 6\n",
        prompt=(
            "from typing import Callable\n"
            "class Multiplier:\n"
            "    def __init__(self, k: int):\n        pass\n"
            "    def times(self) -> Callable[[int], int]:\n        pass\n"
            "    def scale(self, x: int) -> int:\n        pass\n"
        ),
        entry="Multiplier",
    )
    code = (
        "from typing import Callable\n"
        "class Multiplier:\n"
        "    def __init__(self, k: int):\n        self.k = k\n"
        "    def times(self) -> Callable[[int], int]:\n        return lambda x: x * self.k\n"
        "    def scale(self, x: int) -> int:\n        return self.times()(x)\n"
    )
    assert verdict(verifier, task, code).outcome is Outcome.PASS
