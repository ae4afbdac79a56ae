"""``closedloop serve``: parse, start the reward server (closedloop.serve.app), serve until
SIGTERM or Ctrl-C, then stop gracefully. Wired into the main app by ``register(app)``.

Every argument is checked before the sandbox starts; a task file none of whose lines is a
valid task is refused (a server holding 0 tasks would answer every request with 422), and so
is an address other than loopback without a token (``--token-file`` or the
``CLOSEDLOOP_SERVE_TOKEN`` environment variable): an exposed verifier would run anyone's code.

On SIGTERM or SIGINT the server stops accepting connections, answers every request in flight
(its verdicts included), closes the sandbox pool and exits 0. A second Ctrl-C stops it at once.
"""

from __future__ import annotations

import os
import signal
import socket
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer

from closedloop.cli import checks
from closedloop.distributed.factory import RAY_OPTION_HELP

MIN_BODY_MB = 0.001
"""Smallest ``--max-body-mb`` (about 1 KiB): below it no request fits."""
MAX_BODY_MB = 4096.0
"""Largest ``--max-body-mb`` (4 GiB): a body is held in memory whole."""


def _token(token_file: Path | None) -> str | None:
    """The token from ``--token-file``, else from the environment, else None."""
    from closedloop.serve.auth import TOKEN_ENV, TokenError, check_token

    try:
        if token_file is not None:
            text = checks.text_file("--token-file", token_file)
            return check_token(text, f"--token-file {token_file}")
        if os.environ.get(TOKEN_ENV):
            return check_token(os.environ[TOKEN_ENV], TOKEN_ENV)
    except TokenError as e:
        checks.fail(str(e))
    return None


def _port_free(host: str, port: int) -> None:
    """Fail in one line now, not after the sandbox started, when the port cannot be bound."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        with socket.socket(family) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((host.strip("[]"), port))
    except OSError as e:
        checks.fail(f"--host {host} --port {port}: cannot listen there ({e.strerror})")


def serve(
    host: Annotated[
        str, typer.Option(help="Address to listen on (loopback by default).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    tasks: Annotated[
        Path | None,
        typer.Option("--tasks", help="Task file the server holds: clients send only task ids."),
    ] = None,
    workers: Annotated[
        int | None, typer.Option(help="Sandbox slots (default: one more than cores).")
    ] = None,
    timeout: Annotated[float, typer.Option(help="Wall-clock seconds per verification.")] = 10.0,
    token_file: Annotated[
        Path | None,
        typer.Option(
            "--token-file",
            help="File holding the bearer token clients must send (else $CLOSEDLOOP_SERVE_TOKEN);"
            " required on an address other than loopback.",
        ),
    ] = None,
    max_body_mb: Annotated[
        float, typer.Option("--max-body-mb", help="Largest request body, in MiB (413 past it).")
    ] = 32.0,
    queue: Annotated[
        int,
        typer.Option(
            help="Most solutions waiting for the verifier; a batch past it gets 503 + Retry-After."
        ),
    ] = 8192,
    max_connections: Annotated[
        int,
        typer.Option(
            help="Most requests answered at once (503 past it; /health, /limits and /metrics"
            " not counted); OpenRLHF sends one per sample of a rollout."
        ),
    ] = 1024,
    ray: Annotated[str, typer.Option("--ray", metavar="ADDRESS", help=RAY_OPTION_HELP)] = "",
) -> None:
    """Serve verdicts and rewards over HTTP (docs/serve.md).

    POST /reward, /verify, /get_reward (OpenRLHF); GET /health, /limits, /metrics."""
    from closedloop.serve.auth import TOKEN_ENV, is_loopback

    if not 0 < port < 65536:
        checks.fail(f"--port {port}: not a TCP port (1-65535)")
    checks.workers("--workers", workers)
    checks.seconds("--timeout", timeout)
    # at least 1 KiB (a smaller cap refuses every request), at most 4 GiB
    checks.at_least("--max-body-mb", max_body_mb, MIN_BODY_MB, MAX_BODY_MB)
    checks.at_least("--queue", queue, 1)
    checks.at_least("--max-connections", max_connections, 1)
    token = _token(token_file)
    if token is None and not is_loopback(host):
        checks.fail(
            f"--host {host} is not a loopback address: give a token (--token-file FILE or "
            f"{TOKEN_ENV}) so that only your clients can run code on this machine"
        )
    held = []
    if tasks is not None:
        checks.task_file("--tasks", tasks)
    _port_free(host, port)

    import uvicorn

    from closedloop.distributed import make_verifier
    from closedloop.sandbox import SandboxLimits, SandboxUnavailable
    from closedloop.serve.app import make_app
    from closedloop.serve.limits import ServeLimits
    from closedloop.tasks.format import load_tasks

    if tasks is not None:
        held, _ = load_tasks(tasks)  # checked whole above: no malformed line
    limits = ServeLimits(
        max_body_bytes=int(max_body_mb * (1 << 20)), queue_items=queue, max_requests=max_connections
    )
    try:
        verifier = make_verifier(workers, SandboxLimits(wall_s=timeout), ray)
    except SandboxUnavailable as e:
        checks.fail(str(e), code=3)
    stopped_by: list[int] = []
    with verifier:
        app = make_app(verifier, held, token=token, limits=limits)
        server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning"))

        def note(sig: int, _frame: FrameType | None) -> None:
            # uvicorn handles the signals while it serves, then restores this handler and sends
            # itself the signal again: noted here, the process goes on to close the pool and
            # exit 0 instead of dying with the pool open
            stopped_by.append(sig)
            server.should_exit = True

        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, note)
        auth = "token required" if token else "no token (loopback only)"
        typer.echo(
            f"closedloop serve: {len(held)} tasks held, http://{host}:{port}, {auth}", err=True
        )
        server.run()
    why = signal.Signals(stopped_by[0]).name if stopped_by else "server exit"
    typer.echo(f"closedloop serve: stopped ({why}); requests in flight were answered", err=True)


def register(app: typer.Typer) -> None:
    """Add ``serve`` to ``app``."""
    app.command("serve")(serve)
