"""``GET /metrics``: Prometheus text with requests, verdicts by outcome, queue depth and
latency, read with prometheus_client's own parser after real requests."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from closedloop.serve.app import make_app
from closedloop.serve.limits import ServeLimits

from ._http import RIGHT, SORT, WRONG, running


@pytest.fixture(scope="module")
def url(verifier) -> Iterator[str]:
    with running(make_app(verifier, [SORT], limits=ServeLimits(queue_items=64))) as u:
        yield u


def _samples(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    r = httpx.get(url + "/metrics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    out = {}
    for family in text_string_to_metric_families(r.text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def _reward(url: str, *codes: str) -> None:
    items = [{"task_id": "sort", "completion": c} for c in codes]
    assert httpx.post(url + "/reward", json={"items": items}, timeout=60).status_code == 200


def test_every_series_is_there_from_the_start(url: str):
    names = {name for name, _ in _samples(url)}
    assert {
        "closedloop_queue_depth",
        "closedloop_queue_capacity",
        "closedloop_verdicts_total",
    } <= names
    s = _samples(url)
    for outcome in ("pass", "fail", "error", "timeout", "infra_error", "invalid"):
        assert (("closedloop_verdicts_total", (("outcome", outcome),))) in s
    assert s[("closedloop_queue_capacity", ())] == 64


def test_verdicts_are_counted_by_outcome(url: str):
    before = _samples(url)
    _reward(url, RIGHT, WRONG, WRONG)
    after = _samples(url)

    def grew(outcome: str) -> float:
        key = ("closedloop_verdicts_total", (("outcome", outcome),))
        return after[key] - before[key]

    assert (grew("pass"), grew("fail"), grew("error")) == (1, 2, 0)


def test_requests_are_counted_by_route_and_status_and_timed(url: str):
    key = ("closedloop_requests_total", (("route", "/reward"), ("status", "200")))
    hist = ("closedloop_request_seconds_count", (("route", "/reward"),))
    before = _samples(url)
    _reward(url, RIGHT)
    httpx.post(url + "/reward", json={"items": [{"task_id": "nope", "completion": ""}]})
    after = _samples(url)
    assert after[key] - before.get(key, 0) == 1
    bad = ("closedloop_requests_total", (("route", "/reward"), ("status", "422")))
    assert after[bad] - before.get(bad, 0) == 1
    assert after[hist] - before.get(hist, 0) == 2


def test_an_unknown_path_is_counted_as_other_not_as_itself(url: str):
    httpx.get(url + "/random-path-1234")
    labels = {
        dict(lb).get("route")
        for name, lb in _samples(url)
        if name.startswith("closedloop_requests")
    }
    assert "other" in labels and "/random-path-1234" not in labels


def test_the_queue_depth_counts_a_solution_being_verified_and_is_0_when_idle(url: str):
    # only the idle 0 was checked: a gauge fixed at 0 passed every test
    slow = "import time\ndef f(xs):\n    time.sleep(0.3)\n    return sorted(xs)\n"
    th = threading.Thread(target=_reward, args=(url, slow))
    th.start()
    seen, deadline = 0.0, time.monotonic() + 5
    while seen < 1 and time.monotonic() < deadline:
        seen = _samples(url)[("closedloop_queue_depth", ())]
        time.sleep(0.02)
    th.join(timeout=60)
    assert seen == 1
    _reward(url, RIGHT, RIGHT)
    assert _samples(url)[("closedloop_queue_depth", ())] == 0


def test_no_swagger_pages_the_schema_stays(url: str):
    # FastAPI's /docs and /redoc load their scripts from a CDN: a reward server serves programs
    assert httpx.get(url + "/docs").status_code == 404
    assert httpx.get(url + "/redoc").status_code == 404
    schema = httpx.get(url + "/openapi.json")
    assert schema.status_code == 200 and "/reward" in schema.json()["paths"]
