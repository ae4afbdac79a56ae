"""The profile's verifier time counts overlapping calls (hindsight runs them in threads) once."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

from closedloop.verify.timed import TimedVerifier


class _Slow:
    def call(self, *_: object) -> str:
        time.sleep(0.3)
        return "done"


def test_concurrent_calls_count_their_wall_time_once():
    timed = TimedVerifier(_Slow())
    with ThreadPoolExecutor(3) as ex:
        assert list(ex.map(lambda _: timed.call(), range(3))) == ["done"] * 3
    assert 0.29 <= timed.seconds < 0.55  # summed per call it would be ~0.9 s
    timed.call()
    assert 0.58 <= timed.seconds < 0.9


def test_call_many_is_timed_too():
    class _SlowMany:
        def call_many(self, jobs: list[object]) -> list[str]:
            time.sleep(0.3)
            return ["done"] * len(jobs)

    timed = TimedVerifier(_SlowMany())
    assert timed.call_many([1, 2]) == ["done", "done"]
    assert 0.29 <= timed.seconds < 0.55


class _SlowStream:
    def iter_verify(self, items: list[object]):
        for item in items:
            time.sleep(0.1)
            yield item


def test_iter_verify_is_timed_until_the_stream_ends():
    timed = TimedVerifier(_SlowStream())
    stream = timed.iter_verify([1, 2, 3])
    assert timed.seconds == 0.0  # nothing runs before the first verdict is asked for
    assert list(stream) == [1, 2, 3]
    assert 0.29 <= timed.seconds < 0.55


def test_iter_verify_closed_early_stops_its_clock():
    # the loop may stop reading a stream: its clock must stop too, or later calls miscount
    timed = TimedVerifier(_SlowStream())
    stream = timed.iter_verify([1, 2, 3])
    assert next(stream) == 1
    stream.close()
    assert 0.09 <= timed.seconds < 0.3
    time.sleep(0.2)  # idle: not counted
    assert list(timed.iter_verify([4])) == [4]
    assert 0.19 <= timed.seconds < 0.4
