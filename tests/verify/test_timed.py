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
