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
    assert verifier.verify(task, other).outcome is not Outcome.PASS


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
    assert verifier.verify(task, code).outcome is not Outcome.PASS


def test_a_control_flow_class_the_prompt_defines_cannot_end_a_checkers_loop(verifier):
    task = with_prompt(
        "class Exhausted(StopIteration):\n    pass\n\n",
        "def check(candidate):\n"
        "    assert all(map(lambda c: candidate(c[0]) == c[1], [(1, 2), (2, 4), (3, 6)]))\n",
    )
    # its own class of that name, not a StopIteration: the prompt's must not be raised for it
    code = "class Exhausted(Exception):\n    pass\n\ndef f(x):\n    raise Exhausted()\n"
    assert verifier.verify(task, code).outcome is not Outcome.PASS
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
    assert verifier.verify(task, code.replace(", TypeError", "")).outcome is not Outcome.PASS
