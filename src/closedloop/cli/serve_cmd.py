"""``closedloop serve``: parse, start the reward server (closedloop.serve.app), serve until
interrupted. Wired into the main app by ``register(app)``.

Every argument is checked before the sandbox starts; a task file none of whose lines is a
valid task is refused (a server holding 0 tasks would answer every request with 422).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from closedloop.cli import checks


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
        int | None, typer.Option(help="Sandbox slots (default: one per core).")
    ] = None,
    timeout: Annotated[float, typer.Option(help="Wall-clock seconds per verification.")] = 10.0,
) -> None:
    """Serve verdicts and rewards over HTTP: POST /reward, POST /verify, GET /health."""
    if not 0 < port < 65536:
        checks.fail(f"--port {port}: not a TCP port (1-65535)")
    checks.at_least("--workers", workers, 1)
    checks.positive("--timeout", timeout)
    held = []
    if tasks is not None:
        checks.task_file("--tasks", tasks)

    import uvicorn

    from closedloop.sandbox import SandboxLimits, SandboxUnavailable
    from closedloop.serve.app import make_app
    from closedloop.tasks.format import load_tasks
    from closedloop.verify import Verifier

    if tasks is not None:
        held, bad = load_tasks(tasks)
        for b in bad:
            typer.echo(f"closedloop: skipping {b.reason}", err=True)
    try:
        verifier = Verifier(workers=workers, limits=SandboxLimits(wall_s=timeout))
    except SandboxUnavailable as e:
        checks.fail(str(e), code=3)
    with verifier:
        typer.echo(f"closedloop serve: {len(held)} tasks held, http://{host}:{port}", err=True)
        uvicorn.run(make_app(verifier, held), host=host, port=port, log_level="warning")


def register(app: typer.Typer) -> None:
    """Add ``serve`` to ``app``."""
    app.command("serve")(serve)
