"""A reward server on a loopback port in a thread of this process: for examples, notebooks and
tests that want the HTTP path without a second terminal.

    with Verifier(workers=2) as v, background_server(make_app(v, tasks)) as url:
        reward = verifier_reward(url=url)

Must never: listen on anything but loopback (this is not ``closedloop serve``: it has none of
the command's checks), or outlive its ``with`` block.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

LOOPBACK = "127.0.0.1"


def free_port() -> int:
    """A TCP port free on loopback now (another process may take it before it is used)."""
    with socket.socket() as s:
        s.bind((LOOPBACK, 0))
        return s.getsockname()[1]


@contextmanager
def background_server(app: Any, port: int | None = None, start_s: float = 30.0) -> Iterator[str]:
    """Serve the ASGI ``app`` on ``127.0.0.1:port`` (a free port by default) in a daemon
    thread; yields its URL once it accepts connections, and stops it on leaving."""
    import uvicorn

    port = port or free_port()
    srv = uvicorn.Server(uvicorn.Config(app, host=LOOPBACK, port=port, log_level="warning"))
    th = threading.Thread(target=srv.run, name=f"closedloop-serve-{port}", daemon=True)
    th.start()
    deadline = time.monotonic() + start_s
    while not srv.started and th.is_alive() and time.monotonic() < deadline:
        time.sleep(0.02)
    if not srv.started:
        srv.should_exit = True
        raise RuntimeError(f"the reward server did not start on {LOOPBACK}:{port}")
    try:
        yield f"http://{LOOPBACK}:{port}"
    finally:
        srv.should_exit = True
        th.join(timeout=10)
