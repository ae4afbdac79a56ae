"""Graceful shutdown of a real ``closedloop serve`` process: SIGTERM while a verification runs.

One server is started, sent a request whose solution takes a second to run, and sent SIGTERM
while that request is in flight; each test checks one property of what followed.
"""

from __future__ import annotations

import signal
import threading
import time
from dataclasses import dataclass

import httpx
import pytest

from .._procs import alive, descendants
from ._http import RIGHT, SORT, free_port, start_serve, wait_healthy, write_tasks

SLOW_RIGHT = "import time\ndef f(xs):\n    time.sleep(0.6)\n" + RIGHT.split("\n", 1)[1]


@dataclass
class Stopped:
    reply: httpx.Response | None
    returncode: int
    stderr: str
    refused_after: bool
    started: list[int]
    was_in_flight: bool
    """The queue held the request when SIGTERM went, and no reply had come back yet: without
    both, the first test would check an ordinary finished request, not a drain."""


def _in_flight(url: str, seconds: float) -> bool:
    """Wait until the server holds a request in its queue: False if ``seconds`` pass first."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            text = httpx.get(url + "/metrics", timeout=2).text
        except httpx.TransportError:
            text = ""
        if "\nclosedloop_queue_depth 1.0" in text:
            return True
        time.sleep(0.05)
    return False


@pytest.fixture(scope="module")
def stopped(tmp_path_factory) -> Stopped:
    tasks = write_tasks(tmp_path_factory.mktemp("shutdown") / "tasks.jsonl", [SORT])
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = start_serve(["--port", str(port), "--tasks", str(tasks), "--workers", "1"])
    got: list[httpx.Response] = []
    try:
        wait_healthy(url, proc)
        started = descendants(proc.pid)
        body = {"solutions": [{"task_id": "sort", "solution": SLOW_RIGHT}]}
        th = threading.Thread(
            target=lambda: got.append(httpx.post(url + "/verify", json=body, timeout=60))
        )
        th.start()
        was_in_flight = _in_flight(url, seconds=1.5) and not got
        proc.send_signal(signal.SIGTERM)
        time.sleep(0.2)
        try:
            httpx.get(url + "/health", timeout=2)
            refused_after = False
        except httpx.TransportError:
            refused_after = True
        th.join(timeout=60)
        returncode = proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    reply = got[0] if got else None
    return Stopped(reply, returncode, proc.stderr.read(), refused_after, started, was_in_flight)


def test_sigterm_still_answers_the_request_in_flight(stopped: Stopped):
    assert stopped.was_in_flight
    assert stopped.reply is not None and stopped.reply.status_code == 200
    (verdict,) = stopped.reply.json()["verdicts"]
    assert verdict["outcome"] == "pass", verdict


def test_sigterm_refuses_new_connections(stopped: Stopped):
    assert stopped.refused_after


def test_sigterm_exits_0_saying_it_stopped(stopped: Stopped):
    assert stopped.returncode == 0, stopped.stderr
    assert "stopped (SIGTERM)" in stopped.stderr


def test_sigterm_leaves_no_sandbox_process_behind(stopped: Stopped):
    assert stopped.started, "the server started no sandbox process"
    time.sleep(0.2)
    assert [p for p in stopped.started if alive(p)] == []
