"""A held task's private tests never leave the server (``closedloop serve --tasks``): not in
``/verify``'s verdicts, not in a Scorer's ``Score.detail``, not in ``/get_reward``'s refusals;
whatever the split, and whatever the candidate prints, returns or raises. Public tests, and
tasks the caller sent inline, keep their feedback. Over real HTTP on loopback."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import httpx
import pytest

from closedloop.serve.app import make_app
from closedloop.serve.scoring import Scorer
from closedloop.tasks.format import parse_task

from ._http import RIGHT, SORT, WRONG, running

# what SORT's private tests hold, as the candidate or the verifier would write it
SECRETS = ("[5, 4]", "[4, 5]", "[2, 2, -1]", "[-1, 2, 2]", "5, 4", "2, 2, -1")
ANSWER = parse_task({"id": "ans", "kind": "answer", "instruction": "6 * 702?", "answer": "4212"})
CHECKED = parse_task(
    {
        "id": "square",
        "entry_point": "f",
        "instruction": "Square it.",
        "checker": "def check(candidate):\n    assert candidate(7) == 49, 'secret-7-49'\n",
    }
)
BROKEN = parse_task(
    {
        "id": "broken",
        "entry_point": "f",
        "instruction": "x",
        "checker": "raise RuntimeError('secret-of-broken')\ndef check(candidate):\n    pass\n",
    }
)
# the caller's own code, leaking every input it gets by each way it has
LEAKY = (
    "import sys\n"
    "def f(xs):\n"
    "    print('in', xs)\n"
    "    print('in', xs, file=sys.stderr)\n"
    "    if len(xs) == 2:\n"
    "        raise ValueError(repr(xs))\n"
    "    return xs\n"
)


@pytest.fixture(scope="module")
def url(verifier) -> Iterator[str]:
    with running(make_app(verifier, [SORT, ANSWER, CHECKED, BROKEN])) as u:
        yield u


def _verify(url: str, task_id: str, solution: str, split: str = "private", **extra) -> dict:
    body = {"solutions": [{"task_id": task_id, "solution": solution}], "split": split, **extra}
    r = httpx.post(url + "/verify", json=body, timeout=60)
    assert r.status_code == 200, r.text
    (v,) = r.json()["verdicts"]
    return v


def _no_secret(text: str) -> None:
    for s in SECRETS:
        assert s not in text, f"{s!r} left the server: {text}"


@pytest.mark.parametrize("solution", [WRONG, LEAKY], ids=["wrong", "leaky"])
def test_private_tests_of_a_held_task_are_not_in_the_verdict(url: str, solution: str):
    v = _verify(url, "sort", solution)
    _no_secret(str(v))
    assert v["outcome"] in ("fail", "error") and (v["passed"], v["total"]) == (0, 2)
    assert v["tests"] == [{"index": 0, "passed": False}, {"index": 1, "passed": False}]
    assert v["detail"] in ("test 0 (private): wrong result", "test 0 (private): error")
    assert "stdout" not in v and "stderr" not in v


def test_split_all_keeps_the_public_tests_feedback_only(url: str):
    v = _verify(url, "sort", LEAKY, split="all")
    _no_secret(str(v))
    public, *private = v["tests"]
    assert public == {
        "index": 0,
        "passed": False,
        "input": "([3, 1, 2],)",
        "expected": "[1, 2, 3]",
        "got": "[3, 1, 2]",
    }
    assert private == [{"index": 1, "passed": False}, {"index": 2, "passed": False}]
    assert v["detail"] == "test 1 (private): error"  # its exception quoted [5, 4]
    v = _verify(url, "sort", WRONG, split="all")  # a wrong public result is named in full
    assert v["detail"] == "test 0: input ([3, 1, 2],) expected [1, 2, 3] got [3, 1, 2]"
    # the public split ran no private test: all of it is the solver's feedback
    v = _verify(url, "sort", LEAKY, split="public")
    assert v["tests"][0]["expected"] == "[1, 2, 3]" and "in [3, 1, 2]" in v["stdout"]
    assert _verify(url, "sort", RIGHT)["outcome"] == "pass"


def test_a_held_answer_tasks_gold_answer_is_not_shown(url: str):
    v = _verify(url, "ans", "4000")
    assert v["outcome"] == "fail" and "4212" not in str(v)
    assert v["tests"] == [{"index": 0, "passed": False, "got": "4000"}]
    assert _verify(url, "ans", "4212")["outcome"] == "pass"


def test_a_held_checkers_words_are_not_shown(url: str, caplog):
    v = _verify(url, "square", "def f(x):\n    return x\n")
    assert v["outcome"] == "fail" and "secret" not in str(v)
    assert v["detail"] == "the task's checker (private): failed"
    # a held task that cannot be verified: the why goes to the server's log, not the caller
    with caplog.at_level(logging.WARNING, logger="closedloop.serve"):
        v = _verify(url, "broken", "def f():\n    return 1\n")
    assert v["outcome"] == "invalid" and "secret" not in str(v)
    assert any("secret-of-broken" in r.getMessage() for r in caplog.records)
    prompt = "Write f.\n"
    r = httpx.post(
        url + "/get_reward",
        json={
            "query": [prompt + "def f():\n    return 1\n"],
            "prompts": [prompt],
            "labels": ["broken"],
        },
        timeout=60,
    )
    assert r.status_code == 422 and "secret" not in r.text
    assert r.json()["detail"].startswith("labels[0]: task 'broken' cannot be verified")


def test_a_scorers_detail_holds_no_private_test(url: str):
    with Scorer(url=url) as scorer:
        wrong, leaky = scorer.score_many(["sort", "sort"], [WRONG, LEAKY])
    for s in (wrong, leaky):
        _no_secret(s.detail)
        assert s.reward == 0.0 and s.detail.startswith("test 0 (private)")


def test_an_inline_task_is_the_callers_and_is_shown_whole(url: str):
    task = {**SORT.to_json(), "id": "my-sort"}
    v = _verify(url, "my-sort", LEAKY, tasks=[task])
    assert v["tests"][0]["input"] == "([5, 4],)" and v["tests"][0]["expected"] == "[4, 5]"
    assert "in [5, 4]" in v["stdout"]


def test_refusal_counts_and_exit_codes_carry_no_private_input(url: str):
    # a candidate made as many denied calls as a private argument's value, or exited with it
    # as its code, and read it back from the verdict's refusals or detail one query at a time
    counting = (
        "import socket\ndef f(xs):\n"
        "    for _ in range(sum(xs) + 100):\n"
        "        try:\n            socket.socket()\n        except OSError:\n            pass\n"
        "    return xs\n"
    )
    v = _verify(url, "sort", counting)
    assert "refusals" not in v or not v["refusals"].get("denied"), v
    # the same code on the caller's own copy of the task is counted: the calls were refused,
    # and only the held task's verdict leaves the count out
    mine = _verify(url, "my-sort", counting, tasks=[{**SORT.to_json(), "id": "my-sort"}])
    assert mine["refusals"]["denied"]["socket"] >= 100, mine
    exiting = "import os\ndef f(xs):\n    os._exit(sum(xs) % 250 + 3)\n"
    v = _verify(url, "sort", exiting)
    assert not any(ch.isdigit() for ch in v["detail"].replace("test 0", "")), v["detail"]


def test_a_held_tasks_time_is_not_shown_when_its_private_tests_ran(url: str):
    # a candidate that slept 0.1 s per unit of a private input's first value read it back
    # from elapsed_s (0.505: the 5 of [5, 4]) in one query
    sleeping = "import time\ndef f(xs):\n    time.sleep(0.1 * xs[0])\n    return sorted(xs)\n"
    for split in ("private", "all"):
        assert "elapsed_s" not in _verify(url, "sort", sleeping, split=split)
    assert "elapsed_s" in _verify(url, "sort", RIGHT, split="public")
    task = {**SORT.to_json(), "id": "my-sort"}  # the caller's own task: its tests are its own
    assert "elapsed_s" in _verify(url, "my-sort", RIGHT, tasks=[task])


def test_a_held_private_run_does_not_pace_retry_after(verifier):
    # Retry-After is the queue's depth times the measured time an item: a candidate that
    # slept in proportion to a private input read it back, multiplied, from a 503
    sleeping = "import time\ndef f(xs):\n    time.sleep(0.1 * xs[0])\n    return sorted(xs)\n"
    app = make_app(verifier, [SORT])
    admission = app.state.admission
    before = admission._item_s
    with running(app) as u:
        _verify(u, "sort", sleeping)
        assert admission._item_s == before  # the private run's 0.5 s left no trace
        task = {**SORT.to_json(), "id": "my-sort"}  # the caller's own task paces it
        _verify(u, "my-sort", sleeping, tasks=[task])
    assert admission._item_s != before
