"""Guards of the checker proxy and of the judge's verdict that no other test exercised.

A mutation audit broke the guards of ``sandbox/_inside.py`` (the judge's side of the proxy)
and ``verify/runner.py`` one at a time: with each of these guards broken (a forged reply's
``same`` mark taken, a mis-numbered reply or call back accepted, a candidate's exit read as
``None``, a judge dying while judging made ``infra_error``, ...) every other test still
passed, and a wrong solution passed or escaped its score. Each test here fails on its mutant.
Forged frames come from the candidate's own process, where the harness is ``__main__``.
"""

from __future__ import annotations

import pytest

from closedloop.sandbox import Refusals, SandboxLimits
from closedloop.sandbox.worker import JobStatus
from closedloop.tasks.format import Split, parse_task
from closedloop.verify import Outcome, Verifier
from closedloop.verify.outcome import TestResult
from closedloop.verify.runner import _verdict


@pytest.fixture(scope="module")
def verifier():
    with Verifier(workers=1, limits=SandboxLimits(wall_s=3.0)) as v:
        yield v


# the harness is __main__ in the candidate's process: its frame functions are the candidate's
HARNESS = "import sys, os\n_m = sys.modules['__main__']\n"


def test_a_reply_numbered_for_another_call_is_the_candidates_error(verifier):
    # _inside.serve_judge._call: `if rep.get("i") != req["i"]` -> CandidateFault
    task = parse_task(
        {
            "id": "c",
            "entry_point": "f",
            "checker": "def check(candidate):\n    assert candidate(1) == 2\n",
        }
    )
    code = HARNESS + "def f(x):\n    _m.write_frame(4, {'i': 7, 'value': '2'})\n    os._exit(0)\n"
    verdict = verifier.verify(task, code)
    assert verdict.outcome is Outcome.ERROR, verdict
    assert "results out of order" in verdict.detail, verdict.detail


# a forged call back of the checker's function, then (if the judge answers) a forged reply
FORGED_CALL_BACK = HARNESS + (
    "def f(fn):\n"
    "    _m.write_frame(4, {cb})\n"
    "    if _m.read_frame(3) is None:\n        os._exit(0)\n"
    "    _m.write_frame(4, {{'i': 1, 'value': 'True'}})\n"
    "    os._exit(0)\n"
)
TAKES_A_FUNCTION = parse_task(
    {
        "id": "cb",
        "entry_point": "f",
        "checker": "def check(candidate):\n    assert candidate(lambda y=0: y * 2) is True\n",
    }
)


@pytest.mark.parametrize(
    "cb, why",
    [
        # _inside.serve_judge.call_back: `not 0 <= k < len(...)`
        ("{'cb': -1, 'args': '(5,)'}", "a function the checker never passed"),
        # `type(args) is not tuple or type(kwargs) is not dict`
        ("{'cb': 0, 'args': '[5]'}", "malformed"),
        # `all(type(key) is str for key in kwargs)`
        ("{'cb': 0, 'args': '()', 'kwargs': '{1: 2}'}", "a keyword not a name"),
    ],
)
def test_a_forged_call_back_is_the_candidates_error(verifier, cb, why):
    # the stub's number 0 exists once the checker passed its lambda
    verdict = verifier.verify(TAKES_A_FUNCTION, FORGED_CALL_BACK.format(cb=cb))
    assert verdict.outcome is Outcome.ERROR, verdict
    assert why in verdict.detail, verdict.detail
    honest = "def f(fn):\n    return fn(5) == 10\n"
    assert verifier.verify(TAKES_A_FUNCTION, honest).outcome is Outcome.PASS


def test_an_operation_answering_the_wrong_type_is_the_candidates_error(verifier):
    # _inside.serve_judge._call: `want = HANDLE_OPS.get(name)`, `not isinstance(value, want)`:
    # a forged `len` answer that is no int is a sticky CandidateFault, not a TypeError the
    # checker's own `except TypeError` could take for its answer
    task = parse_task(
        {
            "id": "Box",
            "entry_point": "Box",
            "prompt": "class Box:\n    def __len__(self) -> int:\n        pass\n",
            "checker": "def check(candidate):\n    b = candidate()\n    try:\n        n = len(b)\n"
            "    except TypeError:\n        n = 1\n    assert n == 1\n",
        }
    )
    code = HARNESS + (
        "class Box:\n    def __len__(self):\n"
        "        _m.write_frame(4, {'i': 2, 'value': \"'one'\"})\n        os._exit(0)\n"
    )
    verdict = verifier.verify(task, code)
    assert verdict.outcome is Outcome.ERROR, verdict
    assert "not a int" in verdict.detail, verdict.detail
    honest = "class Box:\n    def __len__(self):\n        return 1\n"
    assert verifier.verify(task, honest).outcome is Outcome.PASS


def test_a_checkers_function_returning_its_own_enum_member_raises_type_error(verifier):
    # _inside.serve_judge.call_back: `own_enum = checkers_own_enum(enums)` -> WireError ->
    # {"cb_raised": "TypeError"}: a member of an enumeration only the checker defines never
    # reaches the candidate (nor is its class shown, for the candidate to send members back)
    task = parse_task(
        {
            "id": "enum",
            "entry_point": "f",
            "checker": "import enum\nclass Color(enum.Enum):\n    RED = 1\n"
            "def check(candidate):\n    assert candidate(lambda: Color.RED) == 'refused'\n",
        }
    )
    code = (
        "import enum\nclass Color(enum.Enum):\n    RED = 1\n"
        "def f(fn):\n    try:\n        fn()\n    except TypeError:\n        return 'refused'\n"
        "    except Exception:\n        return 'other'\n    return 'crossed'\n"
    )
    verdict = verifier.verify(task, code)
    assert verdict.outcome is Outcome.PASS, verdict


def test_a_checkers_own_int_enum_member_crosses_as_its_value(verifier):
    # _inside.serve_judge.checkers_own_enum: an int, str or float enumeration of the
    # checker's own is not refused (its members cross as the value they are)
    task = parse_task(
        {
            "id": "intenum",
            "entry_point": "f",
            "checker": "import enum\nclass P(enum.IntEnum):\n    A = 1\n"
            "def check(candidate):\n    assert candidate(P.A) == 2\n",
        }
    )
    verdict = verifier.verify(task, "def f(x):\n    return x + 1\n")
    assert verdict.outcome is Outcome.PASS, verdict


def test_an_own_enum_member_passed_after_the_candidate_answered_is_the_candidates(verifier):
    # _inside.serve_judge._call: `raise (CandidateFault if state["values"] else CheckerLimit)`:
    # once the candidate has answered, the argument may hold what it wrote, so blaming the
    # task (`invalid`, dropped unscored) would be a reward dodge
    checker = (
        "import enum\nclass C(enum.Enum):\n    A = 1\n"
        "def check(candidate):\n{first}    candidate(C.A)\n"
    )
    after = parse_task(
        {"id": "e1", "entry_point": "f", "checker": checker.format(first="    candidate(1)\n")}
    )
    verdict = verifier.verify(after, "def f(x):\n    return x\n")
    assert verdict.outcome is Outcome.ERROR, verdict
    before = parse_task({"id": "e0", "entry_point": "f", "checker": checker.format(first="")})
    assert verifier.verify(before, "def f(x):\n    return x\n").outcome is Outcome.INVALID


def test_the_candidates_exception_ending_the_checker_is_an_error_not_a_failure(verifier):
    # _inside._write_verdict: `elif e is state["raised"]` -> verdict "error"
    task = parse_task(
        {
            "id": "r",
            "entry_point": "f",
            "checker": "def check(candidate):\n    assert candidate(1) == 2\n",
        }
    )
    verdict = verifier.verify(task, "def f(x):\n    raise ValueError('boom')\n")
    assert verdict.outcome is Outcome.ERROR, verdict
    assert "the candidate raised ValueError: boom" in verdict.detail, verdict.detail


def test_a_checker_that_fails_to_load_after_calling_the_candidate_is_not_invalid(verifier):
    # _inside.serve_judge: `if state["calls"] == 0 and not isinstance(e, CheckerLimit)` ->
    # judge_error; once the candidate was called (here by the checker's module code) its
    # values were in play, and `invalid` (dropped unscored) would be a reward dodge
    task = parse_task(
        {
            "id": "top",
            "entry_point": "f",
            "checker": "X = f(1)\nassert X == 2\ndef check(candidate):\n    pass\n",
        }
    )
    assert verifier.verify(task, "def f(x):\n    return 2 * x\n").outcome is Outcome.PASS
    wrong = verifier.verify(task, "def f(x):\n    return 3\n")
    assert wrong.outcome is Outcome.FAIL, wrong
    nan = verifier.verify(task, "def f(x):\n    return float('nan')\n")
    assert nan.outcome is Outcome.ERROR, nan


def test_an_object_of_the_candidates_answers_no_function_dunder(verifier):
    # _inside.serve_judge.ask: `name.startswith("__") and not (name in FUNCTION_NAMES and
    # kinds.get(k) is FUNCTION_HANDLE)`: only a function of the candidate's answers
    # __name__/__qualname__/__wrapped__ (inspect.unwrap/signature follow __wrapped__)
    task = parse_task(
        {
            "id": "Box",
            "entry_point": "Box",
            "prompt": "class Box:\n    def get(self) -> int:\n        pass\n",
            "checker": "def check(candidate):\n    b = candidate()\n"
            "    assert getattr(b, '__wrapped__', None) is None\n    assert b.get() == 1\n",
        }
    )
    code = "class Box:\n    __wrapped__ = 5\n    def get(self):\n        return 1\n"
    verdict = verifier.verify(task, code)
    assert verdict.outcome is Outcome.PASS, verdict


BAG = parse_task(
    {
        "id": "Bag",
        "entry_point": "Bag",
        "prompt": "class Bag:\n    def add(self, x):\n        pass\n    def items(self):\n        pass\n",
        "checker": "def check(candidate):\n    b = candidate()\n    b.add(1)\n    b.add(1)\n"
        "    r = b.items()\n    assert r.count(1) == 2 and r.index(1) == 0\n",
    }
)


def test_an_object_of_the_candidates_cannot_answer_a_lists_methods(verifier):
    # _inside.serve_judge.ask: `name in _VALUE_NAMES and (kinds.get(k) or name not in
    # entry["names"])`: `count`/`index`, undeclared by the prompt's class, are not the
    # candidate's object's to answer where the checker expected a list
    honest = (
        "class Bag:\n    def __init__(self):\n        self.xs = []\n"
        "    def add(self, x):\n        self.xs.append(x)\n    def items(self):\n"
        "        return list(self.xs)\n"
    )
    assert verifier.verify(BAG, honest).outcome is Outcome.PASS
    cheat = (
        "class Bag:\n    def add(self, x):\n        pass\n    def items(self):\n        return self\n"
        "    def count(self, x):\n        return 2\n    def index(self, x):\n        return 0\n"
    )
    verdict = verifier.verify(BAG, cheat)
    assert verdict.outcome is Outcome.FAIL, verdict
    assert "has no attribute 'count'" in verdict.detail, verdict.detail


def test_a_declared_eq_never_meets_the_checkers_own_object_of_the_prompts_class(verifier):
    # _inside.serve_judge.meets: `name not in _COMPARISONS and isinstance(x, entry["cls"])`:
    # the checker's own object of the prompt's class (a prompt constant) never reaches the
    # candidate's __eq__, which would answer True for it whatever it holds
    task = parse_task(
        {
            "id": "Vector",
            "entry_point": "Vector",
            "prompt": "class Vector:\n    def __init__(self, x, y):\n        pass\n"
            "    def __eq__(self, other):\n        pass\n"
            "ORIGIN = Vector(0, 0)\n",
            "checker": "def check(candidate):\n    assert candidate(3, 4) == ORIGIN\n",
        }
    )
    cheat = (
        "class Vector:\n    def __init__(self, x, y):\n        pass\n"
        "    def __eq__(self, o):\n        return True\n"
    )
    verdict = verifier.verify(task, cheat)
    assert verdict.outcome is Outcome.FAIL, verdict


def test_a_handle_in_a_function_tasks_reply_is_the_candidates_error(verifier):
    # _inside.serve_judge.known_handle: `if not entry["is_class"] and not kind: raise
    # WireError`: a function task takes no object kept in the candidate's process
    task = parse_task(
        {
            "id": "c",
            "entry_point": "f",
            "checker": "def check(candidate):\n    assert candidate(1) == 2\n",
        }
    )
    code = HARNESS + (
        "def f(x):\n    _m.write_frame(4, {'i': 1, 'value': '__handle__(0)'})\n    os._exit(0)\n"
    )
    verdict = verifier.verify(task, code)
    assert verdict.outcome is Outcome.ERROR, verdict
    assert "in a function task" in verdict.detail, verdict.detail


def test_a_handle_whose_kind_changes_is_the_candidates_error(verifier):
    # _inside.serve_judge.known_handle: `if kinds.setdefault(k, kind) is not kind`
    task = parse_task(
        {
            "id": "Box",
            "entry_point": "Box",
            "prompt": "class Box:\n    def get(self):\n        pass\n",
            "checker": "def check(candidate):\n    assert candidate().get() == [None, None]\n",
        }
    )
    code = HARNESS + (
        "class Box:\n    def get(self):\n"
        "        _m.write_frame(4, {'i': 3, 'value': '[__handle__(0), __handle__(0, True)]'})\n"
        "        os._exit(0)\n"
    )
    verdict = verifier.verify(task, code)
    assert verdict.outcome is Outcome.ERROR, verdict
    assert "changed its kind" in verdict.detail, verdict.detail


def test_eval_wrapped_past_the_unwrapping_depth_is_still_never_handed_over(verifier):
    # _inside._uncrossable: after 8 unwrappings `return True` (fails closed)
    task = parse_task(
        {
            "id": "deep",
            "entry_point": "f",
            "checker": "import functools\ndef check(candidate):\n    g = eval\n"
            "    for _ in range(9):\n        g = functools.lru_cache(None)(g)\n"
            "    assert candidate(g) == 2\n",
        }
    )
    verdict = verifier.verify(task, "def f(fn):\n    return fn('1+1')\n")
    assert verdict.outcome is Outcome.INVALID and "cannot cross" in verdict.detail, verdict


def test_a_forged_same_mark_never_swaps_the_value_for_the_checkers_argument(verifier):
    # _inside._take_value: the reply's "same" (the candidate's claim that it returned its
    # argument itself) is taken only where the value is that argument's type and equal to it
    task = parse_task(
        {
            "id": "copy",
            "entry_point": "f",
            "checker": "def check(candidate):\n    xs = [3, 1, 2]\n    assert candidate(xs) == [3, 1, 2]\n",
        }
    )
    forged = HARNESS + (
        "_write = _m.write_frame\n"
        "def _forged(fd, rep):\n    if 'value' in rep:\n        rep = dict(rep, same=0)\n"
        "    _write(fd, rep)\n_m.write_frame = _forged\n"
        "def f(xs):\n    return [0]\n"
    )
    verdict = verifier.verify(task, forged)
    assert verdict.outcome is Outcome.FAIL, verdict
    assert verifier.verify(task, "def f(xs):\n    return list(xs)\n").outcome is Outcome.PASS


def test_a_candidate_that_exits_during_a_checkers_call_returns_nothing(verifier):
    # _inside.serve_judge._call: `if rep is None: raise CandidateFault("the candidate
    # process ended")`: an exit mid-call is never the call returning None
    task = parse_task(
        {
            "id": "none",
            "entry_point": "f",
            "checker": "def check(candidate):\n    xs = [1]\n    assert candidate(xs) is None\n",
        }
    )
    verdict = verifier.verify(task, "import os\ndef f(xs):\n    os._exit(0)\n")
    assert verdict.outcome is Outcome.ERROR, verdict
    assert "the candidate process ended" in verdict.detail, verdict.detail


def test_a_judge_that_dies_while_judging_is_the_candidates_error_not_the_sandboxs(verifier):
    # verify/runner.py _run_checker: `elif judging: outcome = (Outcome.ERROR, ...)`: once the
    # judge confirmed it was judging, its death may be the candidate's doing (its values were
    # in play), so it is never infra_error (dropped unscored). The checker's own exit stands
    # in for a death the candidate's values caused.
    task = parse_task(
        {
            "id": "dies",
            "entry_point": "f",
            "checker": "import os\ndef check(candidate):\n    candidate(1)\n    os._exit(3)\n",
        }
    )
    verdict = verifier.verify(task, "def f(x):\n    return x\n")
    assert verdict.outcome is Outcome.ERROR, verdict
    assert "ended while judging" in verdict.detail, verdict.detail


def test_a_list_attribute_both_sides_changed_is_not_merged_by_erasing_the_checkers(verifier):
    # _inside._sync_state: `for k, v in new.items() if strict is not None else (): _meets(...)`:
    # an attribute holding a list (synced in place, not set by the wire's own `_meets`) that
    # the checker's function appended to while the candidate appended to it otherwise cannot
    # be merged; taking the candidate's list erased the checker's marks and a solution calling
    # on_bad for every item passed
    task = parse_task(
        {
            "id": "node-log",
            "entry_point": "f",
            "prompt": "class Node:\n    def __init__(self):\n        self.log = []\n",
            "checker": "def check(candidate):\n    n = Node()\n"
            "    candidate(n, [4, 5], lambda x: n.log.append(('bad', x)))\n"
            "    assert n.log == [4, 5], n.log\n",
        }
    )
    wrong = (
        "def f(n, items, on_bad):\n    for x in items:\n        on_bad(x)\n"
        "        n.log.append(x)\n"
    )
    verdict = verifier.verify(task, wrong)
    assert verdict.outcome is Outcome.ERROR, verdict
    assert "Node.log was changed meanwhile" in verdict.detail, verdict.detail
    assert "cannot be merged" in verdict.detail, verdict.detail
    right = "def f(n, items, on_bad):\n    for x in items:\n        n.log.append(x)\n"
    assert verifier.verify(task, right).outcome is Outcome.PASS


@pytest.mark.parametrize(
    "line, name",
    [
        ("candidate.limit = 3", "limit"),  # `k == CLASS_TARGET`: the solution's class itself
        ("candidate().count = 3", "count"),  # a list's method name the prompt leaves undeclared
        ("candidate().fn().x = 3", "x"),  # `kinds.get(k)`: a function of the candidate's
    ],
)
def test_the_checker_sets_no_attribute_the_candidates_object_may_not_take(verifier, line, name):
    # _inside.serve_judge.set_attribute: the set never reaches the candidate's process, where
    # the class, the function or an object posing as a list would take it
    task = parse_task(
        {
            "id": "Box",
            "entry_point": "Box",
            "prompt": "class Box:\n    def fn(self):\n        pass\n",
            "checker": f"def check(candidate):\n    {line}\n",
        }
    )
    code = "class Box:\n    def fn(self):\n        return lambda: 1\n"
    verdict = verifier.verify(task, code)
    assert verdict.outcome is Outcome.FAIL, verdict
    assert f"the candidate's object takes no attribute {name!r}" in verdict.detail, verdict.detail
    # an attribute the object may take is set in the candidate's process
    allowed = parse_task(
        {
            "id": "Box2",
            "entry_point": "Box",
            "prompt": "class Box:\n    def fn(self):\n        pass\n",
            "checker": "def check(candidate):\n    b = candidate()\n    b.extra = 3\n"
            "    assert b.extra == 3\n",
        }
    )
    assert verifier.verify(allowed, code).outcome is Outcome.PASS


IO_AND_CHECKER = parse_task(
    {
        "id": "io",
        "entry_point": "f",
        "private_tests": [{"input": "(1,)", "output": "2"}, {"input": "(2,)", "output": "4"}],
        "checker": "def check(candidate):\n    assert candidate(3) == 6\n",
    }
)


def test_a_job_that_ends_before_the_checker_ran_says_so(verifier):
    # a malformed result frame ends the job's channel (`ch.eof`): the checker never runs, and
    # the verdict says the checker was not reached, not merely that one I/O test failed
    code = HARNESS + (
        "def f(x):\n    if x == 2:\n        os.write(4, b'\\x00\\x00\\x00\\x03abc')\n"
        "        os._exit(0)\n    return 2 * x\n"
    )
    verdict = verifier.verify(IO_AND_CHECKER, code)
    assert verdict.outcome is Outcome.ERROR, verdict
    assert verdict.passed == 1 and verdict.total == 3, verdict
    assert "exited (code 0) before the checker ran" in verdict.detail, verdict.detail
    assert verifier.verify(IO_AND_CHECKER, "def f(x):\n    return 2 * x\n").outcome is Outcome.PASS


@pytest.mark.parametrize("got", [("2", "4"), ("2", "5")])
def test_every_io_test_judged_but_no_checker_outcome_is_an_error(got):
    # the checker skipped at the deadline (`time.monotonic() < ch.deadline` false once the
    # last I/O result was judged, the job not killed yet): a timing window the real verifier
    # cannot hit on demand, so the verdict is built directly. Every I/O test passed (without
    # the guard: `assert judge is not None` raised) or one failed plainly (without it: FAIL,
    # a verdict on the I/O tests alone, the checker's share never judged)
    tests = IO_AND_CHECKER.tests(Split.PRIVATE)
    results = [
        TestResult(i, g == t.output, t.input, t.output, g)
        for i, (t, g) in enumerate(zip(tests, got, strict=True))
    ]
    status = JobStatus(0, None, False, 1.0, 0.5, 1000, "", "", 0, 0, Refusals())
    verdict = _verdict(IO_AND_CHECKER, tests, results, {"ready": True}, None, True, status, 1.0, 3)
    assert verdict.outcome is Outcome.ERROR, verdict
    assert "before the checker ran" in verdict.detail, verdict.detail


@pytest.mark.parametrize("given", ["os.__getattribute__", "sys.__setattr__", "os.__dir__"])
def test_a_system_modules_own_slot_methods_are_never_handed_over(verifier, given):
    # a module object's method-wrappers (`os.__getattribute__`, `sys.__setattr__`) and its
    # `__dir__` have no `__module__` of a system module's, and their owner's type is the
    # builtin `module`: only their `__self__`, the module itself, marks them. Handed over, the
    # candidate reads (or sets) any attribute of the judge's `os` or `sys`
    task = parse_task(
        {
            "id": "mod",
            "entry_point": "f",
            "checker": f"import os, sys\ndef check(candidate):\n    assert candidate({given}) == 2\n",
        }
    )
    code = (
        "def f(fn):\n    try:\n        fn('sep')\n    except TypeError:\n        pass\n"
        "    return 2\n"
    )
    verdict = verifier.verify(task, code)
    assert verdict.outcome is Outcome.INVALID, verdict
    assert "cannot cross" in verdict.detail, verdict.detail


def test_a_first_frame_whose_ready_is_not_true_is_a_load_error(verifier):
    # the solution's module code writes its own first frame, `ready` a truthy non-True: the
    # solution did not load (the outcome is the candidate's error either way; without the
    # guard the verdict blames a test it never answered)
    task = parse_task(
        {
            "id": "io",
            "entry_point": "f",
            "private_tests": [{"input": "(1,)", "output": "2"}],
            "checker": "def check(candidate):\n    assert candidate(3) == 6\n",
        }
    )
    code = HARNESS + "_m.write_frame(4, {'ready': 1})\nos._exit(0)\ndef f(x):\n    return 2 * x\n"
    verdict = verifier.verify(task, code)
    assert verdict.outcome is Outcome.ERROR, verdict
    assert verdict.passed == 0, verdict
    assert "does not load: malformed result channel: unexpected first frame" in verdict.detail, (
        verdict.detail
    )
