"""The loop's metrics log: one JSON object per iteration in ``RUN_DIR/metrics.jsonl``, the same
scalars in TensorBoard (``RUN_DIR/tb``), and the one-line summary printed per iteration."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from closedloop.monitor.names import Metric, check_keys

METRICS_FILE = "metrics.jsonl"
TB_DIR = "tb"


class MetricsLog:
    """Appends iteration metrics to ``metrics.jsonl`` and TensorBoard."""

    def __init__(self, run_dir: Path, tensorboard: bool = True) -> None:
        self.path = Path(run_dir) / METRICS_FILE
        self._tb = None
        if tensorboard:
            from closedloop.train.metrics import MetricsWriter

            self._tb = MetricsWriter(Path(run_dir) / TB_DIR)

    def rewrite(self, rows: Iterable[Mapping[str, Any]]) -> None:
        """Replace the file with ``rows`` (on resume: exactly the committed iterations), at
        once: a reader (``closedloop report`` on a running run) or a crash mid-write sees the
        old file or the new one, never a part."""
        tmp = self.path.with_name(f".{self.path.name}.rewrite")
        with open(tmp, "w", encoding="utf-8") as fh:
            for r in rows:
                fh.write(json.dumps(dict(r), sort_keys=True) + "\n")
        os.replace(tmp, self.path)

    def write(self, iteration: int, metrics: Mapping[str, Any]) -> None:
        """Append one iteration's metrics. Raises ValueError, writing nothing, for a key that
        :mod:`closedloop.monitor.names` does not define (no reader would know it)."""
        check_keys(metrics)
        row = {Metric.ITERATION: iteration, **metrics}
        with open(self.path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(row, sort_keys=True) + "\n")
        if self._tb is not None:
            self._tb.write("loop", dict(metrics), iteration)

    def close(self) -> None:
        """Flush and close TensorBoard."""
        if self._tb is not None:
            self._tb.close()


def _fmt(v: Any, spec: str) -> str:
    return "-" if v is None else format(v, spec)


def summary_line(iteration: int, m: Mapping[str, Any]) -> str:
    """``iter 3 | proposed 16 accepted 5 | solve 0.31 | reward 0.29 | held-out 0.045 |
    KL 0.0123 | 21.3s`` (one line)."""
    proposed, accepted = int(m.get(Metric.PROPOSED, 0)), int(m.get(Metric.ACCEPTED, 0))
    return (
        f"iter {iteration:3d} | proposed {proposed} accepted {accepted}"
        f" | solve {_fmt(m.get(Metric.SOLVE_RATE), '.2f')}"
        f" | reward {_fmt(m.get(Metric.MEAN_REWARD), '.2f')}"
        f" | held-out {_fmt(m.get(Metric.HELDOUT_PASS_AT_1), '.3f')}"
        f" | KL {_fmt(m.get(Metric.KL_POLICY), '.4f')}"
        f" | {_fmt(m.get(Metric.SECONDS), '.1f')}s"
    )


def metric_iterations(path: Path) -> list[int]:
    """The iteration of every readable row of a ``metrics.jsonl`` (unreadable lines skipped:
    this only asks what the file records)."""
    out: list[int] = []
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return out
    for line in lines:
        try:
            it = json.loads(line).get("iteration")
        except (ValueError, AttributeError, RecursionError):
            continue
        if isinstance(it, int) and not isinstance(it, bool):
            out.append(it)
        elif isinstance(it, float) and math.isfinite(it):  # 1e999 is inf: int() raised
            out.append(int(it))
    return out
