"""Training: SFT (cold start, rejection sampling), GRPO and DPO updates, and checkpoints.

Owns: the trajectory record that is the boundary between the generate/verify phases and
training (:mod:`~closedloop.train.trajectory`); the one SFT path, ``sft_steps`` (plain torch,
counted in optimizer steps so the control can be matched; TRL's ``SFTTrainer`` cost ~12x more
per step on two cores) and STaR-style rejection sampling (:mod:`~closedloop.train.sft`); DPO
on pass-vs-fail attempts through TRL's ``DPOTrainer`` (:mod:`~closedloop.train.dpo`); GRPO
written here (:mod:`~closedloop.train.grpo`, settings in :mod:`~closedloop.train.grpo_config`,
math in :mod:`~closedloop.train.grpo_loss`); update metrics
(:mod:`~closedloop.train.metrics`); checkpoints (:mod:`~closedloop.train.checkpoint`).

Must never: run candidate code, score or verify an attempt, or turn a missing reward
(``infra_error``) into a 0 — rewards arrive in trajectories from ``verify``, already decided.
Never trains on tokens whose loss mask is 0 (text the environment wrote).

Importing this package imports no torch; the submodules that train do.
"""

from closedloop.train.trajectory import Trajectory, group_by_id, usable

__all__ = ["Trajectory", "group_by_id", "usable"]
