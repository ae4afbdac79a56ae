"""The metric names: one definition per key, families built and split by their helpers, and a
metrics log that refuses a key nobody defined."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from closedloop.monitor.detectors import AlarmKind
from closedloop.monitor.metrics import METRICS_FILE, MetricsLog, summary_line
from closedloop.monitor.names import (
    Metric,
    alarm_key,
    alarm_kind,
    check_keys,
    heldout_key,
    heldout_set,
    is_heldout_key,
    is_metric_key,
    reject_key,
    reject_reason,
    train_key,
)
from closedloop.roles.challenger import ProposalRejection
from closedloop.tasks.validate import RejectReason


def test_no_two_members_share_a_key() -> None:
    # a StrEnum member repeating another's value silently becomes its alias
    values = [m.value for m in Metric.__members__.values()]
    assert len(values) == len(set(values)) == len(Metric.__members__)


def test_a_member_is_the_key_stored_rows_hold() -> None:
    row = json.loads(json.dumps({Metric.MEAN_REWARD: 0.5, Metric.HELDOUT_PASS_AT_1: 0.1}))
    assert row == {"mean_reward": 0.5, "heldout_pass@1": 0.1}
    assert row[Metric.MEAN_REWARD] == 0.5 and f"{Metric.KL_POLICY}" == "kl_policy"


def test_train_key_gives_the_member_and_refuses_an_undefined_figure() -> None:
    assert train_key("loss") is Metric.TRAIN_LOSS
    assert train_key("first_pass_ratio_dev") is Metric.TRAIN_FIRST_PASS_RATIO_DEV
    assert train_key("zero_std_groups_dropped") is Metric.TRAIN_ZERO_STD_GROUPS_DROPPED
    with pytest.raises(ValueError, match="'train_los'.*closedloop.monitor.names.Metric"):
        train_key("los")


def test_every_alarm_kind_has_its_metric_and_back() -> None:
    for kind in AlarmKind:
        assert alarm_key(kind) in Metric
        assert alarm_kind(alarm_key(kind)) == kind
    assert alarm_kind(Metric.MEAN_REWARD) is None


def test_heldout_keys_round_trip_and_the_primary_has_no_set() -> None:
    assert heldout_key() is Metric.HELDOUT_PASS_AT_1
    assert heldout_key("mbpp") == "heldout_pass@1/mbpp"
    assert heldout_set(heldout_key("mbpp")) == "mbpp" and heldout_set(heldout_key()) is None
    # a key merely starting like it is no held-out pass@1 (the report's old prefix test took it)
    assert not is_heldout_key("heldout_pass@10") and not is_heldout_key("heldout_pass@1/")
    with pytest.raises(ValueError, match="not a held-out"):
        heldout_set(Metric.HELDOUT_DISTINCT_PROGRAMS)
    with pytest.raises(ValueError, match="empty set name"):
        heldout_key("")


def test_every_rejection_reason_has_a_reject_key_and_back() -> None:
    for reason in [*RejectReason, *ProposalRejection]:
        assert reject_reason(reject_key(reason)) == reason
        assert is_metric_key(reject_key(reason))
    assert reject_reason("reject_") is None and reject_reason(Metric.ACCEPTED) is None


def test_the_loops_admission_reasons_are_rejection_reasons() -> None:
    assert RejectReason("duplicate") is RejectReason.DUPLICATE
    assert RejectReason("same_behaviour") is RejectReason.SAME_BEHAVIOUR


def test_check_keys_names_an_undefined_key() -> None:
    check_keys([Metric.PROPOSED, "reject_too_slow", "heldout_pass@1/mbpp", "alarm_collapse"])
    with pytest.raises(ValueError, match="'solve_rte'"):
        check_keys([Metric.PROPOSED, "solve_rte"])
    with pytest.raises(ValueError, match="'alarm_hunch'"):
        check_keys(["alarm_hunch"])


def test_the_metrics_log_refuses_an_undefined_key_and_writes_nothing(tmp_path: Path) -> None:
    log = MetricsLog(tmp_path, tensorboard=False)
    log.write(1, {Metric.PROPOSED: 16.0, heldout_key("mbpp"): 0.2})
    with pytest.raises(ValueError, match="'mean_rewrd'"):
        log.write(2, {Metric.PROPOSED: 16.0, "mean_rewrd": 0.3})
    rows = [json.loads(x) for x in (tmp_path / METRICS_FILE).read_text().splitlines()]
    assert rows == [{"iteration": 1, "proposed": 16.0, "heldout_pass@1/mbpp": 0.2}]


def test_the_summary_line_reads_stored_rows() -> None:
    row = json.loads(
        json.dumps({"proposed": 16, "accepted": 5, "solve_rate": 0.31, "heldout_pass@1": 0.045})
    )
    line = summary_line(3, row)
    assert line.startswith("iter   3 | proposed 16 accepted 5 | solve 0.31 | reward -")
    assert "held-out 0.045 | KL - | -s" in line
