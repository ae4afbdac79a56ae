"""GRPO, written here: one update from a batch of already-verified trajectories.

Source: DeepSeekMath's GRPO (Shao et al., 2024, arXiv:2402.03300, eq. 3-4 and Algorithm 1)
as implemented by TRL's ``GRPOTrainer`` (``_compute_loss``, TRL 1.16): group-normalised
outcome advantages, a token-level PPO-clipped ratio, an optional k3 KL penalty to a reference,
per-sequence (``grpo``) or per-token (``bnpo``) loss aggregation. The math is in
:mod:`closedloop.train.grpo_loss` and is tested against TRL's as an oracle.

Departures from TRL's trainer (and why):
1. Generation, verification and training are separate phases of the loop, so this trainer never
   samples or scores: it takes :class:`~closedloop.train.trajectory.Trajectory` records.
2. The ratio's denominator ``pi_old`` is the log-prob recorded at sampling time
   (``sampling_logprobs``), not recomputed by the trainer; on the first pass over a batch the
   ratio is therefore 1 up to sampler/trainer numerics (as in TRL with vLLM, without its
   importance-sampling correction).
3. A loss mask from the trajectory zeroes tokens the environment wrote (execution feedback in
   multi-turn attempts) in the loss, the clip ratio, the entropy and the KL (TRL's
   ``tool_mask`` plays this part for tool calls).
4. Trajectories whose outcome is ``infra_error`` or whose reward is None are dropped before
   advantages are computed; they never count as reward 0 (TRL zeroes the advantage of
   unscorable completions but keeps them in the batch).
5. Groups may have different sizes (after drops); a group of one gets advantage 0.
6. The reference is the policy with its LoRA adapter disabled when it has one, else a frozen
   copy of the initial policy (TRL: a separate reference model, or the disabled adapter).
7. Only the clipped surrogate losses ``grpo`` and ``bnpo`` are offered; no entropy bonus, no
   off-policy masks, no sequence-level importance sampling.
8. Each update also measures KL(before || after) of itself on a fixed probe set (given, or taken
   from the first batch), for the monitors: ``UpdateMetrics.kl_probe``.
"""

from __future__ import annotations

import copy
import statistics
from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch

from closedloop.policy.hf import HFPolicy
from closedloop.policy.logprobs import completion_logprobs, make_batch, pad_right
from closedloop.train.checkpoint import latest_checkpoint, load_checkpoint, save_checkpoint
from closedloop.train.grpo_loss import (
    LossAggregation,
    RewardScaling,
    group_advantages,
    grpo_loss,
    masked_mean,
)
from closedloop.train.metrics import (
    MetricsWriter,
    ProbeSet,
    UpdateMetrics,
    probe_distributions,
    probe_kl,
)
from closedloop.train.trajectory import Trajectory, group_by_id, usable


@dataclass(frozen=True)
class GRPOConfig:
    """Settings of the GRPO update."""

    learning_rate: float = 1e-5
    """AdamW learning rate."""
    epsilon_low: float = 0.2
    """Lower clip: the ratio is clipped below at 1 - epsilon_low."""
    epsilon_high: float = 0.2
    """Upper clip: the ratio is clipped above at 1 + epsilon_high (DAPO's clip-higher when larger)."""
    beta: float = 0.0
    """Weight of the k3 KL penalty to the reference (0: no penalty, as TRL's default)."""
    kl_ratio_correction: bool = True
    """Weight the KL term by the ratio (unbiased reverse-KL gradient; TRL's default)."""
    temperature: float = 1.0
    """Logits are divided by this before log-probs; must equal the sampling temperature."""
    num_iterations: int = 1
    """Passes over the batch per update (mu in DeepSeekMath)."""
    minibatch_size: int = 16
    """Trajectories per optimizer step."""
    aggregation: LossAggregation = LossAggregation.SEQUENCE
    """How per-token losses are averaged."""
    reward_scaling: RewardScaling = RewardScaling.GROUP
    """What centred rewards are divided by."""
    max_grad_norm: float = 1.0
    """Gradient clipping norm."""
    weight_decay: float = 0.0
    """AdamW weight decay."""
    track_ref_kl: bool = True
    """Keep a reference even when beta is 0, to report the KL to it."""
    probe_size: int = 8
    """Trajectories of the first batch kept as the probe set when none is given."""

    def __post_init__(self) -> None:
        for name in ("learning_rate", "temperature", "max_grad_norm"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name}={getattr(self, name)}: must be > 0")
        if self.epsilon_low < 0 or self.epsilon_high < 0 or self.beta < 0:
            raise ValueError("epsilon_low, epsilon_high and beta must be >= 0")
        if self.num_iterations < 1 or self.minibatch_size < 1:
            raise ValueError(
                f"num_iterations={self.num_iterations}, minibatch_size={self.minibatch_size}: "
                "both must be >= 1"
            )


class GRPOTrainer:
    """Updates an :class:`HFPolicy`'s model in place from verified trajectories.

    Usage: ``metrics = trainer.step(trajectories)``; ``trainer.version`` is the policy version
    to stamp on the next trajectories; ``trainer.save()`` / ``trainer.resume()`` checkpoint to
    ``checkpoint_root``.
    """

    def __init__(
        self,
        policy: HFPolicy,
        config: GRPOConfig | None = None,
        reference: torch.nn.Module | None = None,
        probe: ProbeSet | None = None,
        checkpoint_root: str | Path | None = None,
        log_dir: str | Path | None = None,
    ) -> None:
        self.policy = policy
        self.config = config or GRPOConfig()
        self.version = 0
        self.probe: list[tuple[list[int], list[int]]] | None = (
            [(list(p), list(c)) for p, c in probe] if probe is not None else None
        )
        self.checkpoint_root = Path(checkpoint_root) if checkpoint_root else None
        params = [p for p in policy.model.parameters() if p.requires_grad]
        self.optimizer = torch.optim.AdamW(
            params, lr=self.config.learning_rate, weight_decay=self.config.weight_decay
        )
        self._peft = hasattr(policy.model, "disable_adapter")
        self.reference = reference
        wants_ref = self.config.beta > 0 or self.config.track_ref_kl
        if wants_ref and reference is None and not self._peft:
            self.reference = copy.deepcopy(policy.model).eval().requires_grad_(False)
        self._writer = MetricsWriter(log_dir) if log_dir else None

    # ---- reference -------------------------------------------------------------------
    @property
    def has_reference(self) -> bool:
        """Whether a reference policy is available for the KL."""
        return self.reference is not None or self._peft

    def _reference_context(self) -> tuple[torch.nn.Module, AbstractContextManager[Any]]:
        if self.reference is not None:
            return self.reference, nullcontext()
        return self.policy.model, self.policy.model.disable_adapter()

    # ---- the update ------------------------------------------------------------------
    def step(self, trajectories: Sequence[Trajectory]) -> UpdateMetrics:
        """One update: drop unusable trajectories, compute advantages, optimise, report.

        ``num_iterations`` passes over the usable trajectories in minibatches of
        ``minibatch_size`` (the last may be smaller), one optimizer step per minibatch; the
        metrics report how many steps were taken (``optimizer_steps``).
        """
        cfg = self.config
        kept = usable(trajectories)
        dropped = len(trajectories) - len(kept)
        if not kept:
            raise ValueError(
                f"all {len(trajectories)} trajectories are unusable (infra_error or no reward); "
                "nothing to train on"
            )
        groups = group_by_id(kept)
        index = {gid: i for i, gid in enumerate(groups)}
        rewards = torch.tensor([float(t.reward) for t in kept])  # type: ignore[arg-type]
        adv = group_advantages(
            rewards, torch.tensor([index[t.group_id] for t in kept]), cfg.reward_scaling
        )
        if self.probe is None:
            self.probe = [
                (list(t.prompt_ids), list(t.completion_ids)) for t in kept[: cfg.probe_size]
            ]
        pad = self.policy.pad_id
        before = probe_distributions(self.policy.model, self.probe, pad)

        model = self.policy.model
        model.train()
        losses, clips, entropies, kls, norms, weights = [], [], [], [], [], []
        for _ in range(cfg.num_iterations):
            for start in range(0, len(kept), cfg.minibatch_size):
                rows = kept[start : start + cfg.minibatch_size]
                parts, entropy, n_tok, norm = self._optimise(
                    rows, adv.values[start : start + len(rows)]
                )
                losses.append(parts.loss.item())
                clips.append(parts.clip_ratio)
                entropies.append(entropy)
                if parts.kl_ref is not None:
                    kls.append(parts.kl_ref)
                norms.append(norm)
                weights.append(n_tok)
        model.eval()
        after = probe_distributions(model, self.probe, pad)
        self.version += 1

        group_zero = [bool(adv.zero_std[[t.group_id == g for t in kept]].all()) for g in groups]
        tok = max(sum(weights), 1)
        metrics = UpdateMetrics(
            step=self.version,
            loss=statistics.fmean(losses),
            mean_reward=float(rewards.mean()),
            reward_std=float(rewards.std(unbiased=False)),
            frac_zero_std_groups=sum(group_zero) / len(group_zero),
            clip_ratio=sum(c * w for c, w in zip(clips, weights, strict=True)) / tok,
            entropy=sum(e * w for e, w in zip(entropies, weights, strict=True)) / tok,
            kl_ref=statistics.fmean(kls) if kls else None,
            kl_probe=probe_kl(before, after, self.probe),
            optimizer_steps=len(losses),  # each _optimise call is exactly one optimizer step
            num_trajectories=len(kept),
            num_dropped=dropped,
            num_tokens=sum(t.trained_tokens for t in kept),
            grad_norm=statistics.fmean(norms),
            staleness=statistics.fmean(self.version - 1 - t.policy_version for t in kept),
        )
        if self._writer is not None:
            self._writer.write("grpo", metrics.to_json(), self.version)
        return metrics

    def _optimise(
        self, rows: Sequence[Trajectory], advantages: torch.Tensor
    ) -> tuple[Any, float, int, float]:
        cfg = self.config
        device = self.policy.device
        batch = make_batch(
            [t.prompt_ids for t in rows], [t.completion_ids for t in rows], self.policy.pad_id
        ).to(device)
        loss_mask = pad_right([t.loss_mask for t in rows], 0, torch.float32).to(device)
        mask = batch.completion_mask.float() * loss_mask[:, : batch.completion_len]
        old = pad_right([t.sampling_logprobs for t in rows], 0.0, torch.float32).to(device)
        ref_logps = None
        if self.has_reference:
            ref_model, ctx = self._reference_context()
            with torch.no_grad(), ctx:
                ref_logps, _ = completion_logprobs(ref_model, batch, cfg.temperature)
        logps, entropy = completion_logprobs(
            self.policy.model, batch, cfg.temperature, with_entropy=True
        )
        parts = grpo_loss(
            logps,
            old,
            advantages.to(device),
            mask,
            cfg.epsilon_low,
            cfg.epsilon_high,
            cfg.beta,
            ref_logps,
            cfg.aggregation,
            cfg.kl_ratio_correction,
        )
        self.optimizer.zero_grad(set_to_none=True)
        parts.loss.backward()
        params = [p for p in self.policy.model.parameters() if p.requires_grad]
        norm = torch.nn.utils.clip_grad_norm_(params, cfg.max_grad_norm)
        self.optimizer.step()
        assert entropy is not None
        mean_entropy = masked_mean(entropy.detach(), mask).item()
        return parts, mean_entropy, int(mask.sum().item()), float(norm)

    # ---- checkpoints -----------------------------------------------------------------
    def save(self) -> Path:
        """Checkpoint the policy, optimizer, RNG and trainer state under ``checkpoint_root``."""
        if self.checkpoint_root is None:
            raise ValueError("no checkpoint_root was given to the trainer; pass one to save")
        state = {"version": self.version, "probe": self.probe, "config": asdict(self.config)}
        return save_checkpoint(
            self.checkpoint_root, self.version, self.policy, self.optimizer, state
        )

    def resume(self) -> bool:
        """Load the latest checkpoint under ``checkpoint_root`` if there is one."""
        if self.checkpoint_root is None:
            return False
        path = latest_checkpoint(self.checkpoint_root)
        if path is None:
            return False
        state = load_checkpoint(path, self.policy, self.optimizer)
        self.version = int(state["version"])
        probe = state.get("probe")
        self.probe = [(list(p), list(c)) for p, c in probe] if probe is not None else None
        return True
