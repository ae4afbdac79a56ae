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
    from closedloop.monitor.detectors import Thresholds

    # one place declares the thresholds (Thresholds); the config's [monitor] section extends it
    th = RunConfig().monitor
    assert isinstance(th, Thresholds)
    assert Thresholds(**th.model_dump(include=set(Thresholds.model_fields))) == Thresholds()
    cfg = config_from_dict({"monitor": {"window": 5, "collapse_min_variety_ratio": 0.4}})
    assert cfg.monitor.window == 5 and cfg.monitor.collapse_min_variety_ratio == 0.4


def test_grpo_settings_nest_in_the_run_config_with_the_loops_defaults():
    from closedloop.train.grpo_config import GRPOConfig

    cfg = config_from_dict({"train": {"grpo": {"beta": 0.1}}})
    assert isinstance(cfg.train.grpo, GRPOConfig) and cfg.train.grpo.beta == 0.1
    # fields the table leaves out keep the loop's defaults, not the class's
    assert cfg.train.grpo.learning_rate == 1e-4 and cfg.train.grpo.track_ref_kl is False
    assert cfg.train.grpo.replay_coef == 0.3
    with pytest.raises(ConfigError, match=r"train.learning_rate: this key moved to train.grpo"):
        config_from_dict({"train": {"learning_rate": 1e-4}})
    with pytest.raises(ConfigError, match=r"train.grpo.temperature: unknown key"):
        config_from_dict({"train": {"grpo": {"temperature": 0.7}}})


def test_iteration_labels_round_trip():
    from closedloop.loop.rundir import iter_label, iteration_of

    assert [iteration_of(iter_label(i)) for i in (0, 1, 12, 345)] == [0, 1, 12, 345]
    assert iteration_of("final") is None and iteration_of("iter_x") is None


def test_a_binary_config_file_is_named_not_a_traceback(tmp_path):
    path = tmp_path / "run.toml"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe")
    with pytest.raises(ConfigError, match="not a text file"):
        load_config(path)


def test_replay_without_its_weight_is_refused():
    with pytest.raises(ConfigError, match="replay_coef"):
        config_from_dict({"train": {"replay_examples": 8, "grpo": {"replay_coef": 0.0}}})
    with pytest.raises(ConfigError, match="replay_coef"):
        config_from_dict({"train": {"replay_examples": 8, "algorithm": "expert_iteration"}})
    cfg = config_from_dict({"train": {"replay_examples": 8, "grpo": {"replay_coef": 0.5}}})
    assert cfg.train.grpo.learning_rate == 1e-4  # the loop's default kept beside it


def test_the_default_replay_gives_way_to_a_config_without_its_weight():
    # the default 64 needs GRPO and a replay weight: a config that sets only the algorithm or
    # only the weight to 0 gets none (not an error), and says so when written back
    assert config_from_dict({}).train.replay_examples == 64
    for train in ({"algorithm": "expert_iteration"}, {"grpo": {"replay_coef": 0.0}}):
        cfg = config_from_dict({"train": train})
        assert cfg.train.replay_examples == 0
        assert config_from_dict(tomllib.loads(dump_config(cfg))) == cfg


def test_the_defaults_are_self_play_from_the_shipped_base():
    # closedloop run with no config: the embedded preset, which starts from the shipped base
    # (issue 16: the cold start is the base); the model built from scratch is a named preset
    from closedloop.loop.config import ModelKind

    cfg = config_from_dict({})
    assert cfg.model.kind is ModelKind.BASE and cfg.model.path is None
    assert len(cfg.eval.heldout_seeds) * cfg.eval.heldout_size >= 600  # the primary set
    assert cfg.eval.samples > 0 and cfg.eval.probe_per > 0
    assert config_from_dict(tomllib.loads(PRESETS["scratch"])).model.kind is ModelKind.EMBEDDED
    with pytest.raises(ConfigError, match="list-functions base"):
        config_from_dict({"domain": "code"})  # the base reads lists, not general code
