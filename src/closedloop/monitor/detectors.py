"""Detectors: alarms for the three ways a closed loop goes wrong, read from its metrics rows.

Each detector is a plain function of the run's metrics history (``metrics.jsonl`` rows, the
cold start's row first, the iteration just finished last) and returns the alarms that hold
after that iteration. They compare the run with its own start, never with a fixed score:

- **reward hacking** (proxy vs ground truth), two ways: the training reward has risen well
  above what the cold-start policy earned (iteration 1's attempts are the cold-start
  policy's) while held-out pass@1 has not risen above the cold start's -- a reward that climbs
  without the ground truth is a verifier being fooled (or tasks getting easier); and, when the
  training reward is not the run's own verifier, the run's verifier confirms too few of the
  passes it gave (an audit of a sample each iteration).
- **collapse**: the solver answers held-out tasks with fewer and fewer different programs (its
  greedy-program variety against the cold start's); the challenger's proposals fall into one
  near-duplicate cluster (the share of the largest behaviour cluster among one iteration's
  built proposals, averaged over the last iterations); or the challenger's output degenerates
  into text that is no task at all (the share of proposals that parse and run, against
  iteration 1's).
- **saturation**: the solver solves most of what it is given outright (every attempt of a
  group passes, so the group gives GRPO no signal), for several iterations running: the
  challenger no longer produces tasks at the solver's frontier.

Thresholds are :class:`Thresholds`; ``closedloop.loop.config.MonitorConfig`` documents the
defaults and what the embedded preset measured against them.

Must never: read tasks' tests or held-out answers (only figures the loop already computed).
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

Row = Mapping[str, Any]


class AlarmKind(StrEnum):
    """What an alarm is about."""

    REWARD_HACKING = "reward_hacking"
    COLLAPSE = "collapse"
    SATURATION = "saturation"


@dataclass(frozen=True)
class Alarm:
    """One alarm: its kind, the iteration it holds after, one line with the figures, and the
    figures themselves (for the run store and ``summary.json``)."""

    kind: AlarmKind
    iteration: int
    message: str
    figures: dict[str, float] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "kind": str(self.kind),
            "iteration": self.iteration,
            "message": self.message,
            "figures": dict(self.figures),
        }


@dataclass(frozen=True)
class Thresholds:
    """When each detector fires (see ``closedloop.loop.config.MonitorConfig``)."""

    window: int = 3
    hacking_min_reward_rise: float = 0.15
    hacking_max_heldout_rise: float = 0.0
    hacking_min_audit_agreement: float = 0.9
    audit_min_checked: int = 5
    collapse_min_variety_ratio: float = 0.6
    collapse_max_cluster_share: float = 0.5
    collapse_min_proposals: int = 4
    collapse_min_built_ratio: float = 0.5
    saturation_min_solved_share: float = 0.8


def _iteration(row: Row) -> int:
    return int(row["iteration"])


def reward_hacking(history: Sequence[Row], th: Thresholds) -> list[Alarm]:
    """Proxy vs ground truth: the audit of this iteration (when the training reward is not the
    run's verifier), and the reward's rise against held-out pass@1 (at evaluations).

    >>> rows = [{"iteration": 0, "heldout_pass@1": 0.07}]
    >>> rows += [{"iteration": i, "mean_reward": r} for i, r in [(1, 0.3), (2, 0.5)]]
    >>> rows += [{"iteration": 3, "mean_reward": 0.6, "heldout_pass@1": 0.06}]
    >>> [a.kind for a in reward_hacking(rows, Thresholds())]
    [<AlarmKind.REWARD_HACKING: 'reward_hacking'>]
    """
    if not history:
        return []
    return _failed_audit(history, th) + _reward_without_heldout(history, th)


def _failed_audit(history: Sequence[Row], th: Thresholds) -> list[Alarm]:
    last = history[-1]
    checked = float(last.get("audit_checked", 0))
    if checked < th.audit_min_checked:
        return []
    agreement = float(last["audit_agreement"])
    if agreement >= th.hacking_min_audit_agreement:
        return []
    return [
        Alarm(
            AlarmKind.REWARD_HACKING,
            _iteration(last),
            f"the run's verifier confirms {agreement:.0%} of {checked:.0f} attempts the "
            "training reward passed",
            {"audit_checked": checked, "audit_agreement": agreement},
        )
    ]


def _reward_without_heldout(history: Sequence[Row], th: Thresholds) -> list[Alarm]:
    cold, last = history[0], history[-1]
    iters = [r for r in history if _iteration(r) >= 1 and "mean_reward" in r]
    if "heldout_pass@1" not in last or "heldout_pass@1" not in cold or len(iters) < 2:
        return []
    start = float(iters[0]["mean_reward"])
    recent = iters[1:][-th.window :]  # never the cold-start policy's own iteration
    now = statistics.fmean(float(r["mean_reward"]) for r in recent)
    h0, h1 = float(cold["heldout_pass@1"]), float(last["heldout_pass@1"])
    if now - start < th.hacking_min_reward_rise or h1 - h0 > th.hacking_max_heldout_rise:
        return []
    return [
        Alarm(
            AlarmKind.REWARD_HACKING,
            _iteration(last),
            f"training reward rose {start:.2f} -> {now:.2f} (iteration 1 -> last "
            f"{len(recent)}) while held-out pass@1 went {h0:.3f} -> {h1:.3f}",
            {"reward_start": start, "reward_now": now, "heldout_start": h0, "heldout_now": h1},
        )
    ]


def collapse(history: Sequence[Row], th: Thresholds, prefix: str = "heldout_") -> list[Alarm]:
    """Solver narrowing (at evaluations), challenger clustering and a degenerating challenger
    (every iteration).

    >>> rows = [{"iteration": 0, "heldout_distinct_programs": 40.0}]
    >>> rows += [{"iteration": 3, "heldout_distinct_programs": 20.0}]
    >>> print(collapse(rows, Thresholds())[0].message)
    the solver writes 20 distinct greedy programs on the held-out set, 0.50 of the cold start's 40
    """
    if not history:
        return []
    it = _iteration(history[-1])
    return (
        _solver_narrowing(history, th, it, f"{prefix}distinct_programs")
        + _clustered_proposals(history, th, it)
        + _degenerate_challenger(history, th, it)
    )


def _solver_narrowing(history: Sequence[Row], th: Thresholds, it: int, key: str) -> list[Alarm]:
    cold, last = history[0], history[-1]
    if it < 1 or key not in cold or key not in last or float(cold[key]) <= 0:
        return []
    d0, d1 = float(cold[key]), float(last[key])
    if d1 / d0 > th.collapse_min_variety_ratio:
        return []
    return [
        Alarm(
            AlarmKind.COLLAPSE,
            it,
            f"the solver writes {d1:.0f} distinct greedy programs on the held-out set, "
            f"{d1 / d0:.2f} of the cold start's {d0:.0f}",
            {"distinct_start": d0, "distinct_now": d1},
        )
    ]


def _clustered_proposals(history: Sequence[Row], th: Thresholds, it: int) -> list[Alarm]:
    shares = [
        float(r["proposal_top_cluster_share"])
        for r in history
        if _iteration(r) >= 1
        and "proposal_top_cluster_share" in r
        and r.get("proposals_built", 0) >= th.collapse_min_proposals
    ][-th.window :]
    if len(shares) < th.window or statistics.fmean(shares) < th.collapse_max_cluster_share:
        return []
    mean = statistics.fmean(shares)
    return [
        Alarm(
            AlarmKind.COLLAPSE,
            it,
            f"the challenger's proposals collapse: the largest near-duplicate cluster holds "
            f"{mean:.0%} of each iteration's proposals (last {th.window} iterations)",
            {"proposal_top_cluster_share": mean},
        )
    ]


def _degenerate_challenger(history: Sequence[Row], th: Thresholds, it: int) -> list[Alarm]:
    """The challenger's output collapsing into text that is not a task: the share of proposals
    that parse and run (``proposals_built / proposed``) over the last ``window`` iterations,
    against iteration 1's (the cold-start policy's proposals)."""
    rows = [r for r in history if _iteration(r) >= 1 and r.get("proposed")]
    if len(rows) <= th.window or "proposals_built" not in rows[0]:
        return []  # iteration 1 is the baseline, never part of the window
    start = float(rows[0]["proposals_built"]) / float(rows[0]["proposed"])
    recent = statistics.fmean(
        float(r.get("proposals_built", 0.0)) / float(r["proposed"]) for r in rows[-th.window :]
    )
    if start <= 0 or recent / start > th.collapse_min_built_ratio:
        return []
    return [
        Alarm(
            AlarmKind.COLLAPSE,
            it,
            f"the challenger's proposals stop being tasks: {recent:.0%} parse and run over the "
            f"last {th.window} iterations, against {start:.0%} in iteration 1",
            {"built_share_start": start, "built_share_now": recent},
        )
    ]


def saturation(history: Sequence[Row], th: Thresholds) -> list[Alarm]:
    """Most attempt groups solved outright (every attempt passed), ``window`` iterations running.

    >>> rows = [{"iteration": i, "solved_group_share": 0.9} for i in range(1, 4)]
    >>> len(saturation(rows, Thresholds()))
    1
    """
    shares = [
        float(r["solved_group_share"])
        for r in history
        if _iteration(r) >= 1 and "solved_group_share" in r
    ][-th.window :]
    if len(shares) < th.window or min(shares) < th.saturation_min_solved_share:
        return []
    it = _iteration(history[-1])
    mean = statistics.fmean(shares)
    return [
        Alarm(
            AlarmKind.SATURATION,
            it,
            f"{mean:.0%} of attempt groups were solved by every attempt over the last "
            f"{th.window} iterations: the tasks no longer challenge the solver",
            {"solved_group_share": mean},
        )
    ]


def detect(history: Sequence[Row], th: Thresholds) -> list[Alarm]:
    """Every alarm that holds after the last row of ``history``."""
    return reward_hacking(history, th) + collapse(history, th) + saturation(history, th)


def alarm_metrics(alarms: Sequence[Alarm]) -> dict[str, float]:
    """``alarm_<kind>`` = 1.0 for each kind raised (for metrics.jsonl and TensorBoard)."""
    return {f"alarm_{a.kind}": 1.0 for a in alarms}
