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
    """Metrics of one GRPO update (one call of ``GRPOTrainer.step``)."""

    step: int
    """Updates done so far, this one included (the new policy version)."""
    loss: float
    """Mean surrogate loss over the update's optimizer steps."""
    mean_reward: float
    """Mean reward of the usable trajectories."""
    reward_std: float
    """Std of those rewards (population std over the batch)."""
    frac_zero_std_groups: float
    """Fraction of groups whose rewards were all equal (no learning signal)."""
    clip_ratio: float
    """Fraction of trained tokens whose probability ratio was clipped."""
    entropy: float
    """Mean per-token entropy of the policy on the trained tokens (before the update)."""
    kl_ref: float | None
    """Mean k3 KL from the policy to the reference on trained tokens (None without a reference)."""
    kl_probe: float
    """Mean per-position KL(before || after) of next-token distributions across this update
    alone, on the trainer's probe set: the one it was given, else the first ``probe_size``
    usable trajectories of the first batch it stepped on, kept for every later update (so
    successive values are comparable)."""
    optimizer_steps: int
    """``optimizer.step()`` calls this update made."""
    num_trajectories: int
    """Trajectories used."""
    num_dropped: int
    """Trajectories dropped (``infra_error`` or no reward)."""
    num_tokens: int
    """Trained tokens (loss mask 1)."""
    grad_norm: float
    """Gradient norm before clipping, averaged over optimizer steps."""
    staleness: float
    """Mean of (trainer version - trajectory policy_version)."""

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
