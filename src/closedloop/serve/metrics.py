"""The reward server's ``GET /metrics``, in Prometheus' text format (prometheus_client).

Series (one registry per app, so two servers in one process never mix their counts):

- ``closedloop_requests_total{route, status}``: HTTP requests answered (401, 413 and 503
  included); ``route`` is one of the server's paths or ``other``.
- ``closedloop_request_seconds{route}``: a histogram of the time from a request's arrival to
  the end of its answer.
- ``closedloop_verdicts_total{outcome}``: verdicts returned, by outcome (every outcome is
  present from the start, at 0).
- ``closedloop_queue_depth`` / ``closedloop_queue_capacity``: solutions admitted and not yet
  verified, and the most the queue admits.

Must never: take a label value from the request other than a known route (a client sending
random paths must not grow the series without bound), or count a request twice.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

from closedloop.serve.auth import ASGIApp, Message, Receive, Scope, Send
from closedloop.serve.limits import Admission
from closedloop.verify import Outcome

LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)
"""Seconds: from a health probe (milliseconds) to a full batch on a busy pool (minutes)."""

OTHER_ROUTE = "other"


class ServerMetrics:
    """The counters one app keeps, and their text form."""

    def __init__(self, admission: Admission, routes: Iterable[str]):
        self.routes = frozenset(routes)
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "closedloop_requests",
            "HTTP requests answered, by route and status code.",
            ["route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "closedloop_request_seconds",
            "Seconds from a request's arrival to the end of its answer.",
            ["route"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.verdicts = Counter(
            "closedloop_verdicts",
            "Verdicts returned, by outcome.",
            ["outcome"],
            registry=self.registry,
        )
        for outcome in Outcome:
            self.verdicts.labels(outcome=str(outcome))
        depth = Gauge(
            "closedloop_queue_depth",
            "Solutions admitted and not yet verified.",
            registry=self.registry,
        )
        depth.set_function(lambda: admission.depth)
        capacity = Gauge(
            "closedloop_queue_capacity",
            "Most solutions the queue admits at once.",
            registry=self.registry,
        )
        capacity.set(admission.capacity)

    def verdict(self, outcome: Outcome) -> None:
        """Count one verdict returned (called from the verifier's threads)."""
        self.verdicts.labels(outcome=str(outcome)).inc()

    def route(self, path: str) -> str:
        """The label for ``path``: itself when it is one of the server's routes."""
        return path if path in self.routes else OTHER_ROUTE

    def render(self) -> tuple[bytes, str]:
        """The exposition text and its content type."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


class MetricsMiddleware:
    """ASGI middleware: times and counts every HTTP request by route and status. Outermost,
    so that the answers of the auth and size checks are counted too."""

    def __init__(self, app: ASGIApp, metrics: ServerMetrics):
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500  # an exception with no answer sent counts as a server error

        async def send_counting(msg: Message) -> None:
            nonlocal status
            if msg["type"] == "http.response.start":
                status = int(msg["status"])
            await send(msg)

        try:
            await self.app(scope, receive, send_counting)
        finally:
            route = self.metrics.route(scope["path"])
            self.metrics.requests.labels(route=route, status=str(status)).inc()
            self.metrics.latency.labels(route=route).observe(time.perf_counter() - start)
