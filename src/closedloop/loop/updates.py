"""Plain supervised updates for the loop: cold start, expert iteration and the control.

Why not ``closedloop.train.sft.run_sft`` (TRL's ``SFTTrainer``): on the two-core preset its
per-step overhead made a 16-sequence step take ~2.5 s against ~0.3 s for the same step in plain
torch, which alone would spend the preset's 10-minute budget. This is the same objective
(mean token NLL over completion tokens whose loss mask is 1, prompt tokens never trained),
on :class:`closedloop.train.sft.SFTExample` records, with AdamW and a linear decay, counted in
optimizer steps so the control can be matched step for step.

Departures from ``run_sft``: no TRL datasets/collators, a fixed number of steps instead of
epochs (examples are cycled in a seeded shuffled order), linear decay to 10% not 0.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from closedloop.train.sft import SFTExample


@dataclass(frozen=True)
class SFTRun:
    """What a run of :func:`sft_steps` did."""

    steps: int
    first_loss: float
    last_loss: float


def sft_steps(
    policy: Any,
    examples: Sequence[SFTExample],
    steps: int,
    batch_size: int,
    learning_rate: float,
    seed: int = 0,
) -> SFTRun:
    """``steps`` AdamW steps on ``examples`` (batches of ``batch_size``), in place."""
    import torch

    from closedloop.policy.logprobs import completion_logprobs, make_batch, pad_right

    if not examples or steps <= 0:
        return SFTRun(0, float("nan"), float("nan"))
    model = policy.model
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=learning_rate, weight_decay=0.0)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: max(0.1, 1.0 - s / max(steps, 1)))
    rng = random.Random(seed)
    order: list[int] = []
    losses: list[float] = []
    model.train()
    try:
        for _ in range(steps):
            if len(order) < batch_size:
                order += _bucketed(examples, batch_size, rng)
            rows = [examples[i] for i in order[:batch_size]]
            del order[:batch_size]
            batch = make_batch(
                [e.prompt_ids for e in rows], [e.completion_ids for e in rows], policy.pad_id
            )
            batch = batch.to(policy.device)
            lm = pad_right([e.loss_mask for e in rows], 0, torch.float32).to(policy.device)
            mask = batch.completion_mask.float() * lm[:, : batch.completion_len]
            logps, _ = completion_logprobs(model, batch)
            loss = -(logps * mask).sum() / mask.sum().clamp(min=1.0)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
            sched.step()
            losses.append(float(loss.item()))
    finally:
        model.eval()
    return SFTRun(steps, losses[0], sum(losses[-10:]) / len(losses[-10:]))


def _bucketed(examples: Sequence[SFTExample], batch_size: int, rng: random.Random) -> list[int]:
    """A shuffled epoch in which each window of 8 batches is sorted by length, so a batch
    pads to similar lengths (a short solver example is not padded to a long proposal)."""
    idx = list(range(len(examples)))
    rng.shuffle(idx)
    window = batch_size * 8
    out: list[int] = []
    for s in range(0, len(idx), window):
        chunk = sorted(
            idx[s : s + window],
            key=lambda i: len(examples[i].prompt_ids) + len(examples[i].completion_ids),
        )
        batches = [chunk[b : b + batch_size] for b in range(0, len(chunk), batch_size)]
        rng.shuffle(batches)
        out += [i for b in batches for i in b]
    return out
