"""Curriculum: which pool tasks the solver attempts next, judged on the *current* policy's
recent outcomes.

Evidence: a task's solve statistics count only the attempts of the last ``recent_iterations``
iterations (for iteration ``t``: iterations ``t - K .. t - 1``, each made by the policy of its
time). Older outcomes expire: a task the early policy failed 0/6 is *unseen* again ``K``
iterations later and competes with new tasks at the prior, and a task solved 6/6 lately is
out of the band however often it failed long ago. (The pool keeps every outcome; only what
the curriculum reads is windowed, see :meth:`closedloop.tasks.pool.TaskPool.recent_stats`.)

Three switches, all on by default:

- **solve-rate band**: keep tasks whose recent rate ``passes / attempts`` lies in
  ``[band_low, band_high]`` (tasks with no recent attempt count as inside); tasks outside are
  used only when the band has too few;
- **variance weight**: draw without replacement with weight ``p (1 - p)``, ``p`` the recent
  rate smoothed with a uniform Beta(1, 1) prior, so tasks the solver sometimes solves come
  first (the GRPO groups that carry signal); an unseen task has the largest weight, 0.25;
- **easiest first**: in iteration 1 (no outcomes yet), draw only from the easiest third.

Sources, and where this departs from them:

- DAPO (Yu et al. 2025, arXiv:2503.14476), dynamic sampling: keep only prompts whose group
  under the *current* policy is neither all right nor all wrong. DAPO over-samples and
  filters after generating; here the band *predicts* from recent groups instead, which costs
  no generation but can be wrong, so zero-variance groups still occur and the trainer must
  drop them itself.
- Absolute Zero (Zhao et al. 2025, arXiv:2505.03335) and R-Zero: the frontier is where the
  current solver's success rate is neither 0 nor 1, measured by fresh rollouts. Here it is
  read from stored outcomes of the last few policies.
- ExIt (Jiang, Lupu, Bachrach 2025, arXiv:2509.04575): a growing task buffer sampled in
  proportion to the variance of each task's latest GRPO group, with prioritized level
  replay's staleness term (Jiang et al. 2021, arXiv:2010.03934) so tasks not seen for a while
  come back. Here staleness is expiry: outcomes older than ``K`` iterations are forgotten,
  which sends a stale task back to the unseen prior (the largest weight) instead of mixing
  in a separate staleness distribution.

Why a window and not an exponential moving average: a window returns a task *exactly* to the
unseen prior after ``K`` iterations (an EMA never reaches it, so its band would need a second
knob, an evidence threshold), and with a few attempts per task per iteration the two differ
little. Inside the window every attempt weighs the same.

Further departure: the difficulty of a task without recent attempts (for ``easiest_first``)
is estimated by the length of its example solution (shorter is easier).

Weighted sampling without replacement uses Efraimidis-Spirakis keys ``u ** (1 / w)``.

Does not cover: outcomes recorded without an iteration number (they never enter the window);
a policy that changes a lot within ``K`` iterations still has its older outcomes counted.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field, model_validator

from closedloop.tasks.format import Task


class CurriculumConfig(BaseModel):
    """The curriculum's switches (``[curriculum]`` in a run config)."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, allow_inf_nan=False)

    solve_rate_band: bool = True
    """Prefer tasks whose recent solve rate lies in [band_low, band_high] (the frontier)."""
    band_low: float = Field(0.05, ge=0, le=1)
    band_high: float = Field(0.95, ge=0, le=1)
    variance_weight: bool = True
    """Weight tasks by their outcome variance p(1-p) (with a prior for unseen tasks)."""
    easiest_first: bool = True
    """In the first iteration draw from the easiest third of the pool only."""
    recent_iterations: int = Field(3, ge=1)
    """Solve rates count only the attempts of the last this-many iterations (the current
    policy's recent outcomes); older ones expire, so a task failed that long ago is unseen
    again and gets re-tried. A value above the run's iterations gives lifetime statistics."""

    @model_validator(mode="after")
    def _band(self) -> CurriculumConfig:
        if self.band_low > self.band_high:
            raise ValueError(
                f"band_low={self.band_low} > band_high={self.band_high}: the band is empty;"
                " lower band_low or raise band_high"
            )
        return self


@dataclass(frozen=True)
class SolveStats:
    """Attempts and passes on one task (of one policy version, or over a window of them)."""

    attempts: int = 0
    passes: int = 0
    last_seen: float | None = None

    @property
    def rate(self) -> float | None:
        """passes / attempts, or None before the first attempt."""
        return self.passes / self.attempts if self.attempts else None

    @property
    def smoothed_rate(self) -> float:
        """(passes + 1) / (attempts + 2): the Beta(1, 1) posterior mean, 0.5 when unseen."""
        return (self.passes + 1) / (self.attempts + 2)


def difficulty(task: Task, st: SolveStats | None) -> float:
    """Higher is harder: 1 - solve rate when attempted, else a length proxy in [0.5, 1)."""
    if st is not None and st.attempts:
        return 1.0 - st.passes / st.attempts
    n = len(task.example_solution or "")
    return 0.5 + 0.5 * n / (n + 200)


def in_band(st: SolveStats | None, cfg: CurriculumConfig) -> bool:
    """Whether a task with these (recent) statistics lies in the band; unseen tasks do."""
    if st is None or st.rate is None:
        return True
    return cfg.band_low <= st.rate <= cfg.band_high


def pick_tasks(
    pool: Sequence[Task],
    stats: Mapping[str, SolveStats],
    count: int,
    cfg: CurriculumConfig,
    first_iteration: bool,
    rng: random.Random,
) -> list[Task]:
    """Up to ``count`` distinct tasks of ``pool`` chosen by the curriculum.

    ``stats`` are the recent statistics (a task missing from it is unseen); the same
    ``pool`` order, ``stats`` and ``rng`` state give the same picks."""
    cands = list(pool)
    if not cands or count <= 0:
        return []
    if cfg.easiest_first and first_iteration:
        cands.sort(key=lambda t: difficulty(t, stats.get(t.id)))
        cands = cands[: max(count, len(cands) // 3)]

    def weight(t: Task) -> float:
        if not cfg.variance_weight:
            return 1.0
        p = (stats.get(t.id) or SolveStats()).smoothed_rate
        return max(p * (1 - p), 1e-6)

    def draw(items: list[Task], k: int) -> list[Task]:
        keyed = [(rng.random() ** (1.0 / weight(t)), i) for i, t in enumerate(items)]
        keyed.sort(reverse=True)
        return [items[i] for _, i in keyed[:k]]

    if cfg.solve_rate_band:
        inside = [t for t in cands if in_band(stats.get(t.id), cfg)]
        outside = [t for t in cands if not in_band(stats.get(t.id), cfg)]
        chosen = draw(inside, count)
        return chosen + draw(outside, count - len(chosen))
    return draw(cands, count)
