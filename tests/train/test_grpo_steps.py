"""An update reports the number of optimizer steps it really took."""

from __future__ import annotations

from closedloop.train.grpo import GRPOConfig, GRPOTrainer
from closedloop.train.trajectory import Trajectory
from closedloop.verify.outcome import Outcome


def traj(completion: tuple[int, ...], reward: float | None, outcome: Outcome) -> Trajectory:
    return Trajectory(
        (3, 4),
        completion,
        (1,) * len(completion),
        (-2.0,) * len(completion),
        reward,
        "g",
        0,
        outcome,
    )


USABLE = [
    traj((3, 3, 2), 1.0, Outcome.PASS),
    traj((5, 6, 2), 0.0, Outcome.FAIL),
    traj((4, 2), 0.0, Outcome.FAIL),
    traj((6, 2), 1.0, Outcome.PASS),
    traj((7, 5, 2), 0.0, Outcome.FAIL),
]
BROKEN = [traj((7, 7, 7), 0.0, Outcome.INFRA_ERROR), traj((8, 2), None, Outcome.INVALID)]


def test_reported_optimizer_steps_equal_the_real_ones_with_a_partial_minibatch(
    char_policy,
) -> None:
    trainer = GRPOTrainer(char_policy, GRPOConfig(minibatch_size=2, num_iterations=3))
    calls = []
    trainer.optimizer.register_step_post_hook(lambda *_: calls.append(1))
    metrics = trainer.step(USABLE + BROKEN)
    # 5 usable rows in minibatches of 2, 2 and 1, three passes; the dropped rows take no step
    # (counted with them it would be 12)
    assert metrics.optimizer_steps == len(calls) == 9
