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


def test_a_function_calling_the_candidate_back_is_answered_inside_the_call(verifier):
    # the checker's helper calls the candidate while the candidate is calling the helper:
    # the candidate answers that call inside its call back, as one interpreter would
    task = checked(
        "def check(candidate):\n"
        "    def helper(y):\n        return candidate(len, y) if y else 0\n"
        "    assert candidate(helper, [1]) == 1\n"
        "    assert candidate(helper, [1, 2, 3]) == 3\n"
    )
    assert outcome(verifier, task, "def f(fn, x):\n    return fn(x)\n") is Outcome.PASS
    wrong = "def f(fn, x):\n    return fn(x) + 1 if callable(fn) and fn is not len else fn(x)\n"
    assert outcome(verifier, task, wrong) is Outcome.FAIL


@pytest.mark.parametrize(
    "given",
    [
        "eval",
        "exec",
        "open",
        "__import__",
        "getattr",
        "os.system",
        "functools.partial(eval)",
        # red team 23b: wrapped or slot forms, and the judge's files' methods, crossed
        "functools.lru_cache(None)(eval)",
        "eval.__call__",
        "object.__getattribute__",
        "type.__getattribute__",
        "sys.stdout.write",
    ],
)
def test_functions_that_run_code_or_reach_files_are_never_handed_over(verifier, given):
    # a seatbelt for a checker passing one by mistake: the candidate would run code in the judge
    task = checked(
        f"import functools, os, sys\ndef check(candidate):\n    assert candidate({given}) == 2\n"
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
        "    x = {'its argument': object(), 'its result': 0, 'NaN': float('nan')}[case]\n"
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


# -- red team 23: each failed on the first version of this feature ------------------------


def test_the_candidate_cannot_build_a_class_of_the_checkers_it_was_never_shown(verifier):
    # the arguments of a call back were read with the checker's whole namespace: a wildcard
    # `_Any` of the checker's, filled by the candidate, passed `out == [0, 1, 4]` (false pass)
    task = checked(
        "class _Any:\n    def __eq__(self, o):\n        return True\n"
        "def check(candidate):\n    out = []\n    candidate(3, out.append)\n"
        "    assert out == [0, 1, 4]\n"
    )
    wrong = "class _Any:\n    pass\ndef f(n, emit):\n    for _ in range(n):\n        emit(_Any())\n"
    assert outcome(verifier, task, wrong) in (Outcome.FAIL, Outcome.ERROR)


@pytest.mark.parametrize("given", ["str.format", "str.format_map", "string.Formatter().format"])
def test_a_formatter_that_reads_attributes_by_name_is_never_handed_over(verifier, given):
    # `fmt("{0.__globals__[EXPECTED]}", fn)` read the checker's expected answer (false pass)
    task = checked(
        "import string\nEXPECTED = 987654321\n"
        f"def check(candidate):\n    assert candidate({given}, lambda x: x) == EXPECTED\n"
    )
    wrong = "def f(fmt, fn):\n    return int(fmt('{0.__globals__[EXPECTED]}', fn))\n"
    assert outcome(verifier, task, wrong) is Outcome.INVALID


def test_a_member_of_the_checkers_enum_the_candidate_made_is_its_error_not_the_tasks(verifier):
    # made through a call back and passed on by the checker, it made the task invalid (dodge)
    task = checked(
        "import enum\nclass Color(enum.Enum):\n    RED = 1\n"
        "def check(candidate):\n    got = []\n    candidate(got.append)\n"
        "    assert candidate(got) == 1\n"
    )
    wrong = (
        "import enum\nclass Color(enum.Enum):\n    RED = 1\n"
        "def f(x):\n    if callable(x):\n        x(Color.RED)\n    return 0\n"
    )
    assert outcome(verifier, task, wrong) in (Outcome.FAIL, Outcome.ERROR)


def test_the_checkers_objects_keep_their_identity_through_a_call_back(verifier):
    task = checked(
        "class Node:\n    def __init__(s, v):\n        s.v, s.marked = v, False\n"
        "def check(candidate):\n"
        "    a, b, c = Node(1), Node(2), Node(3)\n"
        "    adj = {a: [b, c], b: [a, c], c: [a]}\n"
        "    assert candidate(a, lambda n: adj[n], None) == 3\n"
        "    def mark(n):\n        n.marked = True\n"
        "    candidate(a, adj.__getitem__, mark)\n"
        "    assert a.marked and b.marked and c.marked\n"
    )
    code = (
        "def f(start, nb, mark):\n"
        "    seen, todo = {start}, [start]\n"
        "    while todo:\n"
        "        x = todo.pop()\n"
        "        if mark:\n            mark(x)\n"
        "        for y in nb(x):\n"
        "            if y not in seen:\n                seen.add(y)\n                todo.append(y)\n"
        "    return len(seen)\n"
    )
    assert outcome(verifier, task, code) is Outcome.PASS


OBSERVER = """class Bus:
    def __init__(self):
        ...
    def subscribe(self, fn):
        ...
    def fire(self, x):
        ...
    def notify(self, x):
        ...
"""


def test_a_method_of_the_candidates_own_object_is_that_method_there(verifier):
    task = parse_task(
        {
            "id": "o",
            "entry_point": "Bus",
            "prompt": OBSERVER,
            "checker": "def check(candidate):\n"
            "    a, b = candidate(), candidate()\n"
            "    b.subscribe(a.notify)\n    b.fire(1)\n    assert a.got == [1]\n"
            "    seen = []\n    b.subscribe(seen.append)\n    b.fire(b)\n"
            "    assert seen[0] is b and a.got[1] is b\n",
        }
    )
    code = (
        "class Bus:\n"
        "    def __init__(self):\n        self.fns, self.got = [], []\n"
        "    def subscribe(self, fn):\n        self.fns.append(fn)\n"
        "    def fire(self, x):\n        for fn in self.fns:\n            fn(x)\n"
        "    def notify(self, x):\n        self.got.append(x)\n"
    )
    assert outcome(verifier, task, code) is Outcome.PASS


def test_a_finalizer_calling_it_mid_call_does_not_hang_the_job(verifier):
    task = checked(
        "def check(candidate):\n    log = []\n"
        "    assert candidate(log.append, 200) == 200\n    assert len(log) >= 200\n"
    )
    code = (
        "import gc\n"
        "class Res:\n"
        "    def __init__(self, cb, i):\n        self.cb, self.i, self.me = cb, i, self\n"
        "    def __del__(self):\n        self.cb(('closed', self.i))\n"
        "def f(cb, n):\n    gc.set_threshold(50)\n"
        "    for i in range(n):\n        Res(cb, i)\n        cb([[j] for j in range(30)])\n"
        "    gc.collect()\n    return n\n"
    )
    assert outcome(verifier, task, code) is Outcome.PASS


def test_ordinary_uses_that_failed_first(verifier):
    task = checked(
        "import operator, functools\n"
        "def check(candidate):\n"
        "    assert candidate('agg', sum, [1, -2, 3]) == 4\n"  # a generator to the checker's sum
        "    d = {'a': 1}\n"
        "    assert candidate('key', d.__getitem__, 'zz') == 'zz'\n"  # KeyError's own argument
        "    assert candidate('errno', lambda: (_ for _ in ()).throw(OSError(2, 'x')), 0) == 2\n"
        "    class A:\n        def m(self, x):\n            return x\n"
        "    a = A()\n"
        "    assert candidate('same', a.m, a.m) is True\n"  # a.m == a.m, as in Python
        "    assert candidate('sort', operator.itemgetter(1), [(1, 'b'), (0, 'a')]) == [0, 1]\n"
        "    assert candidate('name', functools.lru_cache(None)(abs), 0) == 'abs'\n"
    )
    code = (
        "def f(case, fn, x):\n"
        "    if case == 'agg':\n        return fn(v for v in x if v > 0)\n"
        "    if case == 'key':\n"
        "        try:\n            fn(x)\n        except KeyError as e:\n            return e.args[0]\n"
        "    if case == 'errno':\n"
        "        try:\n            fn()\n        except OSError as e:\n            return e.errno\n"
        "    if case == 'same':\n        return fn == x\n"
        "    if case == 'sort':\n        return [p[0] for p in sorted(x, key=fn)]\n"
        "    if case == 'name':\n        return fn.__qualname__\n"
    )
    verdict = verifier.verify(task, code)
    assert verdict.outcome is Outcome.PASS, verdict.detail


HASHED = """class Bus:
    def __init__(self, fn, v):
        ...
    def __hash__(self):
        ...
    def __eq__(self, o):
        ...
    def count(self, group) -> int:
        ...
"""


def test_a_hash_of_the_candidates_that_calls_one_while_a_request_is_read(verifier):
    task = parse_task(
        {
            "id": "h",
            "entry_point": "Bus",
            "prompt": HASHED,
            "checker": "def check(candidate):\n    k = lambda v: v % 3\n"
            "    a, b = candidate(k, 1), candidate(k, 4)\n    assert a.count({a, b}) == 1\n",
        }
    )
    code = (
        "class Bus:\n"
        "    def __init__(self, fn, v):\n        self.fn, self.v = fn, v\n"
        "    def __hash__(self):\n        return hash(self.fn(self.v))\n"
        "    def __eq__(self, o):\n        return self.fn(self.v) == o.fn(o.v)\n"
        "    def count(self, group):\n        return len(group)\n"
    )
    assert outcome(verifier, task, code) is Outcome.PASS


# -- red team 23b: each failed on the version after round 23's fixes -----------------------


def class_task(prompt: str, checker: str):
    return parse_task({"id": "k", "entry_point": "Bus", "prompt": prompt, "checker": checker})


KEEPER = """class Bus:
    def __init__(self): ...
    def notify(self, x: int) -> None: ...
    def keep(self, f): ...
    def back(self): ...
    def fire(self, x: int) -> None: ...
"""
KEEPER_SOLUTION = """class Bus:
    def __init__(self):
        self.got, self.f = [], None
    def notify(self, x):
        self.got.append(x)
    def keep(self, f):
        self.f = f
    def back(self):
        return self.f
    def fire(self, x):
        for g in (self.f if isinstance(self.f, list) else [self.f]):
            g(x)
"""


def test_a_method_of_the_candidates_object_crosses_back_as_the_checkers_handle_method(verifier):
    task = class_task(
        KEEPER,
        "def check(candidate):\n"
        "    a, b = candidate(), candidate()\n"
        "    b.keep([a.notify])\n    b.fire(3)\n    assert a.got == [3]\n"
        "    b.keep(a.notify)\n    assert b.back() == a.notify\n",
    )
    assert outcome(verifier, task, KEEPER_SOLUTION) is Outcome.PASS


RATIO = """class Bus:
    def __init__(self, n: int, d: int = 1): ...
    def __mul__(self, k: int) -> "Bus": ...
    def __eq__(self, other: object) -> bool: ...
    def visit(self, f) -> None: ...
"""
RATIO_SOLUTION = """class Bus:
    def __init__(self, n, d=1):
        self.n, self.d = n, d
    def __mul__(self, k):
        return Bus(self.n * k, self.d)
    def __eq__(self, o):
        return isinstance(o, Bus) and self.n * o.d == o.n * self.d
    def __hash__(self):
        return 0
    def visit(self, f):
        f(self)
"""


def test_an_object_the_checker_holds_keeps_its_standing_after_a_call_back(verifier):
    # it was made loose for good (`r * 2` refused) once it reached the checker's function
    task = class_task(
        RATIO,
        "def check(candidate):\n"
        "    r = candidate(1, 2)\n    r.visit(lambda q: None)\n"
        "    assert r * 2 == candidate(1, 1)\n",
    )
    assert outcome(verifier, task, RATIO_SOLUTION) is Outcome.PASS


NAMED = """class Bus:
    def __init__(self, n: int): ...
    def __repr__(self) -> str: ...
    def join(self, owners) -> bool: ...
"""
NAMED_SOLUTION = """class Bus:
    def __init__(self, n):
        self.n = n
    def __repr__(self):
        return f"Bus({self.n})"
    def join(self, owners):
        try:
            owners(self)
            return True
        except KeyError:
            return False
"""


def test_the_message_of_an_exception_holding_the_candidates_object_asks_it_nothing(verifier):
    # str(KeyError(handle)) asked the candidate for its repr while it was calling: its error
    task = class_task(
        NAMED,
        "def check(candidate):\n    d = {}\n    assert candidate(1).join(d.__getitem__) is False\n",
    )
    assert outcome(verifier, task, NAMED_SOLUTION) is Outcome.PASS


def test_a_builtins_bound_method_passed_twice_is_one_function(verifier):
    task = checked(
        "def check(candidate):\n    out = []\n    assert candidate(out.append, out.append) is True\n"
    )
    assert outcome(verifier, task, "def f(a, b):\n    return a == b and a is b\n") is Outcome.PASS
