"""The curriculum picks the frontier of the *current* policy: outcomes expire after
``recent_iterations`` iterations, so a task failed early is re-tried and a task solved
lately is left alone however it went long ago."""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

import pytest
from pydantic import ValidationError

from closedloop.tasks.curriculum import CurriculumConfig, SolveStats, pick_tasks
from closedloop.tasks.pool import TaskPool

SEEDS = range(20)


def _task(make_task, i: int, code_len: int = 10):
    return make_task(id=f"t{i}", example_solution="#" * code_len)


def _record(pool: TaskPool, task_id: str, iteration: int, passes: int, n: int = 6) -> None:
    version = f"policy-{iteration}"
    outcomes = [(task_id, version, k < passes) for k in range(n)]
    pool.record_outcomes(outcomes, iteration=iteration)


def _picks(pool: TaskPool, iteration: int, cfg: CurriculumConfig) -> set[str]:
    """Every task picked alone (count 1) over a range of seeds."""
    return {pool.sample(1, cfg, iteration, random.Random(s))[0].id for s in SEEDS}


def test_band_and_variance_prefer_tasks_sometimes_solved(make_task) -> None:
    pool = [_task(make_task, i) for i in range(30)]
    stats = {f"t{i}": SolveStats(8, 0 if i < 10 else 8 if i < 20 else 4) for i in range(30)}
    picked = pick_tasks(pool, stats, 10, CurriculumConfig(), False, random.Random(0))
    assert {t.id for t in picked} == {f"t{i}" for i in range(20, 30)}


def test_variance_weight_prefers_the_tasks_solved_half_the_time(make_task) -> None:
    # the band holds twice the tasks picked, so the weight decides: smoothed rates 0.2 and
    # 0.5 give weights 0.16 and 0.25, about 58% of picks for the 4/8 tasks; a constant
    # weight gives them half
    pool = [_task(make_task, i) for i in range(30)]
    passes = {**dict.fromkeys(range(5), 0), **dict.fromkeys(range(5, 10), 8)}  # out of band
    passes |= {**dict.fromkeys(range(10, 20), 1), **dict.fromkeys(range(20, 30), 4)}
    stats = {f"t{i}": SolveStats(8, p) for i, p in passes.items()}
    picked = Counter()
    for seed in range(1000):
        for t in pick_tasks(pool, stats, 5, CurriculumConfig(), False, random.Random(seed)):
            picked[passes[int(t.id[1:])]] += 1
    assert set(picked) == {1, 4}  # the band has enough: nothing outside it is picked
    assert picked[4] / (picked[1] + picked[4]) > 0.55


def test_first_iteration_draws_from_the_easiest_third(make_task) -> None:
    pool = [_task(make_task, i, code_len=10 * (i + 1)) for i in range(30)]
    picked = pick_tasks(pool, {}, 5, CurriculumConfig(), True, random.Random(0))
    assert all(int(t.id[1:]) < 10 for t in picked)


def test_a_task_failed_0_of_6_stays_out_while_its_failure_is_recent(
    tmp_path: Path, make_task
) -> None:
    cfg = CurriculumConfig(recent_iterations=3)
    with TaskPool(tmp_path / "p.sqlite") as pool:
        pool.add_many([(make_task(id="failed"), None, None), (make_task(id="new"), None, None)])
        _record(pool, "failed", iteration=1, passes=0)
        for it in (2, 3, 4):  # iteration 1 is inside the window of iterations 2-4
            assert _picks(pool, it, cfg) == {"new"}


def test_a_task_failed_0_of_6_in_iteration_1_is_picked_again_once_the_failure_expires(
    tmp_path: Path, make_task
) -> None:
    cfg = CurriculumConfig(recent_iterations=3)
    with TaskPool(tmp_path / "p.sqlite") as pool:
        pool.add_many([(make_task(id="failed"), None, None), (make_task(id="easy"), None, None)])
        _record(pool, "failed", iteration=1, passes=0)
        _record(pool, "easy", iteration=4, passes=6)
        # at iteration 5 the window is 2-4: the early failure has expired, the task is unseen
        assert pool.recent_stats(5, 3).get("failed") is None
        assert _picks(pool, 5, cfg) == {"failed"}


def test_a_task_solved_6_of_6_recently_is_out_of_the_band_though_it_failed_long_ago(
    tmp_path: Path, make_task
) -> None:
    cfg = CurriculumConfig(recent_iterations=3)
    with TaskPool(tmp_path / "p.sqlite") as pool:
        pool.add_many([(make_task(id="learnt"), None, None), (make_task(id="half"), None, None)])
        _record(pool, "learnt", iteration=1, passes=0)
        _record(pool, "learnt", iteration=2, passes=0)
        _record(pool, "learnt", iteration=5, passes=6)  # lifetime 6/18: inside the band
        _record(pool, "half", iteration=5, passes=3)
        assert _picks(pool, 6, cfg) == {"half"}


def test_a_window_longer_than_the_run_gives_lifetime_statistics(tmp_path: Path, make_task) -> None:
    with TaskPool(tmp_path / "p.sqlite") as pool:
        pool.add(make_task(id="a"))
        _record(pool, "a", iteration=1, passes=0)
        _record(pool, "a", iteration=5, passes=6)
        stats = pool.recent_stats(6, 1_000)
        assert list(stats) == ["a"] and (stats["a"].attempts, stats["a"].passes) == (12, 6)


def test_an_empty_band_is_refused_naming_both_fields() -> None:
    with pytest.raises(ValidationError, match="band_low=0.9 > band_high=0.1"):
        CurriculumConfig(band_low=0.9, band_high=0.1)


def test_an_unknown_curriculum_key_is_refused() -> None:
    with pytest.raises(ValidationError, match="recent_iteration"):
        CurriculumConfig.model_validate({"recent_iteration": 2})
