"""Tasks sent inline, over real HTTP on loopback: one id names one task in a request (on the
server, and in the clients that send tasks), parsing them does not hold up the event loop, and
text no UTF-8 can carry (a lone surrogate) is a clean answer, never a 500."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from closedloop.serve import verl
from closedloop.serve.app import make_app
from closedloop.serve.scoring import Scorer

from ._http import SORT, running

# two datasets' "q1": different tasks under one id
DOUBLE = {"id": "q1", "entry_point": "f", "private_tests": [{"input": "(3,)", "output": "6"}]}
SQUARE = {"id": "q1", "entry_point": "f", "private_tests": [{"input": "(3,)", "output": "9"}]}
TIMES_2 = "```python\ndef f(x):\n    return x * 2\n```"
SQUARED = "```python\ndef f(x):\n    return x * x\n```"


@pytest.fixture(scope="module")
def url(verifier) -> Iterator[str]:
    with running(make_app(verifier, [SORT])) as u:
        yield u


def _post(url: str, route: str, body: dict | bytes) -> httpx.Response:
    if isinstance(body, bytes):
        return httpx.post(
            url + route, content=body, headers={"content-type": "application/json"}, timeout=60
        )
    return httpx.post(url + route, json=body, timeout=60)


def test_the_server_refuses_two_tasks_under_one_id(url: str):
    sols = [{"task_id": "q1", "solution": "def f(x):\n    return x * x\n"}]
    r = _post(url, "/verify", {"tasks": [DOUBLE, SQUARE], "solutions": sols})
    assert r.status_code == 422, r.text
    assert r.json()["detail"] == (
        "tasks[1]: id 'q1' is also the id of tasks[0], a different task; give each task its own id"
    )
    r = _post(url, "/reward", {"tasks": [SQUARE, DOUBLE], "items": []})
    assert r.status_code == 422 and "'q1'" in r.json()["detail"]
    # the same task twice is one task
    r = _post(url, "/verify", {"tasks": [SQUARE, dict(SQUARE)], "solutions": sols})
    assert r.status_code == 200 and r.json()["verdicts"][0]["outcome"] == "pass"
    # a held task's id is not for inline tasks, even with the held task's own content: an
    # answer that told "same" from "different" would confirm a guess of its private tests
    r = _post(url, "/verify", {"tasks": [SORT.to_json()], "solutions": []})
    assert r.status_code == 422 and "'sort' is a task the server holds" in r.json()["detail"]


def test_a_scorer_scores_each_completion_on_its_own_task_when_ids_collide(url: str):
    wrong_for_each = [SQUARED, TIMES_2]  # squares for DOUBLE, doubles for SQUARE
    with Scorer(url=url) as scorer:
        wrong = scorer.score_many([DOUBLE, SQUARE], wrong_for_each)
        right = scorer.score_many([json.dumps(DOUBLE), json.dumps(SQUARE)], [TIMES_2, SQUARED])
    assert [(s.task_id, s.reward) for s in wrong] == [("q1", 0.0), ("q1", 0.0)]
    assert [(s.task_id, s.reward) for s in right] == [("q1", 1.0), ("q1", 1.0)]
    # veRL's batch entry point, ground truths as JSON strings as veRL advises
    try:
        got = verl.compute_score_batch(
            ["x", "x"], wrong_for_each, [json.dumps(DOUBLE), json.dumps(SQUARE)], url=url
        )
    finally:
        verl.close()
    assert [g["score"] for g in got] == [0.0, 0.0]


def test_a_bare_id_names_the_servers_task_even_beside_an_inline_one_of_that_id(url: str):
    weak = {
        "id": "sort",
        "entry_point": "f",
        "private_tests": [{"input": "([1],)", "output": "[1]"}],
    }
    identity = "def f(xs):\n    return xs\n"
    with Scorer(url=url) as scorer:
        inline, held = scorer.score_many([weak, "sort"], [identity, identity])
    assert (inline.task_id, inline.reward) == ("sort", 1.0)  # right for the weak task
    assert (held.task_id, held.reward) == ("sort", 0.0)  # scored on the server's own tests


def test_a_task_sent_whole_with_the_id_of_a_held_one_is_scored_not_refused(url: str):
    # the veRL and verifiers examples send each task whole as ground truth; against a server
    # started with --tasks holding those tasks, every request was a 422 ("a task the server
    # holds"): a traceback from veRL, and all-zero rewards from verifiers
    whole = SORT.to_json()
    right, wrong = "def f(xs):\n    return sorted(xs)\n", "def f(xs):\n    return xs\n"
    with Scorer(url=url) as scorer:
        got = scorer.score_many([whole, whole], [right, wrong])
    assert [(s.task_id, s.reward) for s in got] == [("sort", 1.0), ("sort", 0.0)]


def test_a_scorer_refuses_two_tasks_given_under_one_id():
    from closedloop.tasks.format import parse_task

    with pytest.raises(ValueError, match="two different tasks share the id 'q1'"):
        Scorer(url="http://127.0.0.1:1", tasks=[parse_task(DOUBLE), parse_task(SQUARE)])


def test_health_answers_while_a_heavy_inline_task_is_parsed(url: str):
    # 40,000 tests, 2 MB: parsing them (a literal_eval each) takes the server a second or more
    tests = [{"input": "([1, 2, 3],)", "output": "[1, 2, 3]"}] * 40_000
    body = {"tasks": [{"id": "big", "entry_point": "f", "private_tests": tests}], "items": []}
    heavy: list[float] = []

    def send() -> None:
        t0 = time.perf_counter()
        r = _post(url, "/reward", body)
        heavy.append(time.perf_counter() - t0)
        assert r.status_code == 200, r.text

    th = threading.Thread(target=send)
    th.start()
    probes = []
    with httpx.Client(timeout=60) as client:
        while th.is_alive():
            t0 = time.perf_counter()
            assert client.get(url + "/health").status_code == 200
            probes.append(time.perf_counter() - t0)
            time.sleep(0.02)
    th.join()
    said = f"heavy request {heavy[0]:.2f} s, {len(probes)} probes, slowest {max(probes):.3f} s"
    # Blocked, a probe waits out the parse (0.88 s of a 1.06 s request on the old code); off
    # the loop, the slowest waits only for a GIL switch, which a loaded CI machine stretched
    # to 0.73 s of a 2.06 s request once: half the request separates the two.
    assert max(probes) < heavy[0] / 2, said
    assert len(probes) >= 5, said


def test_a_lone_surrogate_is_a_clean_answer_never_a_500(url: str):
    task = {"id": "a", "kind": "answer", "instruction": "6 * 7?", "answer": "42"}
    tasks = json.dumps([task])
    # an answer with a lone surrogate (valid JSON): its verdict echoes it, made safe
    body = (
        b'{"solutions": [{"task_id": "a", "solution": "4\\ud8002"}], "tasks": '
        + tasks.encode()
        + b"}"
    )
    r = _post(url, "/verify", body)
    assert r.status_code == 200, r.text
    (v,) = r.json()["verdicts"]
    assert v["outcome"] == "fail" and v["tests"][0]["got"] == "4\ufffd2"
    # a malformed body that quotes one back: a 422
    r = _post(url, "/reward", b'{"items": [{"task_id": "\\ud800"}]}')
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == [
        "body",
        "items",
        0,
        "completion",
    ]
    r = _post(url, "/reward", b'{"items": NaN}')  # valid to Python's json, echoed: no JSON
    assert r.status_code == 422, r.text
    # an inline task with one (in its instruction; it has no id, so its content names it)
    bad = b'{"entry_point": "f", "instruction": "\\ud800", "private_tests": [{"input": "(1,)", "output": "1"}]}'
    r = _post(url, "/reward", b'{"items": [], "tasks": [' + bad + b"]}")
    assert r.status_code in (200, 422), r.text
