"""GRPO, written here: one update from a batch of already-verified trajectories.

Source: DeepSeekMath's GRPO (Shao et al., 2024, arXiv:2402.03300, eq. 3-4 and Algorithm 1)
as implemented by TRL's ``GRPOTrainer`` (``_compute_loss``, TRL 1.16): group-normalised
outcome advantages, a token-level PPO-clipped ratio, an optional k3 KL penalty to a reference,
and TRL's loss aggregations (``grpo``, ``bnpo``, ``dapo``, ``dr_grpo``; default ``dapo``, as
TRL's). The math is in :mod:`closedloop.train.grpo_loss` and is tested against TRL's as an
oracle.

Departures from TRL's trainer (and why):
1. Generation, verification and training are separate phases of the loop, so this trainer never
   samples or scores: it takes :class:`~closedloop.train.trajectory.Trajectory` records.
2. The ratio's denominator ``pi_old`` is the log-prob recorded at sampling time
   (``sampling_logprobs``), not recomputed by the trainer; the trainer's log-probs (and the
   reference's) are computed at each trajectory's own ``temperature``, since one batch mixes
   solver and challenger rows sampled at different temperatures (TRL has one temperature per
   trainer). On the first minibatch the ratio is therefore 1 up to sampler/trainer numerics
   (as in TRL with vLLM, without its importance-sampling correction);
   ``UpdateMetrics.first_pass_ratio_dev`` reports how far from 1 it is.
3. A loss mask from the trajectory zeroes tokens the environment wrote (execution feedback in
   multi-turn attempts) in the loss, the clip ratio, the entropy and the KL (TRL's
   ``tool_mask`` plays this part for tool calls).
4. Trajectories whose outcome is ``infra_error`` or whose reward is None are dropped before
   advantages are computed; they never count as reward 0 (TRL zeroes the advantage of
   unscorable completions but keeps them in the batch).
5. Groups may have different sizes (after drops). Groups without reward spread (all rewards
   equal, or one member) are dropped after advantages are computed and before minibatching,
   DAPO's dynamic sampling (Yu et al., 2025, arXiv:2503.14476) without its resampling to refill
   the batch: the update is smaller instead. An update with no group left takes no optimizer
   step (AdamW's momentum would otherwise move the weights on a zero gradient) and does not
   advance the version. TRL keeps such groups, with advantage 0, in its minibatches.
6. The remaining rows are shuffled once per update with an RNG seeded by ``GRPOConfig.seed``
   and the policy version (or the ``seed`` given to ``step``), so a resumed trainer shuffles as
   an uninterrupted one; every pass of ``num_iterations`` reuses that order (as TRL's).
7. ``dapo`` divides each minibatch's token sum by the trained tokens of the whole update per
   optimizer step (TRL: ``num_items_in_batch`` rescaled to one step); our last minibatch may be
   smaller than the others, and its tokens still weigh the same as every other token.
8. The reference is the policy with its LoRA adapter disabled when it has one, else the model
   given as ``reference`` (the loop passes the cold-start policy on resume), else a frozen copy
   of the policy the trainer was built with (TRL: a separate reference model, or the disabled
   adapter).
9. Only clipped surrogate losses are offered; no entropy bonus, no off-policy masks, no
   sequence-level importance sampling, no learning-rate schedule (AdamW at a constant rate).
10. Each update also measures KL(before || after) of itself on a fixed probe set (given, or
   taken from the first batch), for the monitors: ``UpdateMetrics.kl_probe``.
11. The trainer's state (optimizer moments, version, probe, config) is one ``state_dict`` saved
   beside the policy for resume (``save_state``/``load_state``); a resumed trainer with the
   same reference gives the same weights as an uninterrupted one.
"""

from __future__ import annotations

import copy
import random
import statistics
from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from closedloop.policy.hf import HFPolicy
from closedloop.policy.logprobs import completion_logprobs, make_batch, pad_right
from closedloop.train.checkpoint import (
    latest_checkpoint,
    load_checkpoint,
    load_state_file,
    save_checkpoint,
    save_state_file,
)
from closedloop.train.grpo_config import GRPOConfig
from closedloop.train.grpo_loss import (
    LossParts,
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

STATE_FORMAT = 1
"""Version of :meth:`GRPOTrainer.state_dict`'s layout."""


@dataclass
class _Passes:
    """What the optimizer steps of one update measured, one entry per step."""

    losses: list[float] = field(default_factory=list)
    clips: list[float] = field(default_factory=list)
    entropies: list[float] = field(default_factory=list)
    kls: list[float] = field(default_factory=list)
    norms: list[float] = field(default_factory=list)
    tokens: list[int] = field(default_factory=list)
    first_ratio_dev: float | None = None

    def add(self, parts: LossParts, entropy: float, tokens: int, norm: float) -> None:
        if self.first_ratio_dev is None:
            self.first_ratio_dev = parts.ratio_dev
        self.losses.append(parts.loss.item())
        self.clips.append(parts.clip_ratio)
        self.entropies.append(entropy)
        if parts.kl_ref is not None:
            self.kls.append(parts.kl_ref)
        self.norms.append(norm)
        self.tokens.append(tokens)

    def token_mean(self, values: list[float]) -> float | None:
        if not values:
            return None
        total = max(sum(self.tokens), 1)
        return sum(v * w for v, w in zip(values, self.tokens, strict=True)) / total


class GRPOTrainer:
    """Updates an :class:`HFPolicy`'s model in place from verified trajectories.

    Usage: ``metrics = trainer.step(trajectories)``; ``trainer.version`` is the policy version
    to stamp on the next trajectories. For resume, ``save_state(path)`` beside the saved policy,
    then build a trainer on the reloaded policy with the same ``reference`` and
    ``load_state(path)``. ``save()`` / ``resume()`` checkpoint both to ``checkpoint_root``.
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
        """``reference``: the KL reference (used frozen, on the policy's device); None means
        the disabled LoRA adapter, or else a frozen copy of ``policy`` as it is now, which on
        resume is the latest policy, not the cold start: pass the cold-start model then."""
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
        if reference is not None:
            reference.to(policy.device).eval().requires_grad_(False)
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
    def step(
        self,
        trajectories: Sequence[Trajectory],
        seed: int | None = None,
        replay: Sequence[Any] = (),
    ) -> UpdateMetrics:
        """One update: drop unusable trajectories, compute advantages, drop the groups without
        reward spread, shuffle, optimise, report.

        ``num_iterations`` passes over the remaining rows in minibatches of ``minibatch_size``
        (the last may be smaller), one optimizer step per minibatch; when no row remains no
        step is taken and the version stays. ``seed`` overrides the shuffle's seed (default:
        ``config.seed`` with the version). ``replay``: supervised examples (``SFTExample``:
        prompt ids, completion ids, loss mask) whose mean NLL, weighted ``replay_coef``, joins
        the update's loss, split over its optimizer steps (each example once; with fewer
        examples than steps some steps get none; ignored when the weight is 0). Raises
        ValueError when no trajectory is usable.
        """
        cfg = self.config
        kept = usable(trajectories)
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
        flat = {t.group_id for t, z in zip(kept, adv.zero_std.tolist(), strict=True) if z}
        rows = [i for i, t in enumerate(kept) if t.group_id not in flat]
        shuffle_seed = seed if seed is not None else f"{cfg.seed}:{self.version}"
        random.Random(shuffle_seed).shuffle(rows)
        train = [kept[i] for i in rows]
        if self.probe is None:
            self.probe = [
                (list(t.prompt_ids), list(t.completion_ids)) for t in kept[: cfg.probe_size]
            ]
        staleness = statistics.fmean(self.version - t.policy_version for t in kept)
        passes, kl_probe = _Passes(), 0.0
        replayed = list(replay) if cfg.replay_coef > 0 else []
        if train:
            passes, kl_probe = self._optimise_all(train, adv.values[rows], replayed)
            self.version += 1
        metrics = UpdateMetrics(
            step=self.version,
            loss=statistics.fmean(passes.losses) if passes.losses else None,
            mean_reward=float(rewards.mean()),
            reward_std=float(rewards.std(unbiased=False)),
            num_groups=len(groups),
            num_zero_std_groups=len(flat),
            frac_zero_std_groups=len(flat) / len(groups),
            clip_ratio=passes.token_mean(passes.clips),
            entropy=passes.token_mean(passes.entropies),
            kl_ref=statistics.fmean(passes.kls) if passes.kls else None,
            kl_probe=kl_probe,
            first_pass_ratio_dev=passes.first_ratio_dev,
            optimizer_steps=len(passes.losses),  # one per _optimise call
            num_trajectories=len(train),
            num_dropped=len(trajectories) - len(kept),
            num_tokens=sum(t.trained_tokens for t in train),
            grad_norm=statistics.fmean(passes.norms) if passes.norms else None,
            staleness=staleness,
            num_replay=len(replayed) if train else 0,
        )
        if self._writer is not None:
            self._writer.write("grpo", metrics.to_json(), self.version)
        return metrics

    def _optimise_all(
        self, rows: Sequence[Trajectory], advantages: torch.Tensor, replay: Sequence[Any] = ()
    ) -> tuple[_Passes, float]:
        """Every pass and minibatch over ``rows``; returns their measurements and the probe KL."""
        cfg = self.config
        assert self.probe is not None
        pad = self.policy.pad_id
        before = probe_distributions(self.policy.model, self.probe, pad)
        size = cfg.minibatch_size
        per_pass = -(-len(rows) // size)
        dapo_normalizer = sum(t.trained_tokens for t in rows) / per_pass
        passes = _Passes()
        steps = cfg.num_iterations * per_pass
        shares = [list(replay[i::steps]) for i in range(steps)] if replay else [[]] * steps
        self.policy.model.train()
        for n in range(cfg.num_iterations):
            for k, start in enumerate(range(0, len(rows), size)):
                mb = rows[start : start + size]
                passes.add(
                    *self._optimise(
                        mb,
                        advantages[start : start + len(mb)],
                        dapo_normalizer,
                        shares[n * per_pass + k],
                    )
                )
        self.policy.model.eval()
        after = probe_distributions(self.policy.model, self.probe, pad)
        return passes, probe_kl(before, after, self.probe)

    def _optimise(
        self,
        rows: Sequence[Trajectory],
        advantages: torch.Tensor,
        dapo_normalizer: float,
        replay: Sequence[Any] = (),
    ) -> tuple[LossParts, float, int, float]:
        """One optimizer step on one minibatch (plus its share of the replay examples):
        (loss parts, mean entropy, tokens, grad norm)."""
        cfg = self.config
        device = self.policy.device
        batch, mask = self._trained_batch(rows)
        old = pad_right([t.sampling_logprobs for t in rows], 0.0, torch.float32).to(device)
        temperature = torch.tensor([t.temperature for t in rows], dtype=torch.float32)
        ref_logps = None
        if self.has_reference:
            ref_model, ctx = self._reference_context()
            with torch.no_grad(), ctx:
                ref_logps, _ = completion_logprobs(ref_model, batch, temperature)
        logps, entropy = completion_logprobs(
            self.policy.model, batch, temperature, with_entropy=True
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
            dapo_normalizer=dapo_normalizer,
            max_completion_length=cfg.max_completion_length,
        )
        self.optimizer.zero_grad(set_to_none=True)
        loss = parts.loss
        if replay:
            loss = loss + cfg.replay_coef * self._replay_nll(replay)
        loss.backward()
        params = [p for p in self.policy.model.parameters() if p.requires_grad]
        norm = torch.nn.utils.clip_grad_norm_(params, cfg.max_grad_norm)
        self.optimizer.step()
        assert entropy is not None
        mean_entropy = masked_mean(entropy.detach(), mask).item()
        return parts, mean_entropy, int(mask.sum().item()), float(norm)

    def _trained_batch(self, rows: Sequence[Any]) -> tuple[Any, torch.Tensor]:
        """``rows`` (trajectories or SFT examples: prompt ids, completion ids, loss mask) as one
        batch on the policy's device, and the mask of its trained completion tokens."""
        batch = make_batch(
            [r.prompt_ids for r in rows], [r.completion_ids for r in rows], self.policy.pad_id
        ).to(self.policy.device)
        lm = pad_right([r.loss_mask for r in rows], 0, torch.float32).to(self.policy.device)
        return batch, batch.completion_mask.float() * lm[:, : batch.completion_len]

    def _replay_nll(self, examples: Sequence[Any]) -> torch.Tensor:
        """Mean NLL per trained token of supervised ``examples`` under the current weights."""
        batch, mask = self._trained_batch(examples)
        logps, _ = completion_logprobs(self.policy.model, batch)
        return -(logps * mask).sum() / mask.sum().clamp(min=1.0)

    @torch.no_grad()
    def ratio_deviation(self, trajectories: Sequence[Trajectory]) -> float:
        """max |pi/pi_old - 1| over the trained tokens of ``trajectories`` under the current
        weights, log-probs recomputed exactly as an update recomputes them (each row at its own
        temperature). Before any update on a batch this is ~0 (1e-6 on CPU); much more means
        the trainer and the sampler disagree about the distribution the tokens came from."""
        worst = 0.0
        device = self.policy.device
        was_training = self.policy.model.training
        self.policy.model.eval()
        try:
            for start in range(0, len(trajectories), self.config.minibatch_size):
                rows = trajectories[start : start + self.config.minibatch_size]
                batch, mask = self._trained_batch(rows)
                old = pad_right([t.sampling_logprobs for t in rows], 0.0, torch.float32).to(device)
                temperature = torch.tensor([t.temperature for t in rows], dtype=torch.float32)
                logps, _ = completion_logprobs(self.policy.model, batch, temperature)
                # masked positions (feedback, padding) hold anything: zero their log-ratio
                log_ratio = torch.where(mask.bool(), logps - old, torch.zeros_like(logps))
                dev = (log_ratio.exp() - 1).abs()
                worst = max(worst, float(dev.max()) if dev.numel() else 0.0)
        finally:
            self.policy.model.train(was_training)
        return worst

    # ---- state -----------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """Everything but the weights that the next update depends on: the optimizer's
        moments, the version (it seeds the shuffle), the probe set, and the config."""
        return {
            "format": STATE_FORMAT,
            "version": self.version,
            "probe": self.probe,
            "config": self.config.model_dump(mode="json"),
            "optimizer": self.optimizer.state_dict(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore :meth:`state_dict`'s output. Raises ValueError when it was saved under a
        different config (resuming would then change the algorithm mid-run)."""
        if state.get("format") != STATE_FORMAT:
            raise ValueError(
                f"trainer state format {state.get('format')!r}; this trainer reads "
                f"{STATE_FORMAT}: it was written by another version of closedloop"
            )
        mine = self.config.model_dump(mode="json")
        changed = sorted(
            k for k in mine.keys() | state["config"].keys() if mine.get(k) != state["config"].get(k)
        )
        if changed:
            diffs = ", ".join(
                f"{k}: saved {state['config'].get(k)!r}, now {mine.get(k)!r}" for k in changed
            )
            raise ValueError(
                f"trainer state was saved under another GRPO config ({diffs}); resume with the "
                "saved config"
            )
        self.optimizer.load_state_dict(state["optimizer"])
        self.version = int(state["version"])
        probe = state["probe"]
        self.probe = [(list(p), list(c)) for p, c in probe] if probe is not None else None

    def save_state(self, path: str | Path) -> Path:
        """Write :meth:`state_dict` to ``path`` atomically (torch.save). Save the policy too."""
        return save_state_file(self.state_dict(), path)

    def load_state(self, path: str | Path) -> None:
        """Restore the state :meth:`save_state` wrote (the policy's weights are loaded apart)."""
        self.load_state_dict(load_state_file(path, self.policy.device))

    # ---- checkpoints -----------------------------------------------------------------
    def save(self) -> Path:
        """Checkpoint the policy, the trainer state and the RNG under ``checkpoint_root``."""
        if self.checkpoint_root is None:
            raise ValueError("no checkpoint_root was given to the trainer; pass one to save")
        return save_checkpoint(self.checkpoint_root, self.version, self.policy, self.state_dict())

    def resume(self) -> bool:
        """Load the latest checkpoint under ``checkpoint_root`` if there is one."""
        if self.checkpoint_root is None:
            return False
        path = latest_checkpoint(self.checkpoint_root)
        if path is None:
            return False
        self.load_state_dict(load_checkpoint(path, self.policy))
        return True
