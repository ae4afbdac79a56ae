"""``model.kind = "base"``: self-play starts from a model ``closedloop pretrain`` built (the cold
start *is* the base, untouched), and the control trains the base further on fresh examples of
its own pretraining distribution. A base built in seconds stands in for the shipped one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from closedloop.loop.baselines import base_control_pairs, base_dir
from closedloop.loop.config import ConfigError, config_from_dict
from closedloop.loop.runner import LoopRunner
from closedloop.train.pretrain import CONFIG_FILE, PretrainConfig, batch_pairs, pretrain

TINY_BASE = PretrainConfig(
    steps=4,
    batch_size=4,
    micro_batches=1,
    hidden_size=32,
    intermediate_size=64,
    num_layers=1,
    num_heads=2,
    vocab_size=300,
    tokenizer_steps=2,
    warmup_steps=2,
    probe_every=0,
    final_probe_per=0,
    checkpoint_every=0,
)


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory, verifier) -> Path:
    root = tmp_path_factory.mktemp("base")
    pretrain(TINY_BASE, root / "out", root / "work", verifier)
    return root / "out"


def _cfg(base: Path, **extra: object):
    data = {
        "iterations": 1,
        "model": {"kind": "base", "path": str(base)},
        "challenger": {"proposals": 2, "max_new_tokens": 32, "max_mutants": 0},
        "solver": {"tasks_per_iteration": 2, "samples": 2, "max_new_tokens": 16},
        "eval": {"heldout_size": 3, "max_new_tokens": 16},
    }
    data.update(extra)
    return config_from_dict(data)


def test_a_directory_without_a_base_is_refused_before_the_run_exists(tmp_path: Path):
    cfg = _cfg(tmp_path / "nothing")
    with pytest.raises(ConfigError, match="closedloop pretrain"):
        base_dir(cfg)
    with pytest.raises(ConfigError, match="holds no base model"):
        LoopRunner.new(cfg, tmp_path / "run")
    assert not (tmp_path / "run").exists()


def test_the_control_draws_fresh_examples_of_the_bases_distribution(base: Path):
    cfg = _cfg(base)
    pairs = base_control_pairs(cfg, 10)
    assert len(pairs) == 10 and pairs == base_control_pairs(cfg, 10)  # seeded
    seen = {p for s in range(TINY_BASE.steps) for p in batch_pairs(TINY_BASE, s)}
    assert not seen & set(pairs)  # never a batch the base trained on
    assert json.loads((base / CONFIG_FILE).read_text())["steps"] == TINY_BASE.steps


def test_replay_draws_its_own_stream_of_the_bases_distribution(base: Path, tmp_path: Path):
    from closedloop.loop.baselines import base_replay_pairs as replay_pairs

    cfg = _cfg(base)
    control = set(base_control_pairs(cfg, 40))
    first, second = replay_pairs(cfg, 1, 20), replay_pairs(cfg, 2, 20)
    assert len(first) == 20 and first == replay_pairs(cfg, 1, 20)  # the same after a resume
    assert not (set(first) & set(second)) and not (set(first) & control)
    # another run seed's replay ten iterations on is another stream too
    other_seed = replay_pairs(cfg.model_copy(update={"seed": cfg.seed + 1}), 1, 20)
    assert not set(replay_pairs(cfg, 11, 20)) & set(other_seed)
    # the loop hands them to the GRPO update, which reports how many joined a loss: none here,
    # since the tiny base's groups have no reward spread and the update takes no step (that
    # they join the loss when it does is tests/train/test_grpo_replay.py's)
    grpo = {"replay_coef": 0.5, "learning_rate": 1e-3}
    run = _cfg(base, train={"replay_examples": 8, "hindsight": False, "grpo": grpo})
    LoopRunner.new(run, tmp_path / "run").run()
    rows = [json.loads(x) for x in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert [r.get("train_replay") for r in rows[1:]] == [0.0]
    assert [r.get("train_frac_zero_std_groups") for r in rows[1:]] == [1.0]
    # no KL reference (beta 0, not tracked): no KL to one is logged, rather than a made-up 0
    assert "train_kl_ref" not in rows[1]


def test_a_run_starts_from_the_base_and_matches_the_control_to_it(base: Path, tmp_path: Path):
    from safetensors.torch import load_file

    res = LoopRunner.new(_cfg(base), tmp_path / "run").run()
    assert set(res.table) == {"cold_start", "final", "control"}
    cold = load_file(str(tmp_path / "run" / "policies" / "cold_start" / "model.safetensors"))
    shipped = load_file(str(base / "model.safetensors"))
    # the cold start is the base itself (loaded in float32, saved as such): no SFT on top
    assert all(cold[k].equal(shipped[k].float()) for k in shipped)
    rows = [json.loads(x) for x in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert "sft_steps" not in rows[0]
    # the per-family table scores all three policies on the primary set's rule families
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    families = summary["families"]
    assert (
        sum(row["n_tasks"] for row in families.values()) == summary["policies"]["final"]["n_tasks"]
    )
    for label in ("cold_start", "final", "control"):
        overall = sum(row["n_tasks"] * row[label] for row in families.values())
        assert (
            overall / summary["policies"][label]["n_tasks"] == summary["policies"][label]["pass@1"]
        )


@pytest.fixture(scope="module")
def shipped_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One iteration from the shipped base, with the probe and a sampling budget: the tiny base
    solves nothing, so figures written as constants would pass every check made on it."""
    from closedloop.policy.base_model import base_model_dir

    run = tmp_path_factory.mktemp("shipped") / "run"
    cfg = _cfg(
        base_model_dir(),
        eval={"heldout_size": 6, "max_new_tokens": 48, "probe_per": 1, "samples": 2},
    )
    LoopRunner.new(cfg, run).run()
    return run


def test_eval_probe_per_puts_each_policys_reading_probe_in_the_summary(
    shipped_run: Path, verifier
) -> None:
    from closedloop.loop.probe import PRIMITIVES, PROBE_SEED, probe_tasks, run_probe
    from closedloop.policy.hf import HFPolicy

    probe = json.loads((shipped_run / "summary.json").read_text())["probe"]
    assert set(probe) == {"cold_start", "final", "control"}
    tasks = probe_tasks(verifier, list(PRIMITIVES), 1, PROBE_SEED)
    for label, entry in probe.items():
        # each policy's own probe: the saved policy, probed again here, gives the same figures
        r = run_probe(HFPolicy.from_pretrained(shipped_run / "policies" / label), tasks, verifier)
        assert entry == {
            "pass@1": round(r.pass_at_1, 4),
            "distinct_programs": r.distinct_programs,
            "per_primitive": {k: round(v, 4) for k, v in r.per_primitive.items()},
        }, label
    assert probe["cold_start"]["pass@1"] >= 0.5  # the shipped base reads


def test_with_eval_samples_each_policy_has_its_filtered_pass_at_1(shipped_run: Path) -> None:
    # base, control and final are each scored with the same sampling budget, filtered by the
    # shown examples (the second primary figure), and the summary says so: the cold
    # start's and the final policy's figures are those their evaluations logged
    policies = json.loads((shipped_run / "summary.json").read_text())["policies"]
    assert set(policies) == {"cold_start", "final", "control"}
    rows = [json.loads(x) for x in (shipped_run / "metrics.jsonl").read_text().splitlines()]
    evaluated = [r for r in rows if "heldout_filtered_pass@1" in r]
    assert [r["iteration"] for r in evaluated] == [0, 1]
    for label, row in (("cold_start", evaluated[0]), ("final", evaluated[-1])):
        assert policies[label]["filtered_pass@1"] == row["heldout_filtered_pass@1"], label
        assert policies[label]["confidence"] == row["heldout_confidence"], label
    assert policies["cold_start"]["filtered_pass@1"] > 0  # the shipped base solves some
    entry = policies["control"]
    assert 0 <= entry["filtered_pass@1"] <= 1 and 0 < entry["confidence"] <= 1
