"""The ``closedloop`` command line. Commands only parse, call the library and print.

Heavy parts (torch, transformers) are imported inside the commands that need them, so
``closedloop verify`` and ``closedloop --help`` start fast.
"""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import Annotated

import typer

from closedloop.cli.checks import fail as _fail
from closedloop.cli.verify_cmd import UsageError
from closedloop.distributed.factory import RAY_OPTION_HELP
from closedloop.tasks.format import Split


def _flag_has_no_type(self: typer.core.TyperOption, ctx: typer.Context) -> str | None:
    # typer shows every option's type, a flag's as <bool>, which read as a value to give:
    # `--rerun true` was tried and refused. A flag takes none.
    return None if self.is_flag else _option_type(self, ctx)


_option_type = typer.core.TyperOption.display_type_rich
typer.core.TyperOption.display_type_rich = _flag_has_no_type  # type: ignore[method-assign]

app = typer.Typer(
    name="closedloop",
    help="The closed self-improvement loop: generate tasks, attempt them, verify in a sandbox, train.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        typer.echo(f"closedloop {version('closedloop')}")
        raise typer.Exit()


@app.callback()
def _root(
    _: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    """closedloop: a trustworthy verifier and the self-improvement loop built on it."""


@app.command()
def verify(
    tasks: Annotated[Path, typer.Argument(help="Task file (JSONL, the task format).")],
    solutions: Annotated[
        Path, typer.Argument(help='Solutions file: {"task_id", "solution"} per line.')
    ],
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="Verdicts file (default: stdout).")
    ] = None,
    split: Annotated[Split, typer.Option(help="Which tests decide the verdict.")] = Split.PRIVATE,
    workers: Annotated[
        int | None,
        typer.Option(
            help="Sandbox slots (default: one more than cores, and no more than there are solutions)."
        ),
    ] = None,
    timeout: Annotated[float, typer.Option(help="Wall-clock seconds per solution.")] = 10.0,
    rerun: Annotated[
        bool, typer.Option(help="Run each solution twice and flag non-determinism.")
    ] = False,
    quiet: Annotated[
        bool, typer.Option("-q", "--quiet", help="No progress bar or summary.")
    ] = False,
    ray: Annotated[str, typer.Option("--ray", metavar="ADDRESS", help=RAY_OPTION_HELP)] = "",
) -> None:
    """Verify solutions against tasks in the sandbox; one verdict per solution line."""
    from closedloop.cli import checks
    from closedloop.cli.verify_cmd import (
        OutputError,
        open_output,
        readable,
        run_verify,
        some_task,
    )
    from closedloop.sandbox import SandboxUnavailable

    checks.workers("--workers", workers)
    checks.seconds("--timeout", timeout)
    if rerun and workers is not None and workers < 2 and not ray:
        # the second run must go to another worker (another hash seed): on one it repeats
        checks.fail("--rerun runs each solution again on another worker: give --workers 2 or more")
    try:
        readable(tasks, "tasks")  # before -o is created: a typo leaves no empty file behind
        readable(solutions, "solutions")
        loaded = some_task(tasks)
        if output is not None:
            checks.output_file("-o", output, [("tasks", tasks), ("solutions", solutions)])
        out = open_output(output)
        try:
            run_verify(tasks, solutions, out, split, workers, timeout, rerun, quiet, ray, loaded)
        finally:
            if out is not sys.stdout:
                with contextlib.suppress(OSError):  # the write that failed has said why
                    out.close()
    except UsageError as e:
        _fail(str(e))
    except OutputError as e:
        _fail(str(e), code=1)
    except SandboxUnavailable as e:
        _fail(str(e), code=3)
    except KeyboardInterrupt:
        _fail("interrupted; verdicts written so far are kept", code=130)


def _mount_subapps() -> None:
    from closedloop.cli import pretrain_cmd, serve_cmd
    from closedloop.cli.loop_cmds import register
    from closedloop.cli.tasks_cmd import tasks_app

    app.add_typer(tasks_app, name="tasks", help="Import and validate task files.")
    register(app)
    serve_cmd.register(app)
    pretrain_cmd.register(app)


_mount_subapps()


def main() -> None:
    """Entry point of the ``closedloop`` script. A usage error (a bad option value, an unknown
    option or command) is one line, ``closedloop: error: ...``, exit code 2, like every other
    bad input (typer would draw a box around it)."""
    import typer.core

    click = getattr(typer.core, "_click", None) or getattr(typer.core, "click", None)
    errors = getattr(click, "exceptions", None)
    if errors is None:  # a typer whose click we cannot find: its own error display
        app()
        return
    no_args = getattr(errors, "NoArgsIsHelpError", ())  # click 8.2 on; before, help exits
    aborted = getattr(errors, "Abort", None) or getattr(typer, "Abort", ())
    try:
        code = app(standalone_mode=False)
    except no_args:
        app()  # no arguments: the help, as typer shows it
        return
    except aborted as e:
        if isinstance(e.__cause__, EOFError):  # click makes any EOFError an Abort: a bug here
            _internal_error(e.__cause__)
        typer.echo("closedloop: aborted", err=True)
        sys.exit(1)
    except errors.ClickException as e:
        where = f" (see {e.ctx.command_path} --help)" if getattr(e, "ctx", None) else ""
        try:
            _fail(f"{e.format_message()}{where}", code=e.exit_code)
        except typer.Exit as done:
            sys.exit(done.exit_code)
    except Exception as e:  # noqa: BLE001 - what no check foresaw: never a command's own code
        _internal_error(e)
    sys.exit(code if isinstance(code, int) else 0)


EXIT_INTERNAL = 70
"""Exit code of an error no check foresaw (EX_SOFTWARE): distinct from every code a command
gives on purpose (``gate``'s 1 is a rejection; a crash must not read as one)."""


def _internal_error(e: BaseException) -> None:
    import traceback

    from closedloop.verify.text import terminal_text

    traceback.print_exception(e)
    what = terminal_text(f"{type(e).__name__}: {e}", keep="")[:300]
    typer.echo(f"closedloop: internal error (please report it): {what}", err=True)
    sys.exit(EXIT_INTERNAL)
