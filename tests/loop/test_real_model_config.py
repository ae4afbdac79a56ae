"""The real-model preset's config: what it says, the keys it uses refusing bad values, the
start-up error without vLLM, and the LoRA policy the run builds, saves and resumes from."""

from __future__ import annotations

import importlib.util
import time
from pathlib import Path

import pytest
import torch

from closedloop.loop.config import (
    ConfigError,
    Dtype,
    Generation,
    HeldoutSetName,
    ModelKind,
    TrainAlgorithm,
    config_from_dict,
)
from closedloop.loop.policy_setup import check_generation, hf_policy, load_run_policy
from closedloop.loop.presets import preset_config
from closedloop.policy.base import SamplingParams
from closedloop.train.sft import examples_from_text, sft_steps

from .conftest import cli

NO_VLLM = importlib.util.find_spec("vllm") is None


def test_the_preset_says_vllm_lora_grpo_and_evalplus_held_out() -> None:
    cfg = preset_config("real-model", {"model.path": "/models/coder"})
    m = cfg.model
    assert m.kind is ModelKind.HF and m.generation is Generation.VLLM
    assert m.dtype is Dtype.BFLOAT16 and m.device == "auto"
    assert m.lora is not None and m.lora.r == 16 and m.lora.alpha == 32
    assert m.lora.dropout == 0.0  # a resumed run repeats the uninterrupted run's updates
    assert {"q_proj", "v_proj", "gate_proj", "down_proj"} <= set(m.lora.target_modules)
    assert 0 < m.vllm.gpu_memory_utilization <= 0.5  # leaves the GPU to the trainer too
    assert cfg.train.algorithm is TrainAlgorithm.GRPO and cfg.train.grpo.learning_rate <= 1e-5
    assert cfg.eval.heldout_sets == [HeldoutSetName.HUMANEVAL_PLUS, HeldoutSetName.MBPP_PLUS]
    assert cfg.eval.heldout_size >= 378  # the whole of both sets
    assert cfg.cold_start.corpus_size == 0


@pytest.mark.parametrize(
    ("data", "names"),
    [
        ({"model": {"generation": "vllm"}}, "model.generation: only for model.kind = 'hf'"),
        ({"model": {"lora": {"r": 8}}}, "model.lora: only for model.kind = 'hf'"),
        ({"model": {"kind": "hf", "path": "m", "generation": "sglang"}}, "model.generation"),
        ({"model": {"kind": "hf", "path": "m", "device": "gpu0"}}, "model.device"),
        ({"model": {"kind": "hf", "path": "m", "lora": {"target_modules": []}}}, "target_modules"),
        ({"model": {"kind": "hf", "path": "m", "lora": {"dropout": 1.0}}}, "model.lora.dropout"),
        ({"model": {"kind": "hf", "path": "m", "vllm": {"gpu_memory_utilization": 1.5}}}, "vllm"),
        ({"eval": {"heldout_sets": ["mbppplus", "mbppplus"]}}, "'mbppplus' is named twice"),
        ({"eval": {"heldout_sets": ["humaneval_plus"]}}, "eval.heldout_sets.0"),
    ],
)
def test_a_bad_model_or_heldout_key_is_named(data: dict, names: str) -> None:
    with pytest.raises(ConfigError, match=names.replace(".", r"\.")):
        config_from_dict(data)


@pytest.mark.skipif(not NO_VLLM, reason="vLLM is installed here")
def test_without_vllm_the_check_says_so_and_names_the_cpu_stand_in() -> None:
    cfg = preset_config("real-model", {"model.path": "/models/coder"})
    with pytest.raises(ConfigError) as e:
        check_generation(cfg)
    msg = str(e.value)
    assert "\n" not in msg and "vLLM is not installed" in msg and "--generation hf" in msg
    check_generation(preset_config("real-model", {"model.generation": "hf"}))  # no error


@pytest.mark.skipif(torch.cuda.is_available(), reason="a CUDA device is present")
def test_a_cuda_device_that_is_not_there_is_named_at_start_up() -> None:
    cfg = preset_config("real-model", {"model.generation": "hf", "model.device": "cuda:0"})
    with pytest.raises(ConfigError, match="model.device = 'cuda:0': torch sees no CUDA device"):
        check_generation(cfg)


@pytest.mark.skipif(not NO_VLLM, reason="vLLM is installed here")
def test_run_preset_without_vllm_fails_at_start_up_in_one_line(
    tmp_path: Path, random_model_dir: Path
) -> None:
    run_dir = tmp_path / "run"
    t0 = time.monotonic()
    res = cli(
        "run", "--preset", "real-model", "--model", str(random_model_dir), "--run-dir", str(run_dir)
    )
    seconds = time.monotonic() - t0
    assert res.returncode == 2, res.stderr[-2000:]
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "vLLM is not installed" in lines[0] and "--generation hf" in lines[0]
    assert not run_dir.exists()  # nothing was built
    assert seconds < 60  # start-up, not minutes of work


def _tiny_lora_config(model_dir: Path) -> object:
    return preset_config(
        "real-model",
        {"model.path": str(model_dir), "model.generation": "hf", "model.dtype": "float32"},
    )


def _greedy(policy: object, prompt: list[int]) -> tuple[int, ...]:
    params = SamplingParams(max_new_tokens=12, temperature=0.0)
    return policy.sample_ids([prompt], 1, params)[0][0].token_ids


def test_the_lora_policy_trains_only_its_adapter_and_its_saved_copies_sample_the_same(
    random_model_dir: Path, tmp_path: Path
) -> None:
    from closedloop.policy.hf import HFPolicy

    cfg = _tiny_lora_config(random_model_dir)
    policy = hf_policy(cfg)
    trainable = {n for n, p in policy.model.named_parameters() if p.requires_grad}
    frozen = {n: p.clone() for n, p in policy.model.named_parameters() if not p.requires_grad}
    assert trainable and all(".lora_" in n for n in trainable)
    examples = examples_from_text(policy, [("Write f.", "def f(x):\n    return x + 1\n")] * 8)
    sft_steps(policy, examples, 3, 4, 5e-2, 0)
    after = dict(policy.model.named_parameters())
    assert all(torch.equal(frozen[n], after[n]) for n in frozen)  # the base never moved

    saved = policy.save(tmp_path / "iter_001")
    prompt = policy.encode_prompt("Write f.")
    base_out = _greedy(HFPolicy.from_pretrained(random_model_dir, device="cpu"), prompt)
    trained_out = _greedy(policy, prompt)
    assert trained_out != base_out  # the update changed what the policy writes
    merged = HFPolicy.from_pretrained(saved, device="cpu")  # what `closedloop eval` loads
    assert _greedy(merged, prompt) == trained_out
    resumed = load_run_policy(cfg, saved)  # base + the saved adapter, trainable again
    assert _greedy(resumed, prompt) == trained_out
    assert {n for n, p in resumed.model.named_parameters() if p.requires_grad} == trainable


def test_resuming_a_lora_run_without_its_adapter_is_refused(
    random_model_dir: Path, tmp_path: Path
) -> None:
    from closedloop.policy.hf import HFPolicy

    saved = HFPolicy.from_pretrained(random_model_dir, device="cpu").save(tmp_path / "iter_001")
    with pytest.raises(ConfigError, match="no adapter/"):
        load_run_policy(_tiny_lora_config(random_model_dir), saved)


def test_the_loops_grpo_update_on_engine_samples_reaches_the_engine(
    random_model_dir: Path,
) -> None:
    # The loop's train phase with the preset's GRPO settings on a LoRA policy whose samples
    # come from a second model (the vLLM path's stand-in): the next samples are the new weights'.
    # (The whole-preset run with a random model trains nothing: no proposal of it is accepted.)
    from closedloop.loop import phases
    from closedloop.train.grpo import GRPOTrainer
    from closedloop.train.trajectory import Trajectory
    from closedloop.verify.outcome import Outcome

    cfg = preset_config(
        "real-model",
        {
            "model.path": str(random_model_dir),
            "model.generation": "hf-engine",
            "model.dtype": "float32",
            "train.grpo.learning_rate": 1e-2,
        },
    )
    policy = hf_policy(cfg)
    trainer = GRPOTrainer(policy, cfg.train.grpo)
    prompt = policy.encode_prompt("Write f.")
    params = SamplingParams(max_new_tokens=8, temperature=1.0, seed=0)
    group = policy.sample_ids([prompt], 2, params)[0]
    assert policy.handoffs == 1
    trajs = [
        Trajectory.from_completion(c, r, "g", 0, o, temperature=1.0)
        for c, r, o in zip(group, (1.0, 0.0), (Outcome.PASS, Outcome.FAIL), strict=True)
    ]
    out = phases.train(trainer, policy, cfg, trajs, [], seed=0)
    assert out.optimizer_steps == 1 and out.kl_policy is not None and out.kl_policy > 0
    greedy = SamplingParams(max_new_tokens=12, temperature=0.0)
    after = policy.sample_ids([prompt], 1, greedy)[0][0]
    assert policy.handoffs == 2
    assert after.token_ids == policy.trained.sample_ids([prompt], 1, greedy)[0][0].token_ids
    assert after.logprobs == pytest.approx(
        policy.trained.sample_ids([prompt], 1, greedy)[0][0].logprobs, abs=1e-4
    )


def test_a_resumed_lora_run_continues_the_same_grpo_updates(
    random_model_dir: Path, tmp_path: Path
) -> None:
    # what the runner does on --resume: the saved policy through load_run_policy, then the
    # trainer's state saved beside it; the next update must be the uninterrupted run's
    from closedloop.train.grpo import GRPOTrainer
    from closedloop.train.trajectory import Trajectory
    from closedloop.verify.outcome import Outcome

    cfg = preset_config(
        "real-model",
        {
            "model.path": str(random_model_dir),
            "model.generation": "hf",
            "model.dtype": "float32",
            "train.grpo.learning_rate": 1e-2,
        },
    )
    batch = [
        Trajectory((3, 4), (5, 6, 2), (1, 1, 1), (-2.0,) * 3, 1.0, 1.0, "g", 0, Outcome.PASS),
        Trajectory((3, 4), (7, 8, 2), (1, 1, 1), (-2.0,) * 3, 1.0, 0.0, "g", 0, Outcome.FAIL),
    ]
    policy = hf_policy(cfg)
    trainer = GRPOTrainer(policy, cfg.train.grpo)
    trainer.step(batch, seed=1)
    saved = policy.save(tmp_path / "iter_001")
    trainer.save_state(saved / "trainer_state.pt")
    trainer.step(batch, seed=2)

    resumed = load_run_policy(cfg, saved)
    again = GRPOTrainer(resumed, cfg.train.grpo)
    again.load_state(saved / "trainer_state.pt")
    again.step(batch, seed=2)
    ours = dict(policy.model.named_parameters())
    theirs = dict(resumed.model.named_parameters())
    assert ours.keys() == theirs.keys()
    assert all(torch.allclose(ours[n], theirs[n], atol=1e-6) for n in ours if ".lora_" in n)


def test_a_reloaded_policy_keeps_the_runs_engine_and_hands_it_the_reloaded_weights(
    random_model_dir: Path, tmp_path: Path
) -> None:
    # a rollback reloads an earlier policy; one process holds one vLLM engine, so it is reused
    cfg = preset_config(
        "real-model",
        {
            "model.path": str(random_model_dir),
            "model.generation": "hf-engine",
            "model.dtype": "float32",
        },
    )
    current = hf_policy(cfg)
    saved = current.save(tmp_path / "cold_start")
    examples = examples_from_text(current, [("Write f.", "def f(x):\n    return x + 1\n")] * 8)
    sft_steps(current, examples, 3, 4, 5e-2, 0)
    prompt = current.encode_prompt("Write f.")
    trained_out = _greedy(current, prompt)
    back = load_run_policy(cfg, saved, reuse=current)
    assert back.engine is current.engine
    assert _greedy(back, prompt) == _greedy(back.trained, prompt) != trained_out
