"""The promotion decision from per-task scores of a candidate and a baseline."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Decision(StrEnum):
    """What the gate decided."""

    PROMOTE = "promote"
    REJECT = "reject"


@dataclass(frozen=True)
class GateResult:
    """The evidence and the decision. ``wins``/``losses``: tasks where the candidate's score is
    above / below the baseline's (ties carry no evidence and are left out of the test)."""

    n_tasks: int
    candidate_score: float  # mean per-task score (pass@1)
    baseline_score: float
    wins: int
    losses: int
    p_value: float  # one-sided: the chance of at least ``wins`` of ``wins + losses`` if equal
    alpha: float
    min_gain: float
    decision: Decision
    reason: str

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        out = dict(self.__dict__)
        out["decision"] = str(self.decision)
        return out


def sign_test_p(wins: int, losses: int) -> float:
    """One-sided exact sign test: P(X >= wins) for X ~ Binomial(wins + losses, 1/2).

    >>> sign_test_p(9, 1) < 0.05 < sign_test_p(8, 2)
    True
    >>> sign_test_p(0, 0)
    1.0
    """
    n = wins + losses
    if n == 0:
        return 1.0
    return sum(math.comb(n, k) for k in range(wins, n + 1)) / 2**n


def decide(
    candidate: Mapping[str, float],
    baseline: Mapping[str, float],
    alpha: float = 0.05,
    min_gain: float = 0.0,
) -> GateResult:
    """Promote ``candidate`` over ``baseline`` (task id -> score in [0, 1], the same task ids)
    when the sign test's p-value is below ``alpha`` and the mean score gain is above
    ``min_gain``.

    >>> decide({"a": 1, "b": 1, "c": 0}, {"a": 0, "b": 1, "c": 0}).decision
    <Decision.REJECT: 'reject'>
    """
    if set(candidate) != set(baseline):
        only = sorted(set(candidate) ^ set(baseline))
        raise ValueError(
            f"the candidate and the baseline were scored on different tasks ({len(only)} differ, "
            f"e.g. {only[0]!r})"
        )
    if not candidate:
        raise ValueError("no tasks to compare on")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    for name, scores in (("candidate", candidate), ("baseline", baseline)):
        # NaN compares false both ways: it made the mean NaN and the min_gain check pass
        bad = next((t for t, v in scores.items() if not 0.0 <= v <= 1.0), None)
        if bad is not None:
            raise ValueError(f"{name} score of task {bad!r} is {scores[bad]!r}: must be in [0, 1]")
    n = len(candidate)
    wins = sum(1 for t in candidate if candidate[t] > baseline[t])
    losses = sum(1 for t in candidate if candidate[t] < baseline[t])
    cand, base = sum(candidate.values()) / n, sum(baseline.values()) / n
    p = sign_test_p(wins, losses)
    if p >= alpha:
        decision = Decision.REJECT
        reason = f"{wins} tasks won, {losses} lost: p = {p:.3g} is not below {alpha}"
    elif cand - base <= min_gain:
        decision = Decision.REJECT
        reason = f"the gain {cand - base:+.3f} is not above the required {min_gain}"
    else:
        decision = Decision.PROMOTE
        reason = f"{wins} tasks won, {losses} lost: p = {p:.3g} < {alpha}"
    return GateResult(n, cand, base, wins, losses, p, alpha, min_gain, decision, reason)
