"""Supervised fine-tuning through TRL's ``SFTTrainer``: cold start and rejection sampling (STaR).

Examples are handed to TRL already tokenized (``input_ids`` + ``completion_mask``), using the
policy's own prompt rendering, so training sees exactly the tokens sampling sees, and with
``completion_only_loss=True`` so prompt tokens (and environment-written tokens of multi-turn
trajectories, whose loss mask is 0) are never trained on. Completions from text get the
end-of-sequence token appended, so the model learns to stop.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

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


@dataclass(frozen=True)
class SFTSettings:
    """Settings of an SFT run."""

    learning_rate: float = 5e-4
    """Peak learning rate (linear decay to 0 over the run, as TRL's default schedule)."""
    epochs: float = 1.0
    """Passes over the examples."""
    batch_size: int = 8
    """Examples per optimizer step."""
    max_length: int | None = 1024
    """Longest sequence in tokens (longer ones are truncated at the end)."""
    weight_decay: float = 0.0
    """AdamW weight decay."""
    seed: int = 0
    """Seed of shuffling and dropout."""


@dataclass(frozen=True)
class SFTResult:
    """What an SFT run did: the logged training loss per step."""

    losses: tuple[float, ...]
    steps: int


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


def run_sft(
    policy: HFPolicy, examples: Sequence[SFTExample], settings: SFTSettings, out_dir: str | Path
) -> SFTResult:
    """Train ``policy.model`` in place on ``examples`` with TRL's SFTTrainer.

    ``out_dir`` receives TRL's run files (no intermediate checkpoints); save the policy with
    ``policy.save`` afterwards.
    """
    import torch
    from datasets import Dataset
    from transformers import PrinterCallback
    from trl import SFTConfig, SFTTrainer

    if not examples:
        raise ValueError("no SFT examples: give at least one (prompt, completion)")
    rows = {
        "input_ids": [list(e.prompt_ids) + list(e.completion_ids) for e in examples],
        "completion_mask": [[0] * len(e.prompt_ids) + list(e.loss_mask) for e in examples],
    }
    args = SFTConfig(
        output_dir=str(out_dir),
        learning_rate=settings.learning_rate,
        num_train_epochs=settings.epochs,
        per_device_train_batch_size=settings.batch_size,
        max_length=settings.max_length,
        weight_decay=settings.weight_decay,
        seed=settings.seed,
        completion_only_loss=True,
        logging_steps=1,
        save_strategy="no",
        report_to="none",
        use_cpu=not torch.cuda.is_available(),
        disable_tqdm=True,
    )
    trainer = SFTTrainer(
        model=policy.model,
        args=args,
        train_dataset=Dataset.from_dict(rows),
        processing_class=policy.tokenizer,
    )
    trainer.remove_callback(PrinterCallback)  # metrics are returned, not printed
    trainer.train()
    policy.model.eval()
    losses = tuple(float(e["loss"]) for e in trainer.state.log_history if "loss" in e)
    return SFTResult(losses=losses, steps=trainer.state.global_step)
