"""``closedloop verify TASKS SOLUTIONS [-o VERDICTS]``: parse, call the verifier, print.

Verdicts are written as they are ready (in solution order) and flushed line by line, so an
interrupted run keeps every verdict it wrote. Progress and the summary go to stderr.
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import IO

from closedloop.tasks.format import BadLine, Split, Task, load_solutions, load_tasks
from closedloop.verify.outcome import Outcome, Verdict
from closedloop.verify.text import json_line, terminal_text


class UsageError(Exception):
    """A problem with the command line or its files; printed as one line, exit code 2."""


class OutputError(Exception):
    """The verdicts file could not be written (a full disk, a lost mount); printed as one
    line, exit code 1. The verdicts written before it are kept."""


def readable(path: Path, what: str) -> None:
    """Raises :class:`UsageError` unless ``path`` is a readable file (``what``: its role)."""
    if not path.exists():
        raise UsageError(f"{what} file not found: {path}")
    if not path.is_file():
        raise UsageError(f"{what} path is not a file: {path}")
    try:
        with open(path, "rb"):
            pass
    except OSError as e:
        raise UsageError(f"cannot read {what} file {path}: {e.strerror}") from None


def some_task(tasks_path: Path) -> tuple[list[Task], list[BadLine]]:
    """The task file's tasks and bad lines; refused (``UsageError``) with no task in it (every
    solution would be ``invalid``, and the run would exit 0): an empty file, a JSON array,
    the solutions file in its place."""
    from closedloop.cli.checks import no_task

    try:
        tasks, bad = load_tasks(tasks_path)
    except OSError as e:
        raise UsageError(f"cannot read tasks file {tasks_path}: {e.strerror}") from None
    if not tasks:
        raise UsageError(no_task("tasks file", tasks_path, bad))
    return tasks, bad


def run_verify(
    tasks_path: Path,
    solutions_path: Path,
    out: IO[str],
    split: Split,
    workers: int | None,
    timeout_s: float,
    rerun: bool,
    quiet: bool = False,
    ray_address: str = "",
    loaded: tuple[list[Task], list[BadLine]] | None = None,
) -> Counter[str]:
    """Verify every solution line; returns counts per outcome. ``ray_address``: verify on
    that Ray cluster (closedloop.distributed) instead of this machine's pool. ``loaded``:
    the task file as :func:`some_task` read it (else it is read here)."""
    from rich.console import Console
    from rich.markup import escape
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )
    from rich.table import Table

    from closedloop.distributed import make_verifier
    from closedloop.sandbox import SandboxLimits
    from closedloop.sandbox.pool import default_size

    readable(tasks_path, "tasks")
    readable(solutions_path, "solutions")
    console = Console(stderr=True)
    tasks, bad_tasks = loaded if loaded is not None else load_tasks(tasks_path)
    by_id: dict[str, Task] = {}
    for t in tasks:
        if t.id in by_id:
            console.print(
                f"[yellow]warning:[/] task id {escape(terminal_text(repr(t.id)))} appears twice in "
                f"{escape(tasks_path.name)}; the last one is used"
            )
        by_id[t.id] = t
    bad_task_ids = {b.task_id: b.reason for b in bad_tasks if b.task_id}
    for b in bad_tasks:
        # one line each, the reason as written (it may hold brackets rich reads as markup)
        console.print(
            f"[yellow]warning:[/] {escape(terminal_text(b.reason))}",
            soft_wrap=True,
            highlight=False,
        )
    sols, bad_sols = load_solutions(solutions_path)

    # One entry per solution line, in file order: either a job or an immediate verdict.
    entries: list[tuple[int, Verdict | tuple[Task, str]]] = []
    for b in bad_sols:
        entries.append(
            (b.line, Verdict(b.task_id or "", Outcome.INVALID, 0, 0, detail=b.reason, line=b.line))
        )
    for s in sols:
        task = by_id.get(s.task_id)
        if task is None:
            unread = sum(1 for b in bad_tasks if not b.task_id)  # lines that name no id
            where = (
                f"not among the tasks read from {tasks_path.name}; {unread} line(s) of it "
                "could not be read"
                if unread
                else f"not in {tasks_path.name}"
            )
            why = bad_task_ids.get(s.task_id) or f"unknown task_id {s.task_id!r} ({where})"
            entries.append(
                (
                    s.line,
                    Verdict(
                        s.task_id,
                        Outcome.INVALID,
                        0,
                        0,
                        line=s.line,
                        detail=f"{solutions_path.name} line {s.line}: {why}",
                    ),
                )
            )
        else:
            entries.append((s.line, (task, s.solution)))
    entries.sort(key=lambda e: e[0])

    counts: Counter[str] = Counter()
    jobs = [(line, e) for line, e in entries if not isinstance(e, Verdict)]
    t0 = time.monotonic()
    limits = SandboxLimits(wall_s=timeout_s)
    progress = Progress(
        TextColumn("verifying"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeRemainingColumn(),
        console=console,
        disable=quiet,
    )

    def emit(v: Verdict) -> None:
        try:
            out.write(json_line(v.to_json()) + "\n")  # candidate text: no lone surrogate
            out.flush()
        except BrokenPipeError:
            raise  # a reader that stopped early (``| head``): handled as Python does
        except OSError as e:
            where = getattr(out, "name", "the verdicts file")
            raise OutputError(
                f"cannot write verdicts to {where}: {e.strerror or e}; the "
                f"{sum(counts.values())} written before are kept"
            ) from None
        counts[str(v.outcome)] += 1

    if workers is None and not ray_address:
        # no more slots than jobs (two with --rerun: its second run goes to another worker):
        # each slot not needed was two processes started for nothing (~0.15 s of a short run)
        workers = min(default_size(), max(len(jobs), 2 if rerun else 1))
    checkers = any(job[0].checker is not None for _, job in jobs)
    with progress:
        bar = progress.add_task("verify", total=len(entries), rate="")
        with make_verifier(workers, limits, ray_address, prewarm_judges=checkers) as verifier:
            stream = verifier.iter_verify([job for _, job in jobs], split=split, rerun=rerun)
            for line, entry in entries:
                if isinstance(entry, Verdict):
                    v = entry
                else:
                    v = next(stream)
                    v = replace(v, line=line)
                emit(v)
                done = sum(counts.values())
                progress.update(
                    bar, advance=1, rate=f"{done / max(time.monotonic() - t0, 1e-9):.0f}/s"
                )
            infra = verifier.infra_retries
    elapsed = time.monotonic() - t0
    if not quiet:
        table = Table(
            title=f"{sum(counts.values())} solutions in {elapsed:.2f}s "
            f"({sum(counts.values()) / max(elapsed, 1e-9):.1f}/s)"
        )
        table.add_column("outcome")
        table.add_column("count", justify="right")
        for o in Outcome:
            if counts[str(o)]:
                table.add_row(str(o), str(counts[str(o)]))
        console.print(table)
        if infra:
            console.print(f"[yellow]{infra} job(s) retried after a sandbox worker was lost[/]")
    return counts


def open_output(path: Path | None) -> IO[str]:
    if path is None:
        return sys.stdout
    try:
        return open(path, "w", encoding="utf-8")
    except OSError as e:
        raise UsageError(f"cannot write verdicts to {path}: {e.strerror}") from None
