"""Supervised fine-tuning: the cold start, expert iteration (STaR) and the control.

One path, :func:`sft_steps`: mean token NLL over the completion tokens whose loss mask is 1
(prompt tokens and environment-written tokens of multi-turn trajectories are never trained
on), AdamW with a linear decay, counted in optimizer steps so a control can be matched step
for step. Examples carry token ids in the policy's own prompt rendering, so training sees
exactly the tokens sampling sees; completions from text get the end-of-sequence token
appended, so the model learns to stop.

Why plain torch and not TRL's ``SFTTrainer`` (which this module used before): on the two-core
preset TRL's per-step overhead made a 16-sequence step take ~2.5 s against ~0.3 s for the
same step here, which alone would spend the preset's 10-minute budget; the objective is the
same. Departures from ``SFTTrainer``'s defaults: a fixed number of steps instead of epochs
(examples are cycled in a seeded shuffled order, bucketed by length), linear decay to 10% of
the peak learning rate instead of to 0, gradient norm clipped at 1.0, no weight decay.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from closedloop.policy.base import Prompt
from closedloop.policy.hf import HFPolicy
from closedloop.train.trajectory import Trajectory, usable


@dataclass(frozen=True)
class SFTExample:
    """One training sequence: prompt tokens (never trained) then completion tokens."""

    prompt_ids: tuple[int, ...]
    completion_ids: tuple[int, ...]
    loss_mask: tuple[int, ...]  # per completion token: 1 trained, 0 not (environment-written)

    def __post_init__(self) -> None:
        if len(self.loss_mask) != len(self.completion_ids):
            raise ValueError("loss_mask must have one entry per completion token")


def examples_from_text(policy: HFPolicy, pairs: Sequence[tuple[Prompt, str]]) -> list[SFTExample]:
    """Curated (prompt, completion) pairs as examples (prompt rendered, EOS appended)."""
    out = []
    for prompt, completion in pairs:
        ids = policy.encode_completion(completion, add_eos=True)
        out.append(SFTExample(tuple(policy.encode_prompt(prompt)), tuple(ids), (1,) * len(ids)))
    return out


def keep_successes(
    trajectories: Sequence[Trajectory], min_reward: float = 1.0, dedupe: bool = True
) -> list[Trajectory]:
    """Rejection sampling (STaR): the usable trajectories whose reward reaches ``min_reward``.

    ``infra_error`` and reward-less trajectories are never kept; with ``dedupe`` an identical
    completion of the same prompt is kept once.
    """
    seen: set[tuple[tuple[int, ...], tuple[int, ...]]] = set()
    kept = []
    for t in usable(trajectories):
        if t.reward is None or t.reward < min_reward:
            continue
        key = (t.prompt_ids, t.completion_ids)
        if dedupe and key in seen:
            continue
        seen.add(key)
        kept.append(t)
    return kept


def examples_from_trajectories(
    trajectories: Sequence[Trajectory], final_turn_only: bool = False
) -> list[SFTExample]:
    """Trajectories as examples, keeping their loss masks.

    With ``final_turn_only`` the policy's earlier turns of a multi-turn trajectory are masked
    too: in rejection sampling (STaR) only the turn that passed is a target; the wrong code
    before the feedback is context, not something to imitate.
    """
    return [
        SFTExample(
            t.prompt_ids,
            t.completion_ids,
            _final_turn_mask(t.loss_mask) if final_turn_only else t.loss_mask,
        )
        for t in trajectories
    ]


def _final_turn_mask(mask: Sequence[int]) -> tuple[int, ...]:
    """``mask`` with every 1 before its last 0 (the last environment token) set to 0."""
    last_env = max((i for i, m in enumerate(mask) if m == 0), default=-1)
    return tuple(0 if i <= last_env else m for i, m in enumerate(mask))


def mean_nll(policy: HFPolicy, examples: Sequence[SFTExample]) -> float:
    """Mean negative log-likelihood per trained completion token (temperature 1)."""
    logps = policy.token_logprobs(
        [e.prompt_ids for e in examples], [e.completion_ids for e in examples]
    )
    total = count = 0.0
    for row, ex in zip(logps, examples, strict=True):
        total -= sum(lp for lp, m in zip(row, ex.loss_mask, strict=True) if m)
        count += sum(ex.loss_mask)
    return total / max(count, 1.0)


@dataclass(frozen=True)
class SFTRun:
    """What a run of :func:`sft_steps` did (losses are NaN when it took no step)."""

    steps: int
    """Optimizer steps taken."""
    first_loss: float
    """Training loss of the first step (the policy before any update)."""
    last_loss: float
    """Mean training loss of the last 10 steps."""


def sft_steps(
    policy: HFPolicy,
    examples: Sequence[SFTExample],
    steps: int,
    batch_size: int,
    learning_rate: float,
    seed: int = 0,
    warmup_steps: int = 0,
    on_step: Callable[[int, float], None] | None = None,
) -> SFTRun:
    """``steps`` AdamW steps on ``examples`` (batches of ``batch_size``), training
    ``policy.model`` in place; ``seed`` fixes the order examples are drawn in. The rate falls
    linearly to a tenth of ``learning_rate``; ``warmup_steps`` first raise it linearly (a fresh
    AdamW's first updates are ``lr * sign(grad)`` on every weight). ``on_step(done, loss)``
    is called after each step (progress)."""
    import torch

    from closedloop.policy.logprobs import completion_logprobs, make_batch, pad_right

    if not examples or steps <= 0:
        return SFTRun(0, float("nan"), float("nan"))
    model = policy.model
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=learning_rate, weight_decay=0.0)

    def factor(s: int) -> float:
        warm = min(1.0, (s + 1) / warmup_steps) if warmup_steps > 0 else 1.0
        return warm * max(0.1, 1.0 - s / max(steps, 1))

    sched = torch.optim.lr_scheduler.LambdaLR(opt, factor)
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
            if on_step is not None:
                on_step(len(losses), losses[-1])
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
