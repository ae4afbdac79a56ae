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
    # `functools.wraps` is what the checker's __name__ and __doc__ look for
    task = checked(
        "def check(candidate):\n"
        "    calls = []\n"
        "    def square(x):\n"
        "        calls.append(x)\n"
        "        return x * x\n"
        "    g = candidate(square)\n"
        "    assert g(3) == 9 and g(3) == 9 and g(4) == 16\n"
        "    assert calls == [3, 4], calls\n"
        "    assert g.__name__ == 'square' and g.__qualname__ == square.__qualname__\n"
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


# -- a red team's findings on the first version (round 24) ----------------------------------

MEMOIZE = (
    "import functools\n"
    "def f(fn):\n"
    "    cache = {}\n"
    "    @functools.wraps(fn)\n"
    "    def g(n):\n"
    "        if n not in cache:\n"
    "            cache[n] = fn(n)\n"
    "        return cache[n]\n"
    "    return g\n"
)


def test_a_memoizing_decorator_on_the_checkers_recursive_function(verifier):
    # the checker's fib calls `fib`, the candidate's wrapper, while the wrapper is calling
    # the checker's fib: each such call is answered inside the call back, 300 deep as in
    # one interpreter (the harness's frames are not counted against the solution's depth)
    task = checked(
        "def check(candidate):\n"
        "    calls = []\n"
        "    @candidate\n"
        "    def fib(n):\n"
        "        calls.append(n)\n"
        "        return n if n < 2 else fib(n - 1) + fib(n - 2)\n"
        "    a, b = 0, 1\n"
        "    for _ in range(300):\n"
        "        a, b = b, a + b\n"
        "    assert fib(300) == a\n"
        "    assert len(calls) == 301, len(calls)\n"
    )
    assert verdict(verifier, task, MEMOIZE).outcome is Outcome.PASS
    lru = "import functools\ndef f(fn):\n    return functools.lru_cache(maxsize=None)(fn)\n"
    assert verdict(verifier, task, lru).outcome is Outcome.PASS
    forgetful = MEMOIZE.replace("            cache[n] = fn(n)\n", "            return fn(n)\n")
    assert verdict(verifier, task, forgetful).outcome in (Outcome.FAIL, Outcome.TIMEOUT)


def test_the_checkers_function_shows_its_signature_and_docstring(verifier):
    # a curry reads the arity off inspect.signature; functools.wraps copies the docstring,
    # qualified name and __wrapped__ (which inspect.signature follows) onto the wrapper
    curry = checked(
        "def check(candidate):\n"
        "    add3 = candidate(lambda a, b, c=0: a + b + c)\n"
        "    assert add3(1)(2) == 3 and add3(1, 2) == 3\n"
    )
    code = (
        "import inspect\n"
        "def f(fn):\n"
        "    n = sum(p.default is p.empty for p in inspect.signature(fn).parameters.values())\n"
        "    def c(*a):\n"
        "        return fn(*a) if len(a) >= n else (lambda *b: c(*a, *b))\n"
        "    return c\n"
    )
    assert verdict(verifier, curry, code).outcome is Outcome.PASS
    wraps = checked(
        "import inspect\n"
        "def check(candidate):\n"
        "    def area(w, h=1):\n"
        "        'the area'\n"
        "        return w * h\n"
        "    g = candidate(area)\n"
        "    assert g(2, 3) == 6\n"
        "    assert g.__doc__ == area.__doc__ and g.__qualname__ == area.__qualname__\n"
        "    assert g.__wrapped__ is area\n"
        "    assert inspect.signature(g) == inspect.signature(area)\n"
    )
    logged = (
        "import functools\n"
        "def f(fn):\n"
        "    @functools.wraps(fn)\n"
        "    def g(*a, **k):\n"
        "        return fn(*a, **k)\n"
        "    return g\n"
    )
    assert verdict(verifier, wraps, logged).outcome is Outcome.PASS
    bare = logged.replace("    @functools.wraps(fn)\n", "")
    assert verdict(verifier, wraps, bare).outcome is Outcome.FAIL


def test_a_callable_object_is_no_way_to_answer_for_data(verifier):
    # a function's data attributes cross as a plain object's do; its methods are not
    # called: a fake Counter or Decimal would be live code given the checker's expected
    # values (`r.compare(want)`), where the same object without __call__ crosses as data
    task = checked(
        "from decimal import Decimal\n"
        "def check(candidate):\n"
        "    r = candidate('1.10', '2.2')\n"
        "    assert r.compare(Decimal('3.30')) == 0\n"
    )
    code = (
        "class D:\n"
        "    def __call__(self):\n        pass\n"
        "    def compare(self, other):\n        return 0\n"
        "def f(a, b):\n    return D()\n"
    )
    v = verdict(verifier, task, code)
    assert v.outcome is Outcome.FAIL and "answers a call" in v.detail
    counted = checked(
        "def check(candidate):\n"
        "    g = candidate(abs)\n"
        "    assert g(-2) == 2 and g(3) == 3\n"
        "    assert g.calls == 2\n"
    )
    code = (
        "def f(fn):\n"
        "    def g(x):\n"
        "        g.calls += 1\n"
        "        return fn(x)\n"
        "    g.calls = 0\n"
        "    return g\n"
    )
    assert verdict(verifier, counted, code).outcome is Outcome.PASS


def test_a_forged_method_of_its_own_object_cannot_stand_where_data_is_due(verifier):
    # the candidate's code reaches the harness and names its own object's attribute as a
    # method "the checker read off its handle": the judge took the attribute's value, placed
    # by the attribute's annotation, and the object's always-true __eq__ met the expected int
    task = parse_task(
        {
            "id": "node",
            "entry_point": "Node",
            "prompt": (
                "class Node:\n"
                '    link: "Node"\n'
                "    def __init__(self, v: int): ...\n"
                "    def value(self) -> int: ...\n"
                "    def __eq__(self, other: object) -> bool: ...\n"
            ),
            "checker": (
                "def check(candidate):\n"
                "    for v in (5, 6, 7):\n"
                "        assert candidate(v).value() == v * 100\n"
            ),
        }
    )
    forged = (
        "import sys\n"
        "_M = sys.modules['__main__']\n"
        "class Node:\n"
        "    def __init__(self, v):\n"
        "        self.v = v\n"
        "        self.link = self\n"
        "    def __eq__(self, other):\n"
        "        return True\n"
        "    __hash__ = object.__hash__\n"
        "    def value(self):\n"
        "        k = _M._CALLBACK['kept'].number(self)[0]\n"
        "        tok = lambda: None\n"
        "        _M._CALLBACK['own'][id(tok)] = (k, 'link', tok)\n"
        "        self._tok = tok\n"
        "        return tok\n"
    )
    assert verdict(verifier, task, forged).outcome is Outcome.ERROR


def test_many_functions_let_go_of_cost_no_more_than_they_are(verifier):
    # each new handle looked through a list of those let go of: 20,000 functions a round
    # took seconds from the third round on, and five rounds ran past the wall clock
    task = checked(
        "def check(candidate):\n"
        "    for _ in range(5):\n"
        "        fs = candidate(20000)\n"
        "        assert fs[7](1) == 8\n"
    )
    code = "def f(n):\n    return [(lambda x, i=i: x + i) for i in range(n)]\n"
    with Verifier(workers=1, limits=SandboxLimits(wall_s=10.0)) as slow:
        assert slow.verify(task, code).outcome is Outcome.PASS


def test_the_candidates_function_may_go_to_the_checkers_function(verifier):
    # a registry: the checker's function keeps the candidate's function and calls it, inside
    # the candidate's call or after it; copied, a function is itself
    task = checked(
        "import copy\n"
        "def check(candidate):\n"
        "    reg = []\n"
        "    candidate(reg.append)\n"
        "    assert reg[0](2) == 3\n"
        "    assert candidate(lambda g: g(5), None) == 6\n"
        "    assert copy.deepcopy(reg[0]) is reg[0]\n"
    )
    code = (
        "def add1(x):\n    return x + 1\n"
        "def f(register, h=0):\n"
        "    if h is None:\n        return register(add1)\n"
        "    register(add1)\n"
    )
    assert verdict(verifier, task, code).outcome is Outcome.PASS


def test_docstrings_of_the_prompts_class_and_its_objects(verifier):
    task = parse_task(
        {
            "id": "acc",
            "entry_point": "Acc",
            "prompt": "class Acc:\n    'An accumulator.'\n    def __init__(self, n: int): ...\n",
            "checker": (
                "def check(candidate):\n"
                "    assert candidate(3).__doc__ == 'An accumulator.'\n"
                "    assert candidate.__doc__ == 'An accumulator.'\n"
            ),
        }
    )
    code = "class Acc:\n    'An accumulator.'\n    def __init__(self, n):\n        self.n = n\n"
    assert verdict(verifier, task, code).outcome is Outcome.PASS


def test_the_checkers_function_may_operate_on_the_candidates_object(verifier):
    # a class task: the checker's function, given the candidate's object, calls its method
    # while the candidate is calling the function (was the candidate's error: re-entry)
    task = parse_task(
        {
            "id": "acc",
            "entry_point": "Acc",
            "prompt": (
                "class Acc:\n"
                "    def __init__(self, n: int): ...\n"
                "    def get(self) -> int: ...\n"
                "    def visit(self, fn) -> int: ...\n"
            ),
            "checker": (
                "def check(candidate):\n"
                "    a = candidate(4)\n"
                "    assert a.visit(lambda acc: acc.get() * 10) == 40\n"
            ),
        }
    )
    code = (
        "class Acc:\n"
        "    def __init__(self, n):\n        self.n = n\n"
        "    def get(self):\n        return self.n\n"
        "    def visit(self, fn):\n        return fn(self)\n"
    )
    assert verdict(verifier, task, code).outcome is Outcome.PASS


# -- a second red team's findings, on the fixed version (round 24b) -------------------------


def test_what_taking_a_call_backs_arguments_raises_is_the_candidates_fault(verifier):
    # the candidate made the checker's frozen key hash a list, then called the checker's
    # function: the dict's sync raised TypeError in the judge, which reached the checker as
    # the TypeError its own call expected, and the wrong solution passed
    task = parse_task(
        {
            "id": "board",
            "entry_point": "total",
            "prompt": (
                "from dataclasses import dataclass\n"
                "@dataclass(frozen=True)\n"
                "class P:\n    x: int\n"
                "class Board:\n    def __init__(self):\n        self.cells = {}\n"
                "def total(board, weight):\n"
                "    'sum of weight(p) * v; TypeError where a key has x == 1'\n"
            ),
            "checker": (
                "def _w(*a):\n    return 0\n"
                "def check(candidate):\n"
                "    b = Board(); b.cells[P(1)] = 5\n"
                "    try:\n        candidate(b, _w)\n"
                "    except TypeError:\n        pass\n"
                "    else:\n        raise AssertionError('no TypeError')\n"
                "    b2 = Board(); b2.cells[P(2)] = 3\n"
                "    assert candidate(b2, lambda p: p.x) == 6\n"
            ),
        }
    )
    wrong = (
        "def total(board, weight):\n"
        "    if board.cells and min(p.x for p in board.cells) == 1:\n"
        "        p = next(iter(board.cells))\n"
        "        object.__setattr__(p, 'x', [1])\n"
        "        board.cells[P(7)] = 0\n"
        "        weight(p, board)\n"
        "        del board.cells[P(7)]\n"
        "    return sum(weight(p) * v for p, v in board.cells.items())\n"
    )
    assert verdict(verifier, task, wrong).outcome is Outcome.ERROR


COLLECT = checked(
    "def check(candidate):\n"
    "    out = []\n"
    "    candidate(out, [4, 5], lambda x: out.append(('bad', x)))\n"
    "    assert out == [4, 5], out\n"
)


def test_the_reply_never_erases_what_the_checkers_function_wrote(verifier):
    # the checker's function appends to the call's own argument; the reply's sync of that
    # argument to the candidate's view erased it, and a solution calling on_bad for every
    # item passed. Where the two cannot be merged it is the candidate's error
    good = (
        "def f(out, items, on_bad):\n"
        "    for x in items:\n"
        "        if x < 0:\n            on_bad(x)\n"
        "        else:\n            out.append(x)\n"
    )
    assert verdict(verifier, COLLECT, good).outcome is Outcome.PASS
    wrong = (
        "def f(out, items, on_bad):\n"
        "    for x in items:\n"
        "        on_bad(x)\n"
        "        if x >= 0:\n            out.append(x)\n"
    )
    v = verdict(verifier, COLLECT, wrong)
    assert v.outcome is Outcome.ERROR and "cannot be merged" in v.detail


def test_changes_of_both_sides_to_one_object_merge_where_they_do_not_meet(verifier):
    # the checker's function negates a node's value after a nested call; the candidate sets
    # the node's size: different attributes, both kept
    task = parse_task(
        {
            "id": "tree",
            "entry_point": "annotate",
            "prompt": (
                "class T:\n"
                "    def __init__(self, v, kids=()):\n"
                "        self.v = v; self.kids = list(kids); self.size = None\n"
                "def annotate(node, recurse):\n    'node.size = 1 + sum of recurse(k)'\n"
            ),
            "checker": (
                "def check(candidate):\n"
                "    t = T(1, [T(2, [T(4)]), T(3)])\n"
                "    def rec(n):\n"
                "        r = candidate(n, rec)\n"
                "        n.v = -n.v\n"
                "        return r\n"
                "    assert candidate(t, rec) == 4\n"
                "    assert [k.v for k in t.kids] == [-2, -3] and t.kids[0].kids[0].v == -4\n"
                "    assert t.size == 4 and t.kids[0].size == 2\n"
            ),
        }
    )
    code = (
        "def annotate(node, recurse):\n"
        "    node.size = 1 + sum(recurse(k) for k in node.kids)\n"
        "    return node.size\n"
    )
    assert verdict(verifier, task, code).outcome is Outcome.PASS


def test_nested_calls_from_the_solutions_threads_are_answered_in_order(verifier):
    # two threads each serving a call the checker's function made: the replies go innermost
    # first, as the judge waits for them ("results out of order" before)
    task = checked(
        "def check(candidate):\n"
        "    def fib(x):\n"
        "        return x if x < 2 else sum(candidate(fib, [x - 1, x - 2]))\n"
        "    assert candidate(fib, [6, 7]) == [8, 13]\n"
    )
    code = (
        "from concurrent.futures import ThreadPoolExecutor\n"
        "def f(fn, xs):\n"
        "    with ThreadPoolExecutor(len(xs) or 1) as ex:\n"
        "        return list(ex.map(fn, xs))\n"
    )
    with Verifier(workers=1, limits=SandboxLimits(wall_s=5.0)) as roomy:
        assert roomy.verify(task, code).outcome is Outcome.PASS


def test_a_default_the_signature_shows_is_the_argument_left_out(verifier):
    task = checked(
        "def check(candidate):\n"
        "    def power(x, p=2):\n        return x ** p\n"
        "    w = candidate(power)\n"
        "    assert w(3) == 9 and w(2, 3) == 8\n"
    )
    code = (
        "import functools, inspect\n"
        "def f(fn):\n"
        "    sig = inspect.signature(fn)\n"
        "    @functools.wraps(fn)\n"
        "    def w(*a, **k):\n"
        "        b = sig.bind(*a, **k)\n"
        "        b.apply_defaults()\n"
        "        return fn(*b.args, **b.kwargs)\n"
        "    return w\n"
    )
    assert verdict(verifier, task, code).outcome is Outcome.PASS


def test_endless_recursion_through_both_processes_ends_in_recursion_error(verifier):
    # each level adds only the harness's own frames to the recursion limits: an endless
    # recursion ends as Python's RecursionError does, not by a crash seconds later
    task = checked(
        "def check(candidate):\n"
        "    def g(n):\n        return candidate(g, n + 1)\n"
        "    candidate(g, 0)\n"
    )
    v = verdict(verifier, task, "def f(g, n):\n    return g(n)\n")
    assert v.outcome is Outcome.ERROR and "RecursionError" in v.detail
    assert v.elapsed_s < 2.5


# -- a third red team's findings (round 24c) --------------------------------------------------

ON_BAD_NODE = parse_task(
    {
        "id": "node",
        "entry_point": "f",
        "prompt": "class Node:\n    def __init__(self):\n        self.log = []; self.status = None\n",
        "checker": (
            "def check(candidate):\n"
            "    n = Node()\n"
            "    def on_bad(x):\n        n.status = 'bad'\n"
            "    candidate(n, [4, 5], on_bad, lambda node: None)\n"
            "    assert n.status == 'ok', n.status\n"
        ),
    }
)


def test_an_attribute_the_checkers_function_set_is_not_overwritten(verifier):
    # the candidate set status 'ok', then called on_bad, whose 'bad' the reply (or a later
    # call back carrying the node) overwrote with the candidate's earlier 'ok'
    for tail in ("", "    done(n)\n"):
        wrong = (
            "def f(n, items, on_bad, done):\n"
            "    n.status = 'ok'\n"
            "    for x in items:\n        on_bad(x)\n" + tail
        )
        v = verdict(verifier, ON_BAD_NODE, wrong)
        assert v.outcome is Outcome.ERROR and "cannot be merged" in v.detail, (tail, v)
    right = "def f(n, items, on_bad, done):\n    n.status = 'ok'\n    done(n)\n"
    assert verdict(verifier, ON_BAD_NODE, right).outcome is Outcome.PASS


def test_a_deque_the_checkers_function_appended_to_is_not_erased(verifier):
    task = checked(
        "from collections import deque\n"
        "def check(candidate):\n"
        "    out = deque()\n"
        "    candidate(out, [4, 5], lambda x: out.append(('bad', x)))\n"
        "    assert list(out) == [4, 5], out\n"
    )
    wrong = (
        "def f(out, items, on_bad):\n"
        "    for x in items:\n"
        "        on_bad(x)\n"
        "        out.append(x)\n"
    )
    assert verdict(verifier, task, wrong).outcome is Outcome.ERROR


def test_the_checkers_writes_to_one_argument_and_the_candidates_to_another_both_stay(verifier):
    task = checked(
        "def check(candidate):\n"
        "    marks, out = [], []\n"
        "    candidate(out, [4, -5], lambda x: marks.append(x), marks)\n"
        "    assert out == [4] and marks == [-5], (out, marks)\n"
    )
    code = (
        "def f(out, items, on_bad, marks):\n"
        "    for x in items:\n"
        "        if x < 0:\n            on_bad(x)\n"
        "        else:\n            out.append(x)\n"
    )
    assert verdict(verifier, task, code).outcome is Outcome.PASS


def test_sorting_the_checkers_objects_by_its_key_costs_no_pictures(verifier):
    # each call back carried one of the checker's objects, and the whole argument was
    # pictured again for each: 1,000 objects took 9 s
    task = parse_task(
        {
            "id": "sort",
            "entry_point": "f",
            "prompt": "class P:\n    def __init__(self, x):\n        self.x = x\n",
            "checker": (
                "def check(candidate):\n"
                "    ps = [P((i * 7919) % 1000) for i in range(1000)]\n"
                "    candidate(ps, lambda p: p.x)\n"
                "    assert [p.x for p in ps] == list(range(1000))\n"
            ),
        }
    )
    assert verdict(verifier, task, "def f(ps, key):\n    ps.sort(key=key)\n").outcome is (
        Outcome.PASS
    )
