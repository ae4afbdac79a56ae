"""Curriculum: which pool tasks the solver attempts in an iteration.

Three switches (``[curriculum]`` in the config), all on by default:

- **solve-rate band**: keep tasks whose solve rate so far lies in ``[band_low, band_high]``
  (unseen tasks count as inside); tasks outside are used only when the band has too few;
- **variance weight**: draw without replacement with weight ``p (1 - p)``, ``p`` the solve
  rate smoothed with a uniform Beta(1, 1) prior, so tasks the solver sometimes solves come
  first (the GRPO groups that carry signal);
- **easiest first**: in the first iteration, draw only from the easiest third of the pool.

Sources: the solve-rate band and variance weighting follow the "frontier" sampling of
Absolute Zero / R-Zero and DAPO's dynamic sampling (which drops zero-variance groups). Departure:
difficulty of a task never attempted is estimated by the length of its example solution
(shorter is easier), since there is no solve rate yet.

Weighted sampling without replacement uses Efraimidis–Spirakis keys ``u ** (1 / w)``.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence

from closedloop.loop.config import CurriculumConfig
from closedloop.loop.store import TaskStats
from closedloop.tasks.format import Task


def smoothed_rate(st: TaskStats | None) -> float:
    """Solve rate with a Beta(1, 1) prior (0.5 for an unseen task)."""
    if st is None:
        return 0.5
    return (st.successes + 1) / (st.attempts + 2)


def difficulty(task: Task, st: TaskStats | None) -> float:
    """Higher is harder: 1 - solve rate when attempted, else a length proxy in [0.5, 1)."""
    if st is not None and st.attempts:
        return 1.0 - st.successes / st.attempts
    n = len(task.example_solution or "")
    return 0.5 + 0.5 * n / (n + 200)


def pick_tasks(
    pool: Sequence[Task],
    stats: Mapping[str, TaskStats],
    count: int,
    cfg: CurriculumConfig,
    first_iteration: bool,
    rng: random.Random,
) -> list[Task]:
    """Up to ``count`` distinct tasks of ``pool`` chosen by the curriculum."""
    cands = list(pool)
    if not cands or count <= 0:
        return []
    if cfg.easiest_first and first_iteration:
        cands.sort(key=lambda t: difficulty(t, stats.get(t.id)))
        cands = cands[: max(count, len(cands) // 3)]

    def in_band(t: Task) -> bool:
        st = stats.get(t.id)
        if st is None or not st.attempts:
            return True
        rate = st.successes / st.attempts
        return cfg.band_low <= rate <= cfg.band_high

    def weight(t: Task) -> float:
        if not cfg.variance_weight:
            return 1.0
        p = smoothed_rate(stats.get(t.id))
        return max(p * (1 - p), 1e-6)

    def draw(items: list[Task], k: int) -> list[Task]:
        keyed = [(rng.random() ** (1.0 / weight(t)), i) for i, t in enumerate(items)]
        keyed.sort(reverse=True)
        return [items[i] for _, i in keyed[:k]]

    if cfg.solve_rate_band:
        inside = [t for t in cands if in_band(t)]
        outside = [t for t in cands if not in_band(t)]
        chosen = draw(inside, count)
        return chosen + draw(outside, count - len(chosen))
    return draw(cands, count)
