"""How much the reward server takes in: request-body size, items per request, and a bounded
queue of solutions waiting for the verifier.

- A body over :attr:`ServeLimits.max_body_bytes` is answered 413 before it is parsed (a
  declared ``Content-Length`` over the limit before any of it is read).
- A request with more items than the queue holds can never be admitted: 413, saying the most
  a request may carry (:attr:`ServeLimits.max_batch`).
- Otherwise a request is admitted whole or not at all: when its items would take the queue
  past :attr:`ServeLimits.queue_items`, it gets 503 with ``Retry-After``, the seconds the
  queue now needs to drain at the pace verifications have taken so far. An admitted item
  leaves the queue when its verdict is ready.

Must never: admit part of a request (a trainer cannot use half a batch), or count an item
twice or not at all (the depth returns to 0 when the server is idle).
- Requests being answered at once are bounded (:class:`InFlightLimit`, ``closedloop serve
  --max-connections``): 503 past it. Requests, not connections: uvicorn's
  ``limit_concurrency`` counted open connections, and a client that opened that many and sent
  nothing locked everyone out, token or not.
- The routes that take no body (:data:`BODYLESS_PATHS`) take none: 413 at once (``/health``,
  open without a token, once buffered 32 MiB a connection).

What this does not bound: idle connections, each a descriptor until the client closes it
(uvicorn times out none before a first request: on an untrusted network, put a proxy in
front), or how long one verification runs (the sandbox's wall clock).
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass

from closedloop.serve.auth import ASGIApp, Message, Receive, Scope, Send, send_json

MAX_BATCH = 4096
"""Most items in one request (a GRPO batch is typically 8-1024 completions)."""
BODYLESS_PATHS = frozenset({"/health", "/limits", "/metrics"})
"""Routes that take no request body."""


class InFlightLimit:
    """ASGI middleware: at most ``max_requests`` HTTP requests answered at once; the next
    gets 503 with ``Retry-After: 1`` until one ends. Counts requests, not connections."""

    def __init__(self, app: ASGIApp, max_requests: int):
        self.app, self.max_requests, self.now = app, max_requests, 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") in BODYLESS_PATHS:
            await self.app(scope, receive, send)  # probes stay answered under load
            return
        if self.now >= self.max_requests:
            detail = f"{self.max_requests} requests are being answered: try again"
            await send_json(send, 503, {"detail": detail}, headers=[(b"retry-after", b"1")])
            return
        self.now += 1  # one event loop: no lock needed
        try:
            await self.app(scope, receive, send)
        finally:
            self.now -= 1


@dataclass(frozen=True)
class ServeLimits:
    """The server's limits (``closedloop serve --max-body-mb``, ``--queue``)."""

    max_body_bytes: int = 32 << 20
    """Largest request body in bytes (4,096 completions of 8 KB each fit)."""
    queue_items: int = 2 * MAX_BATCH
    """Most solutions admitted and not yet verified, over all requests."""
    max_requests: int = 1024
    """Most requests answered at once (``--max-connections``; the probes not counted)."""

    def __post_init__(self) -> None:
        for name in ("max_body_bytes", "queue_items", "max_requests"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"ServeLimits.{name} = {value!r}: must be a positive integer")

    @property
    def max_batch(self) -> int:
        """Most items one request may carry: a request larger than the queue never fits."""
        return min(MAX_BATCH, self.queue_items)


class Admission:
    """The bounded queue: solutions admitted and not yet verified. Thread-safe (verdicts
    come back on the verifier's threads)."""

    def __init__(self, capacity: int, slots: int):
        self.capacity = capacity
        self._slots = max(1, slots)
        self._depth = 0
        self._item_s = 0.1  # mean seconds of one verification (a guess until measured)
        self._seen = 0
        self._lock = threading.Lock()

    @property
    def depth(self) -> int:
        """Solutions admitted and not yet verified."""
        return self._depth

    def admit(self, n: int) -> bool:
        """Take ``n`` items in whole, or none when they would pass the capacity."""
        with self._lock:
            if self._depth + n > self.capacity:
                return False
            self._depth += n
            return True

    def release(self, n: int, elapsed_s: float | None = None) -> None:
        """``n`` items are done (a verdict is ready, or the request failed before verifying);
        ``elapsed_s``, one verification's time, updates the drain-time estimate."""
        with self._lock:
            self._depth -= n
            if elapsed_s is not None:  # the plain mean of the first 20, then a moving mean
                self._seen += 1
                self._item_s += max(0.05, 1 / self._seen) * (elapsed_s - self._item_s)

    def retry_after_s(self) -> int:
        """Whole seconds until the queue drains at the measured pace (1 to 120)."""
        with self._lock:
            seconds = self._depth * self._item_s / self._slots
        return min(120, max(1, math.ceil(seconds)))


class BodyLimit:
    """ASGI middleware: a request body over ``max_bytes`` gets 413 before the app parses it."""

    def __init__(self, app: ASGIApp, max_bytes: int):
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = 0 if scope.get("path") in BODYLESS_PATHS else self.max_bytes
        for name, value in scope.get("headers", ()):
            if name == b"content-length" and value.isdigit() and int(value) > limit:
                await self._refuse(send, limit)
                return
        chunks: list[bytes] = []
        size = 0
        while True:  # read it all here (the app would anyway), counting as it comes
            msg = await receive()
            if msg["type"] != "http.request":  # the client went away
                return
            chunk = msg.get("body", b"")
            size += len(chunk)
            if size > limit:
                await self._refuse(send, limit)
                return
            chunks.append(chunk)
            if not msg.get("more_body", False):
                break
        first: Message | None = {"type": "http.request", "body": b"".join(chunks)}

        async def replay() -> Message:
            nonlocal first
            if first is not None:
                msg, first = first, None
                return msg
            return await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, send: Send, limit: int) -> None:
        detail = f"request body over the server's limit of {limit} bytes for this route"
        await send_json(send, 413, {"detail": detail})
