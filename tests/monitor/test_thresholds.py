"""The detectors' thresholds: declared once (``Thresholds``), validated like the run config,
and the run config's ``[monitor]`` section reads into them with nothing copied by hand."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from closedloop.loop.config import MonitorConfig, config_from_dict
from closedloop.monitor.detectors import Thresholds, detect

LOOP_ONLY = {"on_alarm", "audit_samples", "tests_audit_lists"}
"""``[monitor]`` keys that say what the loop does, not when a detector fires."""


def test_out_of_range_and_unknown_thresholds_are_refused() -> None:
    with pytest.raises(ValidationError, match="window"):
        Thresholds(window=0)
    with pytest.raises(ValidationError, match="saturation_min_solved_share"):
        Thresholds(saturation_min_solved_share=1.5)
    with pytest.raises(ValidationError, match="windw"):
        Thresholds(windw=3)
    th = Thresholds()
    with pytest.raises(ValidationError, match="collapse_min_proposals"):
        th.collapse_min_proposals = 1


def test_the_monitor_section_holds_exactly_the_thresholds_and_the_loops_own_keys() -> None:
    # field by field: name, default and constraints (before and after MonitorConfig extends it)
    config = {k: f for k, f in MonitorConfig.model_fields.items() if k not in LOOP_ONLY}
    assert set(config) == set(Thresholds.model_fields)
    for name, f in Thresholds.model_fields.items():
        assert (config[name].default, config[name].metadata) == (f.default, f.metadata), name


def test_the_monitor_config_is_the_thresholds_plus_the_loops_keys() -> None:
    assert issubclass(MonitorConfig, Thresholds)
    assert set(MonitorConfig.model_fields) - set(Thresholds.model_fields) == LOOP_ONLY


def test_the_detectors_read_the_run_configs_monitor_section() -> None:
    cfg = config_from_dict({"monitor": {"window": 2, "saturation_min_solved_share": 0.5}})
    rows = [{"iteration": 0}] + [{"iteration": i, "solved_group_share": 0.6} for i in (1, 2)]
    (alarm,) = detect(rows, cfg.monitor)
    assert "last 2 iterations" in alarm.message
    assert detect(rows, Thresholds()) == []
