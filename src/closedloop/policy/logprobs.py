"""Token batches and per-token log-probs of completions under a causal LM (torch).

Layout shared by sampling and training: prompts are left-padded to a common length ``P`` and
completions right-padded to ``C``, so every completion starts at column ``P`` and the logits
that predict it are columns ``P-1 .. P+C-2``. Position ids follow the attention mask, so left
padding never shifts a sequence's positions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F


@dataclass
class TokenBatch:
    """A padded (prompt, completion) batch. ``completion_mask`` marks real completion tokens."""

    input_ids: torch.Tensor  # (B, P + C)
    attention_mask: torch.Tensor  # (B, P + C)
    completion_mask: torch.Tensor  # (B, C), 1 for a real (non-pad) completion token
    prompt_len: int  # P

    @property
    def completion_len(self) -> int:
        """C, the padded completion length."""
        return self.completion_mask.shape[1]

    def to(self, device: torch.device | str) -> TokenBatch:
        """The same batch on ``device``."""
        return TokenBatch(
            self.input_ids.to(device),
            self.attention_mask.to(device),
            self.completion_mask.to(device),
            self.prompt_len,
        )


def pad_right(rows: Sequence[Sequence[float]], value: float, dtype: torch.dtype) -> torch.Tensor:
    """Stack ragged rows into a (B, max_len) tensor, padding on the right with ``value``."""
    width = max((len(r) for r in rows), default=0)
    out = torch.full((len(rows), max(width, 1)), value, dtype=dtype)
    for i, row in enumerate(rows):
        if len(row):
            out[i, : len(row)] = torch.tensor(list(row), dtype=dtype)
    return out


def make_batch(
    prompts: Sequence[Sequence[int]], completions: Sequence[Sequence[int]], pad_id: int
) -> TokenBatch:
    """Left-pad ``prompts``, right-pad ``completions`` and join them into one batch."""
    if len(prompts) != len(completions):
        raise ValueError(f"{len(prompts)} prompts but {len(completions)} completions")
    if any(len(p) == 0 for p in prompts):
        raise ValueError("an empty prompt has no token to predict the completion from")
    p_len = max(len(p) for p in prompts)
    c_len = max(1, max((len(c) for c in completions), default=1))
    batch = len(prompts)
    input_ids = torch.full((batch, p_len + c_len), pad_id, dtype=torch.long)
    attention = torch.zeros((batch, p_len + c_len), dtype=torch.long)
    comp_mask = torch.zeros((batch, c_len), dtype=torch.long)
    for i, (p, c) in enumerate(zip(prompts, completions, strict=True)):
        input_ids[i, p_len - len(p) : p_len] = torch.tensor(list(p), dtype=torch.long)
        attention[i, p_len - len(p) : p_len] = 1
        if len(c):
            input_ids[i, p_len : p_len + len(c)] = torch.tensor(list(c), dtype=torch.long)
            attention[i, p_len : p_len + len(c)] = 1
            comp_mask[i, : len(c)] = 1
    return TokenBatch(input_ids, attention, comp_mask, p_len)


def position_ids(attention_mask: torch.Tensor) -> torch.Tensor:
    """Positions counted over attended tokens only (left padding does not shift them)."""
    return (attention_mask.long().cumsum(-1) - 1).clamp(min=0)


def completion_logprobs(
    model: torch.nn.Module,
    batch: TokenBatch,
    temperature: float | torch.Tensor = 1.0,
    with_entropy: bool = False,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Per-token log-probs (B, C) of the completion tokens, and optionally their entropies.

    Logits are divided by ``temperature`` first (as at sampling time, and as TRL does), so the
    result is the log-prob under the tempered distribution. ``temperature`` is one float for
    the whole batch (0 means 1: greedy log-probs are untempered) or a (B,) tensor of per-row
    temperatures, each > 0, for a batch whose rows were sampled at different temperatures.
    Padded positions hold garbage; mask them with ``batch.completion_mask``.
    """
    rows = batch.input_ids.shape[0]
    if isinstance(temperature, torch.Tensor) and temperature.shape != (rows,):
        raise ValueError(
            f"temperature has shape {tuple(temperature.shape)}; a per-row temperature must have "
            f"shape ({rows},), one per row of the batch"
        )
    if isinstance(temperature, torch.Tensor) and not bool((temperature > 0).all()):
        raise ValueError(f"per-row temperatures {temperature.tolist()}: each must be > 0")
    out = model(
        input_ids=batch.input_ids,
        attention_mask=batch.attention_mask,
        position_ids=position_ids(batch.attention_mask),
        use_cache=False,
    )
    start = batch.prompt_len - 1
    logits = out.logits[:, start : start + batch.completion_len, :].float()
    if isinstance(temperature, torch.Tensor):
        logits = logits / temperature.to(logits.device, logits.dtype).view(-1, 1, 1)
    elif temperature not in (0.0, 1.0):
        logits = logits / temperature
    logp_all = F.log_softmax(logits, dim=-1)
    targets = batch.input_ids[:, batch.prompt_len :]
    logps = logp_all.gather(-1, targets.unsqueeze(-1)).squeeze(-1)
    entropy = None
    if with_entropy:
        entropy = -(logp_all.exp() * logp_all).sum(-1)
    return logps, entropy


def next_token_logprobs(model: torch.nn.Module, batch: TokenBatch) -> torch.Tensor:
    """Full next-token log-distributions (B, C, V) over the completion positions (temperature 1)."""
    out = model(
        input_ids=batch.input_ids,
        attention_mask=batch.attention_mask,
        position_ids=position_ids(batch.attention_mask),
        use_cache=False,
    )
    start = batch.prompt_len - 1
    return F.log_softmax(out.logits[:, start : start + batch.completion_len, :].float(), dim=-1)
