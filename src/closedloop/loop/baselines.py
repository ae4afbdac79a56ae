"""The two SFT baselines of a run: the cold start and the compute-matched control.

Both are supervised training on the **same corpus** (:func:`closedloop.loop.domain.cold_start_pairs`,
rebuilt identically from the config after a resume), through the one SFT path
(:func:`closedloop.train.sft.sft_steps`):

- the **cold start** (iteration 0): the embedded model built from scratch (or a Hugging Face
  model loaded from ``model.path``), then ``cold_start.epochs`` passes over the corpus;
- the **control**: the cold start trained further on that corpus for exactly as many optimizer
  steps as self-play took *with signal* (steps on batches with no learning signal are not taken,
  so they are not counted). It answers "would more of the same supervised data have done as
  well?": self-play earns its keep only by beating it.

Owns building and training both. Must never see a self-play task or attempt: the control's
data is the cold start's data, so the loop gets no information the control lacks.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from closedloop.loop.config import ModelKind, RunConfig

if TYPE_CHECKING:
    from closedloop.train.sft import SFTExample, SFTRun

CONTROL_SEED_OFFSET = 10_007
"""The control's batch order is seeded apart from the cold start's."""


def corpus_pairs(cfg: RunConfig) -> list[tuple[str, str]]:
    """The corpus both baselines train on: (prompt, completion) pairs (empty without one)."""
    if cfg.model.kind is not ModelKind.EMBEDDED or not cfg.cold_start.corpus_size:
        return []
    from closedloop.loop.domain import cold_start_pairs

    return cold_start_pairs(cfg)


def corpus_examples(policy: Any, pairs: list[tuple[str, str]]) -> list[SFTExample]:
    """The corpus tokenized for ``policy`` (prompt rendered, completion trained)."""
    from closedloop.train.sft import examples_from_text

    return examples_from_text(policy, pairs)


def build_policy(cfg: RunConfig, pairs: list[tuple[str, str]], scratch: Path) -> Any:
    """The untrained policy: the embedded model built from scratch (its tokenizer trained on
    the corpus's text), or the Hugging Face model at ``model.path``."""
    if cfg.model.kind is ModelKind.EMBEDDED:
        from closedloop.policy.embedded import EmbeddedConfig, build_embedded_policy

        texts = [p + "\n" + c for p, c in pairs] or [cfg.challenger_prompt]
        ecfg = EmbeddedConfig(
            vocab_size=cfg.model.vocab_size,
            hidden_size=cfg.model.hidden_size,
            num_layers=cfg.model.num_layers,
            seed=cfg.seed,
        )
        try:
            return build_embedded_policy(texts, scratch, ecfg)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
    from closedloop.policy.hf import HFPolicy

    return HFPolicy.from_pretrained(Path(cfg.model.path or ""))


def cold_start_steps(cfg: RunConfig, n_examples: int) -> int:
    """Optimizer steps of the cold start: ``epochs`` passes at ``batch_size``."""
    cs = cfg.cold_start
    return int(round(cs.epochs * n_examples / cs.batch_size))


def train_cold_start(policy: Any, examples: list[SFTExample], cfg: RunConfig) -> SFTRun:
    """SFT of the fresh policy on the corpus, in place."""
    from closedloop.train.sft import sft_steps

    cs = cfg.cold_start
    steps = cold_start_steps(cfg, len(examples))
    return sft_steps(policy, examples, steps, cs.batch_size, cs.learning_rate, cfg.seed)


def train_control(policy: Any, examples: list[SFTExample], steps: int, cfg: RunConfig) -> SFTRun:
    """``steps`` more SFT steps of the cold-start policy on the same corpus, in place."""
    from closedloop.train.sft import sft_steps

    cs = cfg.cold_start
    return sft_steps(
        policy, examples, steps, cs.batch_size, cs.learning_rate, cfg.seed + CONTROL_SEED_OFFSET
    )


def has_control(cfg: RunConfig) -> bool:
    """Whether the run trains a control (it needs a corpus to train it on)."""
    return cfg.control and cfg.model.kind is ModelKind.EMBEDDED and cfg.cold_start.corpus_size > 0
