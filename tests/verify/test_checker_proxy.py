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


def passes(verifier: Verifier, task, code: str) -> None:
    verdict = verifier.verify(task, code)
    assert verdict.outcome is Outcome.PASS, verdict


def rejected(verifier: Verifier, task, code: str) -> None:
    verdict = verifier.verify(task, code)
    assert verdict.outcome in (Outcome.FAIL, Outcome.ERROR), verdict


def scored_zero(verdict) -> None:
    """Not a pass, and not an outcome the loop drops unscored (``infra_error``, ``invalid``):
    an attempt at the proxy earns reward 0, never an escape from it."""
    assert verdict.outcome not in (Outcome.PASS, Outcome.INFRA_ERROR, Outcome.INVALID), verdict
    assert verdict.reward == 0.0, verdict


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
    scored_zero(verifier.verify(MAP_LOOP, code))
    assert verifier.verify(MAP_LOOP, "def f(x):\n    return x + 1\n").outcome is Outcome.PASS


def test_generator_exit_cannot_end_a_checkers_loop_early(verifier):
    task = checked(
        "def check(candidate):\n    assert all(candidate(x) == x + 1 for x in [1, 2, 3])\n"
    )
    code = "def f(x):\n    if x == 1:\n        return 2\n    raise GeneratorExit\n"
    scored_zero(verifier.verify(task, code))


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


def test_a_checker_reads_the_candidates_own_message_and_args(verifier):
    # The checker once saw "ValueError: negative input" as str(e), and KeyError's args as
    # ("KeyError: 'zz'",): correct solutions failed checkers that read the message.
    task = checked(
        "def check(candidate):\n"
        "    try:\n        candidate(-1)\n    except ValueError as e:\n"
        "        assert str(e) == 'negative input', str(e)\n"
        "        assert e.args == ('negative input',), e.args\n"
        "    else:\n        raise AssertionError('no ValueError')\n"
        "    try:\n        candidate('zz')\n    except KeyError as e:\n"
        "        assert e.args[0] == 'zz', e.args\n"
    )
    code = (
        "def f(x):\n    if x == -1:\n        raise ValueError('negative input')\n"
        "    return {'a': 1}[x]\n"
    )
    assert verifier.verify(task, code).outcome is Outcome.PASS
    wrong = "def f(x):\n    if x == -1:\n        raise ValueError('negative')\n    return {}[x]\n"
    assert verifier.verify(task, wrong).outcome is Outcome.FAIL


def test_an_exception_class_the_prompt_defines_is_the_checkers_class(verifier):
    # The prompt's class reached the checker as a new class of the same name, which its
    # ``except InsufficientFunds`` did not catch; its attributes come across as well.
    task = parse_task(
        {
            "id": "bank",
            "entry_point": "withdraw",
            "prompt": "class InsufficientFunds(ValueError):\n"
            "    def __init__(self, short):\n"
            "        super().__init__(f'short by {short}')\n"
            "        self.short = short\n\n",
            "checker": "def check(candidate):\n    assert candidate(10, 3) == 7\n"
            "    try:\n        candidate(1, 5)\n    except InsufficientFunds as e:\n"
            "        assert e.short == 4 and str(e) == 'short by 4', (e.short, str(e))\n"
            "    else:\n        raise AssertionError('expected InsufficientFunds')\n",
        }
    )
    code = (
        "def withdraw(balance, amount):\n    if amount > balance:\n"
        "        raise InsufficientFunds(amount - balance)\n    return balance - amount\n"
    )
    assert verifier.verify(task, code).outcome is Outcome.PASS
    other = code.replace("raise InsufficientFunds(amount - balance)", "raise ValueError('no')")
    scored_zero(verifier.verify(task, other))


def with_prompt(prompt: str, checker: str, entry: str = "f"):
    return parse_task({"id": "p", "entry_point": entry, "prompt": prompt, "checker": checker})


def test_an_exceptions_args_are_never_taken_for_the_arguments_it_changed(verifier):
    # The exception's args once crossed under the key that means "your arguments after the
    # call", and the checker's own list became the exception's args.
    task = with_prompt(
        "class DuplicateError(ValueError):\n    pass\n\n",
        "def check(candidate):\n    items = [3, 1, 3, 2, 1]\n    try:\n        candidate(items)\n"
        "    except DuplicateError as e:\n        assert e.args[0] == [1, 3], e.args\n"
        "    assert items == [3, 1, 3, 2, 1], items\n",
    )
    code = (
        "def f(items):\n    dupes = sorted({x for x in items if items.count(x) > 1})\n"
        "    if dupes:\n        raise DuplicateError(dupes)\n"
    )
    assert verifier.verify(task, code).outcome is Outcome.PASS


@pytest.mark.parametrize(
    ("prompt", "catch", "raise_"),
    [
        ("import json\n\n", "json.JSONDecodeError", "json.loads(s)"),
        ("import statistics\n\n", "statistics.StatisticsError", "statistics.mean([])"),
    ],
)
def test_a_library_exception_reaches_the_checker_as_the_librarys_class(
    verifier, prompt, catch, raise_
):
    task = with_prompt(
        prompt,
        f"def check(candidate):\n    try:\n        candidate('{{')\n    except {catch}:\n"
        "        pass\n    else:\n        raise AssertionError('not raised')\n",
    )
    assert verifier.verify(task, f"def f(s):\n    return {raise_}\n").outcome is Outcome.PASS


def test_a_subclass_of_the_prompts_exception_and_changes_before_a_raise_reach_the_checker(
    verifier,
):
    task = with_prompt(
        "class InsufficientFunds(ValueError):\n    pass\n\n",
        "def check(candidate):\n    log = []\n    try:\n        candidate(log)\n"
        "    except InsufficientFunds:\n        pass\n    else:\n        raise AssertionError\n"
        "    assert log == ['tried'], log\n",
    )
    code = (
        "class Overdraft(InsufficientFunds):\n    pass\n\n"
        "def f(log):\n    log.append('tried')\n    raise Overdraft('no')\n"
    )
    assert verifier.verify(task, code).outcome is Outcome.PASS


@pytest.mark.parametrize(
    "code",
    [
        "def f(xs):\n    xs[0] = float('nan')\n",  # left in an argument it changed
        "def f(xs):\n    e = ValueError('x')\n    e.value = float('nan')\n    raise e\n",
        "def f(xs):\n    raise ValueError(float('nan'))\n",
    ],
)
def test_nan_cannot_reach_a_checker_through_arguments_or_exceptions(verifier, code):
    # NaN defeats `assert not abs(a - b) > tol`; returned values were refused, these were not.
    task = checked(
        "def check(candidate):\n    xs = [1.0]\n    try:\n        candidate(xs)\n"
        "    except ValueError as e:\n        xs = [getattr(e, 'value', e.args[0])]\n"
        "    assert not abs(xs[0] - 2.0) > 1e-9\n"
    )
    scored_zero(verifier.verify(task, code))


def test_a_control_flow_class_the_prompt_defines_cannot_end_a_checkers_loop(verifier):
    task = with_prompt(
        "class Exhausted(StopIteration):\n    pass\n\n",
        "def check(candidate):\n"
        "    assert all(map(lambda c: candidate(c[0]) == c[1], [(1, 2), (2, 4), (3, 6)]))\n",
    )
    # its own class of that name, not a StopIteration: the prompt's must not be raised for it
    code = "class Exhausted(Exception):\n    pass\n\ndef f(x):\n    raise Exhausted()\n"
    scored_zero(verifier.verify(task, code))
    assert verifier.verify(task, "def f(x):\n    return 2 * x\n").outcome is Outcome.PASS


def test_a_long_message_and_every_plain_attribute_reach_the_checker(verifier):
    # A message past 400 characters reached the checker as "ValueError: ..." again, and one
    # attribute that is not plain data kept every other attribute from crossing.
    task = checked(
        "def check(candidate):\n    try:\n        candidate(-1)\n    except ValueError as e:\n"
        "        assert str(e) == 'negative: ' + 'x' * 3000, str(e)[:40]\n"
        "        assert e.code == 7, vars(e)\n"
    )
    code = (
        "from fractions import Fraction\n"
        "def f(n):\n    e = ValueError('negative: ' + 'x' * 3000)\n"
        "    e.ratio = Fraction(1, 3)\n    e.code = 7\n    raise e\n"
    )
    assert verifier.verify(task, code).outcome is Outcome.PASS
    assert verifier.verify(task, code.replace("e.code = 7", "e.code = 8")).outcome is Outcome.FAIL


def test_dataclasses_load_in_the_solution_the_prompt_and_the_checker(verifier):
    # Code was compiled with the worker's own `from __future__ import annotations`, and
    # dataclasses then looked up a module that does not exist: every dataclass failed to load.
    dc = "from dataclasses import dataclass\n\n@dataclass\nclass P:\n    x: int\n\n"
    task = with_prompt(dc, dc + "def check(candidate):\n    assert candidate(P(2)) == 4\n")
    assert verifier.verify(task, dc + "def f(p):\n    return 2 * p.x\n").outcome is Outcome.PASS


def test_string_annotations_and_pickle_find_the_solutions_module(verifier):
    # The solution's and the checker's globals were no module in sys.modules, so dataclasses
    # could not resolve string annotations and pickle could not find a class: correct
    # solutions failed to load
    dc = (
        "from __future__ import annotations\nfrom dataclasses import dataclass\n\n"
        "@dataclass\nclass P:\n    x: int\n\n"
    )
    task = with_prompt(dc, "def check(candidate):\n    assert candidate(P(2)) == 4\n")
    assert verifier.verify(task, dc + "def f(p):\n    return 2 * p.x\n").outcome is Outcome.PASS
    pickled = (
        "import pickle\nclass Box:\n    def __init__(self, v):\n        self.v = v\n"
        "def f(x):\n    return pickle.loads(pickle.dumps(Box(x + 1))).v\n"
    )
    assert verifier.verify(MAP_LOOP, pickled).outcome is Outcome.PASS


RETURNS_A_COPY = checked(
    "def check(candidate):\n"
    "    xs = [3, 1, 2]\n    ys = candidate(xs)\n    assert ys == [3, 1, 2]\n"
    "    ys.append(99)\n    assert xs == [3, 1, 2], 'the result must be a copy'\n"
)
SORTS_IN_PLACE = checked(
    "def check(candidate):\n"
    "    xs = [3, 1, 2]\n    ys = candidate(xs)\n    assert ys is xs and xs == [1, 2, 3]\n"
)


def test_a_call_that_returns_its_argument_returns_the_checkers_object(verifier):
    # The wire handed back an equal copy: a solution returning its input passed a checker
    # that asks for a copy, and one sorting in place and returning its list failed `is`
    assert verifier.verify(RETURNS_A_COPY, "def f(xs):\n    return xs\n").outcome is Outcome.FAIL
    assert verifier.verify(RETURNS_A_COPY, "def f(xs):\n    return list(xs)\n").outcome is (
        Outcome.PASS
    )
    code = "def f(xs):\n    xs.sort()\n    return xs\n"
    assert verifier.verify(SORTS_IN_PLACE, code).outcome is Outcome.PASS
    assert verifier.verify(SORTS_IN_PLACE, "def f(xs):\n    return sorted(xs)\n").outcome is (
        Outcome.FAIL
    )


def test_one_object_passed_twice_is_one_object_to_the_candidate(verifier):
    task = checked(
        "def check(candidate):\n"
        "    xs = [1, 2]\n    candidate(xs, xs)\n    assert xs == [1, 2, 1, 2], xs\n"
    )
    code = "def f(a, b):\n    a.extend(b)\n    return None\n"
    assert verifier.verify(task, code).outcome is Outcome.PASS
    pure = checked(
        "def check(candidate):\n"
        "    xs = [1, 2]\n    assert candidate(xs, xs) == [1, 2, 1, 2]\n    assert xs == [1, 2]\n"
    )
    assert verifier.verify(pure, "def f(a, b):\n    return a + b\n").outcome is Outcome.PASS
    assert verifier.verify(pure, code.replace("return None", "return a")).outcome is Outcome.FAIL


def test_a_dict_reordered_in_place_keeps_the_candidates_order(verifier):
    task = checked(
        "def check(candidate):\n"
        "    d = {'b': 2, 'a': 1}\n    candidate(d)\n    assert list(d) == ['a', 'b'], list(d)\n"
    )
    code = "def f(d):\n    items = sorted(d.items())\n    d.clear()\n    d.update(items)\n"
    assert verifier.verify(task, code).outcome is Outcome.PASS


def test_an_int_past_the_decimal_digit_limit_reaches_a_checker(verifier):
    # int.__repr__ refuses past 4,300 digits, so factorial(2000) was the candidate's error;
    # it now crosses in hex (linear to read) to the judge, which compares and never prints
    task = checked(
        "import math\ndef check(candidate):\n"
        "    assert candidate(2000) == math.factorial(2000)\n"
        "    assert candidate(-2000) == -math.factorial(2000)\n"
    )
    code = "import math\ndef f(n):\n    return math.factorial(abs(n)) * (1 if n > 0 else -1)\n"
    assert verifier.verify(task, code).outcome is Outcome.PASS
    off = code.replace("* (1 if", "+ 1 * (1 if")
    assert verifier.verify(task, off).outcome is Outcome.FAIL


def test_objects_of_a_class_with_slots_cross_both_ways(verifier):
    # MBPP 927 and 367 pass trees the checker built; a correct solution whose Node declares
    # __slots__ could not be given one (rebuilt through __dict__) nor give one back
    task = checked(
        "class Node:\n    def __init__(self, data, left=None, right=None):\n"
        "        self.data, self.left, self.right = data, left, right\n"
        "def check(candidate):\n"
        "    t = Node(1, Node(2, Node(3)), Node(4))\n"
        "    assert candidate(t) == 3\n    assert t.data == 10, t.data\n"
    )
    code = (
        "class Node:\n    __slots__ = ('data', 'left', 'right', '__weakref__')\n"
        "def f(t):\n    t.data = 10\n"
        "    h = lambda n: 0 if n is None else 1 + max(h(n.left), h(n.right))\n    return h(t)\n"
    )
    assert verifier.verify(task, code).outcome is Outcome.PASS
    assert verifier.verify(task, code.replace("t.data = 10", "pass")).outcome is Outcome.FAIL


SLOTTED = (
    "from dataclasses import dataclass\n\n@dataclass(slots=True)\nclass Point:\n"
    "    x: float\n    y: float\n\n"
)


def test_a_slotted_argument_is_synced_and_checked_for_nan(verifier):
    # A slotted argument changed in place was not synced back (a correct solution failed, a
    # forbidden change hid), and NaN inside one was not seen (a wrong solution passed)
    task = with_prompt(
        SLOTTED,
        "def check(candidate):\n    p = Point(3.0, 4.0)\n    candidate(p)\n"
        "    assert not (abs(p.x - 0.6) > 1e-9 or abs(p.y - 0.8) > 1e-9), p\n",
    )
    right = "def f(p):\n    n = (p.x ** 2 + p.y ** 2) ** 0.5\n    p.x, p.y = p.x / n, p.y / n\n"
    assert verifier.verify(task, right).outcome is Outcome.PASS
    nan = "def f(p):\n    p.x = p.y = float('nan')\n"
    assert verifier.verify(task, nan).outcome is Outcome.ERROR
    assert verifier.verify(task, "def f(p):\n    pass\n").outcome is Outcome.FAIL


def test_an_exception_keeps_every_builtin_base_its_str_and_class_attributes(verifier):
    # The checker's copy derived from the nearest builtin alone (a ValueError that is also a
    # TypeError escaped `except TypeError`), and lost the class's __str__, class attributes
    # and properties
    task = checked(
        "def check(candidate):\n"
        "    try:\n        candidate(-1)\n    except TypeError as e:\n"
        "        assert str(e) == 'bad: -1', str(e)\n"
        "        assert e.status == 404 and e.twice == -2, (e.status, e.twice)\n"
        "    else:\n        raise AssertionError('no TypeError')\n"
    )
    code = (
        "class BadInput(ValueError, TypeError):\n    status = 404\n"
        "    def __init__(self, x):\n        super().__init__()\n        self.x = x\n"
        "    def __str__(self):\n        return f'bad: {self.x}'\n"
        "    @property\n    def twice(self):\n        return 2 * self.x\n"
        "def f(x):\n    raise BadInput(x)\n"
    )
    assert verifier.verify(task, code).outcome is Outcome.PASS
    assert verifier.verify(task, code.replace("404", "500")).outcome is Outcome.FAIL
    scored_zero(verifier.verify(task, code.replace(", TypeError", "")))


# -- the standard library's value types cross as themselves ----------------------------------
# Before, a Fraction or a Decimal could not cross at all (a correct `return Fraction(a, b)` was
# the candidate's error where Python says it equals 0.5), an OrderedDict crossed as a dict (so
# a wrong order passed a checker that compares with an OrderedDict), a Counter with a zero
# count failed against one without it, a defaultdict lost its default, and a deque or a
# bytearray a checker passed in could not cross.


def test_a_fraction_or_a_decimal_equals_a_float_as_in_python(verifier):
    task = checked("def check(candidate):\n    assert candidate(1, 2) == 0.5\n")
    for code in (
        "from fractions import Fraction\ndef f(a, b):\n    return Fraction(a, b)\n",
        "from decimal import Decimal\ndef f(a, b):\n    return Decimal(a) / Decimal(b)\n",
    ):
        verdict = verifier.verify(task, code)
        assert verdict.outcome is Outcome.PASS, verdict
    wrong = "from fractions import Fraction\ndef f(a, b):\n    return Fraction(a, b + 1)\n"
    assert verifier.verify(task, wrong).outcome is Outcome.FAIL


def test_a_decimal_nan_fails_closed_like_a_float_nan(verifier):
    task = checked("def check(candidate):\n    assert not abs(candidate() - 1) > 0.1\n")
    nan = "from decimal import Decimal\ndef f():\n    return Decimal('NaN')\n"
    verdict = verifier.verify(task, nan)
    scored_zero(verdict)
    assert "NaN" in verdict.detail, verdict


def test_an_ordered_dicts_order_and_a_counters_zeros_are_pythons(verifier):
    task = checked(
        "from collections import Counter, OrderedDict\n"
        "def check(candidate):\n"
        "    assert candidate('order') == OrderedDict([('b', 1), ('a', 2)])\n"
        "    assert candidate('count') == Counter({'a': 1})\n"
    )
    right = (
        "from collections import Counter, OrderedDict\n"
        "def f(what):\n    if what == 'order':\n"
        "        return OrderedDict([('b', 1), ('a', 2)])\n"
        "    return Counter({'a': 1, 'z': 0})\n"  # Python: a zero count is a missing one
    )
    passes(verifier, task, right)
    wrong_order = right.replace("[('b', 1), ('a', 2)]", "[('a', 2), ('b', 1)]")
    assert verifier.verify(task, wrong_order).outcome is Outcome.FAIL


def test_a_defaultdict_keeps_its_default(verifier):
    task = checked(
        "def check(candidate):\n    d = candidate([('a', 1)])\n"
        "    d['z'].append(2)\n    assert d == {'a': [1], 'z': [2]}\n"
    )
    code = (
        "from collections import defaultdict\ndef f(pairs):\n    d = defaultdict(list)\n"
        "    for k, v in pairs:\n        d[k].append(v)\n    return d\n"
    )
    passes(verifier, task, code)


def test_a_deque_an_ordered_dict_and_a_bytearray_change_in_place(verifier):
    task = checked(
        "from collections import OrderedDict, deque\n"
        "def check(candidate):\n"
        "    q = deque([1, 2], 5)\n    assert candidate(q) is q\n"
        "    assert q == deque([0, 1, 2]) and q.maxlen == 5\n"
        "    od = OrderedDict(a=1, b=2)\n    candidate(od)\n    assert list(od) == ['b', 'a']\n"
        "    b = bytearray(b'ab')\n    candidate(b)\n    assert b == b'ba'\n"
    )
    code = (
        "def f(x):\n    if hasattr(x, 'appendleft'):\n        x.appendleft(0)\n        return x\n"
        "    if hasattr(x, 'move_to_end'):\n        x.move_to_end('a')\n    else:\n"
        "        x.reverse()\n"
    )
    passes(verifier, task, code)
    copies = code.replace("x.appendleft(0)\n        return x", "return type(x)([0, *x], 5)")
    assert verifier.verify(task, copies).outcome is Outcome.FAIL  # not the checker's deque


@pytest.mark.parametrize(
    "forged",
    [
        # a subclass crosses as its builtin value, its __eq__ left behind
        "from collections import Counter\nclass C(Counter):\n    def __eq__(self, o):\n"
        "        return True\ndef f():\n    return C(b=5)\n",
        # a class passed off as the standard library's: only its plain contents cross
        "import collections\nclass OrderedDict(dict):\n    __module__ = 'collections'\n"
        "    def __eq__(self, o):\n        return True\n"
        "collections.OrderedDict = OrderedDict\ndef f():\n    return OrderedDict(b=5)\n",
    ],
)
def test_a_forged_standard_library_type_cannot_pass(verifier, forged):
    task = checked(
        "from collections import Counter\n"
        "def check(candidate):\n    assert candidate() == Counter(a=1)\n"
    )
    assert verifier.verify(task, forged).outcome is Outcome.FAIL


def test_the_standard_librarys_forms_never_reach_the_verifiers_own_process():
    # An I/O task's values are decoded in the verifier's process, as plain data only: a
    # candidate writing the proxy's form there is refused, whatever it spells.
    from closedloop.sandbox.wire import WireError, decode_plain

    assert decode_plain("Fraction(1, 2)", stdlib=True) == 0.5
    for text in ("Fraction(1, 2)", "deque([1])", "OrderedDict({1: 2})", "Decimal('1')"):
        with pytest.raises(WireError):
            decode_plain(text)
    with pytest.raises(WireError):  # compares by raising: no checker could judge it
        decode_plain("Decimal('sNaN')", stdlib=True)


# -- objects cross as a graph ------------------------------------------------------------------
# Before, each object crossed nested inside the one that held it: a linked list of 50 nodes
# was too deep for the wire (the task refused as invalid), a doubly linked list or any cycle
# could not cross at all, a node two others share arrived as two, and a candidate could not
# return a node (a reversed list, a cloned graph) -- "not plain data".

LIST_NODE = (
    "class ListNode:\n    def __init__(self, val=0, next=None):\n"
    "        self.val = val\n        self.next = next\n"
)
LINKED = (
    LIST_NODE + "def build(xs):\n    head = None\n    for x in reversed(xs):\n"
    "        head = ListNode(x, head)\n    return head\n"
    "def items(h):\n    out = []\n    while h:\n        out.append(h.val)\n        h = h.next\n"
    "    return out\n"
)


def test_a_linked_list_of_any_length_crosses(verifier):
    task = checked(
        LINKED + "def check(candidate):\n    assert candidate(build(range(1000))) == 499500\n"
    )
    code = (
        "def f(h):\n    s = 0\n    while h:\n        s += h.val\n        h = h.next\n    return s\n"
    )
    passes(verifier, task, code)
    assert verifier.verify(task, code.replace("s = 0", "s = 1")).outcome is Outcome.FAIL


def test_a_returned_node_is_the_checkers_own_node(verifier):
    task = checked(
        LINKED + "def check(candidate):\n    h = build([1, 2, 3])\n    last = h.next.next\n"
        "    r = candidate(h)\n    assert items(r) == [3, 2, 1]\n"
        "    assert r is last and h.next is None, 'not reversed in place'\n"
    )
    in_place = (
        "def f(h):\n    prev = None\n    while h:\n        h.next, prev, h = prev, h, h.next\n"
        "    return prev\n"
    )
    passes(verifier, task, in_place)
    copy = (
        LIST_NODE + "def f(h):\n    out = None\n    while h:\n        out = ListNode(h.val, out)\n"
        "        h = h.next\n    return out\n"
    )
    verdict = verifier.verify(task, copy)
    assert verdict.outcome is Outcome.FAIL and "not reversed in place" in verdict.detail


def test_cycles_and_shared_nodes_cross_as_they_are(verifier):
    task = checked(
        LINKED + "class N:\n    def __init__(self, v):\n        self.v = v\n"
        "        self.prev = self.next = None\n"
        "def check(candidate):\n    h = build([1, 2, 3, 4])\n    h.next.next.next.next = h.next\n"
        "    assert candidate(h) is True\n    assert candidate(build([1, 2])) is False\n"
        "    a, b, c = N(1), N(2), N(3)\n    a.next, b.prev, b.next, c.prev = b, a, c, b\n"
        "    assert candidate(b) is None\n    assert a.next is c and c.prev is a\n"
    )
    code = (
        "def f(h):\n    if hasattr(h, 'prev'):\n        h.prev.next = h.next\n"
        "        h.next.prev = h.prev\n        return None\n    slow = fast = h\n"
        "    while fast and fast.next:\n        slow, fast = slow.next, fast.next.next\n"
        "        if slow is fast:\n            return True\n    return False\n"
    )
    passes(verifier, task, code)


def test_a_cloned_graph_is_a_new_graph_with_its_cycles(verifier):
    task = checked(
        "class Node:\n    def __init__(self, val=0, neighbors=None):\n        self.val = val\n"
        "        self.neighbors = neighbors if neighbors is not None else []\n"
        "def check(candidate):\n    a, b, c = Node(1), Node(2), Node(3)\n"
        "    a.neighbors, b.neighbors, c.neighbors = [b, c], [a, c], [a, b]\n"
        "    r = candidate(a)\n    assert [n.val for n in r.neighbors] == [2, 3]\n"
        "    assert r.neighbors[0].neighbors[0] is r and r.neighbors[1].neighbors[1] is r.neighbors[0]\n"
        "    assert not {id(r), *map(id, r.neighbors)} & {id(a), id(b), id(c)}, 'not a copy'\n"
    )
    clone = (  # the class is the solution's own too, as a prompt would give it
        "class Node:\n    def __init__(self, val=0, neighbors=None):\n        self.val = val\n"
        "        self.neighbors = neighbors if neighbors is not None else []\n"
        "def f(node):\n    seen = {}\n    def go(n):\n        if n not in seen:\n"
        "            seen[n] = c = type(n)(n.val)\n            c.neighbors = [go(m) for m in n.neighbors]\n"
        "        return seen[n]\n    return go(node)\n"
    )
    passes(verifier, task, clone)
    verdict = verifier.verify(task, "def f(node):\n    return node\n")
    assert verdict.outcome is Outcome.FAIL and "not a copy" in verdict.detail


def test_nan_deep_in_a_returned_list_fails_closed(verifier):
    task = checked(
        LINKED + "def check(candidate):\n    h = candidate(300)\n    while h:\n"
        "        assert not abs(h.val - 1.0) > 0.5\n        h = h.next\n"
    )
    code = (
        LIST_NODE + "def f(n):\n    h = ListNode(float('nan'))\n    for _ in range(n):\n"
        "        h = ListNode(1.0, h)\n    return h\n"
    )
    verdict = verifier.verify(task, code)
    scored_zero(verdict)
    assert "NaN" in verdict.detail, verdict


def test_hashable_objects_in_a_returned_set(verifier):
    point = "from dataclasses import dataclass\n@dataclass(frozen=True)\nclass P:\n    x: int\n    y: int\n"
    # the class is the prompt's: what a task gives the solution to build its answer from
    task = with_prompt(
        point, "def check(candidate):\n    assert candidate(2) == {P(0, 0), P(1, 1)}\n"
    )
    passes(verifier, task, "def f(n):\n    return {P(i, i) for i in range(n)}\n")


def test_a_graph_builds_only_classes_its_reader_defined():
    # The sender names each object's class: only a class the reader's own code defined is
    # built (or a stand-in), never one it imported -- a Fraction filled with a string -- and
    # an origin naming the reader's object of another class makes a new object instead.
    from fractions import Fraction

    from closedloop.sandbox.wire import decode_plain

    ns = {"__name__": "__judge__", "Fraction": Fraction}
    got = decode_plain("__graph__(__ref__(0), [('Fraction', {'_numerator': 'x'}, None)])", ns)
    assert type(got) is not Fraction and got._numerator == "x"

    class Mine:
        pass

    Mine.__module__ = "__judge__"
    ns["Mine"] = Mine
    theirs = object.__new__(Mine)
    graph = {"resolve": {0: Fraction(1, 3)}.get}
    got = decode_plain("__graph__(__ref__(0), [('Mine', {'a': 1}, 0)])", ns, graph=graph)
    assert type(got) is Mine and got is not theirs and graph["pending"] == []
    assert (
        decode_plain(
            "__graph__(__ref__(0), [('Mine', {}, 0)])", ns, graph={"resolve": {0: theirs}.get}
        )
        is theirs
    )

    class Registry:  # deriving a stand-in from it would run its code: a plain stand-in instead
        seen: list = []

        def __init_subclass__(cls, **kw):
            Registry.seen.append(cls.__name__)

    Registry.__module__ = "__judge__"
    ns["Registry"] = Registry
    got = decode_plain("__graph__(__ref__(0), [('Evil', {}, None, ('Registry',))])", ns)
    assert Registry.seen == [] and not isinstance(got, Registry)


def test_an_exception_group_splits_under_except_star(verifier):
    # It crossed as one exception of no builtin kind: `except*` caught nothing and the
    # verdict was the candidate's error, a correct solution rejected.
    task = checked(
        "def check(candidate):\n    try:\n        candidate(1)\n"
        "    except* ValueError as eg:\n        assert [str(e) for e in eg.exceptions] == ['a', 'b']\n"
        "    except* TypeError as eg:\n        assert eg.message == 'many' and len(eg.exceptions) == 1\n"
        "    else:\n        raise AssertionError('nothing raised')\n"
    )
    group = "def f(x):\n    raise ExceptionGroup('many', [ValueError('a'), ValueError('b'), TypeError('c')])\n"
    passes(verifier, task, group)
    assert verifier.verify(task, group.replace("ValueError('b'), ", "")).outcome is Outcome.FAIL
    # nested as deep or as wide as a candidate likes: what crosses is bounded (64 exceptions)
    for depth, width in ((300, 1), (3, 40)):
        many = (
            f"def f(x):\n    e = ValueError('a')\n    for _ in range({depth}):\n"
            f"        e = ExceptionGroup('g', [e] * {width})\n    raise e\n"
        )
        verdict = verifier.verify(task, many)
        assert verdict.outcome is Outcome.FAIL and verdict.elapsed_s < 1.0, verdict


# -- the graph, second round: a red team's findings on the code above -------------------------

FORGE_VALUE = (  # the candidate rewrites its own reply frames (it can: same process)
    "import sys\n_m = sys.modules['__main__']\n_write = _m.write_frame\n"
    "def _forged(fd, rep):\n    if 'value' in rep:\n        rep = {{'i': rep['i'], 'value': {value}}}\n"
    "    _write(fd, rep)\n_m.write_frame = _forged\n"
)


def test_a_forged_object_never_reaches_a_singleton_the_call_was_not_given(verifier):
    # Objects were made by the class's own __new__, which for a singleton hands back the
    # one shared instance: a table entry nothing referenced rewrote the checker's tally.
    task = checked(
        "class Stats:\n    _it = None\n    def __new__(cls):\n        if cls._it is None:\n"
        "            cls._it = super().__new__(cls)\n            cls._it.failures = 0\n"
        "        return cls._it\n"
        "def check(candidate):\n    for x in (1, 2, 3):\n        if candidate(x) != x + 1:\n"
        "            Stats().failures += 1\n    assert Stats().failures == 0\n"
    )
    forged = FORGE_VALUE.format(
        value="\"__graph__(%s, [('Stats', {'failures': -1}, None)])\" % rep['value']"
    )
    assert verifier.verify(task, forged + "def f(x):\n    return x\n").outcome is Outcome.FAIL


def test_a_half_applied_reply_is_the_candidates_fault_not_the_tasks(verifier):
    # A reply naming the checker's slotted object with a slot it lacks raised AttributeError
    # into the checker after one attribute had landed (a list too deep to send again); a
    # checker that tolerates a raising candidate then failed to send the object and the
    # verdict was `invalid` -- a reward dodge.
    task = with_prompt(
        "from dataclasses import dataclass\n@dataclass(slots=True)\nclass Acc:\n    total: int = 0\n",
        "def check(candidate):\n    a = Acc()\n    for x in [1, 2, 3]:\n        try:\n"
        "            candidate(a, x)\n        except Exception:\n            pass\n"
        "    assert a.total == 6, a.total\n",
    )
    deep = "'[' * 150 + ']' * 150"
    forged = FORGE_VALUE.format(
        value=f"\"__graph__(None, [('Acc', {{'total': %s, 'zz': 1}}, 0)])\" % ({deep})"
    )
    verdict = verifier.verify(task, forged + "def f(acc, x):\n    pass\n")
    assert verdict.outcome is Outcome.ERROR, verdict
    passes(verifier, task, "def f(acc, x):\n    acc.total += x\n")


HASHED = (
    "class Node:\n    def __init__(self, val):\n        self.val = val\n        self.nbrs = set()\n"
    "    def __hash__(self):\n        return hash(self.val)\n"
    "    def __eq__(self, o):\n        return isinstance(o, Node) and self.val == o.val\n"
)


def test_objects_hashed_on_their_attributes_sit_in_sets_of_a_cycle(verifier):
    # A node's set of neighbours was built while those neighbours were still empty (their
    # __hash__ read an attribute not yet set), and an object the call changed was hashed into
    # a new set with its old value.
    task = checked(
        HASHED + "def check(candidate):\n    a, b, c = Node(1), Node(2), Node(3)\n"
        "    a.nbrs, b.nbrs, c.nbrs = {b, c}, {a}, {a}\n    assert candidate([a, b, c]) == 4\n"
        "    r = candidate(3)\n    assert sorted(n.val for n in r) == [0, 1, 2]\n"
        "    assert all(len(n.nbrs) == 2 for n in r)\n"
        "    p, s = Node(1), set()\n    candidate((p, s))\n    assert p.val == 2 and p in s\n"
    )
    code = HASHED + (
        "def f(x):\n    if type(x) is int:\n        ns = [Node(i) for i in range(x)]\n"
        "        for n in ns:\n            n.nbrs = {m for m in ns if m is not n}\n        return ns\n"
        "    if type(x) is tuple:\n        x[0].val += 1\n        x[1].add(x[0])\n        return None\n"
        "    return sum(len(n.nbrs) for n in x)\n"
    )
    passes(verifier, task, code)


def test_every_slot_crosses_a_bases_and_a_private_one(verifier):
    task = with_prompt(
        "class Base:\n    __slots__ = ('val',)\n    def __init__(self, v):\n        self.val = v\n"
        "class Node(Base):\n    def __init__(self, v):\n        super().__init__(v)\n"
        "        self.tag = 't'\n"
        "class Box:\n    __slots__ = ('__v',)\n    def __init__(self, v):\n        self.__v = v\n"
        "    def get(self):\n        return self.__v\n",
        "def check(candidate):\n    assert candidate(Node(5)) == (5, 't')\n"
        "    assert candidate(Box(7)) == (7, None)\n",
    )
    passes(
        verifier,
        task,
        "def f(x):\n    if isinstance(x, Box):\n        return x.get(), None\n"
        "    return x.val, x.tag\n",
    )


def test_a_node_passed_by_keyword_and_returned_is_the_checkers_own(verifier):
    task = checked(
        LINKED + "def check(candidate):\n    h = build([1, 2])\n"
        "    assert candidate(head=h) is h.next\n"
    )
    passes(verifier, task, "def f(head):\n    return head.next\n")


def test_a_checkers_subclass_of_the_prompts_class_keeps_its_methods(verifier):
    task = with_prompt(
        "class Account:\n    def __init__(self, bal):\n        self.bal = bal\n"
        "    def deposit(self, x):\n        self.bal += x\n",
        "class Audited(Account):\n    pass\n"
        "def check(candidate):\n    a = Audited(10)\n    candidate(a, 5)\n    assert a.bal == 15\n",
    )
    passes(
        verifier,
        task,
        "def f(acct, x):\n    assert isinstance(acct, Account)\n    acct.deposit(x)\n",
    )


def test_a_fraction_as_large_as_a_checkers_int_crosses(verifier):
    # capped at the verifier's own 14,284 bits, H(10000)'s denominator (14,434 bits) could not cross
    task = checked(
        "from fractions import Fraction\ndef check(candidate):\n"
        "    h = sum(Fraction(1, k) for k in range(1, 10001))\n    assert candidate(10000) == h\n"
    )
    passes(
        verifier,
        task,
        "from fractions import Fraction\ndef f(n):\n    return sum(Fraction(1, k) for k in range(1, n + 1))\n",
    )


# -- a class-based solution: its objects stay in the candidate's process -----------------------
# A task whose entry point is a class ("design" tasks: an LRU cache, a codec) was rejected
# whatever the solution: the instance the checker made crossed back as data, with none of its
# methods ("'LRUCache' object has no attribute 'put'").

LRU = (
    "from collections import OrderedDict\nclass LRUCache:\n    def __init__(self, cap):\n"
    "        self.cap = cap\n        self.d = OrderedDict()\n"
    "    def get(self, k):\n        if k not in self.d:\n            return -1\n"
    "        self.d.move_to_end(k)\n        return self.d[k]\n"
    "    def put(self, k, v):\n        self.d[k] = v\n        self.d.move_to_end(k)\n"
    "        if len(self.d) > self.cap:\n            self.d.popitem(last=False)\n"
    "    def merge(self, other):\n        for k, v in other.d.items():\n            self.put(k, v)\n"
    "        return self\n"
)


def test_a_class_based_solution_is_called_method_by_method(verifier):
    task = parse_task(
        {
            "id": "lru",
            "entry_point": "LRUCache",
            "prompt": "class LRUCache:\n    def __init__(self, cap):\n        pass\n"
            "    def get(self, k):\n        pass\n    def put(self, k, v):\n        pass\n",
            "checker": "def check(candidate):\n    c = candidate(2)\n    c.put(1, 1)\n"
            "    c.put(2, 2)\n    assert c.get(1) == 1\n    c.put(3, 3)\n    assert c.get(2) == -1\n"
            "    assert c.cap == 2 and not hasattr(c, 'missing')\n"
            "    other = candidate(5)\n    other.put(7, 7)\n    assert c.merge(other) is c\n"
            "    assert c.get(7) == 7 and other.get(7) == 7 and c is not other\n",
        }
    )
    passes(verifier, task, LRU)
    wrong = LRU.replace("popitem(last=False)", "popitem(last=True)")
    verdict = verifier.verify(task, wrong)
    assert verdict.outcome is Outcome.FAIL and "c.get(2) == -1" in verdict.detail, verdict


def test_the_candidates_object_never_runs_its_code_in_the_checker():
    # Its methods run in the sandbox; the handle's own comparisons are by identity, so an
    # always-equal __eq__ of the candidate's stays behind, and no other dunder is asked for.
    import types

    from closedloop.sandbox.wire import Handle

    asked = []
    declared = {"__len__"}
    port = types.SimpleNamespace(
        get=lambda handle, name: asked.append(name),
        operate=lambda handle, name, args, kwargs: (
            asked.append(name) or (2 if name in declared else NotImplemented)
        ),
    )
    h = Handle(0, port)
    assert h != 1 and h == h and hash(h) == object.__hash__(h) and h and "#0" in str(h)
    # each asked, none declared: an object's defaults
    assert set(asked) == {"__ne__", "__eq__", "__hash__", "__bool__", "__str__"}
    asked.clear()
    with pytest.raises(AttributeError):
        h.__class_getitem__  # noqa: B018 - the access itself is the test
    with pytest.raises(AttributeError):
        h.x = 1
    with pytest.raises(TypeError):
        iter(h)
    h.put  # noqa: B018 - reading it is what asks
    assert len(h) == 2 and asked == ["__iter__", "put", "__len__"]


# -- the graph and the proxy, third round: a second red team's findings ----------------------


def test_a_candidate_cannot_build_a_helper_class_the_checker_kept_to_itself(verifier):
    # New objects in a reply were made of any class the checker's namespace defined: a
    # solution returning an object named like the checker's always-equal `_Any` got one.
    task = checked(
        "class _Any:\n    def __eq__(self, other):\n        return True\n"
        "def check(candidate):\n    assert candidate([3, 1, 2]) == [1, 2, 3]\n"
    )
    cheat = "class _Any:\n    pass\ndef f(xs):\n    return _Any()\n"
    assert verifier.verify(task, cheat).outcome is Outcome.FAIL


@pytest.mark.parametrize(
    "wrong",
    [
        "def f(x):\n    if x < 0:\n        return lambda: 0\n    return round(x ** 0.5)\n",
        "def f(x):\n    if x < 0:\n        return float('nan')\n    return round(x ** 0.5)\n",
        "import os\ndef f(x):\n    if x < 0:\n        os._exit(0)\n    return round(x ** 0.5)\n",
    ],
)
def test_a_bare_except_in_a_checker_cannot_swallow_the_candidates_fault(verifier, wrong):
    # The fault that ends a call (an unplain value, NaN, a dead process) is a BaseException
    # so `except Exception` cannot take it for "it raised"; a bare `except:` did, and the
    # checker passed.
    task = checked(
        "def check(candidate):\n    assert candidate(9) == 3\n    try:\n        candidate(-1)\n"
        "    except:\n        pass\n    else:\n        raise AssertionError('must raise')\n"
    )
    scored_zero(verifier.verify(task, wrong))
    passes(
        verifier,
        task,
        "def f(x):\n    if x < 0:\n        raise ValueError(x)\n    return round(x ** 0.5)\n",
    )


def test_an_argument_as_large_as_a_checkers_int_reaches_the_solution(verifier):
    # The candidate's process read the checker's arguments with the verifier's own int cap:
    # a correct solution given factorial(2000) "raised" the WireError, a ValueError, and one
    # that never checked a size passed a checker expecting ValueError for 2**20000.
    task = checked(
        "import math\ndef check(candidate):\n    assert candidate(math.factorial(2000)) == 19053\n"
        "    try:\n        candidate(2 ** 20000)\n    except ValueError:\n        pass\n"
        "    else:\n        raise AssertionError('over 20,000 bits must raise')\n"
    )
    passes(
        verifier,
        task,
        "def f(n):\n    if n.bit_length() > 20000:\n        raise ValueError(n.bit_length())\n"
        "    return n.bit_length()\n",
    )
    assert verifier.verify(task, "def f(n):\n    return n.bit_length()\n").outcome is Outcome.FAIL


def test_an_enum_member_is_the_prompts_member(verifier):
    task = with_prompt(
        "from enum import Enum\nclass Color(Enum):\n    RED = 1\n    GREEN = 2\n",
        "def check(candidate):\n    assert candidate('RED') is Color.RED\n"
        "    assert candidate(Color.GREEN) == 'GREEN'\n",
    )
    passes(
        verifier,
        task,
        "def f(x):\n    return x.name if isinstance(x, Color) else Color[x]\n",
    )


def test_a_subclass_of_dict_changed_in_place_keeps_its_class(verifier):
    task = with_prompt(
        "class Inventory(dict):\n    def total(self):\n        return sum(self.values())\n",
        "def check(candidate):\n    inv = Inventory(apple=1)\n    candidate(inv, 'pear', 5)\n"
        "    assert inv == {'apple': 1, 'pear': 5} and inv.total() == 6, inv\n",
    )
    passes(verifier, task, "def f(inv, item, n):\n    inv[item] = inv.get(item, 0) + n\n")


def test_an_object_hashed_on_a_frozenset_sits_in_a_dict_of_an_earlier_object(verifier):
    task = with_prompt(
        "from dataclasses import dataclass, field\n@dataclass(frozen=True)\nclass Edge:\n"
        "    ends: frozenset\n@dataclass\nclass Graph:\n    weight: dict = field(default_factory=dict)\n",
        "def check(candidate):\n    e, g = candidate(1, 2, 7)\n    assert g.weight[e] == 7\n"
        "    assert e == Edge(frozenset({1, 2}))\n",
    )
    passes(
        verifier,
        task,
        "def f(a, b, w):\n    e = Edge(frozenset({a, b}))\n    return e, Graph({e: w})\n",
    )


def test_the_prompts_exception_group_class_and_an_exceptions_notes_cross(verifier):
    task = with_prompt(
        "class BatchError(ExceptionGroup):\n    pass\n",
        "def check(candidate):\n    try:\n        candidate([1, -2, -3])\n"
        "    except BatchError as eg:\n        assert len(eg.exceptions) == 2\n"
        "        assert eg.exceptions[0].__notes__ == ['item 1'], eg.exceptions[0].__notes__\n"
        "    else:\n        raise AssertionError('no BatchError')\n",
    )
    code = (
        "def f(xs):\n    errors = []\n    for i, x in enumerate(xs):\n        if x < 0:\n"
        "            e = ValueError(x)\n            e.add_note(f'item {i}')\n            errors.append(e)\n"
        "    if errors:\n        raise BatchError('bad items', errors)\n"
    )
    passes(verifier, task, code)


def test_a_system_exit_is_one_as_in_a_single_process(verifier):
    # It reached the checker as a RuntimeError: `except Exception` took it for the error a
    # wrong solution was asked to raise, and `except SystemExit` in a command-line task's
    # checker never saw it.
    task = checked(
        "def check(candidate):\n    try:\n        candidate(['--bad'])\n"
        "    except SystemExit as e:\n        assert e.code == 2, e.code\n"
        "    else:\n        raise AssertionError('no exit')\n"
        "    try:\n        candidate(['-1'])\n    except Exception:\n        pass\n"
        "    else:\n        raise AssertionError('-1 must raise')\n"
    )
    passes(
        verifier,
        task,
        "import sys\ndef f(argv):\n    if argv[0] == '--bad':\n        sys.exit(2)\n"
        "    raise ValueError(argv[0])\n",
    )
    exits = "import sys\ndef f(argv):\n    sys.exit(2)\n"
    scored_zero(verifier.verify(task, exits))


# -- handles and the rest, fourth round: a third red team's findings ------------------------


def test_a_function_task_never_takes_the_candidates_live_objects(verifier):
    # Handles were taken wherever the solution's entry point was a class, so in a function
    # task `class f:` answered the checker's `.count(x)` and `.index(u)` with its own code.
    task = checked(
        "def check(candidate):\n    order = candidate({1: [2], 2: []})\n"
        "    assert order.count(1) == 1 and order.index(1) < order.index(2)\n"
    )
    cheat = (
        "class f:\n    def __init__(self, graph):\n        pass\n"
        "    def count(self, x):\n        return 1\n    def index(self, x):\n        return x\n"
    )
    scored_zero(verifier.verify(task, cheat))
    passes(verifier, task, "def f(graph):\n    return [1, 2]\n")


def test_a_list_subclass_that_counts_its_writes_cannot_cross(verifier):
    # It crossed as a plain list, so the solution never ran its counting __setitem__, and the
    # in-place sync wrote as few items as differ: a bubble sort met a write budget it breaks.
    # Such a checker cannot be judged here: the task is invalid, whatever the solution.
    task = with_prompt(
        "class CountingList(list):\n    writes = 0\n    def __setitem__(self, i, v):\n"
        "        CountingList.writes += 1\n        super().__setitem__(i, v)\n",
        "def check(candidate):\n    xs = CountingList([5, 4, 3, 2, 1, 0])\n    candidate(xs)\n"
        "    assert xs == [0, 1, 2, 3, 4, 5] and CountingList.writes <= 6\n",
    )
    bubble = (
        "def f(xs):\n    for i in range(len(xs)):\n        for j in range(len(xs) - 1 - i):\n"
        "            if xs[j] > xs[j + 1]:\n                xs[j], xs[j + 1] = xs[j + 1], xs[j]\n"
    )
    assert verifier.verify(task, bubble).outcome is Outcome.INVALID


def test_enum_members_of_every_kind_cross(verifier):
    # Members crossed by name only, so a flag of `re`, an HTTPStatus, an IntEnum of the
    # solution's own and a Flag's composite were refused: they had crossed as ints before.
    task = with_prompt(
        "import enum\nclass Perm(enum.Flag):\n    R = 1\n    W = 2\n",
        "import re\ndef check(candidate):\n    assert candidate(re.I | re.M) == 10\n"
        "    assert candidate('status') == 404\n    assert candidate('mine') == 3\n"
        "    assert candidate('flag') == Perm.R | Perm.W and candidate('none') == Perm(0)\n",
    )
    code = (
        "import enum, http\nclass Mine(enum.IntEnum):\n    THREE = 3\n"
        "def f(x):\n    if not isinstance(x, str):\n        return int(x)\n"
        "    return {'status': http.HTTPStatus.NOT_FOUND, 'mine': Mine.THREE,\n"
        "            'flag': Perm.R | Perm.W, 'none': Perm(0)}[x]\n"
    )
    passes(verifier, task, code)


def test_a_prompts_class_the_checker_redefines_is_the_checkers(verifier):
    # The solution's new nodes were made of the prompt's class, whose == the checker had
    # replaced with its own: a correct list compared unequal.
    task = with_prompt(
        LIST_NODE,
        LIST_NODE.replace(
            "        self.next = next\n",
            "        self.next = next\n    def __eq__(self, o):\n"
            "        return isinstance(o, ListNode) and (self.val, self.next) == (o.val, o.next)\n",
        )
        + "def check(candidate):\n    assert candidate([1, 2]) == ListNode(1, ListNode(2))\n",
    )
    passes(
        verifier,
        task,
        "def f(xs):\n    h = None\n    for x in reversed(xs):\n        h = ListNode(x, h)\n    return h\n",
    )


def test_a_class_based_solution_answers_len_in_iteration_indexing_and_str(verifier):
    prompt = (
        "class Bag:\n    def __init__(self):\n        pass\n"
        "    def __len__(self):\n        pass\n    def __getitem__(self, i):\n        pass\n"
        "    def __iter__(self):\n        pass\n    def __repr__(self):\n        pass\n"
        "    def add(self, x):\n        pass\n    def split(self, at):\n        pass\n"
    )
    task = parse_task(
        {
            "id": "bag",
            "entry_point": "Bag",
            "prompt": prompt,
            "checker": "def check(candidate):\n    b = candidate()\n    b.add(3)\n    b.add(5)\n"
            "    assert len(b) == 2 and 5 in b and list(b) == [3, 5] and b[1] == 5\n"
            "    assert str(b) == 'Bag(3, 5)' and b and not candidate()\n"
            "    low, high = b.split(4)\n"
            "    assert list(low) == [3] and list(high) == [5] and low is not b\n"
            "    assert b.merge(b) is b and next(iter(b)) == 3 and list(reversed(b)) == [5, 3]\n"
            "    for _ in range(600):\n        candidate().add(0)  # each let go at once\n",
        }
    )
    code = (
        "class Bag:\n    def __init__(self):\n        self.xs = []\n        self.pad = bytes(2 << 20)\n"
        "    def add(self, x):\n        self.xs.append(x)\n    def __len__(self):\n"
        "        return len(self.xs)\n    def __contains__(self, x):\n        return x in self.xs\n"
        "    def __iter__(self):\n        return iter(self.xs)\n    def __getitem__(self, i):\n"
        "        return self.xs[i]\n    def __str__(self):\n"
        "        return 'Bag(' + ', '.join(map(str, self.xs)) + ')'\n"
        "    def split(self, at):\n        low, high = Bag(), Bag()\n        for x in self.xs:\n"
        "            (low if x < at else high).add(x)\n        return low, high\n"
        "    def merge(self, other):\n        return self\n"
    )
    passes(verifier, task, code)


# -- the proxy, fifth round: a fourth red team's findings ----------------------------------


def class_task(entry: str, prompt: str, checker: str):
    return parse_task({"id": entry, "entry_point": entry, "prompt": prompt, "checker": checker})


GROUPS = class_task(
    "Solution",
    "class Solution:\n    def groups(self, xs):\n        pass\n",
    "def check(candidate):\n    r = candidate().groups([1, 1, 2])\n"
    "    assert len(r) == 2 and len(r[0]) == 2 and 1 in r[0] and 2 not in r[0]\n"
    "    assert r[0].count(1) == 2 and r[1].count(2) == 1\n",
)
ANSWERS_ANYTHING = (
    "class Solution:\n    def __init__(self, n=2):\n        self.n = n\n"
    "    def __len__(self):\n        return self.n\n"
    "    def __contains__(self, x):\n        return x == self.n - 1\n"
    "    def count(self, x):\n        return self.n if x == 1 else 1\n"
)


@pytest.mark.parametrize(
    "groups",
    [
        "        return [Solution(2), Solution(1)]\n",
        "        return [self, Solution(1)]\n",  # the checker's own object, already a handle
        "        return self\n",
        # the same, forging what the serving code would send: the checker still refuses it
        "        import gc\n"
        "        kept = next(o for o in gc.get_objects() if type(o).__name__ == '_Kept')\n"
        "        made = [Solution(2), Solution(1)]\n"
        "        for m in made:\n            kept.keep(m, any_kind=True)\n        return made\n",
    ],
)
def test_a_method_cannot_hand_back_objects_that_answer_for_data(verifier, groups):
    # Instances of the entry class inside a method's returned list (or `self`) are live
    # handles, so the checker's len, `in` and .count on what it took for a list ran the
    # candidate's code. A handle answers only what the prompt's class declares now.
    cheat = ANSWERS_ANYTHING + "    def groups(self, xs):\n" + groups
    rejected(verifier, GROUPS, cheat)
    right = "class Solution:\n    def groups(self, xs):\n        return [[1, 1], [2]]\n"
    passes(verifier, GROUPS, right)


def test_an_object_handed_back_after_the_checker_let_go_is_the_same_object(verifier):
    # The checker's handle died while the candidate's stack still held the object; popped
    # later it is still the candidate's object (not a copy), and each loop of fresh ones is
    # let go of.
    task = class_task(
        "Box",
        "class Box:\n    def __init__(self, v):\n        pass\n    def pop(self):\n        pass\n"
        "    def get(self):\n        pass\n",
        "def check(candidate):\n    stack = candidate(0)\n"
        "    for v in range(1, 4):\n        stack.push(candidate(v))  # no name holds it\n"
        "    import gc\n    gc.collect()\n    stack.get()\n"
        "    top = stack.pop()\n    assert top.get() == 3 and top.pop() is None\n"
        "    assert [stack.pop().get() for _ in range(2)] == [2, 1]\n",
    )
    code = (
        "class Box:\n    def __init__(self, v):\n        self.v, self.items = v, []\n"
        "    def push(self, b):\n        self.items.append(b)\n"
        "    def pop(self):\n        return self.items.pop() if self.items else None\n"
        "    def get(self):\n        return self.v\n"
    )
    passes(verifier, task, code)


def test_truth_and_endless_iteration_of_the_candidates_object(verifier):
    # bool() went through a proxied __len__ (an error without one), and iter() drained the
    # whole iterator first: an endless one under islice ran out the clock.
    task = class_task(
        "Naturals",
        "class Naturals:\n    def __iter__(self):\n        pass\n",
        "import itertools\ndef check(candidate):\n    n = candidate()\n"
        "    assert n and list(itertools.islice(n, 4)) == [0, 1, 2, 3]\n"
        "    it = iter(n)\n    assert next(it) == 0 and next(it) == 1\n"
        "    assert list(itertools.islice(it, 2)) == [2, 3]\n",
    )
    code = (
        "import itertools\nclass Naturals:\n    def __iter__(self):\n"
        "        return itertools.count()\n"
    )
    passes(verifier, task, code)
    # ending early or raising StopIteration from a method is still not a pass
    early = code.replace("itertools.count()", "iter([0, 1])")
    assert verifier.verify(task, early).outcome is Outcome.FAIL


@pytest.mark.parametrize(
    "blocks",
    [
        "class NoSort(list):\n    def __getattribute__(self, name):\n"
        "        if name == 'sort':\n            raise AttributeError('no sort here')\n"
        "        return super().__getattribute__(name)\n",
        "class NoSort(dict):\n    def __missing__(self, key):\n        return 0\n",
        "class NoSort(list):\n    def __add__(self, other):\n        return NoSort()\n",
    ],
)
def test_a_builtin_subclass_that_behaves_its_own_way_cannot_cross(verifier, blocks):
    # A list hiding `.sort` crossed as a plain list, so a solution that sorts in place met a
    # checker that forbids it; a dict answering missing keys, a list with its own `+`, alike.
    task = with_prompt(
        blocks,
        "def check(candidate):\n    candidate(NoSort([2, 1]) if 'list' in str(NoSort.__mro__)"
        " else NoSort({1: 2}))\n",
    )
    verdict = verifier.verify(task, "def f(xs):\n    return xs\n")
    assert verdict.outcome is Outcome.INVALID, verdict


def test_a_checkers_subclass_of_a_library_type_crosses_as_that_type(verifier):
    # Overrides were counted on every class above the builtin, the library's own included,
    # so a checker's plain OrderedDict subclass was refused; then it crossed as a bare dict
    # (no move_to_end), and a defaultdict of a lambda as a dict whose missing keys raise.
    task = with_prompt(
        "import collections\nclass Ordered(collections.OrderedDict):\n    pass\n"
        "class Tally(collections.Counter):\n    pass\n",
        "def check(candidate):\n    d = Ordered(a=1, b=2)\n    assert candidate(d) == ['b', 'a']\n"
        "    assert list(d) == ['b', 'a'] and type(d) is Ordered\n"
        "    assert candidate(Tally('aab')) == [('a', 2)]\n",
    )
    code = (
        "def f(d):\n    if hasattr(d, 'most_common'):\n        return d.most_common(1)\n"
        "    d.move_to_end('a')\n    return list(d)\n"
    )
    passes(verifier, task, code)
    task = with_prompt(
        "import collections\n",
        "def check(candidate):\n    assert candidate(collections.defaultdict(lambda: 0)) == 0\n",
    )
    verdict = verifier.verify(task, "def f(d):\n    return d['missing']\n")
    assert verdict.outcome is Outcome.INVALID, verdict


def test_the_prompts_system_exit_class_reaches_the_checker(verifier):
    task = with_prompt(
        "class Quit(SystemExit):\n    pass\n",
        "def check(candidate):\n    try:\n        candidate(3)\n    except Quit as e:\n"
        "        assert type(e) is Quit and e.code == 3 and e.reason == 'done'\n    else:\n"
        "        raise AssertionError('no Quit')\n",
    )
    passes(verifier, task, "def f(n):\n    e = Quit(n)\n    e.reason = 'done'\n    raise e\n")


def test_a_member_of_an_enumeration_nested_in_the_prompts_class_crosses(verifier):
    task = with_prompt(
        "import enum\nclass Card:\n    class Suit(enum.Enum):\n        HEARTS = 'h'\n"
        "        SPADES = 's'\n",
        "def check(candidate):\n    assert candidate(Card.Suit.HEARTS) is Card.Suit.SPADES\n",
    )
    passes(
        verifier, task, "def f(s):\n    assert s is Card.Suit.HEARTS\n    return Card.Suit.SPADES\n"
    )


def test_a_checkers_own_enumeration_blames_the_checker(verifier):
    # A member of an enumeration only the checker defines cannot reach the solution: the
    # verdict blamed the candidate for not rebuilding it.
    task = checked(
        "import enum\nclass Color(enum.Enum):\n    RED = 'r'\n"
        "def check(candidate):\n    assert candidate(Color.RED) == 'r'\n"
    )
    verdict = verifier.verify(task, "def f(c):\n    return 'r'\n")
    assert verdict.outcome is Outcome.INVALID, verdict


RATIONAL_PROMPT = (
    "class Rational:\n    def __init__(self, p, q):\n        pass\n"
    "    @classmethod\n    def parse(cls, text):\n        pass\n"
    "    def __add__(self, other: 'Rational | int'):\n        pass\n"
    "    def __radd__(self, other: int):\n        pass\n"
    "    def __eq__(self, other):\n        pass\n    def __hash__(self):\n        pass\n"
    "    def __lt__(self, other):\n        pass\n    def __repr__(self):\n        pass\n"
)
RATIONAL = class_task(
    "Rational",
    RATIONAL_PROMPT,
    "def check(candidate):\n    a, b = candidate(1, 2), candidate(1, 3)\n"
    "    assert a + b == candidate(5, 6) and isinstance(a + b, candidate)\n"
    "    assert a != b and not (a == b) and a == candidate(2, 4)\n"
    "    assert 1 + a == candidate(3, 2) and sorted([a, b]) == [b, a] and b < a\n"
    "    assert repr(a) == 'Rational(1, 2)' and {a: 1}[candidate(2, 4)] == 1\n"
    "    assert Rational.parse('1/2') == a and candidate.ONE == candidate(1, 1)\n"
    "    try:\n        a - b\n    except TypeError:\n        pass\n"
    "    else:\n        raise AssertionError('a - b is not declared')\n",
)
RIGHT_RATIONAL = (
    "import math\nclass Rational:\n    def __init__(self, p, q):\n"
    "        g = math.gcd(p, q)\n        self.p, self.q = p // g, q // g\n"
    "    @classmethod\n    def parse(cls, text):\n        return cls(*map(int, text.split('/')))\n"
    "    def __add__(self, o):\n        o = o if isinstance(o, Rational) else Rational(o, 1)\n"
    "        return Rational(self.p * o.q + o.p * self.q, self.q * o.q)\n"
    "    __radd__ = __add__\n"
    "    def __eq__(self, o):\n"
    "        return isinstance(o, Rational) and (self.p, self.q) == (o.p, o.q)\n"
    "    def __hash__(self):\n        return hash((self.p, self.q))\n"
    "    def __lt__(self, o):\n        return self.p * o.q < o.p * self.q\n"
    "    def __sub__(self, o):\n        return self\n"
    "    def __repr__(self):\n        return f'Rational({self.p}, {self.q})'\n"
    "Rational.ONE = Rational(1, 1)\n"
)


def test_operators_the_prompt_declares_run_on_the_candidates_object(verifier):
    # A Rational's +, ==, <, hash and repr raised TypeError or compared by identity, so a
    # task about operators could not be passed; class methods and attributes were missing.
    passes(verifier, RATIONAL, RIGHT_RATIONAL)
    always_equal = RIGHT_RATIONAL.replace(
        "return isinstance(o, Rational) and (self.p, self.q) == (o.p, o.q)", "return True"
    )
    assert verifier.verify(RATIONAL, always_equal).outcome is Outcome.FAIL


def test_an_operator_the_prompt_does_not_declare_stays_an_objects(verifier):
    # The task is not about ==: a candidate's always-equal __eq__ must not answer for it.
    task = class_task(
        "Box",
        "class Box:\n    def __init__(self, v):\n        pass\n",
        "def check(candidate):\n    assert candidate(1) != candidate(1)\n"
        "    box = candidate(2)\n    assert box == box and len({box, box}) == 1\n",
    )
    cheat = (
        "class Box:\n    def __init__(self, v):\n        self.v = v\n"
        "    def __eq__(self, o):\n        return True\n    def __hash__(self):\n        return 0\n"
    )
    passes(verifier, task, cheat)  # identity: the checker's own reading of ==
    task = class_task(
        "Box",
        "class Box:\n    def __init__(self, v):\n        pass\n",
        "def check(candidate):\n    assert candidate(1) == candidate(2)\n",
    )
    assert verifier.verify(task, cheat).outcome is Outcome.FAIL


def test_a_solutions_subclass_of_the_prompts_abstract_class_is_one_to_the_checker(verifier):
    # The stand-in for the solution's class was made only of plain bases, so an ABC's
    # subclass arrived deriving from nothing and `isinstance(shape, Shape)` failed.
    task = with_prompt(
        "from abc import ABC, abstractmethod\nclass Shape(ABC):\n    @abstractmethod\n"
        "    def area(self):\n        ...\n",
        "def check(candidate):\n    s = candidate(2)\n"
        "    assert isinstance(s, Shape) and type(s).__name__ == 'Circle' and s.r == 2\n",
    )
    code = (
        "class Circle(Shape):\n    def __init__(self, r):\n        self.r = r\n"
        "    def area(self):\n        return 3.14 * self.r ** 2\n"
        "def f(r):\n    return Circle(r)\n"
    )
    passes(verifier, task, code)


GRAPH_PROMPT = (
    "class Node:\n    def __init__(self, val):\n        self.val = val\n"
    "class Graph:\n    def node(self, val):\n        pass\n    def connect(self, a, b):\n"
    "        pass\n    def neighbours(self, a):\n        pass\n    def first(self):\n        pass\n"
)


def test_an_object_crossing_again_in_a_later_call_is_the_one_it_was(verifier):
    # Identity held within one call only: the checker's node stored by one call and returned
    # by a later one came back a copy, and a node the candidate made and the checker passed
    # back reached the candidate as a stranger, so `connect(a, b)` linked copies.
    task = class_task(
        "Graph",
        GRAPH_PROMPT,
        "def check(candidate):\n    g = candidate()\n    a, b = g.node(1), g.node(2)\n"
        "    g.connect(a, b)\n    assert g.neighbours(a) == [b] and g.neighbours(b) == []\n"
        "    mine = Node(3)\n    g.connect(mine, a)\n    mine.val = 4\n    g.connect(mine, b)\n"
        "    assert g.neighbours(mine) == [a, b] and g.first() is mine and mine.val == 4\n",
    )
    code = (
        "class Graph:\n    def __init__(self):\n        self.adj = {}\n        self.order = []\n"
        "    def node(self, val):\n        n = Node(val)\n        self.adj[n] = []\n        return n\n"
        "    def connect(self, a, b):\n        if a not in self.adj:\n"
        "            self.adj[a] = []\n            self.order.append(a)\n"
        "        assert b in self.adj, 'a stranger'\n        self.adj[a].append(b)\n"
        "    def neighbours(self, a):\n        return self.adj[a]\n"
        "    def first(self):\n        return self.order[0]\n"
    )
    passes(verifier, task, code)


TREE_PROMPT = (
    "class Tree:\n    def __init__(self, val):\n        pass\n"
    "    def add(self, child):\n        pass\n    def child(self, val):\n        pass\n"
    "    def __len__(self):\n        pass\n    def __getitem__(self, i):\n        pass\n"
    "    def __reversed__(self):\n        pass\n    def values(self):\n        pass\n"
    "    def walk(self):\n        pass\n"
)
TREE = (
    "class Tree:\n    def __init__(self, val):\n        self.val, self.kids = val, []\n"
    "    def add(self, child):\n        self.kids.append(child)\n        return self\n"
    "    def child(self, val):\n        kid = Tree(val)\n        self.kids.append(kid)\n"
    "        return kid\n    def __len__(self):\n        return len(self.kids)\n"
    "    def __getitem__(self, i):\n        return self.kids[i]\n"
    "    def __reversed__(self):\n        return (k for k in self.kids[::-1])\n"
    "    def values(self):\n        return iter(list(range(100000)))\n"
    "    def walk(self):\n        yield self.val\n        for k in self.kids:\n"
    "            yield from k.walk()\n"
)


def test_what_a_design_tasks_object_declares_it_answers_wherever_it_appears(verifier):
    # A method's new objects of the class are handles (a tree's child, a chained `add`);
    # reversed() runs the object's own __reversed__; a slice reaches its __getitem__; a
    # method's generator is an iterator there; an iterator of the standard library's over a
    # list crosses whole (100,000 items in one trip, not 100,000).
    task = class_task(
        "Tree",
        TREE_PROMPT,
        "def check(candidate):\n    root = candidate(1)\n    kid = root.child(2)\n"
        "    assert kid.child(3).val == 3 and root.add(candidate(4)) is root\n"
        "    assert len(root) == 2 and root[0] is kid and len(root[0:1]) == 1\n"
        "    assert [t.val for t in reversed(root)] == [4, 2] and kid in root\n"
        "    walk = root.walk()\n    assert next(walk) == 1 and list(walk) == [2, 3, 4]\n"
        "    big = root.values()\n    assert next(big) == 0 and sum(big) == 4999950000\n",
    )
    passes(verifier, task, TREE)


def test_a_generator_a_function_returns_is_an_iterator_and_nothing_more(verifier):
    # It was "not plain data": a solution yielding its answer was rejected. It stays in the
    # solution's process and answers `iter` and `next` only -- no len, no `.count`.
    task = checked(
        "import itertools\ndef check(candidate):\n    assert list(candidate(3)) == [0, 1, 2]\n"
        "    assert list(itertools.islice(candidate(None), 3)) == [0, 1, 2]\n"
        "    r = candidate(2)\n    assert not hasattr(r, 'count') and not hasattr(r, 'index')\n"
        "    try:\n        len(r)\n    except TypeError:\n        pass\n"
        "    else:\n        raise AssertionError('an iterator has no len')\n",
    )
    passes(
        verifier,
        task,
        "import itertools\ndef f(n):\n    yield from (itertools.count() if n is None else range(n))\n",
    )


VECTOR_PROMPT = (
    "class Vector:\n    def __init__(self, x, y):\n        pass\n"
    "    def __eq__(self, other):\n        pass\n    def __add__(self, other):\n        pass\n"
    "    def dot(self, other) -> float:\n        pass\n    def as_tuple(self):\n        pass\n"
)
VECTOR = class_task(
    "Vector",
    VECTOR_PROMPT,
    "def check(candidate):\n    v, w = candidate(3, 4), candidate(1, 2)\n"
    "    assert v + w == candidate(4, 6) and v != w\n"
    "    assert v.dot(w) == 11 and v.as_tuple() == (3, 4)\n",
)
RIGHT_VECTOR = (
    "class Vector:\n    def __init__(self, x, y):\n        self.x, self.y = x, y\n"
    "    def __eq__(self, o):\n        return isinstance(o, Vector) and (self.x, self.y) == (o.x, o.y)\n"
    "    def __add__(self, o):\n        return Vector(self.x + o.x, self.y + o.y)\n"
    "    def dot(self, o):\n        return self.x * o.x + self.y * o.y\n"
    "    def as_tuple(self):\n        return (self.x, self.y)\n"
)


@pytest.mark.parametrize("method", ["dot", "as_tuple"])
def test_a_declared_eq_cannot_answer_for_the_data_a_checker_expected(verifier, method):
    # With __eq__ declared, a method returning `self` where the checker expected a number or
    # a tuple let an always-equal __eq__ judge `v.dot(w) == 11`. Now a declared operator
    # takes only the class's objects and numbers (a tuple, a list: identity), and a method
    # the prompt annotates as returning data cannot return the object.
    passes(verifier, VECTOR, RIGHT_VECTOR)
    cheat = (
        RIGHT_VECTOR.replace(
            "return isinstance(o, Vector) and (self.x, self.y) == (o.x, o.y)",
            "return not isinstance(o, Vector) or (self.x, self.y) == (o.x, o.y)",
        )
        + f"    def {method}(self, *other):\n        return self\n"
    )
    rejected(verifier, VECTOR, cheat)


def test_what_either_side_changed_between_calls_is_kept(verifier):
    # With identity across calls, an object crossing back was set to the sender's state
    # whole: the checker's `it.v = 5` between put and get was reverted to the candidate's
    # stale 1, and a node the checker passed back reverted the candidate's node grown since.
    task = class_task(
        "Store",
        "class Item:\n    def __init__(self, v):\n        self.v = v\n"
        "class Store:\n    def put(self, key, item):\n        pass\n    def take(self, key):\n"
        "        pass\n    def grow(self, key):\n        pass\n",
        "def check(candidate):\n    s = candidate()\n    it = Item(1)\n    s.put('a', it)\n"
        "    it.v = 5\n    assert s.take('a') is it and it.v == 5\n"
        "    s.put('b', Item([1]))\n    s.grow('b')\n    got = s.take('b')\n"
        "    assert got.v == [1, 2]\n    got.w = 0\n    s.grow('b')\n"
        "    assert s.take('b') is got and got.v == [1, 2, 3] and got.w == 0\n",
    )
    code = (
        "class Store:\n    def __init__(self):\n        self.d = {}\n"
        "    def put(self, key, item):\n        self.d[key] = item\n"
        "    def take(self, key):\n        return self.d[key]\n"
        "    def grow(self, key):\n        self.d[key].v.append(len(self.d[key].v) + 1)\n"
    )
    passes(verifier, task, code)


def test_membership_attributes_and_rounding_on_the_candidates_objects(verifier):
    # `x in` a generator raised TypeError (no fallback to iterating); a checker could not
    # set a node's attribute (`a.next = b`); math.floor and round had no way through.
    task = class_task(
        "Node",
        "class Node:\n    def __init__(self, val):\n        self.val = val\n        self.next = None\n"
        "    def walk(self):\n        pass\n    def __floor__(self):\n        pass\n"
        "    def __round__(self, n=0):\n        pass\n",
        "import math\ndef check(candidate):\n    a, b = candidate(1.5), candidate(2.5)\n"
        "    a.next = b\n    assert a.next is b and 2.5 in a.walk() and 7 not in a.walk()\n"
        "    assert math.floor(a) == 1 and round(b) == 2 and round(a, 1) == 1.5\n",
    )
    code = (
        "import math\nclass Node:\n    def __init__(self, val):\n        self.val, self.next = val, None\n"
        "    def walk(self):\n        n = self\n        while n:\n            yield n.val\n"
        "            n = n.next\n    def __floor__(self):\n        return math.floor(self.val)\n"
        "    def __round__(self, n=0):\n        return round(self.val, n) if n else round(self.val)\n"
    )
    passes(verifier, task, code)


@pytest.mark.parametrize(
    "cheat, check",
    [
        ("    def size(self):\n        return self\n", "assert c.size() == 2"),
        ("    def size(self):\n        return (self, self)\n", "assert c.size() == (2, 2)"),
        ("    def size(self):\n        return [self]\n", "assert 2 in c.size()"),
        ("    def __abs__(self) -> float:\n        return self\n", "assert abs(abs(c) - 2) < 1e-9"),
    ],
)
def test_a_declared_eq_never_meets_the_checkers_expected_value(verifier, cheat, check):
    # A declared comparison took numbers too, so `self` (or a tuple or list of it) returned
    # where a number was expected met an always-equal __eq__ with the expected number. A
    # comparison now takes only objects of the class; an operator annotated as returning
    # data cannot return the object.
    prompt = (
        "class Bag:\n    def __init__(self):\n        pass\n    def add(self, x):\n        pass\n"
        "    def size(self):\n        pass\n    def __eq__(self, other):\n        pass\n"
        "    def __sub__(self, other):\n        pass\n    def __abs__(self) -> float:\n        pass\n"
    )
    task = class_task(
        "Bag",
        prompt,
        f"def check(candidate):\n    c = candidate()\n    c.add(1)\n    c.add(2)\n    {check}\n",
    )
    right = (
        "class Bag:\n    def __init__(self):\n        self.xs = []\n    def add(self, x):\n"
        "        self.xs.append(x)\n    def size(self):\n        return len(self.xs)\n"
        "    def __eq__(self, o):\n        return isinstance(o, Bag) and self.xs == o.xs\n"
        "    def __sub__(self, o):\n        return 0\n    def __abs__(self) -> float:\n"
        "        return float(len(self.xs))\n"
    )
    if "size" in check and "(2, 2)" in check:
        right = right.replace("return len(self.xs)\n", "return (len(self.xs), len(self.xs))\n")
    if "2 in" in check:
        right = right.replace("return len(self.xs)\n", "return [len(self.xs)]\n")
    passes(verifier, task, right)
    always = right.replace("return isinstance(o, Bag) and self.xs == o.xs", "return True")
    rejected(verifier, task, always + cheat)


def test_a_stale_object_passed_back_never_undoes_what_the_other_side_did(verifier):
    # The three-way merge compared object references by address: the candidate's node 2,
    # dropped and re-made from the checker's stale copy, overwrote node 1's `next`.
    task = class_task(
        "LinkedList",
        "class Node:\n    def __init__(self, val, next=None):\n        pass\n"
        "class LinkedList:\n    def append(self, val):\n        pass\n    def remove(self, val):\n"
        "        pass\n    def remove_node(self, node):\n        pass\n    def values(self):\n"
        "        pass\n    head: Node\n",
        "def check(candidate):\n    ll = candidate()\n    for v in (1, 2, 3):\n        ll.append(v)\n"
        "    head = ll.head\n    ll.remove(2)\n    ll.remove_node(head)\n    assert ll.values() == [3]\n",
    )
    code = (
        "class Node:\n    def __init__(self, val, next=None):\n        self.val, self.next = val, next\n"
        "class LinkedList:\n    def __init__(self):\n        self.head = None\n"
        "    def append(self, v):\n        node = Node(v)\n        if self.head is None:\n"
        "            self.head = node\n            return\n        c = self.head\n"
        "        while c.next:\n            c = c.next\n        c.next = node\n"
        "    def remove(self, v):\n        p, c = None, self.head\n        while c.val != v:\n"
        "            p, c = c, c.next\n        if p:\n            p.next = c.next\n"
        "        else:\n            self.head = c.next\n"
        "    def remove_node(self, node):\n        p, c = None, self.head\n        while c is not node:\n"
        "            p, c = c, c.next\n        if p:\n            p.next = c.next\n"
        "        else:\n            self.head = c.next\n"
        "    def values(self):\n        out, c = [], self.head\n        while c:\n"
        "            out.append(c.val)\n            c = c.next\n        return out\n"
    )
    passes(verifier, task, code)


def test_annotations_that_may_name_the_class_leave_it_free(verifier):
    # Only an annotation of nothing but builtin data types (`-> float`) binds: a base's name,
    # a TypeVar, Any, or None (a `push` returning self for chaining) leave the object free.
    task = class_task(
        "Square",
        "from typing import Any, TypeVar\nV = TypeVar('V', bound='Shape')\n"
        "class Shape:\n    def grow(self) -> 'Shape':\n        pass\n"
        "class Square(Shape):\n    def __init__(self, side):\n        pass\n"
        "    def again(self: V) -> V:\n        pass\n    def anything(self) -> Any:\n        pass\n"
        "    def push(self, x) -> None:\n        pass\n    def side_of(self):\n        pass\n",
        "def check(candidate):\n    s = candidate(2)\n    assert s.grow().side_of() == 3\n"
        "    assert s.again() is s and s.anything() is s\n    s.push(1)\n",
    )
    code = (
        "class Square(Shape):\n    def __init__(self, side):\n        self.side = side\n"
        "    def grow(self):\n        return Square(self.side + 1)\n    def again(self):\n"
        "        return self\n    def anything(self):\n        return self\n"
        "    def push(self, x):\n        return self\n    def side_of(self):\n        return self.side\n"
    )
    passes(verifier, task, code)


def test_a_number_reaches_a_declared_operator_only_where_the_prompt_admits_one(verifier):
    # Arithmetic took any number, so `abs(v.norm() - 5) < tol` with `norm` returning self
    # handed the expected 5 to a `__sub__` that answers 0. A number now reaches an operator
    # only where the prompt annotates its operand as one (`k: float`, `Rational | int`).
    prompt = (
        "class Vector:\n    def __init__(self, x, y):\n        pass\n"
        "    def __sub__(self, other):\n        pass\n    def __mul__(self, k: float):\n        pass\n"
        "    def __eq__(self, other):\n        pass\n    def norm(self):\n        pass\n"
    )
    task = class_task(
        "Vector",
        prompt,
        "def check(candidate):\n    v = candidate(3, 4)\n    assert abs(v.norm() - 5) < 1e-9\n"
        "    assert v * 2 == candidate(6, 8)\n",
    )
    right = (
        "class Vector:\n    def __init__(self, x, y):\n        self.x, self.y = x, y\n"
        "    def __sub__(self, o):\n        return Vector(self.x - o.x, self.y - o.y)\n"
        "    def __mul__(self, k):\n        return Vector(self.x * k, self.y * k)\n"
        "    def __eq__(self, o):\n        return (self.x, self.y) == (o.x, o.y)\n"
        "    def norm(self):\n        return (self.x ** 2 + self.y ** 2) ** 0.5\n"
    )
    passes(verifier, task, right)
    cheat = (
        right
        + "    def norm(self):\n        return self\n    def __sub__(self, o):\n        return 0.0\n"
    )
    rejected(verifier, task, cheat)


def test_a_well_declared_design_task_passes_as_python_runs_it(verifier):
    # A bare `-> list` bound the children to data (any list may hold the class); an
    # iterator class's `__iter__ -> Iterator[int]` returning self was refused; a Rational
    # whose `__eq__` admits ints could not be compared with one; a tree of shared nodes
    # took the judge's whole time to walk.
    task = class_task(
        "Tree",
        "from typing import Iterator\nclass Tree:\n    def __init__(self, v):\n        pass\n"
        "    def kids(self) -> list:\n        pass\n    def __iter__(self) -> Iterator[int]:\n"
        "        pass\n    def __next__(self) -> int:\n        pass\n"
        "    def __eq__(self, other: 'Tree | int'):\n        pass\n    def depth(self) -> int:\n"
        "        pass\n",
        "def check(candidate):\n    t = candidate(1)\n    assert t.kids()[0].kids() == []\n"
        "    assert list(candidate(3)) == [3, 2, 1] and t == 1 and t != 2\n"
        "    assert t.depth() == 60\n",
    )
    code = (
        "class Tree:\n    def __init__(self, v):\n        self.v, self.n = v, v\n"
        "    def kids(self):\n        return [Tree(0)] if self.v else []\n"
        "    def __iter__(self):\n        return self\n"
        "    def __next__(self):\n        if self.n == 0:\n            raise StopIteration\n"
        "        self.n -= 1\n        return self.n + 1\n"
        "    def __eq__(self, o):\n        return self.v == (o.v if isinstance(o, Tree) else o)\n"
        "    def depth(self):\n        return 60\n"
    )
    passes(verifier, task, code)
    # a wrong depth answered with 60 levels of shared nodes (2**60 paths): failed at once
    dag = code.replace(
        "    def depth(self):\n        return 60\n",
        "    def depth(self):\n        n = Node()\n        for _ in range(60):\n"
        "            n = Node(n, n)\n        return n\n",
    ).replace(
        "class Tree:",
        "class Node:\n    def __init__(self, l=None, r=None):\n"
        "        self.l, self.r = l, r\nclass Tree:",
    )
    verdict = verifier.verify(task, dag)
    assert verdict.outcome in (Outcome.FAIL, Outcome.ERROR) and verdict.elapsed_s < 2, verdict


TYPED_RATIONAL_PROMPT = (
    "from typing import Iterator\nclass Rational:\n    def __init__(self, n: int, d: int = 1):\n"
    "        pass\n    def __eq__(self, other: 'Rational | int') -> bool:\n        pass\n"
    "    def __iter__(self) -> Iterator[int]:\n        pass\n"
    "    def fill(self, out: list) -> None:\n        pass\n    def floor(self):\n        pass\n"
    "    def pair(self) -> tuple[int, int]:\n        pass\n"
)
RIGHT_TYPED_RATIONAL = (
    "import math\nclass Rational:\n    def __init__(self, n, d=1):\n"
    "        g = math.gcd(n, d)\n        self.n, self.d = n // g, d // g\n"
    "    def __eq__(self, o):\n        if isinstance(o, int):\n"
    "            return (self.n, self.d) == (o, 1)\n        return (self.n, self.d) == (o.n, o.d)\n"
    "    def __iter__(self):\n        yield self.n\n        yield self.d\n"
    "    def fill(self, out):\n        out.extend((self.n, self.d))\n"
    "    def floor(self):\n        return self.n // self.d\n"
    "    def pair(self):\n        return (x for x in (self.n, self.d))\n"
)


@pytest.mark.parametrize(
    "check",
    [
        "n, d = r\n    assert n == 3 and d == 2",
        "assert list(r) == [3, 2]",
        "n, d = r.pair()\n    assert (n, d) == (3, 2)",
        "out = []\n    r.fill(out)\n    assert out == [3, 2]",
        "assert r.floor() == 1",
    ],
)
def test_an_object_from_a_place_typed_as_data_or_untyped_never_meets_a_number(verifier, check):
    # Once `__eq__` admitted ints, `self` reached the checker's `== 3` through paths no
    # annotation covered: yielded by `__iter__ -> Iterator[int]`, by a generator returned for
    # `-> tuple[int, int]`, written into an in-place list, returned by an unannotated method.
    # An iterator now carries its place to its items, and an object from an untyped place
    # (an unannotated result, an argument changed in place) never meets a number.
    task = class_task(
        "Rational",
        TYPED_RATIONAL_PROMPT,
        f"def check(candidate):\n    r = candidate(6, 4)\n    {check}\n",
    )
    passes(verifier, task, RIGHT_TYPED_RATIONAL)
    cheat = (
        "class Rational:\n    def __init__(self, n, d=1):\n        pass\n"
        "    def __eq__(self, o):\n        return True\n"
        "    def __iter__(self):\n        yield self\n        yield self\n"
        "    def fill(self, out):\n        out.extend((self, self))\n"
        "    def floor(self):\n        return self\n"
        "    def pair(self):\n        return (self for _ in range(2))\n"
    )
    rejected(verifier, task, cheat)


@pytest.mark.parametrize("name", ["Fraction", "Decimal", "Complex"])
def test_a_prompts_class_named_like_a_number_type_is_its_own(verifier, name):
    # Annotations were read as text: a prompt's own Fraction or Decimal counted as data (a
    # correct `__add__ -> "Fraction"` was refused) and a Complex as a number (an always-equal
    # `__eq__(other: "Complex")` met the checker's expected 2).
    task = class_task(
        name,
        f"class {name}:\n    def __init__(self, a: int, b: int = 1):\n        pass\n"
        f"    def __add__(self, other: '{name}') -> '{name}':\n        pass\n"
        f"    def __eq__(self, other: '{name}') -> bool:\n        pass\n"
        f"    def whole(self) -> '{name} | int':\n        pass\n",
        "def check(candidate):\n    h = candidate(1, 2)\n    assert h + h == candidate(1)\n"
        "    assert candidate(4, 2).whole() == 2\n",
    )
    right = (
        f"class {name}:\n    def __init__(self, a, b=1):\n        self.a, self.b = a, b\n"
        f"    def __add__(self, o):\n        return {name}(self.a * o.b + o.a * self.b, self.b * o.b)\n"
        "    def __eq__(self, o):\n        return self.a * o.b == o.a * self.b\n"
        "    def whole(self):\n        return self.a // self.b if self.a % self.b == 0 else self\n"
    )
    passes(verifier, task, right)
    cheat = right.replace("return self.a * o.b == o.a * self.b", "return True").replace(
        "return self.a // self.b if self.a % self.b == 0 else self", "return self"
    )
    rejected(verifier, task, cheat)


def test_numbers_reach_operators_as_the_prompts_resolved_annotations_say(verifier):
    # Comparisons `functools.total_ordering` derives had no annotations and never took a
    # number; an alias under `from __future__ import annotations` was read as its name; an
    # unannotated `__rmul__` beside `__mul__(k: Scalar)` refused `3 * v`. A typed class's
    # `__eq__(self, other: object)` takes numbers as Python would hand them.
    task = class_task(
        "Money",
        "from __future__ import annotations\nimport functools\nfrom typing import Union\n"
        "Scalar = Union[int, float]\n@functools.total_ordering\nclass Money:\n"
        "    def __init__(self, cents: int) -> None:\n        pass\n"
        "    def __eq__(self, other: object) -> bool:\n        pass\n"
        "    def __lt__(self, other: Money | int) -> bool:\n        pass\n"
        "    def __mul__(self, k: Scalar) -> Money:\n        pass\n    def __rmul__(self, k):\n"
        "        pass\n",
        "def check(candidate):\n    m = candidate(100)\n    assert m >= 100 and not m > 100\n"
        "    assert m * 2 == 200 and 3 * m == candidate(300) and m == 100 and m != 99\n",
    )
    code = (
        "import functools\n@functools.total_ordering\nclass Money:\n"
        "    def __init__(self, cents):\n        self.cents = cents\n"
        "    def _c(self, o):\n        return o.cents if isinstance(o, Money) else o\n"
        "    def __eq__(self, o):\n        return self.cents == self._c(o)\n"
        "    def __lt__(self, o):\n        return self.cents < self._c(o)\n"
        "    def __mul__(self, k):\n        return Money(self.cents * k)\n    __rmul__ = __mul__\n"
    )
    passes(verifier, task, code)


CALLABLES_PROMPT = (
    "class Adder:\n    def __init__(self, k: int) -> None:\n        pass\n"
    "    def __call__(self, x: int, scale: int = 1) -> int:\n        pass\n"
    "class Timer:\n    def __enter__(self) -> 'Timer':\n        pass\n"
    "    def __exit__(self, *exc) -> None:\n        pass\n    def ended(self) -> str:\n        pass\n"
)


def test_a_declared_call_and_context_manager_run_on_the_candidates_object(verifier):
    # A handle was neither callable nor a context manager, so a task declaring `__call__`
    # or `__enter__`/`__exit__` could not be passed.
    adder = class_task(
        "Adder",
        CALLABLES_PROMPT,
        "def check(candidate):\n    a = candidate(3)\n    assert a(4) == 7 and a(1, scale=2) == 8\n"
        "    assert list(map(a, [1, 2])) == [4, 5]\n",
    )
    passes(
        verifier,
        adder,
        "class Adder:\n    def __init__(self, k):\n        self.k = k\n"
        "    def __call__(self, x, scale=1):\n        return (x + self.k) * scale\n",
    )
    timer = class_task(
        "Timer",
        CALLABLES_PROMPT,
        "def check(candidate):\n    with candidate() as t:\n        pass\n    assert t.ended() == 'ok'\n"
        "    try:\n        with t:\n            raise KeyError('k')\n    except KeyError:\n        pass\n"
        "    assert t.ended() == 'KeyError'\n",
    )
    passes(
        verifier,
        timer,
        "class Timer:\n    def __enter__(self):\n        return self\n"
        "    def __exit__(self, kind, exc, tb):\n"
        "        self.how = 'ok' if kind is None else kind.__name__\n"
        "    def ended(self):\n        return self.how\n",
    )


def test_a_context_manager_never_swallows_the_checkers_failure(verifier):
    # An `__exit__` answering True would skip every failing assertion inside the block.
    task = class_task(
        "Timer",
        CALLABLES_PROMPT,
        "def check(candidate):\n    with candidate() as t:\n        assert t.ended() == 'ok'\n",
    )
    cheat = (
        "class Timer:\n    def __enter__(self):\n        return self\n"
        "    def __exit__(self, *exc):\n        return True\n    def ended(self):\n        return 'no'\n"
    )
    rejected(verifier, task, cheat)
    not_callable = class_task(
        "Timer", CALLABLES_PROMPT, "def check(candidate):\n    candidate()()\n"
    )
    rejected(verifier, not_callable, cheat)


SPOTS_PROMPT = (
    "from __future__ import annotations\nimport enum\nfrom dataclasses import dataclass\n"
    "from typing import Iterator\nclass Rank(enum.IntEnum):\n    LOW = 1\n    HIGH = 11\n"
    "@dataclass\nclass Parts:\n    whole: int\n    rest: Rational\n"
    "class Rational:\n    def __init__(self, n: int, d: int = 1) -> None:\n        pass\n"
    "    def __eq__(self, other: object) -> bool:\n        pass\n"
    "    def __hash__(self) -> int:\n        pass\n"
    "    def __iter__(self) -> Iterator[int]:\n        pass\n"
    "    def hist(self) -> dict[int, int]:\n        pass\n"
    "    def mixed(self) -> tuple[int, Rational]:\n        pass\n"
    "    def parts(self) -> Parts:\n        pass\n    def rank(self) -> Rank:\n        pass\n"
    "    def __round__(self, nd: int | None = None) -> int | Rational:\n        pass\n"
)
RIGHT_SPOTS = (
    "import enum\nfrom dataclasses import dataclass\nclass Rank(enum.IntEnum):\n    LOW = 1\n"
    "    HIGH = 11\n@dataclass\nclass Parts:\n    whole: int\n    rest: object\n"
    "class Rational:\n    def __init__(self, n, d=1):\n        self.n, self.d = n, d\n"
    "    def __eq__(self, o):\n        o = Rational(o) if isinstance(o, int) else o\n"
    "        return self.n * o.d == o.n * self.d\n    def __hash__(self):\n        return 0\n"
    "    def __iter__(self):\n        return iter([self.n, self.d])\n"
    "    def hist(self):\n        return {self.n: 1}\n"
    "    def mixed(self):\n        return (self.n // self.d, Rational(self.n % self.d, self.d))\n"
    "    def parts(self):\n        return Parts(self.n // self.d, Rational(self.n % self.d, self.d))\n"
    "    def rank(self):\n        return Rank.HIGH if self.n > self.d else Rank.LOW\n"
    "    def __round__(self, nd=None):\n        return round(self.n / self.d)\n"
)


ALWAYS_EQUAL_SPOTS = RIGHT_SPOTS.replace(
    "        o = Rational(o) if isinstance(o, int) else o\n"
    "        return self.n * o.d == o.n * self.d\n",
    "        return True\n",
)


@pytest.mark.parametrize(
    "check, method, cheat",
    [
        ("assert list(r.hist()) == [7]", "hist", "{self: 1}"),  # a key, hashed as decoded
        ("n, d = r\n    assert n == 7", "__iter__", "iter([self, self])"),  # a whole iterator
        ("assert 7 in r", "__iter__", "iter([self, self])"),
        ("w, _ = r.mixed()\n    assert w == 2", "mixed", "(self, self)"),
        ("assert r.parts().whole == 2", "parts", "Parts(self, self)"),
        ("assert r.rank() == 11", "rank", "self"),
        ("assert round(r) == 2", "__round__", "self"),
    ],
)
def test_each_object_a_value_holds_is_judged_by_the_spot_it_sits_in(verifier, check, method, cheat):
    # A place mixing data and the class counted as the class (`tuple[int, Rational]`'s int,
    # `int | Rational`), another class of the prompt's (an IntEnum, a dataclass's int field)
    # as the class; a stdlib iterator `__iter__` returned came whole, past its item type;
    # derived `in` compared in the candidate's process, with its own `==`; and a dict key
    # hashed while decoding called the candidate again, which emptied the reply's list of
    # objects to judge. Each object is now judged where it sits, by the annotation there.
    task = class_task(
        "Rational", SPOTS_PROMPT, f"def check(candidate):\n    r = candidate(7, 3)\n    {check}\n"
    )
    passes(verifier, task, RIGHT_SPOTS)
    rejected(
        verifier,
        task,
        ALWAYS_EQUAL_SPOTS + f"    def {method}(self, *a):\n        return {cheat}\n",
    )


def test_typed_design_idioms_pass_as_python_runs_them(verifier):
    # A call that changed any argument in place made every object the checker had passed in
    # loose (`b == 300` after `a.move_to(b, 200, ledger)` failed); `TypeVar("TT",
    # bound="Money")` was never resolved; `@overload`ed operators took no number; `divmod`
    # and `candidate[int]` (a generic class) raised TypeError.
    task = class_task(
        "Money",
        "from __future__ import annotations\nfrom typing import Generic, TypeVar, overload\n"
        "TT = TypeVar('TT', bound='Money')\nC = TypeVar('C')\nclass Money(Generic[C]):\n"
        "    def __init__(self, cents: int) -> None:\n        pass\n"
        "    def __eq__(self, other: object) -> bool:\n        pass\n"
        "    def __lt__(self, other: Money | int) -> bool:\n        pass\n"
        "    def move_to(self, other: Money, cents: int, ledger: list) -> None:\n        pass\n"
        "    def plus(self: TT, cents: int) -> TT:\n        pass\n"
        "    @overload\n    def __mul__(self, k: int) -> Money: ...\n"
        "    @overload\n    def __mul__(self, k: Money) -> int: ...\n"
        "    def __mul__(self, k):\n        pass\n"
        "    def __divmod__(self, k: int) -> tuple[int, int]:\n        pass\n",
        "def check(candidate):\n    a, b, ledger = candidate(500), candidate(100), []\n"
        "    a.move_to(b, 200, ledger)\n    assert a == 300 and b == 300 and ledger == [200]\n"
        "    xs = [candidate(2), candidate(1)]\n    xs.sort()\n    assert xs[0] == 1\n"
        "    assert a.plus(5) == 305 and a * 2 == candidate(600) and divmod(a, 7) == (42, 6)\n"
        "    assert candidate[int](4) == 4\n",
    )
    code = (
        "class Money:\n    def __init__(self, cents):\n        self.cents = cents\n"
        "    def _c(self, o):\n        return o.cents if isinstance(o, Money) else o\n"
        "    def __eq__(self, o):\n        return self.cents == self._c(o)\n"
        "    def __lt__(self, o):\n        return self.cents < self._c(o)\n"
        "    def move_to(self, other, cents, ledger):\n"
        "        self.cents -= cents\n        other.cents += cents\n        ledger.append(cents)\n"
        "    def plus(self, cents):\n        return Money(self.cents + cents)\n"
        "    def __mul__(self, k):\n        return Money(self.cents * k)\n"
        "    def __divmod__(self, k):\n        return divmod(self.cents, k)\n"
    )
    passes(verifier, task, code)


def test_a_prompts_named_tuple_crosses_as_itself_both_ways(verifier):
    # A NamedTuple crossed as a plain tuple, so `p.x` failed on a correct solution's result
    # and on the checker's argument; now each side gets its own class of that name.
    task = class_task(
        "Grid",
        "from typing import NamedTuple\nclass Point(NamedTuple):\n    x: int\n    y: int\n"
        "class Grid:\n    def corner(self) -> Point:\n        pass\n"
        "    def shift(self, p: Point) -> Point:\n        pass\n",
        "def check(candidate):\n    g = candidate()\n    c = g.corner()\n"
        "    assert isinstance(c, Point) and (c.x, c.y) == (3, 4) and c == (3, 4)\n"
        "    assert g.shift(Point(1, 2)).y == 3\n",
    )
    code = (
        "from typing import NamedTuple\nclass Point(NamedTuple):\n    x: int\n    y: int\n"
        "class Grid:\n    def corner(self):\n        return Point(3, 4)\n"
        "    def shift(self, p):\n        return Point(p.x + 1, p.y + 1)\n"
    )
    passes(verifier, task, code)
    rejected(verifier, task, code.replace("return Point(3, 4)", "return Point(self, self)"))


LEDGER_PROMPT = (
    "from __future__ import annotations\nfrom dataclasses import dataclass\n"
    "from typing import Iterator, Optional, Protocol, TypeVar\n"
    "N = TypeVar('N', 'int', 'float')\nclass Sized(Protocol):\n    def cents(self) -> int: ...\n"
    "@dataclass(slots=True)\nclass Split:\n    whole: int\n    rest: Money\n"
    "class Money:\n    def __init__(self, cents: int) -> None:\n        pass\n"
    "    def __eq__(self, other: object) -> bool:\n        pass\n"
    "    def cents(self) -> int:\n        pass\n    def __mul__(self, k: N) -> Money:\n        pass\n"
    "    def share(self, parts: list[Money], amounts: list[int]) -> None:\n        pass\n"
    "    def allocate(self, n: int) -> Iterator[Money]:\n        pass\n"
    "    def split(self) -> Split:\n        pass\n"
    "    def group(self) -> list[Optional[Sized]]:\n        pass\n"
    "    def __enter__(self) -> Money:\n        pass\n    def __exit__(self, *exc) -> None:\n"
    "        pass\n"
)
RIGHT_LEDGER = (
    "from dataclasses import dataclass\n@dataclass(slots=True)\nclass Split:\n    whole: int\n"
    "    rest: object\nclass Money:\n    def __init__(self, cents):\n        self.c = cents\n"
    "    def __eq__(self, o):\n        return self.c == (o if isinstance(o, int) else o.c)\n"
    "    def cents(self):\n        return self.c\n    def __mul__(self, k):\n        return Money(self.c * k)\n"
    "    def share(self, parts, amounts):\n"
    "        amounts[:] = [self.c // len(parts)] * len(parts)\n"
    "    def allocate(self, n):\n        return iter([Money(self.c // n)] * n)\n"
    "    def split(self):\n        return Split(self.c // 100, Money(self.c % 100))\n"
    "    def group(self):\n        return [self, None]\n"
    "    def __enter__(self):\n        return self\n    def __exit__(self, *exc):\n        pass\n"
)
ALWAYS_EQUAL_LEDGER = RIGHT_LEDGER.replace(
    "return self.c == (o if isinstance(o, int) else o.c)", "return True"
)


@pytest.mark.parametrize(
    "check, cheat",
    [
        # the checker's own objects, written by the candidate into a list of ints
        (
            "ps = [candidate(0), candidate(0)]\n    amounts = []\n"
            "    m.share(ps, amounts=amounts)\n    assert amounts == [50, 50]",
            "    def share(self, parts, amounts):\n        amounts[:] = parts\n",
        ),
        # an object in a slotted dataclass's int field
        ("assert m.split().whole == 1", "    def split(self):\n        return Split(self, self)\n"),
        # the candidate's __exit__ raising what the checker expects in place of its failure
        (
            "try:\n        with m:\n            assert m.cents() == 100\n"
            "            raise ValueError\n    except ValueError:\n        pass",
            "    def cents(self):\n        return 7\n"
            "    def __exit__(self, *exc):\n        raise ValueError\n",
        ),
    ],
)
def test_an_object_never_escapes_through_arguments_slots_or_exit(verifier, check, cheat):
    # The checker's own objects were exempt wherever the candidate wrote them (into a
    # `list[int]` too); a `@dataclass(slots=True)`'s fields were never walked; an `__exit__`
    # could raise the exception the checker waits for in place of its failing assertion.
    task = class_task(
        "Money", LEDGER_PROMPT, f"def check(candidate):\n    m = candidate(100)\n    {check}\n"
    )
    passes(verifier, task, RIGHT_LEDGER)
    rejected(verifier, task, ALWAYS_EQUAL_LEDGER + cheat)


def test_typed_items_protocols_and_constraints_pass_as_python_runs_them(verifier):
    # `iter()` of an `Iterator[Money]` (as `list` does) made its items loose; a Protocol or
    # `Any` in an annotation made the walk's isinstance raise (the candidate's ERROR);
    # `TypeVar("N", "int", "float")` constraints were never resolved; a doubly linked chain
    # of a prompt's class was walked once per path, seconds per reply.
    task = class_task(
        "Money",
        LEDGER_PROMPT
        + "class Node:\n    def __init__(self):\n        self.prev = self.next = None\n"
        "    item: Money\n",
        "def check(candidate):\n    m = candidate(100)\n    assert list(m.allocate(4)) == [25] * 4\n"
        "    assert m * 2 == candidate(200) and m.group()[0] is m\n"
        "    assert m.chain()[0] is not None\n",
    )
    code = RIGHT_LEDGER + (
        "    def chain(self):\n        nodes = [Node() for _ in range(300)]\n"
        "        for a, b in zip(nodes, nodes[1:]):\n            a.next, b.prev = b, a\n"
        "        nodes[-1].item = self\n        return nodes\n"
        "class Node:\n    def __init__(self):\n        self.prev = self.next = None\n"
    )
    verdict = verifier.verify(task, code)
    assert verdict.outcome is Outcome.PASS and verdict.elapsed_s < 1.5, verdict


SLOTS_PROMPT = (
    "from __future__ import annotations\nfrom dataclasses import dataclass\n"
    "from typing import Protocol\nclass Scalar(Protocol):\n    def __float__(self) -> float: ...\n"
    "@dataclass\nclass Line:\n    product: Item\n    qty: int\n"
    "class Item:\n    def __init__(self, cents: int) -> None:\n        pass\n"
    "    def __eq__(self, other: object) -> bool:\n        pass\n"
    "    def __float__(self) -> float:\n        pass\n    def __hash__(self) -> int:\n        pass\n"
    "    def count(self, counts: dict[Item, int]) -> None:\n        pass\n"
    "    def fix(self, line: Line) -> None:\n        pass\n    def ratio(self) -> Scalar:\n        pass\n"
    "    def __iadd__(self, cents: int) -> Item:\n        pass\n"
    "    def __format__(self, spec: str) -> str:\n        pass\n"
)
RIGHT_SLOTS = (
    "from dataclasses import dataclass\n@dataclass\nclass Line:\n    product: object\n    qty: int\n"
    "class Item:\n    def __init__(self, cents):\n        self.c = cents\n"
    "    def __eq__(self, o):\n        return self.c == (o if isinstance(o, int) else o.c)\n"
    "    def __float__(self):\n        return float(self.c)\n"
    "    def __hash__(self):\n        return 0\n"
    "    def count(self, counts):\n        for k in counts:\n            counts[k] += 1\n"
    "    def fix(self, line):\n        line.qty = 2\n    def ratio(self):\n        return self.c / 100\n"
    "    def __iadd__(self, cents):\n        self.c += cents\n        return self\n"
    "    def __format__(self, spec):\n        return format(self.c / 100, spec)\n"
)


@pytest.mark.parametrize(
    "check, cheat",
    [
        # the checker's own object moved, inside its dict, from a key to an int value
        (
            "k = candidate(1)\n    counts = {k: 0}\n    m.count(counts)\n    assert counts[k] == 1",
            "    def count(self, counts):\n        for k in counts:\n            counts[k] = k\n",
        ),
        # ... and inside its dataclass, from an Item field to an int field
        (
            "line = Line(candidate(5), 1)\n    m.fix(line)\n    assert line.qty == 2",
            "    def fix(self, line):\n        line.qty = line.product\n",
        ),
        # a Protocol an int fits as well as the class
        ("assert m.ratio() == 0.5", "    def ratio(self):\n        return self\n"),
    ],
)
def test_the_checkers_objects_stay_its_own_only_in_the_spot_it_put_them(verifier, check, cheat):
    # The checker's own objects were exempt anywhere in a container that held them before
    # the call (a dict's key moved to its int value, a dataclass's Item field to its int
    # field), and a Protocol the class satisfied counted as the class though an int fits it.
    task = class_task(
        "Item", SLOTS_PROMPT, f"def check(candidate):\n    m = candidate(50)\n    {check}\n"
    )
    passes(verifier, task, RIGHT_SLOTS)
    always_equal = RIGHT_SLOTS.replace(
        "return self.c == (o if isinstance(o, int) else o.c)", "return True"
    )
    rejected(verifier, task, always_equal + cheat)


def test_declared_in_place_operators_and_format_run_on_the_candidates_object(verifier):
    # `+=` never reached a declared __iadd__ (a new object from __add__, or a TypeError),
    # and `f"{x:.1f}"` never reached a declared __format__.
    task = class_task(
        "Item",
        SLOTS_PROMPT,
        "def check(candidate):\n    m = candidate(50)\n    alias = m\n    m += 25\n"
        "    assert m is alias and m == 75 and f'{m:.2f}' == '0.75' and format(m, '.1f') == '0.8'\n",
    )
    passes(verifier, task, RIGHT_SLOTS)


CELL_PROMPT = (
    "from __future__ import annotations\nfrom typing import Any, Protocol\n"
    "class Comparable(Protocol):\n    def __lt__(self, other: Any) -> bool: ...\n"
    "class Cell(Comparable):\n    def __init__(self, v: int) -> None:\n        pass\n"
    "    def __eq__(self, other: object) -> bool:\n        pass\n"
    "    def __lt__(self, other: Any) -> bool:\n        pass\n"
    "    def pay(self, other: Cell, receipt: dict) -> None:\n        pass\n"
    "    def log(self, entries: list) -> None:\n        pass\n"
    "    def touch(self, cache: dict, key: Any) -> None:\n        pass\n"
    "    def lowest(self) -> Comparable:\n        pass\n"
)
RIGHT_CELL = (
    "class Cell:\n    def __init__(self, v):\n        self.v = v\n"
    "    def __eq__(self, o):\n        return self.v == (o.v if isinstance(o, Cell) else o)\n"
    "    def __lt__(self, o):\n        return self.v < (o.v if isinstance(o, Cell) else o)\n"
    "    def pay(self, other, receipt):\n        receipt['paid'] = 30\n"
    "    def log(self, entries):\n        entries.append(70)\n"
    "    def touch(self, cache, key):\n        cache[key] = cache.pop(key)\n"
    "    def lowest(self):\n        return 0\n"
)


@pytest.mark.parametrize(
    "check, cheat",
    [
        # seen once where the checker put it, then written into a bare dict's value
        (
            "r = {}\n    a.pay(b, r)\n    assert r['paid'] == 30",
            "    def pay(self, other, receipt):\n        receipt['paid'] = other\n",
        ),
        # copied within an untyped list that held it
        (
            "xs = [a]\n    a.log(xs)\n    assert xs == [a, 70]",
            "    def log(self, entries):\n        entries.append(entries[0])\n",
        ),
        # a Protocol the class names as its base, which an int fits as well
        ("assert a.lowest() == 0", "    def lowest(self):\n        return self\n"),
    ],
)
def test_a_copy_of_the_checkers_object_is_judged_where_it_lands(verifier, check, cheat):
    # Once the walk had seen the checker's object where it put it, a copy in a spot the walk
    # never reaches (a bare dict's value) was taken as the checker's too; a copy within the
    # same untyped list counted as the same spot; a Protocol the class names as its base
    # counted as the class though an int fits it.
    task = class_task(
        "Cell",
        CELL_PROMPT,
        f"def check(candidate):\n    a, b = candidate(1), candidate(2)\n    {check}\n",
    )
    passes(verifier, task, RIGHT_CELL)
    always_equal = RIGHT_CELL.replace(
        "return self.v == (o.v if isinstance(o, Cell) else o)", "return True"
    )
    rejected(verifier, task, always_equal + cheat)


def test_a_dict_the_call_rebuilt_keeps_the_checkers_objects_at_their_keys(verifier):
    # Reordering a dict (an LRU's `cache[k] = cache.pop(k)`) rebuilt it with new tuple key
    # objects, so the checker's objects at those keys, named by the key's identity, turned
    # loose and `cache[(0, 0)] == 1` failed for a correct solution.
    task = class_task(
        "Cell",
        CELL_PROMPT,
        "def check(candidate):\n    a, b = candidate(1), candidate(2)\n"
        "    cache = {(0, 0): a, (0, 1): b}\n    a.touch(cache, (0, 0))\n"
        "    assert list(cache) == [(0, 1), (0, 0)] and cache[(0, 0)] == 1\n",
    )
    passes(verifier, task, RIGHT_CELL)


@pytest.mark.parametrize(
    "check, cheat",
    [
        # moved within an untyped list: every item was one spot
        (
            "row = [a, None]\n    a.log(row)\n    assert row[1] == 70",
            "    def log(self, entries):\n        entries.reverse()\n",
        ),
        # copied to another index of it
        (
            "row = [a, None]\n    a.log(row)\n    assert row[1] == 70",
            "    def log(self, entries):\n        entries[1] = entries[0]\n",
        ),
    ],
)
def test_a_move_of_the_checkers_object_is_seen_wherever_it_goes(verifier, check, cheat):
    # A list's items were one spot, so a reverse put the checker's object where the checker
    # expects a number and the counts stayed equal. (The look at where the arguments' objects
    # sat also gave up silently after 200,000 nodes; it now exempts nothing past its budget.)
    task = class_task(
        "Cell",
        CELL_PROMPT,
        f"def check(candidate):\n    a, b = candidate(1), candidate(2)\n    {check}\n",
    )
    right = RIGHT_CELL.replace("entries.append(70)", "entries[1:] = [70]")
    passes(verifier, task, right)
    always_equal = right.replace(
        "return self.v == (o.v if isinstance(o, Cell) else o)", "return True"
    )
    rejected(verifier, task, always_equal + cheat)


def test_the_look_at_where_arguments_hold_objects_never_gives_up_silently():
    # It stopped after 200,000 nodes and returned what it had, so a move past that point
    # kept the checker's exemption; now past its budget it says so and nothing is exempt.
    from closedloop.sandbox._inside import _handle_spots

    assert _handle_spots(([0] * 50, {}), budget=10) is None
    assert _handle_spots(([1], {"k": 2}), budget=10) == {}


def test_sorting_a_list_of_the_checkers_tuples_keeps_them_its_own(verifier):
    # Sorting a bare list of (object, amount) tuples decoded new tuples, so the checker's
    # objects inside sat in new spots and turned loose: `pairs[1][0] == 1` failed.
    task = class_task(
        "Cell",
        CELL_PROMPT + "    def order(self, pairs: list) -> None:\n        pass\n",
        "def check(candidate):\n    a, b = candidate(1), candidate(2)\n"
        "    pairs = [(a, 2), (b, 1)]\n    t = pairs[0]\n    a.order(pairs)\n"
        "    assert pairs[1] is t and pairs[1][0] == 1 and pairs[0][0] == 2\n",
    )
    passes(
        verifier,
        task,
        RIGHT_CELL + "    def order(self, pairs):\n        pairs.sort(key=lambda p: p[1])\n",
    )


@pytest.mark.parametrize(
    "code",
    [
        "from collections import namedtuple\nR = namedtuple('R', 'a b')\n"
        "def f():\n    return R(float('nan'), 1)\n",
        "from collections import namedtuple\nR = namedtuple('R', 'a b')\n"
        "def f():\n    return [R(1.5, float('nan'))]\n",
    ],
)
def test_nan_inside_a_named_tuple_is_refused_as_in_a_plain_one(verifier, code):
    # the solution's named tuple crossed as one (its field names kept), and the NaN check
    # looked into exact tuples only: NaN passed the negated comparison (red team 22)
    task = checked(
        "def check(candidate):\n    r = candidate()\n    r = r[0] if isinstance(r, list) else r\n"
        "    assert not abs(r[0] - 1.5) > 1e-9 and not abs(r[1] - 1) > 1e-9\n"
    )
    verdict = verifier.verify(task, code)
    assert verdict.outcome is Outcome.ERROR and "NaN" in verdict.detail, verdict
