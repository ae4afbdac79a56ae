"""The shipped base model: the embedded model pretrained offline to read list examples.

The directory of this package holds the weights (bf16 ``model.safetensors``), the tokenizer,
``MODEL_CARD.md`` (how they were made, what they measured), ``curve.csv`` and ``probe.json``,
all written by ``closedloop pretrain`` (:mod:`closedloop.train.pretrain`). Load it like any
Hugging Face model directory::

    from closedloop.policy.base_model import base_model_dir
    from closedloop.policy.hf import HFPolicy

    policy = HFPolicy.from_pretrained(base_model_dir())

Owns the location only: nothing here trains, and nothing is downloaded.
"""

from __future__ import annotations

from pathlib import Path

WEIGHTS = "model.safetensors"


def base_model_dir() -> Path:
    """The directory of the shipped base model (it may hold no weights in a source tree
    where ``closedloop pretrain`` has not been run: see :func:`has_base_model`)."""
    return Path(__file__).resolve().parent


def has_base_model() -> bool:
    """Whether the shipped weights are present."""
    return (base_model_dir() / WEIGHTS).is_file()
