"""``HFPolicy.sample_ids``: the roles' token-id sampler, behind the Policy protocol.

It moved from ``closedloop.roles.sampling.sample_ids`` (commit e87f673), whose code is copied
below verbatim as the oracle: the loop's results depend on the sampler drawing the same tokens
for the same seed, so the move must not change a single draw.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from typing import Any

import pytest
import torch

from closedloop.policy.base import Completion, FinishReason, PolicyError, SamplingParams
from closedloop.policy.logprobs import completion_logprobs, make_batch

PROMPTS = ["Write f.", "f([1, 2]) == [2, 4]\nWrite the Python function.", "def"]


def _ids(policy) -> list[list[int]]:
    return [policy.encode_prompt(p) for p in PROMPTS]


def test_sample_ids_draws_what_the_old_roles_sampler_drew(embedded) -> None:
    params = SamplingParams(max_new_tokens=10, temperature=0.7, seed=5)
    embedded.max_batch = 4  # 6 rows: two batches, as the old sampler with max_batch=4
    new = embedded.sample_ids(_ids(embedded), 2, params)
    old = old_sample_ids(embedded, _ids(embedded), 2, params, max_batch=4)
    assert new == old


def test_sample_ids_logprobs_are_those_of_the_tempered_distribution(embedded) -> None:
    temp = 0.7
    groups = embedded.sample_ids(_ids(embedded), 2, SamplingParams(12, temperature=temp, seed=1))
    flat = [c for g in groups for c in g]
    batch = make_batch([c.prompt_ids for c in flat], [c.token_ids for c in flat], embedded.pad_id)
    with torch.no_grad():
        rescored, _ = completion_logprobs(embedded.model, batch, temp)
    for row, c in enumerate(flat):
        assert rescored[row, : len(c.token_ids)].tolist() == pytest.approx(c.logprobs, abs=1e-4)


def test_sample_ids_at_temperature_zero_is_greedy(embedded) -> None:
    params = SamplingParams(max_new_tokens=8, temperature=0.0)
    got = embedded.sample_ids(_ids(embedded), 2, params)
    generated = embedded.sample(PROMPTS, 1, params)  # transformers' generate, greedy
    for group, ref in zip(got, generated, strict=True):
        assert group[0].token_ids == group[1].token_ids == ref[0].token_ids


def test_sample_ids_refuses_truncated_sampling(embedded) -> None:
    with pytest.raises(PolicyError, match="top_p"):
        embedded.sample_ids(_ids(embedded), 1, SamplingParams(top_p=0.9))


# --- the oracle: closedloop/roles/sampling.py at e87f673, verbatim but for the names ---


def old_sample_ids(
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
        out.extend(_old_chunk(policy, rows[s : s + max_batch], params))
    return [out[i * n : (i + 1) * n] for i in range(len(prompts))]


def _old_cache_keyword(model: Any) -> str:
    """The forward keyword of the KV cache: ``cache`` from transformers 5.24 on (where
    ``past_key_values`` still works but warns on every call), ``past_key_values`` before."""
    return "cache" if "cache" in inspect.signature(model.forward).parameters else "past_key_values"


def _old_cache_of(output: Any) -> Any:
    """The KV cache a forward pass returned (``cache`` or, before 5.24, ``past_key_values``)."""
    cache = getattr(output, "cache", None)
    return cache if cache is not None else output.past_key_values


def _old_chunk(policy: Any, rows: list[list[int]], params: SamplingParams) -> list[Completion]:
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
            past, logits = _old_cache_of(res), res.logits[:, -1, :].float()
            cache_kw = _old_cache_keyword(model)
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
                past, logits = _old_cache_of(res), res.logits[:, -1, :].float()
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
