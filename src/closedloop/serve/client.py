"""The HTTP client of ``closedloop serve`` that the trainer adapters share.

Owns: splitting a batch past the server's cap (and halving a chunk the server refuses as too
large, 413), retrying with bounded exponential back-off while the server is down or busy
(connection refused or dropped, 502/503/504; a ``Retry-After`` is honoured up to the cap), the
bearer token, and one error at the end that names the server, the attempts and the last cause.

Must never: judge anything (the server does), turn a missing verdict into a reward, retry a
request the server refused as wrong (4xx other than 413: the same request would be refused
again), or retry a request that timed out while the server was working on it (that would
send the same work twice to a busy server).
"""

from __future__ import annotations

import os
import random
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from closedloop.serve.app import MAX_BATCH

TOKEN_ENV = "CLOSEDLOOP_SERVE_TOKEN"
"""The environment variable a client reads its bearer token from when none is given."""

_RETRY_STATUS = frozenset({502, 503, 504})
_DOWN = (
    httpx.ConnectError,  # nothing listens (yet)
    httpx.ConnectTimeout,
    httpx.RemoteProtocolError,  # the server closed the connection without an answer
    httpx.ReadError,  # the connection dropped: the server died mid-request
    httpx.WriteError,
)
"""Transport errors that mean the server is down or restarting (not slow: a ReadTimeout is not
here)."""
_TOO_LARGE = 413


class RewardServerError(RuntimeError):
    """The server answered, and refused the request (a 4xx, or a 5xx it gave up on)."""


class RewardServerUnavailable(RewardServerError):
    """No answer from the server within the retry budget."""


@dataclass(frozen=True)
class RetryPolicy:
    """How long a client keeps trying a server that is down or busy.

    Delays double from ``first_delay_s`` up to ``max_delay_s`` (with +-25% jitter, so many
    trainer processes do not retry in step); the client gives up after ``attempts`` tries or
    once ``deadline_s`` has passed since the first, whichever comes first."""

    attempts: int = 8
    """Tries in all, the first included (1 = never retry)."""
    first_delay_s: float = 0.5
    """The wait before the second try."""
    max_delay_s: float = 8.0
    """The longest wait between two tries (a larger ``Retry-After`` is cut to it)."""
    deadline_s: float = 60.0
    """No try starts later than this after the first."""

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError(f"RetryPolicy.attempts={self.attempts}: must be at least 1")
        for name in ("first_delay_s", "max_delay_s", "deadline_s"):
            if getattr(self, name) < 0:
                raise ValueError(f"RetryPolicy.{name}={getattr(self, name)}: must be >= 0")

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """The wait after failed try number ``attempt`` (1-based)."""
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_delay_s)
        base = min(self.first_delay_s * 2 ** (attempt - 1), self.max_delay_s)
        return base * random.uniform(0.75, 1.25)


def _retry_after(r: httpx.Response) -> float | None:
    try:
        return float(r.headers["retry-after"])
    except (KeyError, ValueError):
        return None


class ServerClient:
    """One ``closedloop serve`` server: batched, retried POSTs. Thread-safe; close it (or use
    it as a context manager) to close its connections."""

    def __init__(
        self,
        url: str,
        token: str | None = None,
        timeout_s: float = 600.0,
        max_batch: int = MAX_BATCH,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ):
        if max_batch < 1:
            raise ValueError(f"max_batch={max_batch}: must be at least 1")
        self.url = url.rstrip("/")
        self.max_batch = max_batch
        self.retry = retry or RetryPolicy()
        self._sleep = sleep
        token = token if token is not None else os.environ.get(TOKEN_ENV)
        headers = {"authorization": f"Bearer {token}"} if token else {}
        # connect quickly (a refused or silent port is the "down" case, retried); read slowly
        # (a big batch takes the server a while)
        self._http = httpx.Client(
            headers=headers, timeout=httpx.Timeout(timeout_s, connect=min(timeout_s, 5.0))
        )
        self._lock = threading.Lock()
        self.retries = 0
        """Tries that failed and were retried, over the client's life (for logs and tests)."""

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> ServerClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def post(self, route: str, body: Mapping[str, Any]) -> httpx.Response:
        """POST once, retrying while the server is down or busy; returns the final response
        (any status but 502/503/504). Raises :class:`RewardServerUnavailable` at the end."""
        where = self.url + route
        start = time.monotonic()
        last = ""
        for attempt in range(1, self.retry.attempts + 1):
            retry_after = None
            try:
                r = self._http.post(where, json=body)
            except _DOWN as e:
                last = f"{type(e).__name__}: {e}"
            else:
                if r.status_code not in _RETRY_STATUS:
                    return r
                last = f"HTTP {r.status_code} {r.text[:200]}"
                retry_after = _retry_after(r)
            elapsed = time.monotonic() - start
            wait = self.retry.delay(attempt, retry_after)
            if attempt == self.retry.attempts or elapsed + wait > self.retry.deadline_s:
                break
            with self._lock:
                self.retries += 1
            self._sleep(wait)
        raise RewardServerUnavailable(
            f"reward server {where}: no answer after {attempt} attempt(s) over "
            f"{time.monotonic() - start:.1f} s (last: {last}); is `closedloop serve` running "
            "there? (RetryPolicy sets how long to wait)"
        )

    def post_batched(
        self,
        route: str,
        key: str,
        items: Sequence[dict[str, Any]],
        tasks_for: Callable[[Sequence[dict[str, Any]]], list[dict[str, Any]]],
        answer_key: str,
        extra: Mapping[str, Any] | None = None,
    ) -> list[Any]:
        """POST ``items`` under ``key`` in chunks of at most ``max_batch`` (halving a chunk the
        server calls too large), each with the inline tasks ``tasks_for(chunk)``; returns the
        answers' ``answer_key`` lists joined in input order."""
        out: list[Any] = []
        for lo in range(0, len(items), self.max_batch):
            out.extend(
                self._chunk(
                    route, key, items[lo : lo + self.max_batch], tasks_for, answer_key, extra
                )
            )
        return out

    def _chunk(
        self,
        route: str,
        key: str,
        chunk: Sequence[dict[str, Any]],
        tasks_for: Callable[[Sequence[dict[str, Any]]], list[dict[str, Any]]],
        answer_key: str,
        extra: Mapping[str, Any] | None,
    ) -> list[Any]:
        body: dict[str, Any] = {key: list(chunk), **(extra or {})}
        tasks = tasks_for(chunk)
        if tasks:
            body["tasks"] = tasks
        r = self.post(route, body)
        if r.status_code == _TOO_LARGE and len(chunk) > 1:
            half = len(chunk) // 2
            return self._chunk(
                route, key, chunk[:half], tasks_for, answer_key, extra
            ) + self._chunk(route, key, chunk[half:], tasks_for, answer_key, extra)
        if r.status_code != 200:
            hint = " (set CLOSEDLOOP_SERVE_TOKEN or token=)" if r.status_code in (401, 403) else ""
            raise RewardServerError(
                f"reward server {self.url}{route}: HTTP {r.status_code} {r.text[:300]}{hint}"
            )
        answers = r.json()[answer_key]
        if len(answers) != len(chunk):
            raise RewardServerError(
                f"reward server {self.url}{route}: {len(answers)} answers for {len(chunk)} items"
            )
        return answers
