"""What a run prints: a progress bar per phase, one summary line per iteration, the held-out
table, and the lines for the gate, the alarms and the program variety.

Owns presentation only. Must never compute a figure it prints (every number arrives computed)
or be the only record of one (everything printed is also in the run store or summary.json).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import Progress, ProgressColumn, SpinnerColumn, Task, TextColumn
from rich.table import Table
from rich.text import Text

from closedloop.monitor.detectors import Alarm


class _Progress(Progress):
    """Rich's progress display, which on a console that is no terminal (a log file, a pipe)
    shows its bars only when they end: there, a line as each phase starts says what is running
    (the cold start's held-out evaluation alone can take minutes)."""

    def add_task(self, description: str, *args: Any, **kwargs: Any) -> Any:
        self._started(description)
        return super().add_task(description, *args, **kwargs)

    def update(self, task_id: Any, *, description: str | None = None, **kwargs: Any) -> None:
        if description is not None:
            self._started(description)
        super().update(task_id, description=description, **kwargs)

    def _started(self, description: str) -> None:
        if not self.console.is_terminal and not description.endswith("done"):
            self.console.print(f"  {description} ...", markup=False, highlight=False)


class _Elapsed(ProgressColumn):
    """A phase's time: ``0.4s`` under a minute (rich's own column rounds to whole seconds, and
    most phases of a small run showed ``0:00:00``), ``m:ss`` past it."""

    def render(self, task: Task) -> Text:
        s = task.finished_time if task.finished else task.elapsed
        if s is None:
            return Text("-", style="progress.elapsed")
        text = f"{s:.1f}s" if s < 60 else f"{int(s // 60)}:{int(s % 60):02d}"
        return Text(text, style="progress.elapsed")


def progress(console: Console) -> Progress:
    """The run's progress display: a spinner, the phase, a note and the elapsed time."""
    return _Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TextColumn("{task.fields[note]}"),
        _Elapsed(),
        console=console,
        transient=False,
    )


@dataclass
class PhaseBars:
    """One bar per phase of an iteration, and the seconds each phase took.

    >>> with PhaseBars(Console(quiet=True), "iter 1") as bars:
    ...     with bars.phase("generate") as note:
    ...         note("5/16 accepted")
    >>> sorted(bars.seconds)
    ['generate']
    """

    console: Console
    prefix: str
    seconds: dict[str, float] = field(default_factory=dict)
    _progress: Progress | None = None

    def __enter__(self) -> PhaseBars:
        self._progress = progress(self.console)
        self._progress.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._progress is not None
        self._progress.__exit__(*exc)  # type: ignore[arg-type]

    @contextmanager
    def phase(self, name: str) -> Iterator[Any]:
        """Show ``name`` while the block runs; the block may call the yielded ``note(text)``."""
        assert self._progress is not None, "use PhaseBars as a context manager"
        prog = self._progress
        bar = prog.add_task(f"{self.prefix}: {name}", total=1, note="")
        t0 = time.monotonic()

        def note(text: str) -> None:
            prog.update(bar, note=text)

        yield note
        self.seconds[name] = time.monotonic() - t0
        prog.update(bar, completed=1)


def table_view(
    table: dict[str, tuple[int, float]],
    extra: dict[str, dict[str, tuple[int, float]]] | None = None,
) -> Table:
    """The held-out table (cold start, control, final) on the primary set, plus one pass@1
    column per set in ``extra`` (set name -> label -> (n_tasks, pass@1))."""
    extra = extra or {}
    t = Table(title="held-out pass@1")
    t.add_column("policy")
    t.add_column("n_tasks", justify="right")
    t.add_column("pass@1", justify="right")
    for name in extra:
        t.add_column(escape(f"{name} pass@1"), justify="right")
    for label in ("cold_start", "control", "final"):
        if label in table:
            n, p = table[label]
            cells = [_cell(extra[name].get(label)) for name in extra]
            t.add_row(label, str(n), f"{p:.3f}", *cells)
    return t


def _cell(score: tuple[int, float] | None) -> str:
    # An extra set's size can differ from the primary's, so its cell carries its own n.
    return "-" if score is None else f"{score[1]:.3f} (n={score[0]})"


def gate_line(set_name: str, g: dict[str, Any]) -> str:
    """``gate: final vs cold start on SET: won 16, lost 11 of 200, p = 0.221 -> reject``."""
    return (
        f"gate: final vs cold start on {set_name}: won {g['wins']}, lost {g['losses']} of "
        f"{g['n_tasks']}, one-sided sign test p = {g['p_value']:.3g} -> {g['decision']}"
    )


def replicas_line(d: dict[str, Any]) -> str:
    """The policy replicas' work in a run (``ReplicaSet.summary``)."""
    return (
        f"generation on {d['replicas']} policy replicas ({d['backend']} on "
        f"{', '.join(d['devices']) or '-'}): {d['shares']} shares, {d['lost_shares']} lost and "
        f"{d['resampled_shares']} sampled again; {d['syncs']} weight syncs "
        f"({d['state_mb']:.1f} MB each, {d['sync_seconds']:.1f}s in all)"
    )


def alarm_line(a: Alarm) -> str:
    """``ALARM collapse after iteration 6: ...`` (rich markup)."""
    return f"[bold red]ALARM[/] {a.kind} after iteration {a.iteration}: {a.message}"


def alarms_line(alarms: list[dict[str, Any]]) -> str | None:
    """``alarms: collapse after iterations 6, 9; reward_hacking after iteration 3`` (None when
    there were none)."""
    at: dict[str, list[int]] = {}
    for a in alarms:
        at.setdefault(a["kind"], []).append(a["iteration"])
    if not at:
        return None
    parts = [
        f"{kind} after iteration{'s' if len(its) > 1 else ''} {', '.join(map(str, its))}"
        for kind, its in at.items()
    ]
    return "[bold red]alarms:[/] " + "; ".join(parts)
