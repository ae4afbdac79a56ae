"""A broken config gives an error naming the key; the effective config round-trips."""

from __future__ import annotations

import tomllib

import pytest

from closedloop.loop.config import ConfigError, config_from_dict, dump_config, load_config
from closedloop.loop.presets import PRESETS


@pytest.mark.parametrize(
    "data, key",
    [
        ({"solver": {"tunrs": 2}}, "solver.tunrs"),
        ({"iterations": "many"}, "iterations"),
        ({"solver": {"samples": 0}}, "solver.samples"),
        ({"curriculum": {"band_low": 0.9, "band_high": 0.1}}, "band_low"),
        ({"model": {"kind": "hf"}}, "model.path"),
        ({"colds_start": {}}, "colds_start"),
        ({"monitor": {"on_alarm": "panic"}}, "monitor.on_alarm"),
        ({"monitor": {"hacking_min_audit_agreement": 1.5}}, "monitor.hacking_min_audit_agreement"),
    ],
)
def test_broken_config_error_names_the_key(data, key):
    with pytest.raises(ConfigError) as e:
        config_from_dict(data, "run.toml")
    assert key in str(e.value) and "run.toml" in str(e.value)


def test_bad_toml_names_the_file(tmp_path):
    p = tmp_path / "x.toml"
    p.write_text("iterations = = 2")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(p)


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_presets_and_dump_round_trip(name):
    cfg = config_from_dict(tomllib.loads(PRESETS[name]))
    assert config_from_dict(tomllib.loads(dump_config(cfg))) == cfg


def test_monitor_section_gives_the_detectors_their_defaults():
    from closedloop.loop.config import RunConfig
    from closedloop.loop.runner import thresholds
    from closedloop.monitor.detectors import Thresholds

    # one place documents the defaults (the config); the detectors' own must agree
    assert thresholds(RunConfig()) == Thresholds()
    cfg = config_from_dict({"monitor": {"window": 5, "collapse_min_variety_ratio": 0.4}})
    th = thresholds(cfg)
    assert th.window == 5 and th.collapse_min_variety_ratio == 0.4


def test_iteration_labels_round_trip():
    from closedloop.loop.runner import iter_label, iteration_of

    assert [iteration_of(iter_label(i)) for i in (0, 1, 12, 345)] == [0, 1, 12, 345]
    assert iteration_of("final") is None and iteration_of("iter_x") is None
