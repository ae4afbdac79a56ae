"""The trajectory record: aligned fields, JSON round trip, and what counts as usable."""

from __future__ import annotations

import pytest

from closedloop.train.trajectory import Trajectory, usable
from closedloop.verify.outcome import Outcome


def make(reward: float | None = 1.0, outcome: Outcome = Outcome.PASS) -> Trajectory:
    return Trajectory((1, 2), (3, 4, 5), (1, 0, 1), (-0.1, -9.0, -0.3), reward, "g", 2, outcome)


def test_misaligned_fields_are_refused() -> None:
    with pytest.raises(ValueError, match="aligned"):
        Trajectory((1,), (3, 4), (1,), (-0.1, -0.2), 1.0, "g", 0, Outcome.PASS)


def test_loss_mask_must_be_binary() -> None:
    with pytest.raises(ValueError, match="0/1"):
        Trajectory((1,), (3,), (2,), (-0.1,), 1.0, "g", 0, Outcome.PASS)


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
