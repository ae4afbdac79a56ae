"""The two SFT baselines of a run: the cold start and the compute-matched control.

Both are supervised training on the **same corpus** (:func:`closedloop.loop.domain.cold_start_pairs`,
rebuilt identically from the config after a resume), through the one SFT path
(:func:`closedloop.train.sft.sft_steps`):

- the **cold start** (iteration 0): the base model pretrained offline (``model.kind = "base"``:
  the cold start *is* the base, no SFT here), or the embedded model built from scratch and
  trained ``cold_start.epochs`` passes over the corpus (or a Hugging Face model loaded from
  ``model.path``);
- the **control**: the cold start trained further on that corpus for exactly as many optimizer
  steps as self-play took *with signal* (steps on batches with no learning signal are not taken,
  so they are not counted). For a base model its data is fresh examples of the base's own
  pretraining distribution, at the learning rate its pretraining ended with. It answers "would
  more of the same supervised data have done as well?": self-play earns its keep only by
  beating it.

Owns building and training both. Must never see a self-play task or attempt: the control's
data is the cold start's data, so the loop gets no information the control lacks.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from closedloop.loop.config import ConfigError, ModelKind, RunConfig

if TYPE_CHECKING:
    from closedloop.loop.phrasing import Phrase
    from closedloop.train.sft import SFTExample, SFTRun

CONTROL_SEED_OFFSET = 10_007
"""The control's batch order is seeded apart from the cold start's."""


def corpus_pairs(cfg: RunConfig) -> list[tuple[str, str]]:
    """The corpus both baselines train on: (prompt, completion) pairs (empty without one).
    With ``model.kind = "base"`` the cold start is the base and this is empty: the control
    draws fresh examples of the base's own distribution instead (:func:`base_control_pairs`)."""
    if cfg.model.kind is not ModelKind.EMBEDDED or not cfg.cold_start.corpus_size:
        return []
    from closedloop.loop.domain import cold_start_pairs

    return cold_start_pairs(cfg)


def base_dir(cfg: RunConfig) -> Path:
    """The base model's directory (``model.path``, else the one shipped in the package);
    raises ConfigError naming the fix when it holds no model."""
    from closedloop.policy.base_model import WEIGHTS, base_model_dir
    from closedloop.train.pretrain import CONFIG_FILE

    path = Path(cfg.model.path) if cfg.model.path else base_model_dir()
    missing = [f for f in (WEIGHTS, CONFIG_FILE) if not (path / f).is_file()]
    if missing:
        raise ConfigError(
            f"model.kind = 'base': {path} holds no base model (no {', '.join(missing)}); build "
            "one with `closedloop pretrain --out DIR` and set model.path = DIR"
        )
    return path


REPLAY_STEP_OFFSET = 2_000_000
"""Where the replay's batches of a base's distribution start (after the control's)."""
REPLAY_SEED_STRIDE = 100_000
"""Batches between two run seeds' replay streams (each iteration takes 100 batches' room, so
the streams of different seeds and iterations stay apart for 1,000 iterations)."""


def base_control_pairs(cfg: RunConfig, n: int, offset: int | None = None) -> list[tuple[str, str]]:
    """``n`` fresh examples of the base's pretraining distribution (the batches it would have
    drawn after its last step, which it never saw), for the control; ``offset`` draws another
    disjoint stream of them (the replay's)."""
    from closedloop.train.pretrain import CONTROL_STEP_OFFSET, batch_pairs, load_pretrain_config

    pcfg = load_pretrain_config(base_dir(cfg))
    pairs: list[tuple[str, str]] = []
    step = pcfg.steps + (CONTROL_STEP_OFFSET if offset is None else offset) + cfg.seed * 1_000
    while len(pairs) < n:
        pairs += batch_pairs(pcfg, step)
        step += 1
    return pairs[:n]


def task_phrase(cfg: RunConfig) -> Phrase:
    """How the run's grammar tasks are phrased: as the base was taught (varied sentences when
    it was pretrained with ``instruction_variety``), else the six fixed phrasings."""
    from closedloop.loop.phrasing import fixed_instruction, varied_instruction

    if cfg.model.kind is ModelKind.BASE:
        from closedloop.train.pretrain import load_pretrain_config

        if load_pretrain_config(base_dir(cfg)).instruction_variety:
            return varied_instruction
    return fixed_instruction


def base_replay_pairs(cfg: RunConfig, iteration: int, n: int) -> list[tuple[str, str]]:
    """``n`` fresh examples of a base's pretraining distribution for iteration ``iteration``'s
    replay term: a stream disjoint from the control's and from every other iteration's and run
    seed's (for ``n`` up to 100 batches and 1,000 iterations)."""
    return base_control_pairs(
        cfg, n, REPLAY_STEP_OFFSET + cfg.seed * REPLAY_SEED_STRIDE + iteration * 100
    )


def corpus_examples(policy: Any, pairs: list[tuple[str, str]]) -> list[SFTExample]:
    """The corpus tokenized for ``policy`` (prompt rendered, completion trained)."""
    from closedloop.train.sft import examples_from_text

    return examples_from_text(policy, pairs)


def build_policy(cfg: RunConfig, pairs: list[tuple[str, str]], scratch: Path) -> Any:
    """The policy self-play starts from, before any cold-start SFT: the base model
    (``model.kind = "base"``), the embedded model built from scratch (its tokenizer trained on
    the corpus's text), or the Hugging Face model at ``model.path`` (closedloop.loop.policy_setup)."""
    if cfg.model.kind is ModelKind.BASE:
        from closedloop.policy.hf import HFPolicy

        return HFPolicy.from_pretrained(base_dir(cfg))
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
    from closedloop.loop.policy_setup import hf_policy

    return hf_policy(cfg)  # dtype, device, LoRA, generation engine: [model]


def cold_start_steps(cfg: RunConfig, n_examples: int) -> int:
    """Optimizer steps of the cold start: ``epochs`` passes at ``batch_size``."""
    cs = cfg.cold_start
    return int(round(cs.epochs * n_examples / cs.batch_size))


def train_cold_start(
    policy: Any,
    examples: list[SFTExample],
    cfg: RunConfig,
    on_step: Callable[[int, int, float], None] | None = None,
) -> SFTRun:
    """SFT of the fresh policy on the corpus, in place; ``on_step(done, steps, loss)`` after
    each step."""
    from closedloop.train.sft import sft_steps

    cs = cfg.cold_start
    steps = cold_start_steps(cfg, len(examples))
    report = None if on_step is None else (lambda k, loss: on_step(k, steps, loss))
    return sft_steps(
        policy, examples, steps, cs.batch_size, cs.learning_rate, cfg.seed, on_step=report
    )


def train_control(
    policy: Any,
    examples: list[SFTExample],
    steps: int,
    cfg: RunConfig,
    batch_size: int | None = None,
    warmup_steps: int = 0,
) -> SFTRun:
    """``steps`` more SFT steps of the cold-start policy on its own data, in place: the
    cold-start corpus, or for a base model fresh examples of its pretraining distribution at
    the learning rate its pretraining ended with. ``batch_size`` (default the cold start's)
    and ``warmup_steps`` vary the recipe (benchmarks/control_recipes.py); the loop uses
    neither."""
    from closedloop.train.sft import examples_from_text, sft_steps

    cs = cfg.cold_start
    batch = batch_size or cs.batch_size
    lr = cs.learning_rate
    if cfg.model.kind is ModelKind.BASE:
        from closedloop.train.pretrain import load_pretrain_config

        pcfg = load_pretrain_config(base_dir(cfg))
        lr = pcfg.learning_rate * pcfg.min_lr_ratio
        examples = examples_from_text(policy, base_control_pairs(cfg, steps * batch))
    return sft_steps(
        policy, examples, steps, batch, lr, cfg.seed + CONTROL_SEED_OFFSET, warmup_steps
    )


def has_control(cfg: RunConfig) -> bool:
    """Whether the run trains a control (it needs data of the cold start's own to train on)."""
    if not cfg.control:
        return False
    if cfg.model.kind is ModelKind.BASE:
        return True
    return cfg.model.kind is ModelKind.EMBEDDED and cfg.cold_start.corpus_size > 0
