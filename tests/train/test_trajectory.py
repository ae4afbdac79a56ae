"""The trajectory record: aligned fields, JSON round trip, and what counts as usable."""

from __future__ import annotations

import pytest

from closedloop.policy.base import Completion, FinishReason
from closedloop.train.trajectory import Trajectory, usable
from closedloop.verify.outcome import Outcome


def make(reward: float | None = 1.0, outcome: Outcome = Outcome.PASS) -> Trajectory:
    return Trajectory(
        (1, 2), (3, 4, 5), (1, 0, 1), (-0.1, -9.0, -0.3), 0.7, reward, "g", 2, outcome
    )


def test_misaligned_fields_are_refused() -> None:
    with pytest.raises(ValueError, match="aligned"):
        Trajectory((1,), (3, 4), (1,), (-0.1, -0.2), 1.0, 1.0, "g", 0, Outcome.PASS)


def test_loss_mask_must_be_binary() -> None:
    with pytest.raises(ValueError, match="0/1"):
        Trajectory((1,), (3,), (2,), (-0.1,), 1.0, 1.0, "g", 0, Outcome.PASS)


def test_json_round_trip_is_exact() -> None:
    t = make()
    assert Trajectory.from_json(t.to_json()) == t


def test_infra_error_and_missing_reward_are_unusable() -> None:
    kept = usable(
        [
            make(),
            make(None, Outcome.INVALID),
            make(0.0, Outcome.INFRA_ERROR),
            make(0.0, Outcome.FAIL),
        ]
    )
    assert [t.outcome for t in kept] == [Outcome.PASS, Outcome.FAIL]


def test_expert_iteration_trains_only_the_turn_that_passed():
    from closedloop.train.sft import examples_from_trajectories

    # turn 1 (policy), feedback (environment), turn 2 (policy, passed)
    t = Trajectory(
        prompt_ids=(1, 2),
        completion_ids=(10, 11, 2, 50, 51, 52, 20, 21, 2),
        loss_mask=(1, 1, 1, 0, 0, 0, 1, 1, 1),
        sampling_logprobs=(0.0,) * 9,
        temperature=1.0,
        reward=1.0,
        group_id="g",
        policy_version=0,
        outcome=Outcome.PASS,
    )
    (whole,) = examples_from_trajectories([t])
    (final,) = examples_from_trajectories([t], final_turn_only=True)
    assert whole.loss_mask == t.loss_mask
    assert final.loss_mask == (0, 0, 0, 0, 0, 0, 1, 1, 1)
    single = Trajectory(**{**t.__dict__, "loss_mask": (1,) * 9})
    assert examples_from_trajectories([single], final_turn_only=True)[0].loss_mask == (1,) * 9


def test_temperature_must_be_positive() -> None:
    with pytest.raises(ValueError, match="temperature=0"):
        Trajectory((1,), (3,), (1,), (-0.1,), 0.0, 1.0, "g", 0, Outcome.PASS)


def test_greedy_completion_is_stamped_with_the_untempered_temperature() -> None:
    c = Completion(
        text="x",
        token_ids=(3, 2),
        logprobs=(-0.1, -0.2),
        finish_reason=FinishReason.STOP,
        prompt_ids=(1,),
    )
    greedy = Trajectory.from_completion(c, 1.0, "g", 0, Outcome.PASS, temperature=0.0)
    sampled = Trajectory.from_completion(c, 1.0, "g", 0, Outcome.PASS, temperature=0.7)
    assert (greedy.temperature, sampled.temperature) == (1.0, 0.7)


def test_json_without_temperature_is_refused() -> None:
    data = make().to_json()
    del data["temperature"]
    with pytest.raises(ValueError, match="temperature"):
        Trajectory.from_json(data)
