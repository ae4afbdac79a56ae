"""Fixtures for sandbox tests: a worker and a way to run one snippet in one job."""

from __future__ import annotations

from typing import Any

from closedloop.sandbox import JobStatus, Worker
from closedloop.sandbox.wire import decode_plain


def run_job(
    worker: Worker, code: str, args: str = "()"
) -> tuple[dict[str, Any] | None, Any, JobStatus]:
    """Load ``code`` as a candidate and call its ``f`` once.

    Returns (the result frame or the load frame when loading failed, the decoded value or
    None, the job status)."""
    ch = worker.begin("candidate")
    value = None
    try:
        ch.send({"code": code, "entry": "f"})
        ch.recv_lock_down()
        frame = ch.recv()
        if frame is not None and "ready" in frame:
            ch.send({"i": 0, "args": args})
            frame = ch.recv()
            if frame is not None and "value" in frame:
                value = decode_plain(frame["value"])
    finally:
        status = worker.end(ch)
    return frame, value, status


import pytest  # noqa: E402


@pytest.fixture(scope="module")
def worker():
    w = Worker()
    yield w
    w.kill()


@pytest.fixture
def job():
    return run_job
