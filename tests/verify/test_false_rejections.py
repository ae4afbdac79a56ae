"""No false rejections: a correct solution is not failed by the verifier's own limits or
comparisons (``float_tolerance`` inside sets), and a task the wire cannot carry gets an
outcome that blames the task's size (``invalid``, not scored), never the candidate.
"""

from __future__ import annotations

import dataclasses
import math

import pytest

from closedloop.sandbox import SandboxLimits
from closedloop.sandbox.wire import MAX_TEXT, encode_plain, plain_equal
from closedloop.tasks.format import Split, TaskFormatError, parse_task
from closedloop.verify import Outcome, Verifier


@pytest.fixture(scope="module")
def verifier():
    with Verifier(workers=1, limits=SandboxLimits(wall_s=3.0)) as v:
        yield v


def test_float_tolerance_applies_inside_sets(verifier):
    task = parse_task(
        {
            "id": "tol-set",
            "entry_point": "f",
            "float_tolerance": 1e-9,
            "private_tests": [
                {"input": "()", "output": "{0.3, 1.0}"},
                {"input": "()", "output": "frozenset([(0.3, 'a')])"},
            ],
        }
    )
    code = (
        "calls = [0]\ndef f():\n    calls[0] += 1\n"
        "    if calls[0] == 1:\n        return {0.1 + 0.2, 1.0}\n"
        "    return frozenset([(0.1 + 0.2, 'a')])\n"
    )
    verdict = verifier.verify(task, code)
    assert verdict.outcome is Outcome.PASS, verdict
    wrong = "def f():\n    return {0.31, 1.0}\n"
    assert verifier.verify(task, wrong).outcome is Outcome.FAIL


def test_sets_of_tuples_with_float_noise_pair_however_many_or_mixed_they_are():
    # 6,400 tuples each 1e-12 off: the greedy match ran out of its comparison budget and
    # rejected them; sorted, they pair one to one
    big = {(k, 0.5) for k in range(6400)}
    assert plain_equal(big, {(k, 0.5 + 1e-12) for k in range(6400)}, tol=1e-9)
    assert not plain_equal(big, {(k, 0.5 + 1e-6) for k in range(6400)}, tol=1e-9)
    # sorted order pairs the wrong elements here, the greedy match the right ones
    a = {(1.0, 2.0), (1.0 + 1e-12, 1.0)}
    assert plain_equal(a, {(1.0 + 2e-12, 2.0), (1.0, 1.0 + 1e-12)}, tol=1e-9)
    # elements that do not sort (a str beside an int) still pair
    mixed = {("a", 0.1 + 0.2), (1, 0.1 + 0.2)}
    assert plain_equal(mixed, {("a", 0.3), (1, 0.3)}, tol=1e-9)
    assert not plain_equal(mixed, {("a", 0.3), (1, 0.4)}, tol=1e-9)
    # and however many: 1,600 pairs of a str or an int and a float ran the greedy match out of
    # its budget (a correct answer rejected); in a total order of plain data they pair sorted
    labels = [f"s{k}" if k % 2 else k for k in range(1600)]
    assert plain_equal({(x, 0.5) for x in labels}, {(x, 0.5 + 1e-12) for x in labels}, tol=1e-9)
    assert not plain_equal({(x, 0.5) for x in labels}, {(x, 0.6) for x in labels}, tol=1e-9)
    nested = {frozenset({1, "a"}), (None, 2.0), 3j}
    assert plain_equal(nested, {frozenset({1, "a"}), (None, 2.0 + 1e-12), 3j + 1e-12}, tol=1e-9)


def test_complex_numbers_are_close_by_their_distance():
    # each part within the tolerance let a value up to 1.41x the tolerance away pass
    assert not plain_equal(complex(9.9e-7, 1 + 9.9e-7), 1j, tol=1e-6)
    assert plain_equal(complex(6e-7, 1 + 6e-7), 1j, tol=1e-6)
    assert plain_equal(complex(1.0, 0.0), 1.0) and not plain_equal(complex(1.0, 1e-9), 1.0)


def test_an_input_over_the_wires_cap_is_invalid_not_the_candidates_error(verifier):
    big = "('" + "x" * (MAX_TEXT + 10) + "',)"
    row = {"id": "big", "entry_point": "f", "private_tests": [{"input": big, "output": "1"}]}
    with pytest.raises(TaskFormatError, match="wire"):  # refused where the task is read
        parse_task(row)
    # and a task built without the reader gets a typed outcome that blames the limit
    small = parse_task({**row, "private_tests": [{"input": "('x',)", "output": "1"}]})
    test = dataclasses.replace(small.private_tests[0], input=big)
    task = dataclasses.replace(small, private_tests=(test,))
    verdict = verifier.verify(task, "def f(s):\n    return 1\n", Split.ALL)
    assert verdict.outcome is Outcome.INVALID, verdict
    assert "cap" in verdict.detail and verdict.reward is None


def test_a_checker_argument_over_the_wires_cap_is_invalid(verifier):
    task = parse_task(
        {
            "id": "big-arg",
            "entry_point": "f",
            "checker": f"def check(candidate):\n    assert candidate('x' * {MAX_TEXT + 10}) == 1\n",
        }
    )
    verdict = verifier.verify(task, "def f(s):\n    return 1\n")
    assert verdict.outcome is Outcome.INVALID, verdict


def test_expected_nan_is_refused_when_the_task_is_read():
    with pytest.raises(TaskFormatError, match="NaN"):
        parse_task(
            {
                "id": "nan",
                "entry_point": "f",
                "private_tests": [{"input": "()", "output": "float('nan')"}],
            }
        )


def test_a_verdicts_tests_each_keep_their_own_share_of_the_comparison_budget(verifier):
    # A regular polygon's vertices computed two ways (2*pi*i/k against i*(2*pi/k)): rounding
    # reorders points of tied x, so sorted pairing fails and the search pairs them. With one
    # budget for the verdict the two large tests spent it, and the small one, equal, failed.
    def polygon(k, alt):
        step = 2 * math.pi / k
        return {
            (
                math.cos(i * step if alt else 2 * math.pi * i / k),
                math.sin(i * step if alt else 2 * math.pi * i / k),
            )
            for i in range(k)
        }

    task = parse_task(
        {
            "id": "polygon",
            "entry_point": "f",
            "float_tolerance": 1e-9,
            "private_tests": [
                {"input": f"({k},)", "output": encode_plain(polygon(k, False))}
                for k in (1600, 1600, 3)
            ],
        }
    )
    code = (
        "import math\ndef f(k):\n    step = 2 * math.pi / k\n"
        "    return {(math.cos(i * step), math.sin(i * step)) for i in range(k)}\n"
    )
    verdict = verifier.verify(task, code)
    assert verdict.outcome is Outcome.PASS, [t.passed for t in verdict.tests]


def test_a_checker_calling_the_candidate_from_several_threads_judges_each_call(verifier):
    # the proxy's requests and replies share one pair of pipes: threads' frames crossed
    # ("results out of order") and a correct solution failed, a wrong one too for that reason
    task = parse_task(
        {
            "id": "threads",
            "entry_point": "f",
            "checker": (
                "from concurrent.futures import ThreadPoolExecutor\n"
                "def check(candidate):\n"
                "    with ThreadPoolExecutor(4) as ex:\n"
                "        got = list(ex.map(candidate, range(120)))\n"
                "    assert got == [x * 2 for x in range(120)]\n"
            ),
        }
    )
    for _ in range(3):
        assert verifier.verify(task, "def f(x):\n    return x * 2\n").outcome is Outcome.PASS
    wrong = verifier.verify(task, "def f(x):\n    return x * 3\n")
    assert wrong.outcome is Outcome.FAIL and "assert got ==" in wrong.detail, wrong


def test_many_small_tests_do_not_deadlock_the_request_and_result_pipes(verifier):
    # requests were written ahead in batches counted in input characters: 3,000 one-digit
    # inputs were far more bytes of frames than a pipe holds, and once the results filled
    # the other pipe both ends blocked until the wall clock (a correct solution timed out)
    n = 6000
    tests = [{"input": f"({i},)", "output": str(i + 1)} for i in range(n)]
    task = parse_task({"id": "many", "entry_point": "f", "private_tests": tests})
    verdict = verifier.verify(task, "def f(x):\n    return x + 1\n")
    assert verdict.outcome is Outcome.PASS and verdict.passed == n, verdict.detail


def test_requests_written_ahead_fit_a_pipe_shrunk_to_one_page():
    # the host user's pipe budget spent (fs.pipe-user-pages-soft), new pipes hold one page:
    # a batch must fit what the pipe holds, not the 32 KiB a fresh pipe has room for
    import fcntl

    from closedloop.sandbox import Worker
    from closedloop.verify.runner import _run_calls

    worker = Worker()
    try:
        ch = worker.begin("candidate")
        for fd in (ch.in_w, ch.out_r):
            fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, 4096)
        assert ch.room == 4096
        ch.send({"code": "def f(s):\n    return s.upper()\n", "entry": "f"})
        ch.recv_lock_down()
        assert "ready" in ch.recv()
        inputs = [repr(("ab" * 60,)) for _ in range(600)]  # ~90 KiB of requests and results
        got: list[dict] = []
        _run_calls(ch, inputs, lambda k, frame: got.append(frame))
        worker.end(ch)
    finally:
        worker.kill()
    assert len(got) == 600 and all("value" in g for g in got), got[:2]


def test_a_full_rewrite_opening_with_future_imports_runs_after_the_prompt(verifier):
    # the prompt goes before the solution: `from __future__` then stood after code, a
    # SyntaxError, and a correct solution failed
    task = parse_task(
        {
            "id": "future",
            "entry_point": "f",
            "prompt": "from typing import List\n\n\ndef f(xs: List[int]) -> int:\n    '''Sum.'''\n",
            "private_tests": [{"input": "([1, 2],)", "output": "3"}],
        }
    )
    code = (
        "# solution\nfrom __future__ import annotations\nfrom __future__ import division\n\n"
        "def f(xs: list[int]) -> int:\n    return sum(xs)\n"
    )
    assert verifier.verify(task, code).outcome is Outcome.PASS
    documented = '"""Sums."""\nfrom __future__ import (\n    annotations,\n)\n' + code
    assert verifier.verify(task, documented).outcome is Outcome.PASS  # a docstring first
    # not where it stands after other code: as a plain interpreter says, a syntax error
    late = "def f(xs):\n    return sum(xs)\nfrom __future__ import annotations\n"
    assert verifier.verify(task, late).outcome is Outcome.ERROR


DATES = [
    (  # a date in, a date out, its attribute read
        "def check(candidate):\n    import datetime as d\n"
        "    assert candidate(d.date(2024, 2, 28)) == d.date(2024, 2, 29)\n"
        "    assert candidate(d.date(2023, 12, 31)).year == 2024\n",
        "import datetime\ndef f(x):\n    return x + datetime.timedelta(days=1)\n",
    ),
    (  # a timedelta out
        "def check(candidate):\n    import datetime as d\n"
        "    assert candidate('2024-01-01', '2024-03-01') == d.timedelta(days=60)\n",
        "from datetime import date\n"
        "def f(a, b):\n    return date.fromisoformat(b) - date.fromisoformat(a)\n",
    ),
    (  # an aware datetime, its fixed offset and name kept
        "def check(candidate):\n    import datetime as d\n    r = candidate(0)\n"
        "    assert r == d.datetime(1969, 12, 31, 19, tzinfo=d.timezone(d.timedelta(hours=-5)))\n"
        "    assert r.tzname() == 'EST' and r.time() == d.time(19)\n",
        "import datetime as d\n"
        "def f(t):\n    return d.datetime.fromtimestamp(t, d.timezone(d.timedelta(hours=-5), 'EST'))\n",
    ),
]


@pytest.mark.parametrize("checker, code", DATES)
def test_the_datetime_modules_values_cross_the_checker_proxy(verifier, checker, code):
    # they were not plain data: a correct solution returning a date was the candidate's error,
    # and a checker passing one made its task invalid
    task = parse_task({"id": "dates", "entry_point": "f", "checker": checker})
    verdict = verifier.verify(task, code)
    assert verdict.outcome is Outcome.PASS, verdict.detail
    if "days=1" in code:  # and a wrong one is still judged wrong
        wrong = code.replace("days=1", "days=2")
        assert verifier.verify(task, wrong).outcome is Outcome.FAIL


def test_a_datetime_in_a_zone_whose_rules_are_code_is_the_candidates_error(verifier):
    task = parse_task(
        {"id": "zone", "entry_point": "f", "checker": "def check(candidate):\n    candidate()\n"}
    )
    code = "import datetime as d, zoneinfo\ndef f():\n    return d.datetime(2024, 1, 1, tzinfo=zoneinfo.ZoneInfo('UTC'))\n"
    verdict = verifier.verify(task, code)
    assert verdict.outcome is Outcome.ERROR and "not a fixed offset" in verdict.detail


@pytest.mark.parametrize(
    "checker, code",
    [
        (
            "def check(candidate):\n    assert candidate(3) == range(3)\n"
            "    assert list(candidate(4))[::-1] == [3, 2, 1, 0]\n",
            "def f(n):\n    return range(n)\n",
        ),
        (
            "def check(candidate):\n    assert sorted(candidate({'b': 1, 'a': 2})) == ['a', 'b']\n"
            "    assert candidate({'x': 0}) == {'x'}\n",
            "def f(d):\n    return d.keys()\n",
        ),
        (
            "def check(candidate):\n    assert dict(candidate({'a': 1})) == {'a': 1}\n"
            "    assert ('a', 1) in candidate({'a': 1})\n",
            "def f(d):\n    return d.items()\n",
        ),
        (
            "def check(candidate):\n    assert sum(candidate({'a': 1, 'b': 2})) == 3\n",
            "def f(d):\n    return d.values()\n",
        ),
    ],
)
def test_ranges_and_dict_views_cross_the_checker_proxy(verifier, checker, code):
    # they were "not plain data" (the candidate's error) while map, zip and generators crossed
    task = parse_task({"id": "views", "entry_point": "f", "checker": checker})
    verdict = verifier.verify(task, code)
    assert verdict.outcome is Outcome.PASS, verdict.detail


def test_nan_inside_a_dict_view_is_still_refused(verifier):
    task = parse_task(
        {
            "id": "nan-view",
            "entry_point": "f",
            "checker": "def check(candidate):\n    candidate()\n",
        }
    )
    verdict = verifier.verify(task, "def f():\n    return {'a': float('nan')}.values()\n")
    assert verdict.outcome is Outcome.ERROR and "NaN" in verdict.detail, verdict


@pytest.mark.parametrize(
    "checker, code",
    [
        (
            "def check(candidate):\n    r = candidate([3, 1, 2])\n"
            "    assert r.lo == 1 and r.hi == 3 and r == (1, 3)\n",
            "from collections import namedtuple\nR = namedtuple('R', 'lo hi')\n"
            "def f(xs):\n    return R(min(xs), max(xs))\n",
        ),
        (
            "def check(candidate):\n    r = candidate([3, 1, 2])\n"
            "    assert r._asdict() == {'lo': 1, 'hi': 3}\n",
            "from typing import NamedTuple\nclass R(NamedTuple):\n    lo: int\n    hi: int\n"
            "def f(xs):\n    return R(min(xs), max(xs))\n",
        ),
        (
            "def check(candidate):\n    from collections import namedtuple\n"
            "    P = namedtuple('P', 'x y')\n    assert candidate(P(3, 4)) == 7\n",
            "def f(p):\n    return p.x + p.y\n",
        ),
    ],
)
def test_a_named_tuple_the_other_side_defined_keeps_its_field_names(verifier, checker, code):
    # it crossed as a plain tuple: `result.lo` failed a correct solution
    task = parse_task({"id": "named", "entry_point": "f", "checker": checker})
    verdict = verifier.verify(task, code)
    assert verdict.outcome is Outcome.PASS, verdict.detail
    if "lo hi" in code:  # its fields swapped: wrong, and judged so
        assert verifier.verify(task, code.replace("lo hi", "hi lo")).outcome is Outcome.FAIL


def test_the_checkers_candidate_has_the_entry_points_name_and_docstring(verifier):
    # it was `candidate`: a checker reading its name failed (not the prompt's signature: a
    # solution may name its parameters otherwise)
    checker = (
        "def check(candidate):\n    assert candidate.__name__ == 'add'\n"
        "    assert 'Add' in candidate.__doc__ and candidate(1, 2) == 3\n"
    )
    prompt = "def add(a: int, b: int) -> int:\n    '''Add two numbers.'''\n"
    task = parse_task({"id": "named", "entry_point": "add", "prompt": prompt, "checker": checker})
    verdict = verifier.verify(task, "    return a + b\n")
    assert verdict.outcome is Outcome.PASS, verdict.detail


def test_an_exception_group_does_not_cost_the_tests_after_it(verifier):
    # The reply for a call that raised carried the exception's structure for checkers: a
    # group of eight or more made it more arrays and objects than the host takes from a job,
    # the channel was refused and the tests after it lost (5 of 6 right scored 0 of 6; red
    # team 25). The host reads only the name and message of an I/O test's exception
    task = parse_task(
        {
            "id": "group",
            "entry_point": "f",
            "private_tests": [{"input": "(-1,)", "output": "0"}]
            + [{"input": f"({k},)", "output": str(2 * k)} for k in range(5)],
        }
    )
    code = (
        "def f(x):\n"
        "    if x < 0:\n"
        "        raise ExceptionGroup('bad', [ValueError(k) for k in range(64)])\n"
        "    return 2 * x\n"
    )
    verdict = verifier.verify(task, code, Split.ALL)
    assert (verdict.outcome, verdict.passed, verdict.total) == (Outcome.ERROR, 5, 6), verdict
    assert "ExceptionGroup" in verdict.tests[0].error, verdict.tests[0].error
