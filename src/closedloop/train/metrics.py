"""What every update reports, and the probe KL between the policy before and after an update."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch

from closedloop.policy.logprobs import make_batch, next_token_logprobs


@dataclass(frozen=True)
class UpdateMetrics:
    """Metrics of one GRPO update (one call of ``GRPOTrainer.step``). The fields that only an
    optimizer step can measure are None when the update took none (no group had signal)."""

    step: int
    """The policy version after this update: updates that took a step so far, this one too."""
    loss: float | None
    """Mean surrogate loss over the update's optimizer steps."""
    mean_reward: float
    """Mean reward of the usable trajectories (zero-spread groups included)."""
    reward_std: float
    """Std of those rewards (population std over the batch)."""
    num_groups: int
    """Groups among the usable trajectories."""
    num_zero_std_groups: int
    """Groups whose rewards were all equal (or that had one member): no learning signal, so
    they were dropped before minibatching (DAPO's dynamic sampling)."""
    frac_zero_std_groups: float
    """``num_zero_std_groups / num_groups``: the share of the batch without signal."""
    clip_ratio: float | None
    """Fraction of trained tokens whose probability ratio was clipped."""
    entropy: float | None
    """Mean per-token entropy of the policy on the trained tokens (before the update)."""
    kl_ref: float | None
    """Mean k3 KL from the policy to the reference on trained tokens (None without a reference)."""
    kl_probe: float
    """Mean per-position KL(before || after) of next-token distributions across this update
    alone, on the trainer's probe set: the one it was given, else the first ``probe_size``
    usable trajectories of the first batch it stepped on, kept for every later update (so
    successive values are comparable). 0 when no step was taken."""
    first_pass_ratio_dev: float | None
    """Max |ratio - 1| over the trained tokens of the first minibatch, before any step: the
    trainer's log-probs against the sampler's. Near 0 (1e-6 on CPU in float32) when both score
    the same distribution; larger means a temperature or numerics mismatch."""
    optimizer_steps: int
    """``optimizer.step()`` calls this update made (0 when no group had signal)."""
    num_trajectories: int
    """Trajectories trained on (usable, in groups with reward spread)."""
    num_dropped: int
    """Trajectories dropped as unusable (``infra_error`` or no reward)."""
    num_tokens: int
    """Trained tokens (loss mask 1) of the trajectories trained on."""
    grad_norm: float | None
    """Gradient norm before clipping, averaged over optimizer steps."""
    staleness: float
    """Mean of (trainer version before the update - trajectory policy_version), usable ones."""
    num_replay: int = 0
    """Replay examples whose NLL joined an optimizer step's loss (0 when the update took no
    step, or ``replay_coef`` is 0)."""

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)


ProbeSet = Sequence[tuple[Sequence[int], Sequence[int]]]
"""(prompt_ids, completion_ids) pairs whose next-token distributions are compared."""


@torch.no_grad()
def probe_distributions(model: torch.nn.Module, probe: ProbeSet, pad_id: int) -> torch.Tensor:
    """Next-token log-distributions on the probe set (B, C, V), for :func:`probe_kl`."""
    batch = make_batch([p for p, _ in probe], [c for _, c in probe], pad_id)
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    try:
        return next_token_logprobs(model, batch.to(device)).cpu()
    finally:
        model.train(was_training)


def probe_kl(before: torch.Tensor, after: torch.Tensor, probe: ProbeSet) -> float:
    """Exact mean KL(before || after) over the probe's real completion positions."""
    mask = make_batch([p for p, _ in probe], [c for _, c in probe], 0).completion_mask.float()
    kl = (before.exp() * (before - after)).sum(-1)
    return float((kl * mask).sum() / mask.sum().clamp(min=1.0))


class MetricsWriter:
    """Writes metrics to TensorBoard under ``log_dir`` (one scalar per field)."""

    def __init__(self, log_dir: str | Path) -> None:
        from torch.utils.tensorboard import SummaryWriter

        self._writer = SummaryWriter(str(log_dir))

    def write(self, prefix: str, metrics: dict[str, Any], step: int) -> None:
        """Log every numeric value of ``metrics`` as ``prefix/name`` at ``step``."""
        for name, value in metrics.items():
            if isinstance(value, int | float) and not isinstance(value, bool):
                self._writer.add_scalar(f"{prefix}/{name}", value, step)
        self._writer.flush()

    def close(self) -> None:
        """Flush and close the event file."""
        self._writer.close()
