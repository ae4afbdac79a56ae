"""Request bodies are bounded before they are built and parsed off the event loop
(:mod:`closedloop.serve.body`): a body under the size limit stalled the server for 20 s and
took 3.2 GB, and malformed bytes were a 400 naming nothing."""

from __future__ import annotations

import threading
import time

import httpx
import pytest

from closedloop.serve.app import RewardRequest, make_app
from closedloop.serve.body import (
    MAX_CONTAINERS,
    MAX_STRINGS,
    BodyError,
    BodyInvalid,
    parse_body,
    shape_problem,
)
from closedloop.serve.openrlhf import GetRewardRequest

from ._http import SORT, running

JSON = {"content-type": "application/json"}


def _refused(data: bytes, model=RewardRequest) -> BodyError:
    with pytest.raises(BodyError) as e:
        parse_body(data, model)
    return e.value


def test_the_shape_is_counted_outside_strings_and_escapes():
    assert shape_problem(b'{"a": "[[[[{{{{", "b": "\\\\\\"[["}') is None
    many = b"[" + b"[]," * MAX_CONTAINERS + b"[]]"
    assert "arrays and objects" in shape_problem(many)
    strings = b"[" + b'"",' * MAX_STRINGS + b'""]'
    assert "strings" in shape_problem(strings)
    # brackets inside strings never count, however many
    assert shape_problem(b'["' + b"[" * (MAX_CONTAINERS + 1) + b'"]') is None


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b'{"items": [{"task_id": "\xff"}]}', "not UTF-8 text (byte 24)"),
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
        (b'{"items": [' + b"9" * 5000 + b"]}", "not valid JSON (Exceeds the limit"),
        (b'{"items": [', "not valid JSON (Expecting value"),
        (b"[]", "must be a JSON object"),
    ],
)
def test_bytes_that_are_not_a_json_object_say_why(data, words):
    e = _refused(data)
    assert e.status == 422 and words in e.detail and "\n" not in e.detail


def test_unknown_fields_are_named_before_an_error_is_built_for_each():
    # 2.6 M unknown keys in one item made 2.6 M validation errors: 19.7 s and 3.2 GB
    keys = ", ".join(f'"k{i:07d}": 0' for i in range(200_000))
    t0 = time.perf_counter()
    e = _refused(('{"items": [{' + keys + "}]}").encode())
    assert time.perf_counter() - t0 < 2
    assert (
        e.detail.startswith("items[0]: unknown field(s) 'k0000000', ") and "199995 more" in e.detail
    )
    assert "unknown field(s) 'x'" in _refused(b'{"items": [], "x": 1}').detail
    # OpenRLHF's body ignores fields it does not know (another project's contract)
    assert parse_body(b'{"query": [], "prompts": [], "labels": [], "x": 1}', GetRewardRequest)


def test_a_list_longer_than_a_batch_is_a_413_before_its_elements_are_built():
    e = _refused(b'{"items": [' + b"[]," * 5000 + b"[]]}")
    assert e.status == 413 and "split the batch" in e.detail
    e = _refused(b'{"labels": [' + b"[[]]," * 5000 + b"[[]]]}", GetRewardRequest)
    assert e.status == 413 and e.detail.startswith("labels: 5001 entries")


def test_validation_errors_are_the_first_twenty_without_their_input():
    with pytest.raises(BodyInvalid) as e:
        parse_body(b'{"items": [' + b'{"task_id": 1},' * 99 + b'{"task_id": 1}]}', RewardRequest)
    errors = e.value.errors
    assert len(errors) == 20 and all("input" not in err for err in errors)
    assert errors[0]["loc"] == ["body", "items", 0, "task_id"]


def test_a_heavy_body_never_stalls_the_health_probe(verifier):
    # 32 MiB of tiny lists (6.7 M of them: 1.2 GB, /health unanswered for 5 s) is refused
    # from its byte counts; the probe is answered while that happens
    body = b'{"query": [], "prompts": [], "labels": [' + b"[[]]," * 6_000_000 + b"[[]]]}"
    with running(make_app(verifier, [SORT])) as url:
        answer: list[httpx.Response] = []
        th = threading.Thread(
            target=lambda: answer.append(
                httpx.post(url + "/get_reward", content=body, headers=JSON, timeout=60)
            )
        )
        th.start()
        slowest, probes_during = 0.0, 0
        while th.is_alive():
            t0 = time.perf_counter()
            assert httpx.get(url + "/health", timeout=30).status_code == 200
            slowest = max(slowest, time.perf_counter() - t0)
            probes_during += th.is_alive()  # answered while the body was still being read
        th.join()
    assert answer[0].status_code == 413 and "arrays and objects" in answer[0].json()["detail"]
    # with no probe answered during the request, the loop checked nothing
    assert probes_during >= 1 and slowest < 1.0, (probes_during, slowest)


def test_the_body_is_utf8_before_it_is_counted():
    # json.loads takes UTF-16, whose bytes shift the quote pairing: 5.6 M arrays got past
    # a cap of 1 M and cost 370 MB
    data = '{"items": [], "x": "\u2200"}'.encode("utf-16")
    e = _refused(data)
    assert e.status == 422 and e.detail.startswith("body: not UTF-8 text")
    assert parse_body(b'\xef\xbb\xbf{"items": []}', RewardRequest).items == []


def test_numbers_and_keys_are_bounded_and_refusals_are_short():
    floats = b'{"query": [], "prompts": [], "labels": [' + b"1.5," * (1 << 21) + b"1]}"
    e = _refused(floats, GetRewardRequest)
    assert e.status == 413 and "values and keys" in e.detail
    long_key = b'{"items": [], "' + b"k" * 1_000_000 + b'": 1}'
    assert len(_refused(long_key).detail) < 200
    unknown = b'{"items": [{"task_id": 1, "' + b"c" * 100_000 + b'": 2}]}'
    assert len(_refused(unknown).detail) < 200


def test_only_json_is_taken_so_a_web_page_cannot_post_code(verifier):
    # a browser sends a cross-origin POST without a preflight only as text/plain, a form or
    # no type: to a server without a token on loopback, a page's code ran in the sandbox
    body = b'{"items": [{"task_id": "sort", "completion": "def f(xs): return sorted(xs)"}]}'
    with running(make_app(verifier, [SORT])) as url:
        for kind in ("text/plain", "application/x-www-form-urlencoded", None):
            headers = {"content-type": kind} if kind else {}
            r = httpx.post(url + "/reward", content=body, headers=headers)
            assert r.status_code == 415, (kind, r.status_code)
        r = httpx.post(url + "/reward", content=body, headers=JSON)
        assert r.status_code == 200 and r.json()["rewards"] == [1.0]
