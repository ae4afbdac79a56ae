"""Direct preference optimisation through TRL's ``DPOTrainer``: passing vs failing attempts.

Pairs come from attempts at the same task (same ``group_id``): a passing attempt is *chosen*,
a failing one *rejected*. TRL's DPO tokenizes text, so prompts are handed over already rendered
by the policy (chat template included) and completions as text; TRL appends the EOS token.

Limits: TRL's DPO trains on every completion token, so multi-turn trajectories (any loss-mask
0) are skipped rather than trained on environment-written tokens; a tokenizer whose
post-processor adds a BOS would add a second one to a rendered prompt (the embedded tokenizer
adds none).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import product
from pathlib import Path

from closedloop.policy.base import Prompt
from closedloop.policy.hf import HFPolicy
from closedloop.train.trajectory import Trajectory, group_by_id, usable
from closedloop.verify.outcome import Outcome


@dataclass(frozen=True)
class PreferencePair:
    """A rendered prompt and two completions of it, the first preferred."""

    prompt: str  # as the model sees it (chat template applied)
    chosen: str
    rejected: str


@dataclass(frozen=True)
class DPOSettings:
    """Settings of a DPO run."""

    beta: float = 0.1
    """Strength of the implicit KL to the reference (TRL's beta)."""
    learning_rate: float = 5e-5
    """Peak learning rate."""
    epochs: float = 1.0
    """Passes over the pairs."""
    batch_size: int = 8
    """Pairs per optimizer step."""
    max_length: int | None = 1024
    """Longest prompt + completion in tokens."""
    seed: int = 0
    """Seed of shuffling."""


@dataclass(frozen=True)
class DPOResult:
    """What a DPO run did: the logged loss and reward margin per step."""

    losses: tuple[float, ...]
    margins: tuple[float, ...]
    steps: int


def pair_from_text(policy: HFPolicy, prompt: Prompt, chosen: str, rejected: str) -> PreferencePair:
    """A pair from an unrendered prompt and two completion texts."""
    return PreferencePair(policy.render(prompt), chosen, rejected)


def preference_pairs(
    policy: HFPolicy, trajectories: Sequence[Trajectory], max_pairs_per_group: int = 4
) -> list[PreferencePair]:
    """(pass, fail) pairs of single-turn attempts at the same task, up to a cap per group.

    Chosen: outcome ``pass``; rejected: ``fail``, ``error`` or ``timeout``. ``infra_error``,
    reward-less and multi-turn trajectories never enter a pair.
    """
    tok = policy.tokenizer
    losing = {Outcome.FAIL, Outcome.ERROR, Outcome.TIMEOUT}
    single = [t for t in usable(trajectories) if all(t.loss_mask)]
    pairs: list[PreferencePair] = []
    for group in group_by_id(single).values():
        wins = [t for t in group if t.outcome is Outcome.PASS]
        losses = [t for t in group if t.outcome in losing]
        for win, loss in list(product(wins, losses))[:max_pairs_per_group]:
            pairs.append(
                PreferencePair(
                    prompt=tok.decode(list(win.prompt_ids), skip_special_tokens=False),
                    chosen=policy.decode(win.completion_ids),
                    rejected=policy.decode(loss.completion_ids),
                )
            )
    return pairs


def _sum_logps(policy: HFPolicy, prompts: list[str], completions: list[str]) -> list[float]:
    p_ids = [list(policy.tokenizer(p, add_special_tokens=False)["input_ids"]) for p in prompts]
    c_ids = [policy.encode_completion(c, add_eos=True) for c in completions]
    return [sum(row) for row in policy.token_logprobs(p_ids, c_ids)]


def preference_margin(policy: HFPolicy, pairs: Sequence[PreferencePair]) -> float:
    """Mean of log p(chosen) - log p(rejected) over pairs (completions with EOS, temperature 1)."""
    prompts = [p.prompt for p in pairs]
    chosen = _sum_logps(policy, prompts, [p.chosen for p in pairs])
    rejected = _sum_logps(policy, prompts, [p.rejected for p in pairs])
    return sum(c - r for c, r in zip(chosen, rejected, strict=True)) / max(len(pairs), 1)


def run_dpo(
    policy: HFPolicy,
    pairs: Sequence[PreferencePair],
    settings: DPOSettings,
    out_dir: str | Path,
) -> DPOResult:
    """Train ``policy.model`` in place on ``pairs``; the reference is a frozen copy of the policy
    at the start (or the policy with its LoRA adapter disabled), as TRL builds it."""
    import torch
    from datasets import Dataset
    from transformers import PrinterCallback
    from trl import DPOConfig, DPOTrainer

    if not pairs:
        raise ValueError("no preference pairs: each needs a passing and a failing attempt")
    data = Dataset.from_dict(
        {
            "prompt": [p.prompt for p in pairs],
            "chosen": [p.chosen for p in pairs],
            "rejected": [p.rejected for p in pairs],
        }
    )
    args = DPOConfig(
        output_dir=str(out_dir),
        beta=settings.beta,
        learning_rate=settings.learning_rate,
        num_train_epochs=settings.epochs,
        per_device_train_batch_size=settings.batch_size,
        max_length=settings.max_length,
        seed=settings.seed,
        logging_steps=1,
        save_strategy="no",
        report_to="none",
        use_cpu=not torch.cuda.is_available(),
        disable_tqdm=True,
    )
    trainer = DPOTrainer(
        model=policy.model, args=args, train_dataset=data, processing_class=policy.tokenizer
    )
    trainer.remove_callback(PrinterCallback)  # metrics are returned, not printed
    trainer.train()
    policy.model.eval()
    logs = [e for e in trainer.state.log_history if "loss" in e]
    return DPOResult(
        losses=tuple(float(e["loss"]) for e in logs),
        margins=tuple(float(e.get("rewards/margins", float("nan"))) for e in logs),
        steps=trainer.state.global_step,
    )
