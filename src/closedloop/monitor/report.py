"""The run report: one self-contained HTML file with the held-out table, the gate, the alarms
and plots of the run's metrics over its iterations.

Plots are SVG drawn by matplotlib (its object API, no pyplot state) and inlined, so the file
opens in any browser with no server, script or network. Alarm iterations are marked on every
plot. ``closedloop report RUN_DIR`` writes ``RUN_DIR/report.html``; ``closedloop run`` writes
it when it finishes.

Must never: write anything but the report file, or refuse a run still in progress (it reports
what the run has committed: ``metrics.jsonl`` without ``summary.json`` gives the plots alone).
"""

from __future__ import annotations

import html
import io
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from closedloop.loop.rundir import REPORT_FILE
from closedloop.monitor.metrics import METRICS_FILE
from closedloop.monitor.names import (
    Metric,
    alarm_kind,
    heldout_set,
    is_heldout_key,
    reject_reason,
)
from closedloop.monitor.run_files import ReportError, read_run

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["REPORT_FILE", "ReportError", "build_report", "write_report"]

Row = Mapping[str, Any]

PLOT_MAX = 1e15
"""Largest magnitude plotted (iterations and metric values): far past any metric a run
writes, and below where matplotlib's axis arithmetic overflows (two values of 1e308 and
-1e308 span more than a float holds) or floats stop counting whole iterations."""


def _plottable(v: Any) -> bool:
    """A number the plots can place (not NaN, infinite or past :data:`PLOT_MAX`)."""
    return isinstance(v, bool) or (isinstance(v, int | float) and -PLOT_MAX <= v <= PLOT_MAX)


def _short(v: Any) -> str:
    """``v`` for a one-line message: a long int by its digit count."""
    text = repr(v)
    return f"a {len(text.lstrip('-')):,}-digit number" if len(text) > 24 else text


def _plot_rows(rows: Sequence[Row], warn: Callable[[str], None]) -> list[Row]:
    """``rows`` without what cannot be plotted: a row whose iteration is past
    :data:`PLOT_MAX`, a value that is NaN, infinite or past it. ``warn`` gets one line for
    each (NaN excepted: a metric a run could not compute, a gap in its line)."""
    out: list[Row] = []
    for r in rows:
        it = r[Metric.ITERATION]
        if not _plottable(it):
            warn(f"iteration {_short(it)}: past {PLOT_MAX:g}; the row is left out of the plots")
            continue
        keep = {}
        for key, v in r.items():
            if v is None or _plottable(v):
                keep[key] = v
            elif not (isinstance(v, float) and v != v):  # NaN: no warning
                warn(
                    f"iteration {it}: {key!r} = {_short(v)} cannot be plotted (plots take "
                    f"finite values within +-{PLOT_MAX:g}); left out of the plots"
                )
        out.append(keep)
    return out


def _it(row: Row) -> int:
    return int(row[Metric.ITERATION])


def _series(rows: Sequence[Row], key: str) -> tuple[list[int], list[float]]:
    pts = [(_it(r), float(r[key])) for r in rows if r.get(key) is not None]
    return [p[0] for p in pts], [p[1] for p in pts]


def _lines(ax: Axes, rows: Sequence[Row], marker: str, keys: Sequence[tuple[str, str]]) -> None:
    """One line per (metric, label) that the rows hold."""
    for key, label in keys:
        xs, ys = _series(rows, key)
        if xs:
            ax.plot(xs, ys, marker=marker, label=label)


def _alarm_iterations(rows: Sequence[Row]) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {}
    for r in rows:
        kinds = [kind for k in r if (kind := alarm_kind(k)) is not None]
        if kinds:
            out[_it(r)] = sorted(kinds)
    return out


def _alarm_spans(alarms: Mapping[int, list[str]]) -> list[tuple[int, int, str]]:
    """(first, last, label) for each run of consecutive iterations that raised the same
    alarms, so that an alarm raised at 3, 4, 5 and 6 is one shaded span with one label."""
    spans: list[tuple[int, int, str]] = []
    for it in sorted(alarms):
        label = ", ".join(k.replace("_", " ") for k in alarms[it])
        if spans and spans[-1][1] == it - 1 and spans[-1][2] == label:
            spans[-1] = (spans[-1][0], it, label)
        else:
            spans.append((it, it, label))
    return spans


def _figure(title: str, draw: Callable[[Axes], None], alarms: Mapping[int, list[str]]) -> Figure:
    """One plot over the iterations: whole-number iteration ticks, and each alarm a shaded
    span with a horizontal label naming it (and its iterations when it lasted)."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    fig = Figure(figsize=(6.4, 3.4), layout="constrained")
    ax = fig.add_subplot()
    draw(ax)
    lo, hi = ax.get_xlim()
    for i, (first, last, label) in enumerate(_alarm_spans(alarms)):
        ax.axvspan(first - 0.4, last + 0.4, color="#c0392b", alpha=0.12, linewidth=0)
        when = f"{first}" if first == last else f"{first}–{last}"
        right = first + last > lo + hi  # in the right half: the label runs leftwards
        ax.text(
            last + 0.4 if right else first - 0.4,
            0.97 - 0.11 * (i % 4),  # stacked, so that neighbouring labels do not overlap
            f"alarm: {label} ({when})",
            transform=ax.get_xaxis_transform(),
            fontsize=8,
            color="#922b21",
            ha="right" if right else "left",
            va="top",
            bbox={"facecolor": "white", "alpha": 0.8, "edgecolor": "none", "pad": 1},
        )
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # iterations are whole numbers
    ax.set_title(title, fontsize=10)
    ax.set_xlabel("iteration (0 = cold start)", fontsize=8)
    ax.tick_params(labelsize=8)
    ax.grid(alpha=0.3)
    if ax.get_legend_handles_labels()[0] and ax.get_legend() is None:
        ax.legend(fontsize=7, loc="best")
    return fig


def _svg(title: str, draw: Callable[[Axes], None], alarms: Mapping[int, list[str]]) -> str:
    import matplotlib

    # Labels are names from the run's files (held-out sets, reject reasons, metric keys):
    # matplotlib would read "$...$" in one as mathematics, and a malformed one ended the report.
    with matplotlib.rc_context({"text.parse_math": False}):
        fig = _figure(title, draw, alarms)
        buf = io.StringIO()
        fig.savefig(buf, format="svg")
    text = buf.getvalue()
    return text[text.index("<svg") :]  # drop the XML prolog and doctype: inlined in HTML


def _plots(rows: Sequence[Row], summary: Mapping[str, Any] | None) -> list[tuple[str, str]]:
    """(caption, svg) for each plot the metrics support."""
    alarms = _alarm_iterations(rows)
    out: list[tuple[str, str]] = []

    def heldout(ax: Axes) -> None:
        keys = sorted({k for r in rows for k in r if is_heldout_key(k)})
        for key in keys:
            xs, ys = _series(rows, key)
            ax.plot(xs, ys, marker="o", label=heldout_set(key) or "primary set")
        control = ((summary or {}).get("policies") or {}).get("control")
        if control and _plottable(control["pass@1"]):
            ax.axhline(control["pass@1"], color="grey", linestyle="--", label="control")
        ax.set_ylabel("pass@1", fontsize=8)

    if any(Metric.HELDOUT_PASS_AT_1 in r for r in rows):
        out.append(
            (
                "Held-out pass@1 (greedy), with the compute-matched control",
                _svg("held-out pass@1", heldout, alarms),
            )
        )

    def rewards(ax: Axes) -> None:
        _lines(
            ax,
            rows,
            ".",
            [
                (Metric.MEAN_REWARD, "solver reward"),
                (Metric.CHALLENGER_REWARD, "challenger reward"),
                (Metric.AUDIT_AGREEMENT, "audit agreement"),
                (Metric.TESTS_AUDIT_AGREEMENT, "tests audit agreement"),
                (Metric.LEARNABLE_SHARE, "groups with a signal"),
            ],
        )

    if any(Metric.MEAN_REWARD in r for r in rows):
        out.append(
            (
                "Training rewards: what the loop optimises (compare with held-out)",
                _svg("training signal", rewards, alarms),
            )
        )

    def refused(ax: Axes) -> None:
        _lines(
            ax,
            rows,
            ".",
            [
                (Metric.SANDBOX_DENIED_CALLS, "system calls denied: solver"),
                (Metric.SANDBOX_LIMITS_HIT, "limits hit: solver"),
                (Metric.CHALLENGER_DENIED_CALLS, "system calls denied: challenger"),
                (Metric.CHALLENGER_LIMITS_HIT, "limits hit: challenger"),
            ],
        )
        ax.set_ylabel("count per iteration", fontsize=8)

    counted = (
        Metric.SANDBOX_DENIED_CALLS,
        Metric.SANDBOX_LIMITS_HIT,
        Metric.CHALLENGER_DENIED_CALLS,
        Metric.CHALLENGER_LIMITS_HIT,
    )
    if any(r.get(k) for r in rows for k in counted):
        out.append(
            (
                "What the sandbox refused the solver's attempts and the challenger's programs "
                "(probing the sandbox shows here)",
                _svg("sandbox refusals", refused, alarms),
            )
        )

    def variety(ax: Axes) -> None:
        xs, ys = _series(rows, Metric.HELDOUT_DISTINCT_PROGRAMS)
        ax.plot(xs, ys, marker="o", color="#2c7fb8", label="distinct greedy programs")
        ax.set_ylabel("distinct programs (held-out)", fontsize=8)
        right = ax.twinx()
        for key, label, color in (
            (Metric.HELDOUT_TOP_PROGRAM_SHARE, "top program share", "#f39c12"),
            (Metric.PROPOSAL_TOP_CLUSTER_SHARE, "proposals' top cluster share", "#8e44ad"),
        ):
            xs2, ys2 = _series(rows, key)
            if xs2:
                right.plot(xs2, ys2, marker=".", color=color, label=label)
        right.set_ylim(0, 1.05)
        right.tick_params(labelsize=8)
        right.set_ylabel("share", fontsize=8)
        h1, l1 = ax.get_legend_handles_labels()
        h2, l2 = right.get_legend_handles_labels()
        ax.legend(h1 + h2, l1 + l2, fontsize=7, loc="lower left")

    if any(Metric.HELDOUT_DISTINCT_PROGRAMS in r for r in rows):
        out.append(
            (
                "Collapse: variety of the solver's programs and the challenger's proposals",
                _svg("variety", variety, alarms),
            )
        )

    iters = [r for r in rows if _it(r) >= 1]
    reasons = sorted({(k, why) for r in iters for k in r if (why := reject_reason(k)) is not None})

    def proposals(ax: Axes) -> None:
        xs = [_it(r) for r in iters]
        bottom = [float(r.get(Metric.ACCEPTED, 0)) for r in iters]
        ax.bar(xs, bottom, color="#1e8449", label="accepted")
        # rejection reasons in greys and warm tones, so that green means accepted only
        palette = [
            "#7f8c8d",
            "#c0392b",
            "#e67e22",
            "#f1c40f",
            "#8e44ad",
            "#bdc3c7",
            "#d35400",
            "#34495e",
            "#e74c3c",
            "#95a5a6",
            "#f39c12",
            "#6c3483",
        ]
        for i, (key, why) in enumerate(reasons):
            ys = [float(r.get(key, 0)) for r in iters]
            ax.bar(xs, ys, bottom=bottom, label=why, color=palette[i % len(palette)])
            bottom = [b + y for b, y in zip(bottom, ys, strict=True)]
        ax.set_ylabel("proposals", fontsize=8)
        ax.legend(fontsize=7, bbox_to_anchor=(1.01, 1.0), loc="upper left")

    if any(Metric.PROPOSED in r for r in iters):
        out.append(
            (
                "Challenger proposals per iteration, accepted and why the rest were rejected",
                _svg("proposals", proposals, alarms),
            )
        )

    phases = [
        (Metric.T_GENERATE, "generate"),
        (Metric.T_ATTEMPT, "attempt"),
        (Metric.T_SCORE, "score"),
        (Metric.T_TRAIN, "train"),
        (Metric.T_EVAL, "held-out eval"),
    ]

    def timing(ax: Axes) -> None:
        xs = [_it(r) for r in iters]
        bottom = [0.0] * len(iters)
        for key, label in phases:
            ys = [float(r.get(key, 0)) for r in iters]
            ax.bar(xs, ys, bottom=bottom, label=label)
            bottom = [b + y for b, y in zip(bottom, ys, strict=True)]
        ax.set_ylabel("seconds", fontsize=8)

    if any(Metric.T_TRAIN in r for r in iters):
        out.append(("Where each iteration's time goes", _svg("time per phase", timing, alarms)))

    def calibration(ax: Axes) -> None:
        _lines(
            ax,
            rows,
            "o",
            [
                (Metric.HELDOUT_CONFIDENCE, "confidence (agreement among samples)"),
                (Metric.HELDOUT_CONFIDENCE_CORRECTNESS, "its correlation with correctness"),
                (Metric.HELDOUT_FILTERED_PASS_AT_1, "filtered pass@1"),
            ],
        )

    if any(Metric.HELDOUT_CONFIDENCE in r for r in rows):
        out.append(
            (
                "Saturation: does the solver's sureness still track being right? "
                "(confidence rising while its correlation with correctness falls raises it)",
                _svg("confidence vs correctness", calibration, alarms),
            )
        )

    def kl(ax: Axes) -> None:
        xs, ys = _series(rows, Metric.KL_POLICY)
        ax.plot(xs, ys, marker="o", color="#34495e", label="KL(before || after)")
        ax.set_ylabel("KL", fontsize=8)

    if any(Metric.KL_POLICY in r for r in iters):
        out.append(("KL between successive policies", _svg("policy change", kl, alarms)))
    return out


def _fmt(v: Any, spec: str) -> str:
    """``format(v, spec)``, or :func:`_short` for an int too large for a float."""
    try:
        return format(v, spec)
    except OverflowError:
        return _short(v)


def _table(summary: Mapping[str, Any]) -> str:
    sets: Mapping[str, Mapping[str, Any]] = summary.get("heldout_sets") or {
        summary.get("heldout_set", "held-out"): summary.get("policies", {})
    }
    labels: list[str] = []
    for per in sets.values():
        labels += [lb for lb in per if lb not in labels]
    head = "".join(f"<th>{html.escape(s)}</th>" for s in sets)
    body = []
    for lb in labels:
        cells = []
        for per in sets.values():
            e = per.get(lb)
            cells.append(
                f"<td>{_fmt(e['pass@1'], '.3f')} <small>(n={_short(e['n_tasks'])})</small></td>"
                if e
                else "<td></td>"
            )
        body.append(f"<tr><th>{html.escape(lb)}</th>{''.join(cells)}</tr>")
    return f"<table><tr><th>policy</th>{head}</tr>{''.join(body)}</table>"


def _gate(g: Mapping[str, Any] | None) -> str:
    if not g:
        return "<p>No gate decision (the run has not finished, or predates the gate).</p>"
    cls = "promote" if g["decision"] == "promote" else "reject"
    return (
        f'<p class="{cls}"><b>{html.escape(str(g["decision"]))}</b>: {html.escape(g["candidate"])}'
        f" against {html.escape(g['baseline'])} on {g['n_tasks']} tasks — won {g['wins']}, "
        f"lost {g['losses']}, one-sided sign test p = {_fmt(g['p_value'], '.3g')} "
        f"(alpha {g['alpha']})"
        # the reason repeats the evidence unless a minimum gain decided it
        + (f". {html.escape(g['reason'])}" if "gain" in g["reason"] else "")
        + "</p>"
    )


def _alarms(summary: Mapping[str, Any] | None, rows: Sequence[Row]) -> str:
    alarms = (summary or {}).get("alarms")
    if alarms is None:  # unfinished run: what metrics.jsonl says
        alarms = [
            {"iteration": it, "kind": k, "message": ""}
            for it, kinds in _alarm_iterations(rows).items()
            for k in kinds
        ]
    if not alarms:
        return "<p>No alarms.</p>"
    items = "".join(
        f"<li><b>{html.escape(a['kind'])}</b> after iteration {a['iteration']}: "
        f"{html.escape(a.get('message', ''))}</li>"
        for a in alarms
    )
    stopped = (summary or {}).get("stopped_early")
    note = "<p>Self-play stopped early on an alarm.</p>" if stopped else ""
    return f'<ul class="alarms">{items}</ul>{note}'


_STYLE = """
body { font-family: system-ui, sans-serif; max-width: 1400px; margin: 2em auto; color: #222; }
table { border-collapse: collapse; margin: 1em 0; }
th, td { border: 1px solid #ccc; padding: 4px 10px; text-align: left; }
.plots { display: grid; grid-template-columns: repeat(auto-fill, minmax(560px, 1fr)); gap: 1em; }
figure { margin: 0; } figcaption { font-size: 0.9em; color: #555; }
.promote { color: #1e8449; } .reject { color: #a04000; } .alarms { color: #922b21; }
"""


def build_report(run_dir: Path, warn: Callable[[str], None] | None = None) -> str:
    """The report of the run in ``run_dir`` as HTML text. Raises :class:`ReportError`, naming
    the file and what is wrong, when ``run_dir`` has no ``metrics.jsonl`` or one of the run's
    files is not as a run writes it (:mod:`closedloop.monitor.run_files`).

    A value no plot can place (infinite, or past :data:`PLOT_MAX`) is left out of the plots,
    not refused: the report says so under the plots and ``warn`` gets one line for each."""
    run = read_run(run_dir)
    rows, summary, name = run.rows, run.summary, run.name
    if run.unfinished and warn is not None:
        warn(run.unfinished)
    last = max((_it(r) for r in rows), default=0)
    left_out: list[str] = []

    def note(msg: str) -> None:
        left_out.append(f"{METRICS_FILE}: {msg}")
        if warn is not None:
            warn(f"{Path(run_dir) / METRICS_FILE}: {msg}")

    figures = "".join(
        f"<figure>{svg}<figcaption>{html.escape(cap)}</figcaption></figure>"
        for cap, svg in _plots(_plot_rows(rows, note), summary)
    )
    if left_out:
        items = "".join(f"<li>{html.escape(m)}</li>" for m in left_out)
        figures += f'<p>Left out of the plots:</p><ul class="alarms">{items}</ul>'
    table = (
        _table(summary) if summary else "<p>The run has not finished: no held-out table yet.</p>"
    )
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>closedloop report: {html.escape(name)}</title><style>{_STYLE}</style></head><body>"
        f"<h1>closedloop run {html.escape(name)}</h1>"
        f"<p>{last} self-play iteration{'s' if last != 1 else ''} committed.</p>"
        f"<h2>Held-out pass@1</h2>{table}<h2>Gate</h2>{_gate((summary or {}).get('gate'))}"
        f"<h2>Alarms</h2>{_alarms(summary, rows)}"
        f'<h2>Over the iterations</h2><div class="plots">{figures}</div></body></html>'
    )


def write_report(
    run_dir: Path, out: Path | None = None, warn: Callable[[str], None] | None = None
) -> Path:
    """Write :func:`build_report` to ``out`` (default ``RUN_DIR/report.html``); returns the
    path. ``warn``: as :func:`build_report`'s."""
    import tempfile

    target = Path(out) if out is not None else Path(run_dir) / REPORT_FILE
    text = build_report(run_dir, warn)
    # a fresh temporary name: a fixed one ("NAME.tmp") would overwrite, then delete, a file
    # of the user's that had it
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    tmp = Path(name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        tmp.chmod(0o666 & ~_umask())  # mkstemp's 0600 kept a report made to share unreadable
        tmp.replace(target)
    finally:
        tmp.unlink(missing_ok=True)  # only the report is ever left behind
    return target


def _umask() -> int:
    """The process's umask, read without setting it (``os.umask`` sets it for every thread
    while it reads), from Linux's /proc; 0o022 where that is not there."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    return 0o022


def is_html(path: Path) -> bool:
    """Whether ``path`` starts as an HTML document does (a report this tool or another wrote),
    so that writing a report over it loses nothing else."""
    try:
        with open(path, "rb") as f:
            head = f.read(64).lstrip().lower()
    except OSError:
        return False
    return head.startswith((b"<!doctype html", b"<html"))
