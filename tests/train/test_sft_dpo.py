"""SFT drives loss down on a fixed set; DPO raises the chosen-vs-rejected margin; STaR keeps successes."""

from __future__ import annotations

from pathlib import Path

from closedloop.train.dpo import (
    DPOSettings,
    pair_from_text,
    preference_margin,
    preference_pairs,
    run_dpo,
)
from closedloop.train.sft import examples_from_text, keep_successes, mean_nll, sft_steps
from closedloop.train.trajectory import Trajectory
from closedloop.verify.outcome import Outcome

PAIRS = [("abc", "cba"), ("bcd", "dcb"), ("efg", "gfe"), ("hab", "bah")]


def test_sft_drives_loss_down(char_policy) -> None:
    examples = examples_from_text(char_policy, PAIRS)
    before = mean_nll(char_policy, examples)
    run = sft_steps(char_policy, examples, steps=30, batch_size=4, learning_rate=1e-2)
    after = mean_nll(char_policy, examples)
    print(f"SFT NLL per token: {before:.3f} -> {after:.3f} ({run.steps} steps)")
    assert run.first_loss > 2.0 and after < 0.5 * before
    assert abs(run.first_loss - before) < 1e-3  # the first step trained on exactly our tokens


def test_sft_warmup_scales_the_first_update(char_policy) -> None:
    # a fresh AdamW's first update is lr * sign(grad) on every weight: a warm-up must shrink it
    # by its factor (a quarter with 4 warm-up steps), not leave it at the full rate
    import torch

    examples = examples_from_text(char_policy, PAIRS)
    start = {k: v.clone() for k, v in char_policy.model.state_dict().items()}

    def first_step(warmup: int) -> float:
        char_policy.model.load_state_dict(start)
        sft_steps(char_policy, examples, 1, 4, 1e-2, warmup_steps=warmup)
        now = char_policy.model.state_dict()
        return max(
            float((now[k] - start[k]).abs().max()) for k in start if start[k].is_floating_point()
        )

    full, warm = first_step(0), first_step(4)
    char_policy.model.load_state_dict(start)
    assert torch.isclose(torch.tensor(full), torch.tensor(1e-2), rtol=0.05)
    assert torch.isclose(torch.tensor(warm / full), torch.tensor(0.25), rtol=0.05)


def test_dpo_raises_the_margin(char_policy, tmp_path: Path) -> None:
    pairs = [
        pair_from_text(char_policy, p, c, r)
        for p, c, r in [("abc", "aaa", "bbb"), ("bcd", "aab", "ccd"), ("efg", "aa", "hh")]
    ]
    before = preference_margin(char_policy, pairs)
    result = run_dpo(
        char_policy, pairs, DPOSettings(learning_rate=5e-3, epochs=10, batch_size=3), tmp_path
    )
    after = preference_margin(char_policy, pairs)
    print(f"DPO log-prob margin: {before:.3f} -> {after:.3f}")
    assert after - before > 2.0
    assert result.margins[-1] > result.margins[0]


def traj(
    completion: tuple[int, ...], reward: float | None, outcome: Outcome, gid: str = "g"
) -> Trajectory:
    return Trajectory(
        prompt_ids=(3, 4),
        completion_ids=completion,
        loss_mask=(1,) * len(completion),
        sampling_logprobs=(-1.0,) * len(completion),
        temperature=1.0,
        reward=reward,
        group_id=gid,
        policy_version=0,
        outcome=outcome,
    )


def test_star_keeps_only_verified_successes_once() -> None:
    win = traj((3, 2), 1.0, Outcome.PASS)
    kept = keep_successes(
        [win, win, traj((4, 2), 0.0, Outcome.FAIL), traj((5, 2), None, Outcome.INFRA_ERROR)]
    )
    assert kept == [win]


def test_preference_pairs_join_pass_and_fail_of_the_same_task(char_policy) -> None:
    batch = [
        traj((3, 2), 1.0, Outcome.PASS, "t1"),
        traj((4, 2), 0.0, Outcome.FAIL, "t1"),
        traj((5, 2), 0.0, Outcome.INFRA_ERROR, "t1"),
        traj((6, 2), 0.0, Outcome.FAIL, "t2"),  # no pass in t2: no pair
    ]
    pairs = preference_pairs(char_policy, batch)
    assert [(p.chosen, p.rejected) for p in pairs] == [("a", "b")]
