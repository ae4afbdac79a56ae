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


INF, NAN = float("inf"), float("nan")

# Values a red team found accepted and failing (or misbehaving) only once the run directory
# existed: infinities and NaNs (TOML spells both), learning rates that train to NaN, a
# subnormal temperature (logits / T overflow), a seed torch cannot take, sizes that run out of
# memory or positions, settings that can never work (no private test, a gate that cannot pass),
# a name that is not one file name (the default run directory is runs/NAME-...).
LATE_FAILURES = [
    ({"cold_start": {"epochs": INF}}, "cold_start.epochs"),
    ({"cold_start": {"learning_rate": INF}}, "cold_start.learning_rate"),
    ({"cold_start": {"learning_rate": 1e30}}, "cold_start.learning_rate"),
    ({"train": {"sft_learning_rate": 1e30}}, "train.sft_learning_rate"),
    ({"train": {"grpo": {"learning_rate": INF}}}, "train.grpo.learning_rate"),
    ({"train": {"grpo": {"beta": INF}}}, "train.grpo.beta"),
    ({"train": {"grpo": {"replay_coef": NAN}}}, "train.grpo.replay_coef"),
    ({"verify_timeout_s": INF}, "verify_timeout_s"),
    ({"monitor": {"hacking_max_heldout_rise": NAN}}, "monitor.hacking_max_heldout_rise"),
    ({"curriculum": {"band_low": NAN}}, "curriculum.band_low"),
    ({"solver": {"temperature": 1e-320}}, "solver.temperature"),
    ({"eval": {"temperature": 1e-320}}, "eval.temperature"),
    ({"challenger": {"temperature": 1e-320}}, "challenger.temperature"),
    ({"seed": 2**70}, "seed"),
    ({"model": {"kind": "embedded", "hidden_size": 10}}, "model.hidden_size"),
    ({"eval": {"heldout_size": 10**12}}, "eval.heldout_size"),
    ({"eval": {"max_new_tokens": 100_000}}, "eval.max_new_tokens"),
    ({"solver": {"max_new_tokens": 2048}}, "solver.max_new_tokens"),
    ({"challenger": {"public_tests": 5}}, "challenger.public_tests"),
    ({"gate": {"min_gain": 1.0}}, "gate.min_gain"),
    ({"threads": 100_000}, "threads"),
    ({"cold_start": {"corpus_size": 10**9}}, "cold_start.corpus_size"),
    ({"solver": {"samples": 1}}, "solver.samples"),
    ({"name": "../../escaped"}, "name"),
    ({"name": "/tmp/abs"}, "name"),
    ({"name": "x" * 300}, "name"),
    ({"name": "a\u0000b"}, "name"),
    # red team 19: an audit of fewer samples than an alarm needs could never raise it
    ({"monitor": {"audit_samples": 4}}, "audit_samples = 4 is below audit_min_checked = 5"),
]


@pytest.mark.parametrize("data, key", LATE_FAILURES, ids=[k for _, k in LATE_FAILURES])
def test_values_that_failed_late_are_refused_with_their_key(data, key):
    with pytest.raises(ConfigError) as e:
        config_from_dict(data, "run.toml")
    assert key in str(e.value), str(e.value)


def test_greedy_and_long_generations_of_a_hf_model_stay_allowed():
    cfg = config_from_dict({"challenger": {"temperature": 0.0}})
    assert cfg.challenger.temperature == 0.0
    hf = {
        "model": {"kind": "hf", "path": "/m"},
        "domain": "code",
        "solver": {"max_new_tokens": 2048},
    }
    assert config_from_dict(hf).solver.max_new_tokens == 2048


def test_control_characters_in_strings_survive_the_written_config():
    # a raw control character made the run's own config.toml unreadable (no report, no resume)
    prompt = 'say "hi"\\\n\ttab\u001b[31m\u0001\u007f'
    cfg = config_from_dict({"challenger_prompt": prompt})
    again = config_from_dict(tomllib.loads(dump_config(cfg)))
    assert again.challenger_prompt == prompt


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


def test_the_configs_copies_of_the_embedded_models_shape_agree_with_it():
    # the config cannot import the model (it would load torch): its limits are copies
    from closedloop.loop.config import EMBEDDED_HEADS, EMBEDDED_POSITIONS
    from closedloop.policy.embedded import EmbeddedConfig

    shape = EmbeddedConfig()
    assert (EMBEDDED_HEADS, EMBEDDED_POSITIONS) == (shape.num_heads, shape.max_positions)
