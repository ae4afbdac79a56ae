"""A batched, KV-cached sampler over token ids, for multi-turn attempts and the loop's hot path.

Why not ``HFPolicy.sample``: a multi-turn attempt continues a conversation whose earlier turns
must be *exactly* the tokens that were sampled (re-rendering text can re-tokenize differently),
so prompts here are token ids. The loop is a plain incremental decode (one forward per step,
the cache grows by one column), which on CPU is faster than ``generate`` for the small models.

Log-probs are those of the tempered, untruncated distribution, like ``HFPolicy.sample``
(``closedloop.train.grpo`` recomputes the same quantity). ``temperature == 0`` is greedy.
Does not support top-p/top-k (the loop does not use them).
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from typing import Any

from closedloop.policy.base import Completion, FinishReason, SamplingParams


def sample_ids(
    policy: Any,
    prompts: Sequence[Sequence[int]],
    n: int,
    params: SamplingParams,
    max_batch: int = 64,
) -> list[list[Completion]]:
    """``n`` completions for each prompt given as token ids (``policy`` is an ``HFPolicy``)."""
    import torch

    if params.seed is not None:
        torch.manual_seed(params.seed)
    rows = [list(p) for p in prompts for _ in range(n)]
    out: list[Completion] = []
    for s in range(0, len(rows), max_batch):
        out.extend(_chunk(policy, rows[s : s + max_batch], params))
    return [out[i * n : (i + 1) * n] for i in range(len(prompts))]


def _cache_keyword(model: Any) -> str:
    """The forward keyword of the KV cache: ``cache`` from transformers 5.24 on (where
    ``past_key_values`` still works but warns on every call), ``past_key_values`` before."""
    return "cache" if "cache" in inspect.signature(model.forward).parameters else "past_key_values"


def _cache_of(output: Any) -> Any:
    """The KV cache a forward pass returned (``cache`` or, before 5.24, ``past_key_values``)."""
    cache = getattr(output, "cache", None)
    return cache if cache is not None else output.past_key_values


def _chunk(policy: Any, rows: list[list[int]], params: SamplingParams) -> list[Completion]:
    import torch

    model, pad, eos = policy.model, policy.pad_id, policy.eos_id
    device = policy.device
    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), pad, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, r in enumerate(rows):
        ids[i, width - len(r) :] = torch.tensor(r)
        mask[i, width - len(r) :] = 1
    ids, mask = ids.to(device), mask.to(device)
    pos = (mask.cumsum(-1) - 1).clamp(min=0)
    was_training = model.training
    model.eval()
    tokens: list[list[int]] = [[] for _ in rows]
    logps: list[list[float]] = [[] for _ in rows]
    done = torch.zeros(len(rows), dtype=torch.bool, device=device)
    try:
        with torch.no_grad():
            res = model(input_ids=ids, attention_mask=mask, position_ids=pos, use_cache=True)
            past, logits = _cache_of(res), res.logits[:, -1, :].float()
            cache_kw = _cache_keyword(model)
            last_pos = pos[:, -1]
            for _ in range(params.max_new_tokens):
                if params.temperature > 0:
                    lp = torch.log_softmax(logits / params.temperature, dim=-1)
                    nxt = torch.multinomial(lp.exp(), 1).squeeze(-1)
                else:
                    lp = torch.log_softmax(logits, dim=-1)
                    nxt = lp.argmax(-1)
                chosen = lp.gather(-1, nxt[:, None]).squeeze(-1)
                nl, cl, dl = nxt.tolist(), chosen.tolist(), done.tolist()
                for i in range(len(rows)):
                    if not dl[i]:
                        tokens[i].append(nl[i])
                        logps[i].append(cl[i])
                done = done | (nxt == eos)
                if bool(done.all()):
                    break
                mask = torch.cat([mask, (~done).long()[:, None]], dim=1)
                last_pos = last_pos + 1
                res = model(
                    input_ids=torch.where(done, pad, nxt)[:, None],
                    attention_mask=mask,
                    position_ids=last_pos[:, None],
                    use_cache=True,
                    **{cache_kw: past},
                )
                past, logits = _cache_of(res), res.logits[:, -1, :].float()
    finally:
        model.train(was_training)
    out = []
    for r, toks, lps in zip(rows, tokens, logps, strict=True):
        stopped = bool(toks) and toks[-1] == eos
        out.append(
            Completion(
                text=policy.decode(toks),
                token_ids=tuple(toks),
                logprobs=tuple(lps),
                finish_reason=FinishReason.STOP if stopped else FinishReason.LENGTH,
                prompt_ids=tuple(r),
            )
        )
    return out
