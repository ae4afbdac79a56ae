"""The loop's metrics log: one JSON object per iteration in ``RUN_DIR/metrics.jsonl``, the same
scalars in TensorBoard (``RUN_DIR/tb``), and the one-line summary printed per iteration."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

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
        """Replace the file with ``rows`` (on resume: exactly the committed iterations)."""
        with open(self.path, "w", encoding="utf-8") as fh:
            for r in rows:
                fh.write(json.dumps(dict(r), sort_keys=True) + "\n")

    def write(self, iteration: int, metrics: Mapping[str, Any]) -> None:
        """Append one iteration's metrics."""
        row = {"iteration": iteration, **metrics}
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
    """``iter 3 | proposed 16 accepted 5 | solve 0.31 | reward 0.29 | held-out 0.045 | KL 0.0123 | 21.3s``"""
    return (
        f"iter {iteration:3d} | proposed {int(m.get('proposed', 0))} accepted {int(m.get('accepted', 0))}"
        f" | solve {_fmt(m.get('solve_rate'), '.2f')} | reward {_fmt(m.get('mean_reward'), '.2f')}"
        f" | held-out {_fmt(m.get('heldout_pass@1'), '.3f')} | KL {_fmt(m.get('kl_policy'), '.4f')}"
        f" | {_fmt(m.get('seconds'), '.1f')}s"
    )
