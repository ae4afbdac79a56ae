"""``closedloop serve``: parse, start the reward server (closedloop.serve.app), serve until
interrupted. Wired into the main app by ``register(app)``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


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
    import uvicorn

    from closedloop.sandbox import SandboxLimits, SandboxUnavailable
    from closedloop.serve.app import make_app
    from closedloop.tasks.format import load_tasks
    from closedloop.verify import Verifier

    held = []
    if tasks is not None:
        try:
            held, bad = load_tasks(tasks)
        except OSError as e:
            typer.echo(f"closedloop: error: --tasks {tasks}: {e.strerror}", err=True)
            raise typer.Exit(2) from None
        for b in bad:
            typer.echo(f"closedloop: skipping {b.reason}", err=True)
    if not 0 < port < 65536:
        typer.echo(f"closedloop: error: --port {port}: not a TCP port", err=True)
        raise typer.Exit(2)
    try:
        verifier = Verifier(workers=workers, limits=SandboxLimits(wall_s=timeout))
    except SandboxUnavailable as e:
        typer.echo(f"closedloop: error: {e}", err=True)
        raise typer.Exit(3) from None
    with verifier:
        typer.echo(f"closedloop serve: {len(held)} tasks held, http://{host}:{port}", err=True)
        uvicorn.run(make_app(verifier, held), host=host, port=port, log_level="warning")


def register(app: typer.Typer) -> None:
    """Add ``serve`` to ``app``."""
    app.command("serve")(serve)
