"""The detectors on metric histories shaped like the loop's (iteration 0 = the cold start)."""

from __future__ import annotations

import json
from typing import Any

from closedloop.monitor.detectors import (
    AlarmKind,
    Thresholds,
    alarm_metrics,
    collapse,
    detect,
    reward_hacking,
    saturation,
)
from closedloop.monitor.names import Metric
from closedloop.monitor.variety import group_outcomes

TH = Thresholds()


def run(rewards: list[float], heldout: dict[int, float], **extra: Any) -> list[dict[str, Any]]:
    """A history: the cold start's row, then one row per iteration's reward."""
    rows: list[dict[str, Any]] = [{"iteration": 0, "heldout_pass@1": heldout[0]}]
    for i, r in enumerate(rewards, start=1):
        row: dict[str, Any] = {"iteration": i, "mean_reward": r}
        if i in heldout:
            row["heldout_pass@1"] = heldout[i]
        row.update(extra)
        rows.append(row)
    return rows


def test_reward_rising_while_heldout_falls_is_hacking() -> None:
    rows = run([0.30, 0.45, 0.55, 0.60], {0: 0.070, 3: 0.060})[:4]
    (alarm,) = reward_hacking(rows, TH)
    assert alarm.kind is AlarmKind.REWARD_HACKING and alarm.iteration == 3
    # the cold-start policy's own reward (iteration 1) is the baseline, not part of "now"
    assert alarm.figures["reward_start"] == 0.30
    assert abs(alarm.figures["reward_now"] - 0.50) < 1e-9
    assert "0.30 -> 0.50" in alarm.message and "0.070 -> 0.060" in alarm.message


def test_reward_rising_with_heldout_is_not_hacking() -> None:
    rows = run([0.30, 0.45, 0.55], {0: 0.070, 3: 0.090})
    assert reward_hacking(rows, TH) == []
    # ... unless the threshold says a held-out rise that small does not count
    assert reward_hacking(rows, Thresholds(hacking_max_heldout_rise=0.05))


def test_small_reward_rise_is_not_hacking() -> None:
    assert reward_hacking(run([0.30, 0.35, 0.40], {0: 0.07, 3: 0.05}), TH) == []


def test_hacking_is_judged_only_where_heldout_was_measured() -> None:
    rows = run([0.30, 0.60, 0.70, 0.80], {0: 0.070, 3: 0.050})
    assert reward_hacking(rows[:3], TH) == []  # iteration 2: no held-out evaluation
    assert reward_hacking(rows[:4], TH)
    assert reward_hacking(rows, TH) == []  # iteration 4 has no evaluation either
    # one iteration alone cannot show a rise: its attempts are the cold-start policy's
    assert reward_hacking(run([0.9], {0: 0.07, 1: 0.0}), TH) == []


def test_an_audit_that_confirms_too_few_of_the_rewards_passes_is_hacking() -> None:
    # the planted weak reward's alarm: the run's verifier re-checks the passes of a foreign
    # training reward, and agreement under the threshold on enough checks fires at once
    def audited(checked: float, agreement: float) -> list[dict[str, Any]]:
        return [
            {"iteration": 0, "heldout_pass@1": 0.07},
            {"iteration": 1, "mean_reward": 0.3},
            {
                "iteration": 2,
                "mean_reward": 0.3,
                "audit_checked": checked,
                "audit_agreement": agreement,
            },
        ]

    (alarm,) = reward_hacking(audited(10, 0.5), TH)
    assert alarm.kind is AlarmKind.REWARD_HACKING and alarm.iteration == 2
    assert alarm.figures == {"audit_checked": 10.0, "audit_agreement": 0.5}
    assert "50% of 10 attempts" in alarm.message
    assert reward_hacking(audited(TH.audit_min_checked - 1, 0.0), TH) == []  # too few checks
    assert reward_hacking(audited(10, TH.hacking_min_audit_agreement), TH) == []
    assert reward_hacking(audited(10, 0.95), TH) == []
    # only the newest iteration's audit counts: a bad audit earlier has had its alarm
    later = [*audited(10, 0.5), {"iteration": 3, "mean_reward": 0.3}]
    assert reward_hacking(later, TH) == []


def test_solver_collapse_against_the_cold_start() -> None:
    rows: list[dict[str, Any]] = [{"iteration": 0, "heldout_distinct_programs": 37.0}]
    rows.append({"iteration": 3, "heldout_distinct_programs": 36.0})
    assert collapse(rows, TH) == []
    rows.append({"iteration": 6, "heldout_distinct_programs": 24.0})
    assert collapse(rows, TH) == []  # 0.65 > 0.6
    rows.append({"iteration": 9, "heldout_distinct_programs": 17.0})
    (alarm,) = collapse(rows, TH)
    assert alarm.kind is AlarmKind.COLLAPSE and alarm.figures["distinct_now"] == 17.0
    assert "17 distinct" in alarm.message and "37" in alarm.message


def test_challenger_collapse_needs_a_full_window_of_judgeable_iterations() -> None:
    def row(i: int, share: float, built: int = 10) -> dict[str, Any]:
        return {"iteration": i, "proposal_top_cluster_share": share, "proposals_built": built}

    rows = [{"iteration": 0}, row(1, 0.9), row(2, 0.8)]
    assert collapse(rows, TH) == []  # two iterations: not yet a window of three
    rows.append(row(3, 0.3, built=2))  # too few proposals to judge: skipped
    assert collapse(rows, TH) == []
    assert collapse([{"iteration": 0}, row(1, 0.2), row(2, 0.3), row(3, 0.9)], TH) == []
    rows.append(row(4, 0.7))
    (alarm,) = collapse(rows, TH)
    assert abs(alarm.figures["proposal_top_cluster_share"] - 0.8) < 1e-9


def test_saturation_needs_every_iteration_of_the_window() -> None:
    rows = [{"iteration": i, "solved_group_share": s} for i, s in enumerate([0.9, 0.95, 0.7], 1)]
    assert saturation(rows, TH) == []
    rows.append({"iteration": 4, "solved_group_share": 0.85})
    assert saturation(rows, TH) == []  # 0.7 is still in the window
    rows.append({"iteration": 5, "solved_group_share": 0.9})
    assert saturation(rows, TH) == []
    rows.append({"iteration": 6, "solved_group_share": 0.8})
    (alarm,) = saturation(rows, TH)
    assert alarm.kind is AlarmKind.SATURATION and alarm.iteration == 6


def test_detect_and_alarm_metrics() -> None:
    rows = run(
        [0.2, 0.6, 0.7],
        {0: 0.30, 3: 0.20},
        solved_group_share=0.9,
    )
    rows[0]["heldout_distinct_programs"] = 40.0
    rows[-1]["heldout_distinct_programs"] = 10.0
    kinds = {a.kind for a in detect(rows, TH)}
    assert kinds == set(AlarmKind)
    assert alarm_metrics(detect(rows, TH)) == {
        "alarm_reward_hacking": 1.0,
        "alarm_collapse": 1.0,
        "alarm_saturation": 1.0,
        "alarm_regression": 1.0,  # held-out 0.30 -> 0.20: -33%
    }
    assert all(isinstance(k, Metric) for k in alarm_metrics(detect(rows, TH)))


def test_rows_read_back_from_json_raise_the_same_alarms() -> None:
    rows = run([0.2, 0.6, 0.7], {0: 0.30, 3: 0.20}, solved_group_share=0.9)
    rows[0][Metric.HELDOUT_DISTINCT_PROGRAMS] = 40.0
    rows[-1][Metric.HELDOUT_DISTINCT_PROGRAMS] = 10.0
    stored = [json.loads(json.dumps(r)) for r in rows]
    assert detect(stored, TH) == detect(rows, TH) and len(detect(rows, TH)) == 4


def _heldout(*scores: float) -> list[dict]:
    return [{Metric.ITERATION: 2 * i, Metric.HELDOUT_PASS_AT_1: s} for i, s in enumerate(scores)]


def test_a_held_out_score_far_below_the_cold_starts_is_a_regression() -> None:
    from closedloop.monitor.detectors import regression

    # the solved-pool plant from the shipped base (docs/monitors.md): 0.475 -> 0.317 (-33%)
    (alarm,) = regression(_heldout(0.475, 0.317), TH)
    assert alarm.kind is AlarmKind.REGRESSION and alarm.iteration == 2
    assert "0.475 -> 0.317" in alarm.message and alarm.figures["heldout_now"] == 0.317
    # the worst fall of any preset run or update variant recorded (expert iteration, -12.6%)
    assert regression(_heldout(0.370, 0.353, 0.363, 0.323), TH) == []
    assert regression(_heldout(0.475, 0.38), TH)  # exactly -20%: fires
    # judged only where held-out was measured, and only against a cold start that scored
    assert regression(_heldout(0.475, 0.2)[:1] + [{Metric.ITERATION: 3}], TH) == []
    assert regression(_heldout(0.0, 0.0), TH) == []
    assert regression(_heldout(0.475, 0.3), Thresholds(regression_min_heldout_drop=0.5)) == []
    # a fifth of a small score is a few tasks: the scratch preset's 0.065 -> 0.035 is noise
    assert regression(_heldout(0.065, 0.035), TH) == []
    assert regression(_heldout(0.075, 0.015), TH)  # its planted weak verifier: a real fall


def test_group_outcomes() -> None:
    assert group_outcomes([]) == {}
    got = group_outcomes([[1.0, 1.0, 1.0], [0.0, 0.0], [1.0, 0.0], []])
    assert got == {"solved_group_share": 1 / 3, "learnable_share": 1 / 3}


def test_a_challenger_whose_proposals_stop_being_tasks_is_a_collapse() -> None:
    def row(i: int, built: int | None) -> dict[str, Any]:
        r: dict[str, Any] = {"iteration": i, "proposed": 16}
        if built:  # the loop logs no proposals_built when nothing was built
            r["proposals_built"] = float(built)
        return r

    # the 10x-learning-rate fork: 15, 9, 6, 4 of 16 built -> window 2..4 is 0.40 of 0.94
    rows = [{"iteration": 0}, row(1, 15), row(2, 9), row(3, 6)]
    assert collapse(rows, TH) == []  # iteration 1 is the baseline, not part of a window
    rows.append(row(4, 4))
    (alarm,) = collapse(rows, TH)
    assert "stop being tasks" in alarm.message
    assert abs(alarm.figures["built_share_now"] - 19 / 48) < 1e-9
    rows.append(row(5, None))  # nothing built at all counts as none
    assert collapse(rows, TH)[0].figures["built_share_now"] == (6 + 4) / 48
    # a default run's dip (15, 11, 10, 8, 13) is no alarm
    ok = [{"iteration": 0}] + [row(i, b) for i, b in enumerate([15, 11, 10, 8, 13], 1)]
    assert collapse(ok, TH) == []
    # rows from before proposals_built was logged never raise it
    old = [{"iteration": 0}] + [{"iteration": i, "proposed": 16} for i in range(1, 6)]
    assert collapse(old, TH) == []


def _calibration(it: int, confidence: float, correlation: float) -> dict[str, Any]:
    return {
        Metric.ITERATION: it,
        Metric.HELDOUT_CONFIDENCE: confidence,
        Metric.HELDOUT_CONFIDENCE_CORRECTNESS: correlation,
    }


def test_surer_while_sureness_tells_less_is_saturation() -> None:
    rows = [_calibration(0, 0.45, 0.40), {Metric.ITERATION: 1}, _calibration(3, 0.70, 0.15)]
    alarms = saturation(rows, Thresholds())
    assert [a.kind for a in alarms] == [AlarmKind.SATURATION]
    assert alarms[0].figures["correlation_now"] == 0.15


def test_surer_and_still_calibrated_or_unsure_is_not_saturation() -> None:
    th = Thresholds()
    # confidence up, correlation held: learning, not saturating
    assert saturation([_calibration(0, 0.45, 0.40), _calibration(3, 0.70, 0.38)], th) == []
    # correlation down but no surer: noise, not saturation
    assert saturation([_calibration(0, 0.45, 0.40), _calibration(3, 0.47, 0.10)], th) == []
    # judged only after an iteration that evaluated (the last row did not)
    late = [_calibration(0, 0.45, 0.40), _calibration(3, 0.70, 0.10), {Metric.ITERATION: 4}]
    assert saturation(late, th) == []


def test_surer_and_worse_is_saturation_even_with_no_correlation_to_lose() -> None:
    # the planted majority-vote run: correlation near 0 throughout, samples right less often
    def row(it: int, conf: float, corr: float, acc: float) -> dict[str, Any]:
        return {**_calibration(it, conf, corr), Metric.HELDOUT_SAMPLED_PASS_AT_1: acc}

    th = Thresholds()
    start = row(0, 0.465, 0.065, 0.152)
    # surer by well over the rise threshold, right 2% less often: barely worse, quiet
    assert saturation([start, row(2, 0.665, 0.059, 0.149)], th) == []
    (alarm,) = saturation([start, row(4, 0.620, 0.140, 0.135)], th)
    assert alarm.figures["accuracy_now"] == 0.135 and "right" in alarm.message
    # surer and better is learning, not saturation
    assert saturation([start, row(4, 0.620, 0.140, 0.200)], th) == []


def test_surer_and_worse_fires_where_the_correlation_is_undefined() -> None:
    # every sample wrong leaves no correlation to compute (the row omits it): the worst
    # "worse" there is must still alarm, and measured against the cold start's row
    start = {**_calibration(0, 0.465, 0.065), Metric.HELDOUT_SAMPLED_PASS_AT_1: 0.152}
    middle = {Metric.ITERATION: 2, Metric.HELDOUT_CONFIDENCE: 0.5}
    middle[Metric.HELDOUT_SAMPLED_PASS_AT_1] = 0.15
    now = {Metric.ITERATION: 4, Metric.HELDOUT_CONFIDENCE: 0.9}
    now[Metric.HELDOUT_SAMPLED_PASS_AT_1] = 0.0
    (alarm,) = saturation([start, middle, now], Thresholds())
    assert alarm.figures["confidence_start"] == 0.465 and alarm.figures["accuracy_now"] == 0.0
    assert "correlation_now" not in alarm.figures


# Recorded, not made up: the held-out figures of `benchmarks/monitor_alarms.py --plant
# greedy-distill` (a fork of seed 0's run of the embedded preset, six iterations, held out
# every second), the first planted fault that made the shipped base surer; the thresholds are
# the defaults, set before that run.
GREEDY_DISTILL = {
    0: (0.6979166666666666, 0.597775386650626, 0.4370833333333333),
    2: (0.7258333333333333, 0.536730540338821, 0.4320833333333333),
    4: (0.7770833333333333, 0.40651565270234313, 0.4058333333333333),
    6: (0.8054166666666667, 0.3922612132150438, 0.4216666666666667),
}


def test_the_recorded_self_distillation_run_is_saturation_once_confidence_has_risen() -> None:
    rows: list[dict[str, Any]] = []
    fired = []
    for it in range(7):
        row: dict[str, Any] = {Metric.ITERATION: it}
        if it in GREEDY_DISTILL:
            conf, corr, acc = GREEDY_DISTILL[it]
            row.update(
                {
                    Metric.HELDOUT_CONFIDENCE: conf,
                    Metric.HELDOUT_CONFIDENCE_CORRECTNESS: corr,
                    Metric.HELDOUT_SAMPLED_PASS_AT_1: acc,
                }
            )
        rows.append(row)
        surer = [a for a in saturation(rows, TH) if "confidence_now" in a.figures]
        fired += [it] * len(surer)
    # at 4 the correlation had fallen 0.19 but confidence risen only 0.079 (the rule needs 0.1)
    assert fired == [6]


def test_weak_private_tests_are_hacking_over_the_window_not_on_one_unlucky_iteration() -> None:
    # the tests audit re-runs ~24 passes an iteration on fresh lists; one iteration with three
    # wrong of 24 is what a 2% false-pass rate gives now and then, so the window is pooled
    def rows(*audits: tuple[float, float]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = [{"iteration": 0, "heldout_pass@1": 0.4}]
        for i, (checked, agreement) in enumerate(audits, start=1):
            out.append(
                {
                    "iteration": i,
                    "mean_reward": 0.4,
                    "tests_audit_checked": checked,
                    "tests_audit_agreement": agreement,
                }
            )
        return out

    # the preset before the drawn private tests: 88% over its last three iterations
    (alarm,) = reward_hacking(rows((24, 1.0), (24, 0.875), (24, 0.833), (24, 0.917)), TH)
    assert alarm.kind is AlarmKind.REWARD_HACKING and alarm.iteration == 4
    assert alarm.figures == {"tests_audit_checked": 72.0, "tests_audit_agreement": 0.875}
    assert "12% of 72 attempts" in alarm.message and "too weak" in alarm.message
    # one unlucky iteration among good ones, pooled: quiet
    assert reward_hacking(rows((24, 1.0), (24, 1.0), (24, 0.875)), TH) == []
    # weighted by what each iteration checked, not averaged by iteration
    assert reward_hacking(rows((2, 0.0), (40, 0.95), (40, 0.95)), TH) == []
    assert reward_hacking(rows((4, 0.5)), TH) == []  # too few checks
    # the window is iterations, not audited rows: bad audits long ago do not count now
    stale = rows((24, 0.0), (24, 0.0))
    stale += [{"iteration": i, "mean_reward": 0.0} for i in range(3, 30)]
    stale += [{"iteration": 30, "tests_audit_checked": 6.0, "tests_audit_agreement": 1.0}]
    assert reward_hacking(stale, TH) == []
    # an iteration without the audit (nothing passed) still reads its window: red team 19
    # found the window's evidence skipped whenever the newest iteration had none of its own,
    # so weak tests hidden at first by a large good audit stayed unraised once it aged out
    quiet_last = [*rows((200, 1.0), (8, 0.5), (8, 0.5)), {"iteration": 4, "mean_reward": 0.0}]
    assert reward_hacking(quiet_last[:-1], TH) == []  # 216 checks at 0.96: quiet
    (alarm,) = reward_hacking(quiet_last, TH)  # iterations 2-4: 16 checks at 0.5
    assert alarm.iteration == 4 and alarm.figures["tests_audit_checked"] == 16.0


def test_guards_for_zero_hold_a_start_of_nothing_solved_or_built_and_the_cold_start_row() -> None:
    # each guard below could go unnoticed: removing it passed every test in this file
    # (1) right 0% of the time at the start and now: accuracy cannot have fallen from 0
    start = {**_calibration(0, 0.45, 0.0), Metric.HELDOUT_SAMPLED_PASS_AT_1: 0.0}
    now = {Metric.ITERATION: 3, Metric.HELDOUT_CONFIDENCE: 0.70}
    now[Metric.HELDOUT_SAMPLED_PASS_AT_1] = 0.0
    assert saturation([start, now], TH) == []
    # (2) audit counts on iteration 0's row are not part of the tests audit's window
    cold = {"iteration": 0, "tests_audit_checked": 24.0, "tests_audit_agreement": 0.0}
    good = [
        {"iteration": i, "tests_audit_checked": 24.0, "tests_audit_agreement": 1.0} for i in (1, 2)
    ]
    assert reward_hacking([cold, *good], TH) == []
    assert reward_hacking([{"iteration": 0}, {**cold, "iteration": 1}, *good[1:]], TH)
    # (3) iteration 1 built none of its proposals: no share to fall from (not a division by 0)
    built = [
        {"iteration": i, "proposed": 16, "proposals_built": b}
        for i, b in enumerate([0.0, 4.0, 2.0, 1.0], 1)
    ]
    assert collapse([{"iteration": 0}, *built], TH) == []
