"""The GRPO update's settings, apart from the update itself so that reading a run config never
imports torch (the CLI and the verifier's path stay light). :mod:`closedloop.train.grpo` is the
update; :mod:`closedloop.train.grpo_loss` its math. The loop's run config nests
:class:`GRPOConfig` as its ``[train.grpo]`` table, so no field is copied between the two.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, model_validator


class LossAggregation(StrEnum):
    """How per-token losses become one number (TRL's ``loss_type`` names and normalisers).

    ``grpo`` weighs each sequence equally, so a token of a short answer counts more than one of
    a long answer (length bias: Dr. GRPO, arXiv:2503.20783, section 3.1). The other three sum
    token losses and differ only in the divisor.
    """

    SEQUENCE = "grpo"  # mean over each sequence's trained tokens, then mean over sequences
    TOKEN = "bnpo"  # sum over the minibatch's trained tokens / their count (per minibatch)
    DAPO = "dapo"  # sum / (trained tokens of the whole update batch / minibatches per pass)
    DR_GRPO = "dr_grpo"  # sum / (sequences in the minibatch * max_completion_length), a constant


class RewardScaling(StrEnum):
    """What the centred reward is divided by (TRL's ``scale_rewards``)."""

    GROUP = "group"  # the group's std (DeepSeekMath)
    BATCH = "batch"  # the whole batch's std
    NONE = "none"  # nothing (Dr. GRPO's unbiased variant)


MAX_LEARNING_RATE = 1.0
"""The highest learning rate any of closedloop's settings takes (GRPO's, the loop's supervised
ones, pretraining's): 1e30 trained every weight to NaN."""


class GRPOConfig(BaseModel):
    """Settings of the GRPO update. The loop nests it as ``[train.grpo]`` in its run config."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, use_attribute_docstrings=True, allow_inf_nan=False
    )

    learning_rate: float = Field(1e-5, gt=0, le=MAX_LEARNING_RATE)
    """AdamW learning rate, constant (TRL's default peak is 1e-6 for LLMs; 1e-5 suits the small
    models here; the loop sets its own)."""
    epsilon_low: float = Field(0.2, ge=0)
    """Lower clip: the ratio is clipped below at 1 - epsilon_low."""
    epsilon_high: float = Field(0.2, ge=0)
    """Upper clip: the ratio is clipped above at 1 + epsilon_high (DAPO's clip-higher when
    larger)."""
    beta: float = Field(0.0, ge=0)
    """Weight of the k3 KL penalty to the reference (0: no penalty, as TRL's default)."""
    kl_ratio_correction: bool = True
    """Weight the KL term by the ratio (unbiased reverse-KL gradient; TRL's default)."""
    num_iterations: int = Field(1, ge=1)
    """Passes over the batch per update (mu in DeepSeekMath)."""
    minibatch_size: int = Field(16, ge=1)
    """Trajectories per optimizer step."""
    aggregation: LossAggregation = LossAggregation.DAPO
    """How per-token losses are averaged. ``dapo`` (TRL's default) weighs every trained token
    of the update the same, whichever minibatch it is in. Measured on the toy task of
    ``tests/train/test_grpo_learns.py`` (char model, 25 updates of 32 completions of up to 8
    tokens, 5 seeds; mean reward of the last 3 updates minus the first 3, mean +- sd): one
    minibatch, lr 3e-3: grpo 0.635+-0.015, bnpo = dapo 0.671+-0.016, dr_grpo 0.679+-0.014;
    minibatches of 8, lr 5e-4: grpo 0.386+-0.046, bnpo 0.415+-0.031, dapo 0.416+-0.031,
    dr_grpo 0.409+-0.029; minibatches of 8, lr 3e-3: all four 0.85 (saturated). Token-level
    beats per-sequence ``grpo`` (also length-biased: Dr. GRPO, arXiv:2503.20783); among the
    token-level three the toy cannot tell (its completions are nearly all 8 tokens), so the
    default is the one without a length setting whose minibatches are weighted consistently."""
    max_completion_length: int | None = Field(None, ge=1)
    """Dr. GRPO's constant normaliser, in tokens (the longest completion sampled: the sampler's
    ``max_new_tokens``, summed over turns); required by ``aggregation = "dr_grpo"`` only."""
    reward_scaling: RewardScaling = RewardScaling.GROUP
    """What centred rewards are divided by."""
    max_grad_norm: float = Field(1.0, gt=0)
    """Gradient clipping norm."""
    weight_decay: float = Field(0.0, ge=0)
    """AdamW weight decay."""
    track_ref_kl: bool = True
    """Keep a reference even when beta is 0, to report the KL to it (one more forward pass)."""
    probe_size: int = Field(8, ge=1)
    """Trajectories of the first batch kept as the probe set when none is given."""
    seed: int = 0
    """Seed of the row shuffle (combined with the policy version, so each update differs)."""
    replay_coef: float = Field(0.0, ge=0)
    """Weight of the replay term: the mean NLL of supervised examples the caller passes to
    ``step`` (``replay``), split over the update's optimizer steps, each step adding this
    weight times the mean NLL per token of its share (InstructGPT's PPO-ptx: updates on new rewards keep the data the model was built
    on). 0: none."""

    @model_validator(mode="after")
    def _dr_grpo_needs_its_constant(self) -> GRPOConfig:
        if self.aggregation is LossAggregation.DR_GRPO and self.max_completion_length is None:
            raise ValueError(
                "max_completion_length: required when aggregation = 'dr_grpo' (its constant "
                "normaliser: the sampler's max_new_tokens, summed over turns)"
            )
        return self
