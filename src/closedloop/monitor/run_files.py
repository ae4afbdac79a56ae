"""What the report reads from a run directory, each file checked for the shape a run writes.

Owns reading ``metrics.jsonl``, ``summary.json`` and ``config.toml`` for
:mod:`closedloop.monitor.report`, and refusing a file of the wrong shape (a hand-edited
summary, a row missing its iteration) with a :class:`ReportError` that names the file, where in
it, and what is wrong, so that no report ever ends in a ``KeyError`` from deep in a plot.

Must never: write anything; refuse a run still in progress (no ``summary.json`` is a run that
has not finished, not an error); check what the report does not read (``heldout_files``,
``probe``, an alarm's ``figures``: a run may add keys the report ignores).
"""

from __future__ import annotations

import json
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from closedloop.loop.rundir import CONFIG_FILE, SUMMARY_FILE
from closedloop.monitor.metrics import METRICS_FILE
from closedloop.monitor.names import Metric
from closedloop.verify.text import safe_json


class ReportError(ValueError):
    """The directory holds no run to report on, or one of its files is not as a run writes it
    (the message names the file and what is wrong)."""


@dataclass(frozen=True)
class RunFiles:
    """A run directory's files as the report reads them."""

    rows: list[dict[str, Any]]
    """``metrics.jsonl``: one row per committed iteration, each with an int ``iteration``."""
    summary: dict[str, Any] | None
    """``summary.json``; None for a run that has not finished."""
    name: str
    """The run's name: its config's ``name`` and the directory's, or the directory's alone."""
    unfinished: str | None = None
    """Why the last line of ``metrics.jsonl`` was left out, when it is an unfinished one."""


def read_run(run_dir: Path) -> RunFiles:
    """Read and check the files of the run in ``run_dir``; raises :class:`ReportError`."""
    run_dir = Path(run_dir)
    metrics = run_dir / METRICS_FILE
    if not metrics.is_file():
        raise ReportError(f"{run_dir}: no {METRICS_FILE} (not a closedloop run directory)")
    text = _text(metrics)
    lines = [(n, line) for n, line in enumerate(text.splitlines(), 1) if line.strip()]
    unfinished = None
    if len(lines) > 1 and not text.endswith("\n"):
        # a row is written as one line ending in a newline: without it the row is still being
        # written (the report of a running run) or its writer stopped mid-write; it is left
        # out when it does not parse, with a warning, rather than refusing the whole report
        # (a file of that line alone is refused: nothing in it was ever whole)
        n, last = lines[-1]
        try:
            _loads(last)
        except json.JSONDecodeError:
            lines.pop()
            unfinished = f"{metrics}:{n}: an unfinished last line, left out"
    rows = [_row(metrics, n, line) for n, line in lines]
    summary = None
    if (run_dir / SUMMARY_FILE).is_file():
        summary = _summary(run_dir / SUMMARY_FILE)
    name = run_dir.name
    if (run_dir / CONFIG_FILE).is_file():
        path = run_dir / CONFIG_FILE
        try:
            cfg = tomllib.loads(_text(path))
        except tomllib.TOMLDecodeError as e:
            raise ReportError(f"{path}: not TOML ({e})") from None
        name = f"{cfg.get('name', '')} — {run_dir.name}"
    return RunFiles(rows, summary, name, unfinished)


def _text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise ReportError(f"{path}: not UTF-8 text (byte {e.start})") from None
    except OSError as e:
        raise ReportError(f"{path}: cannot be read ({e.strerror})") from None


def _is_number(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool)


class _LongInt:
    """Stands in for an int with more digits than Python converts (``json.loads`` would raise
    a bare ``ValueError``), so that the error can name the key holding it."""

    def __init__(self, digits: str) -> None:
        self.digits = len(digits.lstrip("-"))

    def __repr__(self) -> str:
        return f"a {self.digits:,}-digit number"


def _int(text: str) -> int | _LongInt:
    too_long = len(text.lstrip("-")) > sys.get_int_max_str_digits()
    return _LongInt(text) if too_long else int(text)


def _loads(text: str) -> Any:
    """``json.loads``, with an int past the digit limit a :class:`_LongInt`; a nesting too deep
    to decode raises ``json.JSONDecodeError``."""
    try:
        return json.loads(text, parse_int=_int)
    except RecursionError:
        raise json.JSONDecodeError("nested too deep", text, 0) from None


def _long_int(obj: Any, where: str = "") -> str | None:
    """The dotted key of the first :class:`_LongInt` in ``obj``, or None."""
    stack = [(obj, where)]
    while stack:
        x, at = stack.pop()
        if isinstance(x, _LongInt):
            return at or "the top level"
        if isinstance(x, dict):  # pushed last to first: popped in the file's order
            stack += reversed([(v, f"{at}.{k}" if at else str(k)) for k, v in x.items()])
        elif isinstance(x, list):
            stack += reversed([(v, f"{at}[{i}]") for i, v in enumerate(x)])
    return None


def _refuse_long_ints(where: str, obj: Any) -> None:
    key = _long_int(obj)
    if key is not None:
        limit = sys.get_int_max_str_digits()
        raise ReportError(f"{where}: '{key}' is a number of more than {limit:,} digits")


def _row(path: Path, n: int, line: str) -> dict[str, Any]:
    where = f"{path}:{n}"
    try:
        row = _loads(line)
    except json.JSONDecodeError as e:
        raise ReportError(f"{where}: not JSON ({e.msg})") from None
    _refuse_long_ints(where, row)
    row = safe_json(row)  # JSON escapes can spell a lone surrogate no writer or font takes
    if not isinstance(row, dict) or Metric.ITERATION not in row:
        raise ReportError(f"{where}: not a metrics row (no 'iteration')")
    it = row[Metric.ITERATION]
    if not isinstance(it, int) or isinstance(it, bool) or it < 0:
        raise ReportError(f"{where}: 'iteration' must be a whole number >= 0, got {it!r:.60}")
    for key, value in row.items():
        if value is not None and not _is_number(value):
            raise ReportError(f"{where}: {key!r:.60} must be a number, got {value!r:.60}")
    return row


_POLICY_ENTRY = {"pass@1": _is_number, "n_tasks": _is_number}
_ALARM = {"kind": str, "iteration": int}
_GATE = {
    "decision": str,
    "candidate": str,
    "baseline": str,
    "reason": str,
    "n_tasks": _is_number,
    "wins": _is_number,
    "losses": _is_number,
    "p_value": _is_number,
    "alpha": _is_number,
}


def _summary(path: Path) -> dict[str, Any]:
    try:
        summary = _loads(_text(path))
    except json.JSONDecodeError as e:
        raise ReportError(f"{path}: not JSON ({e.msg} at line {e.lineno})") from None
    _refuse_long_ints(str(path), summary)
    summary = safe_json(summary)
    _need(path, "", summary, dict)
    if "heldout_set" in summary:
        _need(path, "heldout_set", summary["heldout_set"], str)
    if "policies" in summary:
        _policies(path, "policies", summary["policies"])
    if summary.get("heldout_sets") is not None:
        _need(path, "heldout_sets", summary["heldout_sets"], dict)
        for name, per in summary["heldout_sets"].items():
            _policies(path, f"heldout_sets.{name}", per)
    if summary.get("alarms") is not None:
        _need(path, "alarms", summary["alarms"], list)
        for i, alarm in enumerate(summary["alarms"]):
            _fields(path, f"alarms[{i}]", alarm, _ALARM)
            if "message" in alarm:
                _need(path, f"alarms[{i}].message", alarm["message"], str)
    if summary.get("gate") is not None:
        _fields(path, "gate", summary["gate"], _GATE)
    return summary


def _policies(path: Path, what: str, per: Any) -> None:
    """``{label: {"pass@1": number, "n_tasks": number}}``, as the held-out table reads it."""
    _need(path, what, per, dict)
    for label, entry in per.items():
        if entry is not None:  # a policy the run did not evaluate on that set: an empty cell
            _fields(path, f"{what}.{label}", entry, _POLICY_ENTRY)


def _fields(path: Path, what: str, obj: Any, fields: dict[str, Any]) -> None:
    """``obj`` is an object holding each of ``fields``, each of its type (or passing its check)."""
    _need(path, what, obj, dict)
    for key, kind in fields.items():
        if key not in obj:
            raise ReportError(f"{path}: '{what}' has no {key!r}")
        _need(path, f"{what}.{key}", obj[key], kind)


_KIND_NAMES = {dict: "an object", list: "a list", str: "a string", int: "a whole number"}


def _need(path: Path, what: str, value: Any, kind: Any) -> None:
    """Raise unless ``value`` is of ``kind`` (a type, or a check such as :func:`_is_number`);
    ``what`` is its dotted path in the file, empty for the top level."""
    if isinstance(kind, type):
        ok = isinstance(value, kind) and not (kind is int and isinstance(value, bool))
        expected = _KIND_NAMES.get(kind, kind.__name__)
    else:
        ok, expected = kind(value), "a number"
    if not ok:
        found = "null" if value is None else type(value).__name__
        where = f"'{what}'" if what else "the top level"
        raise ReportError(f"{path}: {where} must be {expected}, found {found} ({value!r:.60})")
