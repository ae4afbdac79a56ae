"""How a generation batch is cut into shares and seeded (no Ray): every prompt in exactly one
share, in order; share 0 keeps the batch's seed; a batch of one share is sampled as the policy
samples it itself; the shares' completions do not depend on how the shares are grouped."""

from __future__ import annotations

from pathlib import Path

import pytest

from closedloop.distributed.shares import (
    SEED_STRIDE,
    Method,
    run_share,
    sample_in_shares,
    share_seed,
    split,
)
from closedloop.policy.base import SamplingParams

PARAMS = SamplingParams(max_new_tokens=8, temperature=1.0, seed=11)


def test_every_prompt_lands_in_exactly_one_share_in_order_each_with_its_own_seed():
    prompts = [[i] for i in range(10)]
    shares = split(Method.SAMPLE_IDS, prompts, 2, PARAMS, 4)
    assert [len(s.prompts) for s in shares] == [4, 4, 2]
    assert [p for s in shares for p in s.prompts] == prompts
    assert [s.params.seed for s in shares] == [11, 11 + SEED_STRIDE, 11 + 2 * SEED_STRIDE]
    assert all(s.n == 2 and s.params.max_new_tokens == 8 for s in shares)
    assert share_seed(None, 3) is None  # an unseeded batch stays unseeded
    with pytest.raises(ValueError, match="per_share=0"):
        split(Method.SAMPLE_IDS, prompts, 1, PARAMS, 0)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory, tiny_embedded_config):
    pytest.importorskip("torch")
    from closedloop.policy.embedded import build_embedded_policy

    out = Path(tmp_path_factory.mktemp("shares")) / "model"
    return build_embedded_policy(["def f(x):\n    return x\n"] * 4, out, tiny_embedded_config)


def test_a_batch_of_one_share_is_what_the_policy_samples_itself(tiny):
    ps = [tiny.encode_prompt(f"case {i}") for i in range(3)]
    mine = sample_in_shares(tiny, Method.SAMPLE_IDS, ps, 2, PARAMS, per_share=8)
    theirs = tiny.sample_ids(ps, 2, PARAMS)
    assert [[c.token_ids for c in g] for g in mine] == [[c.token_ids for c in g] for g in theirs]


def test_a_shares_completions_do_not_depend_on_what_ran_before_it(tiny):
    ps = [tiny.encode_prompt(f"case {i}") for i in range(5)]
    shares = split(Method.SAMPLE_IDS, ps, 1, PARAMS, 2)
    in_order = [run_share(tiny, s) for s in shares]
    backwards = [run_share(tiny, s) for s in reversed(shares)][::-1]  # another replica's order
    assert [[c.token_ids for g in r for c in g] for r in in_order] == [
        [c.token_ids for g in r for c in g] for r in backwards
    ]
