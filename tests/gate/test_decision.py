"""The gate's decision: a paired one-sided sign test on per-task scores."""

from __future__ import annotations

import math

import pytest

from closedloop.gate import Decision, decide, sign_test_p


def test_sign_test_matches_the_binomial_tail():
    assert sign_test_p(9, 1) == pytest.approx(11 / 1024)  # P(X >= 9), X ~ Bin(10, 1/2)
    assert sign_test_p(5, 5) == pytest.approx(sum(math.comb(10, k) for k in range(5, 11)) / 1024)
    assert sign_test_p(0, 4) == 1.0 and sign_test_p(0, 0) == 1.0
    assert sign_test_p(16, 11) == pytest.approx(0.2210, abs=1e-4)


def scores(wins: int, losses: int, ties_pass: int, ties_fail: int) -> tuple[dict, dict]:
    cand, base = {}, {}
    for i in range(wins):
        cand[f"w{i}"], base[f"w{i}"] = 1.0, 0.0
    for i in range(losses):
        cand[f"l{i}"], base[f"l{i}"] = 0.0, 1.0
    for i in range(ties_pass):
        cand[f"p{i}"] = base[f"p{i}"] = 1.0
    for i in range(ties_fail):
        cand[f"f{i}"] = base[f"f{i}"] = 0.0
    return cand, base


def test_promotes_only_a_significant_paired_gain():
    r = decide(*scores(10, 1, 5, 184))
    assert r.decision is Decision.PROMOTE and (r.wins, r.losses, r.n_tasks) == (10, 1, 200)
    assert r.p_value == pytest.approx(sign_test_p(10, 1)) and r.p_value < 0.05
    assert r.candidate_score == pytest.approx(15 / 200) and r.baseline_score == pytest.approx(
        6 / 200
    )
    # the loop's last default run: 16 won, 11 lost of 200 is not evidence of a better model
    r = decide(*scores(16, 11, 0, 173))
    assert r.decision is Decision.REJECT and "p = 0.221" in r.reason


def test_ties_carry_no_evidence_and_a_min_gain_can_veto():
    few = decide(*scores(5, 0, 0, 0))  # p = 1/32
    many_ties = decide(*scores(5, 0, 100, 95))
    assert few.p_value == many_ties.p_value == pytest.approx(1 / 32)
    r = decide(*scores(5, 0, 100, 95), min_gain=0.05)  # gain 5/200 = 0.025
    assert r.decision is Decision.REJECT and "gain" in r.reason


def test_alpha_sets_the_bar_and_a_gain_above_min_gain_is_promoted():
    # alpha reached decide() from the loop's config and the CLI, but no test moved it: a gate
    # fixed at 0.05 (or one that vetoed whenever min_gain > 0) passed every test
    r = decide(*scores(5, 0, 0, 0), alpha=0.01)  # p = 1/32: below 0.05, not below 0.01
    assert r.decision is Decision.REJECT and r.alpha == 0.01 and "not below 0.01" in r.reason
    assert decide(*scores(5, 0, 0, 0), alpha=0.05).decision is Decision.PROMOTE
    assert decide(*scores(10, 1, 5, 184), alpha=0.01).decision is Decision.PROMOTE  # p = 0.0059
    r = decide(*scores(10, 1, 5, 184), min_gain=0.01)  # gain 9/200 = 0.045 clears 0.01
    assert r.decision is Decision.PROMOTE and r.min_gain == 0.01
    assert decide(*scores(10, 1, 5, 184), min_gain=0.045).decision is Decision.REJECT  # not above


def test_partial_scores_from_several_samples_count_by_direction():
    r = decide({"a": 0.5, "b": 0.25}, {"a": 0.25, "b": 0.25})
    assert (r.wins, r.losses) == (1, 0)


def test_bad_input_is_refused_with_what_is_wrong():
    with pytest.raises(ValueError, match="different tasks"):
        decide({"a": 1.0}, {"b": 1.0})
    with pytest.raises(ValueError, match="no tasks"):
        decide({}, {})
    with pytest.raises(ValueError, match="alpha"):
        decide({"a": 1.0}, {"a": 0.0}, alpha=1.5)
    # red team 19: a NaN score made the mean NaN, and the min_gain veto passed it
    wins = {f"t{k}": 1.0 if k < 6 else 0.0 for k in range(100)}
    base = dict.fromkeys(wins, 0.0)
    assert decide(wins, base, min_gain=0.1).decision is Decision.REJECT
    for bad in (float("nan"), 50.0, -0.5):
        with pytest.raises(ValueError, match="t99.*must be in \\[0, 1\\]"):
            decide({**wins, "t99": bad}, base, min_gain=0.1)
