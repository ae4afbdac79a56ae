"""The first pass over a batch the solver sampled gives a PPO ratio of 1 on every trained token,
even when rows were sampled at different temperatures (each trajectory carries its own)."""

from __future__ import annotations

import copy
import dataclasses
from pathlib import Path

import pytest
import torch

from closedloop.policy.base import SamplingParams
from closedloop.policy.logprobs import completion_logprobs, make_batch, pad_right
from closedloop.roles.solver import attempt_tasks
from closedloop.tasks.format import parse_task
from closedloop.train.grpo import GRPOConfig, GRPOTrainer
from closedloop.train.trajectory import Trajectory


@pytest.fixture(scope="module")
def tiny_policy(tmp_path_factory: pytest.TempPathFactory, tiny_embedded_config):
    from closedloop.policy.embedded import build_embedded_policy

    corpus = ["def f(xs):\n    return sorted(xs)\n", "f([1, 2]) == [2, 1]\nWrite f."] * 4
    return build_embedded_policy(
        corpus, Path(tmp_path_factory.mktemp("tiny")), tiny_embedded_config
    )


def _task(i: int):
    return parse_task(
        {
            "kind": "function",
            "instruction": f"Return the list sorted, then add {i} to each element.",
            "entry_point": "f",
            "public_tests": [{"input": "([3, 1],)", "output": f"[{1 + i}, {3 + i}]"}],
            "private_tests": [{"input": "([5, 4],)", "output": f"[{4 + i}, {5 + i}]"}],
        }
    )


def _solver_batch(policy, verifier, temperature: float, seed: int) -> list[Trajectory]:
    """A real two-turn solver batch; rewards alternate within each group so no group is
    dropped for lack of spread (the random model fails everything; the ratio does not depend
    on the rewards)."""
    params = SamplingParams(max_new_tokens=12, temperature=temperature, seed=seed)
    rows = attempt_tasks(policy, [_task(1), _task(2)], verifier, n=4, params=params, turns=2)
    out = []
    for row in rows:
        for a in row:
            t = a.trajectory(f"{temperature}:{a.task_id}", 0)
            out.append(dataclasses.replace(t, reward=float(a.sample % 2)))
    return out


@pytest.fixture(scope="module")
def mixed_batch(tiny_policy, verifier) -> list[Trajectory]:
    return _solver_batch(tiny_policy, verifier, 0.7, 0) + _solver_batch(
        tiny_policy, verifier, 1.0, 1
    )


def test_solver_trajectories_carry_their_sampling_temperature(mixed_batch) -> None:
    assert {t.temperature for t in mixed_batch} == {0.7, 1.0}
    assert any(0 in t.loss_mask for t in mixed_batch), "want environment tokens in the batch"


def test_first_pass_ratio_is_one_on_every_trained_token_of_a_mixed_batch(
    tiny_policy, mixed_batch
) -> None:
    cfg = GRPOConfig(learning_rate=1e-3, minibatch_size=len(mixed_batch), beta=0.04)
    metrics = GRPOTrainer(copy.deepcopy(tiny_policy), cfg).step(mixed_batch)
    assert metrics.num_trajectories == len(mixed_batch)  # one minibatch: the whole batch
    assert metrics.first_pass_ratio_dev is not None
    assert metrics.first_pass_ratio_dev < 1e-4, metrics.first_pass_ratio_dev


def test_per_row_temperatures_equal_one_float_per_row(tiny_policy, mixed_batch) -> None:
    batch = make_batch(
        [t.prompt_ids for t in mixed_batch], [t.completion_ids for t in mixed_batch], 0
    )
    temps = torch.tensor([t.temperature for t in mixed_batch])
    with torch.no_grad():
        together, _ = completion_logprobs(tiny_policy.model, batch, temps)
        for temp in (0.7, 1.0):
            alone, _ = completion_logprobs(tiny_policy.model, batch, temp)
            rows = temps == temp
            assert torch.equal(together[rows], alone[rows])
    mask = (
        batch.completion_mask.bool()
        & pad_right([t.loss_mask for t in mixed_batch], 0, torch.long).bool()
    )
    old = pad_right([t.sampling_logprobs for t in mixed_batch], 0.0, torch.float32)
    assert (together - old).abs()[mask].max() < 1e-4


def test_the_first_pass_ratio_shows_rows_rescored_at_another_temperature(
    tiny_policy, mixed_batch
) -> None:
    # the metric the loop logs as train_first_pass_ratio_dev must see the bug it was made for:
    # rows sampled at 0.7 rescored at 1.0 (as before the fix) give a ratio far from 1
    relabelled = [dataclasses.replace(t, temperature=1.0) for t in mixed_batch]
    cfg = GRPOConfig(learning_rate=1e-3, minibatch_size=len(relabelled), beta=0.04)
    metrics = GRPOTrainer(copy.deepcopy(tiny_policy), cfg).step(relabelled)
    assert metrics.first_pass_ratio_dev is not None
    assert metrics.first_pass_ratio_dev > 0.05, metrics.first_pass_ratio_dev
