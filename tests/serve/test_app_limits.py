"""The server's limits over real HTTP: body size (413), batch size (413), the bounded queue
(503 with Retry-After), and nothing lost or counted twice under concurrent requests."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from closedloop.serve.app import make_app
from closedloop.serve.limits import ServeLimits

from ._http import RIGHT, SORT, WRONG, running

SLOW = "import time\ndef f(xs):\n    time.sleep(0.5)\n    return sorted(xs)\n"
LIMITS = ServeLimits(max_body_bytes=20_000, queue_items=2)


@pytest.fixture(scope="module")
def served(verifier) -> Iterator[tuple[str, object]]:
    app = make_app(verifier, [SORT], limits=LIMITS)
    with running(app) as url:
        yield url, app


def _items(*codes: str) -> dict:
    return {"solutions": [{"task_id": "sort", "solution": c} for c in codes]}


def test_limits_route_says_what_a_client_must_split_to(served):
    url, _ = served
    assert httpx.get(url + "/limits").json() == {
        "max_batch": 2,
        "max_body_bytes": 20_000,
        "queue_items": 2,
    }


def test_a_body_declared_over_the_limit_is_413(served):
    url, _ = served
    r = httpx.post(url + "/verify", json=_items(RIGHT + "#" * 30_000))
    assert r.status_code == 413 and "20000 bytes" in r.json()["detail"]


def test_a_streamed_body_over_the_limit_is_413(served):
    url, _ = served

    def chunks() -> Iterator[bytes]:  # no Content-Length: chunked transfer
        yield b'{"solutions": [{"task_id": "sort", "solution": "'
        for _ in range(30):
            yield b"#" * 1000
        yield b'"}]}'

    r = httpx.post(url + "/verify", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413


def test_a_batch_larger_than_the_queue_is_413_naming_the_most(served):
    url, _ = served
    r = httpx.post(url + "/verify", json=_items(RIGHT, RIGHT, RIGHT))
    assert r.status_code == 413 and "at most 2" in r.json()["detail"]


def test_a_full_queue_answers_503_with_retry_after_then_admits_once_drained(served):
    url, app = served
    first: list[httpx.Response] = []
    th = threading.Thread(
        target=lambda: first.append(httpx.post(url + "/verify", json=_items(SLOW, SLOW)))
    )
    th.start()
    deadline = time.monotonic() + 10
    while app.state.admission.depth < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    r = httpx.post(url + "/verify", json=_items(RIGHT))
    assert r.status_code == 503 and int(r.headers["retry-after"]) >= 1
    assert "queue is full" in r.json()["detail"]
    th.join(timeout=30)
    assert [v["outcome"] for v in first[0].json()["verdicts"]] == ["pass", "pass"]
    assert httpx.post(url + "/verify", json=_items(RIGHT)).status_code == 200


def test_concurrent_requests_lose_and_repeat_nothing(verifier):
    # a queue that fits every request: 40 requests of 2 in flight at once, each verdict back
    # on its own request, in order, and the queue empty afterwards
    app = make_app(verifier, [SORT], limits=ServeLimits(queue_items=80))
    codes = [(RIGHT, WRONG) if i % 2 else (WRONG, RIGHT) for i in range(40)]
    with running(app) as url, httpx.Client(timeout=60) as client:

        def post(pair: tuple[str, str]) -> list[str]:
            r = client.post(url + "/verify", json=_items(*pair))
            r.raise_for_status()
            return [v["outcome"] for v in r.json()["verdicts"]]

        with ThreadPoolExecutor(20) as ex:
            got = list(ex.map(post, codes))
    want = [["pass", "fail"] if p[0] == RIGHT else ["fail", "pass"] for p in codes]
    assert got == want
    assert app.state.admission.depth == 0


def test_a_malformed_list_costs_a_bounded_answer(verifier):
    # a million wrong items made a million errors: 94 MB of 422 and 22 s from a 2 MB body.
    # Longer than any batch, a list is refused before an element is built (413: split it);
    # within one, its wrong elements are a 422 listing the first few
    long = b'{"items": [], "tasks": [' + b"1," * 500_000 + b"1]}"
    wrong = b'{"items": [' + b"1," * 4095 + b'1], "tasks": []}'
    with running(make_app(verifier, [SORT])) as url:
        for body, status in ((long, 413), (wrong, 422)):
            t0 = time.monotonic()
            r = httpx.post(
                url + "/reward",
                content=body,
                headers={"content-type": "application/json"},
                timeout=60,
            )
            assert r.status_code == status and len(r.content) < 20_000, (
                r.status_code,
                len(r.content),
            )
            assert time.monotonic() - t0 < 5
        r_long = httpx.post(
            url + "/reward", content=long, headers={"content-type": "application/json"}
        )
        assert "split the batch" in r_long.json()["detail"]
        assert len(r.json()["detail"]) == 20


def test_a_route_that_takes_no_body_refuses_one_at_once(served):
    # /health is open without a token, and a 31 MiB body was buffered before the 405
    url, _ = served
    r = httpx.post(url + "/health", content=b"x" * 4096, timeout=30)
    assert r.status_code == 413
    assert httpx.get(url + "/health", timeout=30).status_code == 200


def test_idle_connections_do_not_count_against_requests(verifier):
    # uvicorn's limit_concurrency counted open connections: as many idle sockets as it
    # allowed, sending nothing, locked every client out
    import socket

    with running(make_app(verifier, [SORT], limits=ServeLimits(max_requests=4))) as url:
        host, port = url.removeprefix("http://").split(":")
        idle = [socket.create_connection((host, int(port))) for _ in range(8)]
        try:
            r = httpx.post(url + "/verify", json=_items(RIGHT), timeout=60)
            assert r.status_code == 200 and r.json()["verdicts"][0]["outcome"] == "pass", r.text
        finally:
            for s in idle:
                s.close()
