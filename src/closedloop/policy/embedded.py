"""The embedded small model: a Llama-style LM of a few million parameters, built from scratch here.

Nothing is downloaded. :func:`build_embedded_policy` trains a byte-level BPE tokenizer on the
domain's text with ``tokenizers``, builds a ``LlamaForCausalLM`` from :class:`EmbeddedConfig`
with random weights, and saves both with ``save_pretrained``, so ``AutoModelForCausalLM`` and
``AutoTokenizer`` load the directory like any hub model.

The tokenizer is byte-level: every string (any whitespace, newlines, indentation, non-ASCII)
encodes, and decoding gives back exactly the text (no prefix space, no clean-up of spaces).

Integers have one form (``EmbeddedConfig.integer_tokens``, on by default): ``0`` .. ``999`` are
whole tokens matched before BPE runs, so ``17`` is the same id after ``[``, ``, ``, ``(`` or a
space, and a longer digit run splits left to right into groups of at most three digits
(``1234`` -> ``123`` ``4``); a minus sign is its own token. The BPE is trained on the text
between digit runs only, so no merge is spent on numbers, and without GPT-2's word-splitting
regex, so merges may span words: ``, `` and ``]) == [`` are one token each and a grammar
step's line is one or two (on the pretraining data: prompts 56 tokens on average against 97,
completions 12 against 39). Why: with plain byte-level BPE every
integer had two identities (``[17`` and `` 17`` are different tokens), which halved the
examples each number was learned from; a model that reads list examples needs one.
Its chat template renders ``<|bos|><|user|>\\n{prompt}<|end|><|assistant|>\\n``; the model stops
by emitting ``<|end|>``, the end-of-sequence token.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from closedloop.policy.hf import HFPolicy


class SpecialToken(StrEnum):
    """Special tokens of the embedded tokenizer (ids 0.. in this order)."""

    PAD = "<|pad|>"
    BOS = "<|bos|>"
    EOS = "<|end|>"
    SYSTEM = "<|system|>"
    USER = "<|user|>"
    ASSISTANT = "<|assistant|>"


CHAT_TEMPLATE = (
    "{{ bos_token }}{% for m in messages %}<|{{ m['role'] }}|>\n{{ m['content'] }}{{ eos_token }}"
    "{% endfor %}{% if add_generation_prompt %}<|assistant|>\n{% endif %}"
)
"""Chat template of the embedded tokenizer (a conversation ends every turn with ``<|end|>``)."""

BYTE_ALPHABET = 256
INTEGER_TOKENS = 1000
"""With ``integer_tokens``, the integers ``0 .. INTEGER_TOKENS - 1`` are whole tokens."""
_DIGIT_RUN = re.compile(r"\d+")


@dataclass(frozen=True)
class EmbeddedConfig:
    """Shape of the embedded model and its tokenizer (defaults: about 2.2 M parameters)."""

    vocab_size: int = 2048
    """Tokenizer vocabulary size, including the 256 byte tokens and the special tokens."""
    hidden_size: int = 192
    """Width of the residual stream."""
    intermediate_size: int = 512
    """Width of each MLP's hidden layer."""
    num_layers: int = 4
    """Number of transformer blocks."""
    num_heads: int = 4
    """Attention heads per block (``hidden_size`` must divide evenly)."""
    max_positions: int = 1024
    """Longest sequence (prompt + completion) in tokens."""
    min_frequency: int = 2
    """A BPE merge is learned only for pairs seen at least this often in the corpus."""
    seed: int = 0
    """Seed of the weight initialisation."""
    integer_tokens: bool = True
    """One token per integer 0..999 in every context, and BPE merges across words (see the
    module docstring); False gives the plain byte-level BPE of earlier builds, where an
    integer's tokens depend on what precedes it. Adds ``INTEGER_TOKENS - 10`` tokens beyond
    ``vocab_size``."""
    value_embeddings: bool = False
    """With ``integer_tokens``: start each integer token's embedding with features of its value
    (see :func:`value_features`) added to the random initialisation, so ``x`` and ``x + 3``
    are related by one fixed linear map and order and parity are linear read-outs from the
    first layer on; the features are trained like the rest."""
    list_positions: bool = False
    """With ``integer_tokens``: each integer of a list in a prompt also gets embeddings of its
    index in that list, from the start and from the end (:mod:`closedloop.policy.list_llama`),
    so output elements can be matched with input elements at the same index."""

    def __post_init__(self) -> None:
        floor = BYTE_ALPHABET + len(SpecialToken)
        if self.vocab_size < floor:
            raise ValueError(
                f"vocab_size={self.vocab_size}: must be >= {floor} (256 bytes + "
                f"{len(SpecialToken)} special tokens); raise it"
            )
        if self.hidden_size % self.num_heads:
            raise ValueError(
                f"hidden_size={self.hidden_size} is not divisible by num_heads={self.num_heads}; "
                "pick a head count that divides it"
            )
        if min(self.num_layers, self.intermediate_size, self.max_positions) < 1:
            raise ValueError("num_layers, intermediate_size and max_positions must all be >= 1")


VALUE_PERIODS = (
    2,
    3,
    4,
    5,
    6,
    7,
    8,
    9,
    10,
    12,
    16,
    25,
    40,
    64,
    100,
    160,
    250,
    400,
    640,
    1000,
    2000,
)
"""Periods of the sinusoidal value features: the small ones make parity and ``x % k``
readable, the long ones make magnitude and order readable."""


def value_features(n_values: int, width: int, scale: float):  # -> torch.Tensor
    """``(n_values, width)`` features of the integers ``0 .. n_values - 1``: ``sin`` and
    ``cos`` of ``2 pi n / P`` for each period ``P`` of :data:`VALUE_PERIODS` and a centred
    magnitude ``n / n_values - 0.5`` (zero-padded or truncated to ``width``), all scaled by one
    factor so that the rows' mean norm is ``scale`` (one factor for all, so the sinusoids stay
    exact rotations of each other).

    Why sinusoids: adding ``k`` to ``n`` rotates every (sin, cos) pair by a fixed angle, so the
    same linear map relates every ``x`` to ``x + k`` and an attention head can detect ``+ k``
    wherever the numbers are; a model that only has one random vector per integer must learn
    each of the thousand sums separately."""
    import math

    import torch

    n = torch.arange(n_values, dtype=torch.float64).unsqueeze(1)
    angles = 2 * math.pi * n / torch.tensor(VALUE_PERIODS, dtype=torch.float64)
    feats = torch.cat([angles.sin(), angles.cos(), n / n_values - 0.5], dim=1)
    out = torch.zeros(n_values, width, dtype=torch.float64)
    k = min(width, feats.shape[1])
    out[:, :k] = feats[:, :k]
    out = out / out.norm(dim=1).mean().clamp(min=1e-12) * scale
    return out.float()


def train_tokenizer(corpus: Sequence[str], config: EmbeddedConfig):  # -> PreTrainedTokenizerFast
    """A byte-level BPE ``PreTrainedTokenizerFast`` trained on ``corpus`` (exact round trip)."""
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    if not corpus:
        raise ValueError("corpus is empty: give the domain's text (prompts and solutions)")
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(
        add_prefix_space=False, use_regex=not config.integer_tokens
    )
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=config.vocab_size,
        min_frequency=config.min_frequency,
        special_tokens=[t.value for t in SpecialToken],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(list(_training_text(corpus, config.integer_tokens)), trainer=trainer)
    if config.integer_tokens:
        # Added tokens are matched (leftmost-longest) before pre-tokenization and BPE, so a
        # digit run never reaches the BPE. "0".."9" already exist as byte tokens and keep
        # their ids.
        tok.add_tokens([AddedToken(str(n), normalized=False) for n in range(INTEGER_TOKENS)])
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token=SpecialToken.BOS.value,
        eos_token=SpecialToken.EOS.value,
        pad_token=SpecialToken.PAD.value,
        additional_special_tokens=[
            SpecialToken.SYSTEM.value,
            SpecialToken.USER.value,
            SpecialToken.ASSISTANT.value,
        ],
        clean_up_tokenization_spaces=False,
        padding_side="left",
        model_max_length=config.max_positions,
    )
    fast.chat_template = CHAT_TEMPLATE
    return fast


def _training_text(corpus: Sequence[str], integer_tokens: bool) -> Iterator[str]:
    """The BPE's training text: with ``integer_tokens`` the pieces between digit runs, each
    its own sequence (no merge spans or includes a number, as at encoding time)."""
    for text in corpus:
        if not integer_tokens:
            yield text
            continue
        yield from (piece for piece in _DIGIT_RUN.split(text) if piece)


def build_embedded_policy(
    corpus: Sequence[str], out_dir: str | Path, config: EmbeddedConfig | None = None
) -> HFPolicy:
    """Train the tokenizer on ``corpus``, build a fresh model, save both to ``out_dir``, load it.

    Deterministic for a given corpus and config. The returned policy runs on the default device.
    """
    import torch
    from transformers import GenerationConfig, LlamaConfig, LlamaForCausalLM

    from closedloop.policy.list_llama import (
        ListLlamaConfig,
        ListLlamaForCausalLM,
        list_config_fields,
    )

    cfg = config or EmbeddedConfig()
    tokenizer = train_tokenizer(corpus, cfg)
    with_lists = cfg.list_positions and cfg.integer_tokens
    config_class = ListLlamaConfig if with_lists else LlamaConfig
    extra = list_config_fields(tokenizer) if with_lists else {}
    llama = config_class(
        **extra,
        vocab_size=len(tokenizer),
        hidden_size=cfg.hidden_size,
        intermediate_size=cfg.intermediate_size,
        num_hidden_layers=cfg.num_layers,
        num_attention_heads=cfg.num_heads,
        num_key_value_heads=cfg.num_heads,
        max_position_embeddings=cfg.max_positions,
        tie_word_embeddings=True,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(cfg.seed)
    model = ListLlamaForCausalLM(llama) if with_lists else LlamaForCausalLM(llama)
    if cfg.value_embeddings and cfg.integer_tokens:
        _add_value_features(model, tokenizer)
    model.generation_config = GenerationConfig(
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    path = Path(out_dir)
    path.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(path))
    tokenizer.save_pretrained(str(path))
    return HFPolicy.from_pretrained(path)


def _add_value_features(model, tokenizer) -> None:  # noqa: ANN001
    """Add :func:`value_features` to the integer tokens' embedding rows, at the norm of an
    average random row (so neither part drowns the other at the first RMSNorm)."""
    import torch

    emb = model.get_input_embeddings().weight
    ids = tokenizer.convert_tokens_to_ids([str(n) for n in range(INTEGER_TOKENS)])
    with torch.no_grad():
        rows = emb[ids]
        feats = value_features(INTEGER_TOKENS, emb.shape[1], float(rows.norm(dim=1).mean()))
        emb[ids] = rows + feats.to(emb.dtype)


def parameter_count(policy: HFPolicy) -> int:
    """Number of distinct parameters of the policy's model (tied weights counted once)."""
    return sum(p.numel() for p in {id(p): p for p in policy.model.parameters()}.values())
