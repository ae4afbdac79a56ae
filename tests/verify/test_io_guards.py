"""Host-side guards of I/O tasks (``sandbox/wire.py``, ``verify/runner.py``) that no other
test exercised.

A mutation audit broke the guards of the host's decoding and comparison of I/O results one
at a time: with each of these guards broken, every other test still passed, and a wrong
solution passed, escaped its score or cost the host more than its budget. Each test here
fails on its mutant. Forged frames come from the candidate's own process, where the harness
is ``__main__``.
"""

from __future__ import annotations

import dataclasses
import time

import pytest

from closedloop.sandbox import SandboxLimits
from closedloop.sandbox.wire import (
    COMPARE_BUDGET,
    WireError,
    decode_plain,
    encode_plain,
    plain_equal,
)
from closedloop.sandbox.worker import JobStatus
from closedloop.tasks.format import TestCase, parse_task
from closedloop.verify import Outcome, Verifier
from closedloop.verify.outcome import TestResult
from closedloop.verify.runner import _judge_io, _verdict


@pytest.fixture(scope="module")
def verifier():
    with Verifier(workers=1, limits=SandboxLimits(wall_s=3.0)) as v:
        yield v


# the harness is __main__ in the candidate's process: its frame functions are the candidate's
HARNESS = "import sys, os\n_m = sys.modules['__main__']\n"


def _io_task(output: str, tol: float | None = None, task_id: str = "io"):
    spec = {"id": task_id, "entry_point": "f", "private_tests": [{"input": "()", "output": output}]}
    if tol is not None:
        spec["float_tolerance"] = tol
    return parse_task(spec)


def test_nan_in_a_set_or_dict_key_equals_nothing_even_itself(verifier):
    # wire.plain_equal: `if contains_nan(a) or contains_nan(b): return False`. The decoder
    # reads every float('nan') as the one math.nan object, and set and dict lookups match it
    # by identity: without the check {float('nan'): 1} equals itself. parse_task refuses an
    # expected output holding NaN, so a task built past it (a Task made directly) stands in
    for text in ("{float('nan'): 1}", "{float('nan')}", "frozenset([float('nan')])"):
        got = decode_plain(text)
        assert not plain_equal(got, decode_plain(text)), text
        assert not plain_equal(got, decode_plain(text), tol=1e-9), text
    task = dataclasses.replace(
        _io_task("None"), private_tests=(TestCase("()", "{float('nan'): 1}"),)
    )
    verdict = verifier.verify(task, "def f():\n    return {float('nan'): 1}\n")
    assert verdict.outcome is Outcome.FAIL, verdict


def test_a_string_never_equals_a_complex_number(verifier):
    # wire._equal: `if ta not in (int, float, complex) or tb not in (...): return False`:
    # without it complex('1') read the candidate's string '1' as (1+0j)
    assert not plain_equal("1", 1 + 0j)
    assert not plain_equal("1", 1 + 0j, tol=1e-6)
    for tol in (None, 1e-6):
        task = _io_task("(1+0j)", tol, task_id=f"complex-{tol}")
        verdict = verifier.verify(task, "def f():\n    return '1'\n")
        assert verdict.outcome is Outcome.FAIL, verdict
        assert verifier.verify(task, "def f():\n    return 1+0j\n").outcome is Outcome.PASS


def test_a_malformed_frame_while_loading_is_the_candidates_load_error(verifier):
    # runner._load: `except WireError as e: return {"load_error": ...}`: every frame after
    # the lock-down confirmation may be the candidate's, so a malformed one is its load
    # error, never the sandbox's (WorkerLost, retried, infra_error: dropped unscored)
    task = _io_task("1", task_id="load")
    for frame in ("b'\\x00\\x00\\x00\\x02[]'", "b'\\x00\\x00\\x00\\x03{x}'"):
        code = HARNESS + f"os.write(4, {frame})\nos._exit(0)\ndef f():\n    return 1\n"
        verdict = verifier.verify(task, code)
        assert verdict.outcome is Outcome.ERROR, verdict
        assert "malformed result channel" in verdict.detail, verdict.detail
    assert verifier.verify(task, "def f():\n    return 1\n").outcome is Outcome.PASS


def test_a_forged_missing_mark_is_a_reserved_key_not_a_timeout(verifier):
    # runner._run_calls: `elif "missing" in msg`: the host's own mark for a call that got no
    # answer is never taken from the candidate's frame (a forged "timeout" made a crash a
    # timeout, and in call() made a trusted solution's lost call run again)
    task = _io_task("1", task_id="missing")
    code = HARNESS + "def f():\n    _m.write_frame(4, {'i': 0, 'missing': 'timeout'})\n"
    code += "    os._exit(0)\n"
    verdict = verifier.verify(task, code)
    assert verdict.outcome is Outcome.ERROR, verdict
    assert "a reserved key" in verdict.detail, verdict.detail


def test_an_io_result_numbered_for_another_test_is_the_candidates_error(verifier):
    # runner._run_calls: `if msg.get("i") != k` -> "results out of order"
    task = _io_task("1", task_id="order")
    code = HARNESS + "def f():\n    _m.write_frame(4, {'i': 5, 'value': '1'})\n    os._exit(0)\n"
    verdict = verifier.verify(task, code)
    assert verdict.outcome is Outcome.ERROR, verdict
    assert "results out of order" in verdict.detail, verdict.detail


def test_without_a_tolerance_floats_compare_exactly(verifier):
    # runner._run: `tol = task.float_tolerance`: a task that sets none compares exactly, so
    # an answer off in its last place (or by 1e-4) fails; with one set it is allowed
    exact = _io_task("0.3", task_id="exact")
    for got in ("0.1 + 0.2", "0.3001"):
        verdict = verifier.verify(exact, f"def f():\n    return {got}\n")
        assert verdict.outcome is Outcome.FAIL, verdict
    assert verifier.verify(exact, "def f():\n    return 0.3\n").outcome is Outcome.PASS
    loose = _io_task("0.3", tol=1e-9, task_id="loose")
    assert verifier.verify(loose, "def f():\n    return 0.1 + 0.2\n").outcome is Outcome.PASS
    assert verifier.verify(loose, "def f():\n    return 0.3001\n").outcome is Outcome.FAIL


def test_under_a_tolerance_a_subset_or_prefix_is_not_equal(verifier):
    # wire._equal: `if len(a) != len(b): return False` for sets (else _sets_close found no
    # element of the candidate's set left over and paired nothing) and for lists (else zip
    # compared a prefix)
    assert not plain_equal({1.0}, {1.0, 2.0}, tol=1e-9)
    assert not plain_equal([1.0, 2.0], [1.0, 2.0, 3.0], tol=1e-9)
    task = parse_task(
        {
            "id": "subset",
            "entry_point": "f",
            "float_tolerance": 1e-9,
            "private_tests": [
                {"input": "(0,)", "output": "{1.0, 2.0}"},
                {"input": "(1,)", "output": "[1.0, 2.0, 3.0]"},
            ],
        }
    )
    wrong = "def f(k):\n    return {1.0} if k == 0 else [1.0, 2.0]\n"
    assert verifier.verify(task, wrong).outcome is Outcome.FAIL
    right = "def f(k):\n    return {1.0, 2.0} if k == 0 else [1.0, 2.0, 3.0]\n"
    assert verifier.verify(task, right).outcome is Outcome.PASS


def test_under_a_tolerance_each_set_element_pairs_with_its_own_partner(verifier):
    # wire._sets_close: `free[j] = False`: the greedy pairing (tuples whose sorted pairing
    # failed) is one to one; without it two of the candidate's elements took one expected
    # element between them and the other expected element went unmatched
    got, expected = {(1.0,), (1.02,)}, {(1.01,), (9.0,)}
    assert not plain_equal(got, expected, tol=0.05)
    assert plain_equal(got, {(1.01,), (1.04,)}, tol=0.05)
    task = _io_task("{(1.01,), (9.0,)}", tol=0.05, task_id="pairing")
    wrong = "def f():\n    return {(1.0,), (1.02,)}\n"
    assert verifier.verify(task, wrong).outcome is Outcome.FAIL
    right = "def f():\n    return {(1.02,), (9.0,)}\n"
    assert verifier.verify(task, right).outcome is Outcome.PASS


def test_a_comparison_stops_at_its_budget():
    # wire._equal: `budget[0] -= 1; if budget[0] < 0: raise _OverBudget`: every comparison
    # is charged, and past the budget the values are unequal (what bounds the host's work)
    xs = list(range(100))
    assert plain_equal(xs, list(xs), budget=[1000])
    assert not plain_equal(xs, list(xs), budget=[10])
    left = [1000]
    plain_equal(xs, list(xs), budget=left)
    assert left[0] <= 1000 - 100, left


def test_a_result_frame_that_is_no_json_object_is_the_candidates_error(verifier):
    # wire.decode_frame: `if type(obj) is not dict: raise WireError`: a JSON array (or
    # string) as a result frame made the host's `msg.get` raise, a verifier error
    task = _io_task("1", task_id="array")
    for body in ("[]", '"x"', "1"):
        frame = repr(len(body).to_bytes(4, "big") + body.encode())
        code = HARNESS + f"def f():\n    os.write(4, {frame})\n    os._exit(0)\n"
        verdict = verifier.verify(task, code)
        assert verdict.outcome is Outcome.ERROR, verdict
        assert "not a JSON object" in verdict.detail, verdict.detail


def test_a_value_over_the_node_cap_is_refused_under_the_token_cap():
    # wire._dec: `caps[0] -= 1; if caps[0] < 0: raise WireError("value has too many
    # elements")`: 250,001 nodes in 500,002 tokens, under MAX_TOKENS (600,000) and MAX_TEXT
    text = "[" + "0," * 250_000 + "]"
    with pytest.raises(WireError, match="too many elements"):
        decode_plain(text)
    assert len(decode_plain("[" + "0," * 150_000 + "]")) == 150_000


def test_the_tolerance_is_not_wider_than_the_task_says(verifier):
    # wire._equal: `return abs(a - b) <= tol` (its bound, exactly)
    task = _io_task("1.0", tol=0.25, task_id="bound")
    assert verifier.verify(task, "def f():\n    return 1.25\n").outcome is Outcome.PASS
    assert verifier.verify(task, "def f():\n    return 1.5\n").outcome is Outcome.FAIL
    assert not plain_equal(1.5, 1.0, tol=0.25) and plain_equal(1.25, 1.0, tol=0.25)


def test_a_dict_missing_some_of_the_expected_keys_is_unequal(verifier):
    # wire._equal: `if a.keys() != b.keys(): return False` (not a subset, either way)
    task = _io_task("{1: 2, 3: 4}", task_id="keys")
    assert verifier.verify(task, "def f():\n    return {1: 2}\n").outcome is Outcome.FAIL
    assert verifier.verify(task, "def f():\n    return {1: 2, 3: 4, 5: 6}\n").outcome is (
        Outcome.FAIL
    )
    assert verifier.verify(task, "def f():\n    return {3: 4, 1: 2}\n").outcome is Outcome.PASS


def test_a_tests_comparison_past_its_own_share_spends_the_verdicts_pool():
    # runner._judge_io: `budget[0] = min(pool, mine[0])`: what a test's comparison spends
    # past its own share comes out of the verdict's pool, which later tests then lack. A
    # greedy set pairing whose partners sit 40 places off spends ~110 units an element,
    # over its share of ~48
    n = 1000
    expected = {(k, 0.5) for k in range(n)}
    got = {(k, 0.5 + 1e-12) for k in range(40, n)} | {(n + 100 + j, 0.0) for j in range(40)}
    test = TestCase("()", encode_plain(expected))
    budget = [COMPARE_BUDGET]
    result = _judge_io(0, test, {"value": encode_plain(got)}, 1e-9, budget)
    assert not result.passed
    assert budget[0] < COMPARE_BUDGET, budget


def test_a_tests_comparison_is_bounded_by_its_share_and_the_pool():
    # runner._judge_io: `mine = [2 * max_tokens + pool]`: a test compares with its own share
    # plus what is left of the verdict's pool, never more. These sets pair only greedily
    # (each partner far from its place in sorted order): with the pool spent, the search is
    # cut (unequal); with it whole, they pair
    n = 300
    expected = {(k * 1e-10, k) for k in range(n)}
    got = {((n - k) * 1e-10, k) for k in range(n)}
    test = TestCase("()", encode_plain(expected))
    frame = {"value": encode_plain(got)}
    assert _judge_io(0, test, frame, 1e-6, [COMPARE_BUDGET]).passed
    assert not _judge_io(0, test, frame, 1e-6, [0]).passed


def test_a_call_the_host_stopped_waiting_for_is_a_timeout_whatever_the_worker_saw():
    # runner._verdict: `or any(r.error == "no result (timeout)" for r in bad)`: the host's
    # deadline can pass before the worker's kill at the wall clock (status.timed_out False)
    task = _io_task("1", task_id="late")
    test = task.private_tests[0]
    lost = TestResult(0, False, test.input, test.output, None, "no result (timeout)")
    status = JobStatus(0, None, False, 3.0, 3.0, 0, "", "", 0, 0)
    verdict = _verdict(
        task, task.private_tests, [lost], {"ready": True}, None, False, status, 3.0, 1
    )
    assert verdict.outcome is Outcome.TIMEOUT, verdict


def test_a_tolerant_set_search_costs_no_more_than_its_budget_buys():
    # wire._sets_close: the greedy scan skipped slots already paired one by one, uncharged:
    # with partners 10 places off (past the near window) each element walked every slot
    # taken before it, O(n^2) on top of the budget (2.2 s here where the budget buys 0.5 s).
    # The search is timed against a list comparison spending the same whole budget
    def cpu(a, b):
        start = time.process_time()
        plain_equal(a, b, tol=1e-9, budget=[COMPARE_BUDGET])
        return time.process_time() - start

    whole_budget = min(
        cpu([(1e-12, k) for k in range(n)], [(0.0, k) for k in range(n)])
        for n in (200_000, 200_000)
    )
    n = 40_000
    expected = {(0.0, k) for k in range(n)}
    got = {(1e-12, k) for k in range(10, n)} | {(2e-12, k) for k in range(10)}
    assert cpu(got, expected) < 2 * whole_budget
    # the same shape small enough for the budget pairs (the search is still a search)
    small = 2000
    assert plain_equal(
        {(1e-12, k) for k in range(10, small)} | {(2e-12, k) for k in range(10)},
        {(0.0, k) for k in range(small)},
        tol=1e-9,
    )
