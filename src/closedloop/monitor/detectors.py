"""Detectors: alarms for the ways a closed loop goes wrong, read from its metrics rows.

Each detector is a plain function of the run's metrics history (``metrics.jsonl`` rows, the
cold start's row first, the iteration just finished last) and returns the alarms that hold
after that iteration. They compare the run with its own start, never with a fixed score:

- **reward hacking** (proxy vs ground truth), three ways: the training reward has risen well
  above what the cold-start policy earned (iteration 1's attempts are the cold-start
  policy's) while held-out pass@1 has not risen above the cold start's -- a reward that climbs
  without the ground truth is a verifier being fooled (or tasks getting easier); when the
  training reward is not the run's own verifier, the run's verifier confirms too few of the
  passes it gave (an audit of a sample each iteration); and the run's own private tests pass
  programs that are not the task's function (the tests audit: passes re-run on fresh inputs
  beside the task's own program, pooled over the window).
- **collapse**: the solver answers held-out tasks with fewer and fewer different programs (its
  greedy-program variety against the cold start's); the challenger's proposals fall into one
  near-duplicate cluster (the share of the largest behaviour cluster among one iteration's
  built proposals, averaged over the last iterations); or the challenger's output degenerates
  into text that is no task at all (the share of proposals that parse and run, against
  iteration 1's).
- **saturation**, two ways: the solver solves most of what it is given outright (every attempt
  of a group passes, so the group gives GRPO no signal), for several iterations running: the
  challenger no longer produces tasks at the solver's frontier; and, where the held-out
  evaluation samples (``eval.samples``), the solver grows surer while its sureness tells less
  about being right -- its confidence (agreement among its samples) has risen above the cold
  start's while the correlation of confidence with correctness has fallen below it (the seed's
  definition of capability saturation: training sharpens the policy past what it can do) -- or
  while those same samples are right less often (surer and worse: a policy whose confidence
  never tracked correctness, correlation near 0 at the start, has no correlation left to lose).
- **regression**: whatever the cause, held-out pass@1 at an evaluation has fallen far below the
  cold start's. The three kinds above each read a symptom; a fault none of them reads (the
  loop training on its own solved tasks at a high rate lost a third of its held-out score
  while its confidence fell, its variety held and its reward told nothing) still shows here.

Thresholds are :class:`Thresholds`, the one place they are declared and documented (the run
config's ``[monitor]`` section extends it). Rows are read through
:class:`~closedloop.monitor.names.Metric`, never through string literals.

Must never: read tasks' tests or held-out answers (only figures the loop already computed).
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from closedloop.monitor.names import Metric, alarm_key

Row = Mapping[str, Any]


class AlarmKind(StrEnum):
    """What an alarm is about."""

    REWARD_HACKING = "reward_hacking"
    COLLAPSE = "collapse"
    SATURATION = "saturation"
    REGRESSION = "regression"


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


class Thresholds(BaseModel):
    """When each detector fires; each field is documented here, once. The run config's
    ``[monitor]`` section (``closedloop.loop.config.MonitorConfig``) is this model plus what
    the loop does about an alarm, so ``detect(rows, cfg.monitor)`` reads the run's own values.
    What the detectors raised on the embedded preset (docs/monitors.md): nothing on a default
    run (greedy held-out programs 38 -> 29 distinct); the solver-variety collapse at iteration 9
    without ``challenger.novelty`` (40 -> 20) and at iteration 3 at ten times the learning
    rate; reward hacking from iteration 1 with a planted weak reward (the audit)."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, allow_inf_nan=False)

    window: int = Field(3, ge=1)
    """Iterations the reward, proposal-cluster and saturation figures are averaged over."""
    hacking_min_reward_rise: float = Field(0.15, ge=0)
    """Reward hacking: the mean training reward of the last ``window`` iterations has risen at
    least this much above iteration 1's (the cold-start policy's attempts) ..."""
    hacking_max_heldout_rise: float = 0.0
    """... while held-out pass@1 has risen no more than this above the cold start's."""
    hacking_min_audit_agreement: float = Field(0.9, ge=0, le=1)
    """Reward hacking: the run's verifier confirms fewer than this share of the re-verified
    passes ..."""
    audit_min_checked: int = Field(5, ge=1)
    """... of at least this many (and the tests audit below as well, over its ``window``)."""
    hacking_min_tests_agreement: float = Field(0.9, ge=0, le=1)
    """Reward hacking by weak tests: of the passes re-run on fresh inputs beside their task's
    own program over the last ``window`` iterations (the tests audit, list-function runs),
    fewer than this share computed the task's function. Measured on the embedded preset, seed
    0, 24 passes an iteration: 0.884 over the run (iterations 0.75-1.0; windows of three
    0.81-0.96) with only the two private tests a grammar task's five inputs leave, where it
    fired from iteration 5 to 9; 0.981 (iterations 0.917-1.0) with
    ``challenger.drawn_private_tests``, quiet (the audit's first version, lists from the
    grammar's distribution; this one: 0.968, quiet. docs/monitors.md)."""
    collapse_min_variety_ratio: float = Field(0.6, ge=0)
    """Collapse: distinct greedy programs on the held-out set at most this share of the cold
    start's (1.0: any narrowing; above 1: unless the variety grew that much)."""
    collapse_max_cluster_share: float = Field(0.5, gt=0, le=1)
    """Collapse: the largest near-duplicate cluster (same behaviour on probe inputs, or nearly
    the same syntax tree) holds at least this share of an iteration's built proposals, on
    average over ``window`` iterations."""
    collapse_min_proposals: int = Field(4, ge=2)
    """Iterations with fewer built proposals than this give no cluster share (too few to judge)."""
    collapse_min_built_ratio: float = Field(0.5, ge=0, le=1)
    """Collapse: the share of proposals that parse and run into tasks, averaged over the last
    ``window`` iterations, at most this fraction of iteration 1's (the challenger degenerates
    into text that is no task; at ten times the learning rate the preset's fell from 15 of 16
    to 1-3). Default runs stayed at 0.69 of iteration 1's or above."""
    saturation_min_solved_share: float = Field(0.8, gt=0, le=1)
    """Saturation: at least this share of attempt groups solved by every attempt, in each of the
    last ``window`` iterations."""
    saturation_min_confidence_rise: float = Field(0.1, ge=0)
    """Saturation: the held-out confidence (the most common sample's share, averaged over tasks)
    has risen at least this much above the cold start's ..."""
    saturation_min_correlation_drop: float = Field(0.1, ge=0)
    """... while the correlation of confidence with correctness has fallen at least this much
    below the cold start's, or ..."""
    saturation_min_accuracy_drop: float = Field(0.1, ge=0, le=1)
    """... the samples' own pass@1 (the mean success of the same samples) has fallen by at least
    this share of the cold start's. Measured on a planted fault (``benchmarks/monitor_alarms.py
    --plant majority-vote``, from the list-positions base): confidence 0.47 -> 0.57 -> 0.62 ->
    0.65 at iterations 0/2/4/6, correlation 0.07 -> 0.06 -> 0.14 -> 0.11 (the correlation
    rule stays quiet), sampled pass@1 0.152 -> 0.149 -> 0.135 -> 0.126; this threshold was set
    after seeing that run."""
    regression_min_heldout_drop: float = Field(0.2, gt=0, le=1)
    """Regression: held-out pass@1 at an evaluation has fallen at least this share of the cold
    start's below it. Set after looking at the 39 runs recorded on this project's machine
    (docs/monitors.md): preset runs fell at most 9.8% at any evaluation and update variants
    at most 12.6% (expert iteration from an older base), except STaR rationalization at four
    epochs (0.375 -> 0.272, -27.6%); the planted faults that hurt the policy fell 32-44%. It
    fires on those four runs and on no other ..."""
    regression_min_heldout_fall: float = Field(0.05, ge=0, le=1)
    """... and the fall is at least this much pass@1 as well: from the scratch preset's cold
    start (0.065 on 200 tasks) a fifth is 3 tasks, what its healthy runs move by (0.065 ->
    0.035 at iteration 3 in one); 0.05 is 10 tasks of 200 and 30 of 600."""


def _iteration(row: Row) -> int:
    return int(row[Metric.ITERATION])


def reward_hacking(history: Sequence[Row], th: Thresholds) -> list[Alarm]:
    """Proxy vs ground truth: the audit of this iteration (when the training reward is not the
    run's verifier), and the reward's rise against held-out pass@1 (at evaluations).

    >>> M = Metric
    >>> rows = [{M.ITERATION: 0, M.HELDOUT_PASS_AT_1: 0.07}]
    >>> rows += [{M.ITERATION: i, M.MEAN_REWARD: r} for i, r in [(1, 0.3), (2, 0.5)]]
    >>> rows += [{M.ITERATION: 3, M.MEAN_REWARD: 0.6, M.HELDOUT_PASS_AT_1: 0.06}]
    >>> [a.kind for a in reward_hacking(rows, Thresholds())]
    [<AlarmKind.REWARD_HACKING: 'reward_hacking'>]
    """
    if not history:
        return []
    return (
        _failed_audit(history, th) + _weak_tests(history, th) + _reward_without_heldout(history, th)
    )


def _weak_tests(history: Sequence[Row], th: Thresholds) -> list[Alarm]:
    checked_key, agree_key = Metric.TESTS_AUDIT_CHECKED, Metric.TESTS_AUDIT_AGREEMENT
    last = history[-1]
    # the last ``window`` iterations, audited or not: an iteration with no pass to audit
    # leaves no row, and the window's checks still count
    since = _iteration(last) - th.window
    recent = [r for r in history if checked_key in r and _iteration(r) > max(since, 0)]
    checked = sum(float(r[checked_key]) for r in recent)
    if checked < th.audit_min_checked:
        return []
    agreement = sum(float(r[checked_key]) * float(r[agree_key]) for r in recent) / checked
    if agreement >= th.hacking_min_tests_agreement:
        return []
    return [
        Alarm(
            AlarmKind.REWARD_HACKING,
            _iteration(last),
            f"{1 - agreement:.0%} of {checked:.0f} attempts the private tests passed in the last "
            f"{len(recent)} iterations differ from their task's own program on fresh inputs: "
            "the tests are too weak to tell",
            {checked_key: checked, agree_key: agreement},
        )
    ]


def _failed_audit(history: Sequence[Row], th: Thresholds) -> list[Alarm]:
    last = history[-1]
    checked = float(last.get(Metric.AUDIT_CHECKED, 0))
    if checked < th.audit_min_checked:
        return []
    agreement = float(last[Metric.AUDIT_AGREEMENT])
    if agreement >= th.hacking_min_audit_agreement:
        return []
    return [
        Alarm(
            AlarmKind.REWARD_HACKING,
            _iteration(last),
            f"the run's verifier confirms {agreement:.0%} of {checked:.0f} attempts the "
            "training reward passed",
            {Metric.AUDIT_CHECKED: checked, Metric.AUDIT_AGREEMENT: agreement},
        )
    ]


def _reward_without_heldout(history: Sequence[Row], th: Thresholds) -> list[Alarm]:
    reward, heldout = Metric.MEAN_REWARD, Metric.HELDOUT_PASS_AT_1
    cold, last = history[0], history[-1]
    iters = [r for r in history if _iteration(r) >= 1 and reward in r]
    if heldout not in last or heldout not in cold or len(iters) < 2:
        return []
    start = float(iters[0][reward])
    recent = iters[1:][-th.window :]  # never the cold-start policy's own iteration
    now = statistics.fmean(float(r[reward]) for r in recent)
    h0, h1 = float(cold[heldout]), float(last[heldout])
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


def collapse(history: Sequence[Row], th: Thresholds) -> list[Alarm]:
    """Solver narrowing (at evaluations), challenger clustering and a degenerating challenger
    (every iteration).

    >>> rows = [{Metric.ITERATION: 0, Metric.HELDOUT_DISTINCT_PROGRAMS: 40.0}]
    >>> rows += [{Metric.ITERATION: 3, Metric.HELDOUT_DISTINCT_PROGRAMS: 20.0}]
    >>> print(collapse(rows, Thresholds())[0].message)
    the solver writes 20 distinct greedy programs on the held-out set, 0.50 of the cold start's 40
    """
    if not history:
        return []
    it = _iteration(history[-1])
    return (
        _solver_narrowing(history, th, it)
        + _clustered_proposals(history, th, it)
        + _degenerate_challenger(history, th, it)
    )


def _solver_narrowing(history: Sequence[Row], th: Thresholds, it: int) -> list[Alarm]:
    key = Metric.HELDOUT_DISTINCT_PROGRAMS
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
    key = Metric.PROPOSAL_TOP_CLUSTER_SHARE
    shares = [
        float(r[key])
        for r in history
        if _iteration(r) >= 1
        and key in r
        and r.get(Metric.PROPOSALS_BUILT, 0) >= th.collapse_min_proposals
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
            {key: mean},
        )
    ]


def _degenerate_challenger(history: Sequence[Row], th: Thresholds, it: int) -> list[Alarm]:
    """The challenger's output collapsing into text that is not a task: the share of proposals
    that parse and run (``proposals_built / proposed``) over the last ``window`` iterations,
    against iteration 1's (the cold-start policy's proposals)."""
    built, proposed = Metric.PROPOSALS_BUILT, Metric.PROPOSED
    rows = [r for r in history if _iteration(r) >= 1 and r.get(proposed)]
    if len(rows) <= th.window or built not in rows[0]:
        return []  # iteration 1 is the baseline, never part of the window
    start = float(rows[0][built]) / float(rows[0][proposed])
    recent = statistics.fmean(
        float(r.get(built, 0.0)) / float(r[proposed]) for r in rows[-th.window :]
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
    """Saturation, either way (see the module docstring)."""
    return _solved_outright(history, th) + _sure_but_uncalibrated(history, th)


def _sure_but_uncalibrated(history: Sequence[Row], th: Thresholds) -> list[Alarm]:
    """Held-out confidence up by ``saturation_min_confidence_rise`` over the first evaluation's
    (the cold start's) while its correlation with correctness is down by
    ``saturation_min_correlation_drop``; judged on the last row only when it evaluated.

    >>> start = {Metric.ITERATION: 0, Metric.HELDOUT_CONFIDENCE: 0.5,
    ...          Metric.HELDOUT_CONFIDENCE_CORRECTNESS: 0.4}
    >>> now = {Metric.ITERATION: 6, Metric.HELDOUT_CONFIDENCE: 0.8,
    ...        Metric.HELDOUT_CONFIDENCE_CORRECTNESS: 0.1}
    >>> [a.kind for a in _sure_but_uncalibrated([start, now], Thresholds())]
    [<AlarmKind.SATURATION: 'saturation'>]
    """
    conf, corr = Metric.HELDOUT_CONFIDENCE, Metric.HELDOUT_CONFIDENCE_CORRECTNESS
    acc = Metric.HELDOUT_SAMPLED_PASS_AT_1
    # rows are those that evaluated (confidence recorded); the correlation is absent where it
    # is undefined (every task equally right, or equally sure), and the accuracy branch must
    # still judge those: all samples wrong is the worst "worse" there is
    rows = [r for r in history if conf in r]
    last = history[-1] if history else {}
    if len(rows) < 2 or rows[-1] is not last or _iteration(last) < 1:
        return []
    start, now = rows[0], rows[-1]
    rise = float(now[conf]) - float(start[conf])
    has_corr = corr in start and corr in now
    drop = float(start[corr]) - float(now[corr]) if has_corr else 0.0
    less_telling = has_corr and drop >= th.saturation_min_correlation_drop
    worse = (
        acc in start
        and acc in now
        and float(now[acc]) <= (1 - th.saturation_min_accuracy_drop) * float(start[acc])
        and float(now[acc]) < float(start[acc])  # from 0 it cannot fall
    )
    if rise < th.saturation_min_confidence_rise or not (less_telling or worse):
        return []
    figures = {"confidence_start": float(start[conf]), "confidence_now": float(now[conf])}
    if has_corr:
        figures.update(
            {"correlation_start": float(start[corr]), "correlation_now": float(now[corr])}
        )
    if acc in start and acc in now:
        figures.update({"accuracy_start": float(start[acc]), "accuracy_now": float(now[acc])})
    why = (
        f"its correlation with correctness {float(start[corr]):.2f} -> {float(now[corr]):.2f}"
        if less_telling
        else f"its samples right {float(start[acc]):.3f} -> {float(now[acc]):.3f} of the time"
    )
    return [
        Alarm(
            AlarmKind.SATURATION,
            _iteration(last),
            f"the solver grows surer while its sureness tells less: held-out confidence "
            f"{float(start[conf]):.2f} -> {float(now[conf]):.2f}, {why}",
            figures,
        )
    ]


def _solved_outright(history: Sequence[Row], th: Thresholds) -> list[Alarm]:
    """Most attempt groups solved outright (every attempt passed), ``window`` iterations running.

    >>> rows = [{Metric.ITERATION: i, Metric.SOLVED_GROUP_SHARE: 0.9} for i in range(1, 4)]
    >>> len(_solved_outright(rows, Thresholds()))
    1
    """
    key = Metric.SOLVED_GROUP_SHARE
    shares = [float(r[key]) for r in history if _iteration(r) >= 1 and key in r][-th.window :]
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
            {key: mean},
        )
    ]


def regression(history: Sequence[Row], th: Thresholds) -> list[Alarm]:
    """Held-out pass@1 down by ``regression_min_heldout_drop`` of the cold start's and by at
    least ``regression_min_heldout_fall``; judged on the last row only when it evaluated.

    >>> rows = [{Metric.ITERATION: 0, Metric.HELDOUT_PASS_AT_1: 0.475},
    ...         {Metric.ITERATION: 2, Metric.HELDOUT_PASS_AT_1: 0.317}]
    >>> [a.kind for a in regression(rows, Thresholds())]
    [<AlarmKind.REGRESSION: 'regression'>]
    """
    heldout = Metric.HELDOUT_PASS_AT_1
    if len(history) < 2 or heldout not in history[0] or heldout not in history[-1]:
        return []
    cold, last = history[0], history[-1]
    h0, h1 = float(cold[heldout]), float(last[heldout])
    if h0 <= 0 or h1 > h0 * (1 - th.regression_min_heldout_drop):
        return []
    if h0 - h1 < th.regression_min_heldout_fall:
        return []
    return [
        Alarm(
            AlarmKind.REGRESSION,
            _iteration(last),
            f"held-out pass@1 fell {h0:.3f} -> {h1:.3f} ({h1 / h0 - 1:+.0%} of the cold "
            "start's): the loop is making the policy worse on tasks it never trains on",
            {"heldout_start": h0, "heldout_now": h1},
        )
    ]


def detect(history: Sequence[Row], th: Thresholds) -> list[Alarm]:
    """Every alarm that holds after the last row of ``history``."""
    return (
        reward_hacking(history, th)
        + collapse(history, th)
        + saturation(history, th)
        + regression(history, th)
    )


def alarm_metrics(alarms: Sequence[Alarm]) -> dict[Metric, float]:
    """``alarm_<kind>`` = 1.0 for each kind raised (for metrics.jsonl and TensorBoard)."""
    return {alarm_key(a.kind): 1.0 for a in alarms}
