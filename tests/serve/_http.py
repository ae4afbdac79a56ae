"""Helpers for the server tests: a free loopback port, a real uvicorn server in a thread or in
a ``closedloop serve`` process, and the tasks they hold."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from closedloop.tasks.format import Task, parse_task

SORT = parse_task(
    {
        "id": "sort",
        "entry_point": "f",
        "instruction": "Return the list sorted.",
        "public_tests": [{"input": "([3, 1, 2],)", "output": "[1, 2, 3]"}],
        "private_tests": [
            {"input": "([5, 4],)", "output": "[4, 5]"},
            {"input": "([2, 2, -1],)", "output": "[-1, 2, 2]"},
        ],
    }
)
RIGHT = "def f(xs):\n    return sorted(xs)\n"
WRONG = "def f(xs):\n    return xs\n"
TOKEN = "t0ken-for-the-tests-0123456789"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running(app: Any) -> Iterator[str]:
    """``app`` served by uvicorn in a thread of this process on a loopback port; its URL."""
    port = free_port()
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    th = threading.Thread(target=srv.run, daemon=True)
    th.start()
    deadline = time.monotonic() + 30
    while not srv.started and time.monotonic() < deadline:
        time.sleep(0.02)
    assert srv.started, "the server did not start"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        srv.should_exit = True
        th.join(timeout=30)


def write_tasks(path: Path, tasks: Sequence[Task]) -> Path:
    import json

    path.write_text("".join(json.dumps(t.to_json()) + "\n" for t in tasks))
    return path


def start_serve(args: Sequence[str], env: dict[str, str] | None = None) -> subprocess.Popen:
    """``closedloop serve ARGS`` as a process (this checkout's package first on the path)."""
    src = str(Path(__file__).resolve().parents[2] / "src")
    full = dict(os.environ, PYTHONUNBUFFERED="1", **(env or {}))
    full["PYTHONPATH"] = src + os.pathsep + full.get("PYTHONPATH", "")
    return subprocess.Popen(
        [sys.executable, "-m", "closedloop.cli", "serve", *args],
        env=full,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_healthy(url: str, proc: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else "server exited"
        try:
            if httpx.get(url + "/health", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError("the server did not come up")
