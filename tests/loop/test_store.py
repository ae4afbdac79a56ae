"""The run store holds the run's task pool in its own file: an iteration's tasks, their
provenance and fingerprints, and its solve outcomes commit with the iteration or not at all,
roll back with it, and feed the curriculum only while they are recent."""

from __future__ import annotations

import random
import sqlite3
from pathlib import Path

import pytest

from closedloop.loop.store import (
    AttemptRow,
    IterationRecord,
    RunStore,
    StoreError,
    attempt_version,
)
from closedloop.tasks.curriculum import CurriculumConfig
from closedloop.tasks.fingerprint import Fingerprint
from closedloop.tasks.format import Task, parse_task
from closedloop.tasks.pool import Provenance, TaskPool
from closedloop.verify.outcome import Outcome

FP = Fingerprint("behaviour", "structure", frozenset({1}))


def _task(task_id: str) -> Task:
    return parse_task(
        {
            "id": task_id,
            "kind": "function",
            "instruction": "x",
            "entry_point": "f",
            "private_tests": [{"input": "([1],)", "output": "[1]"}],
            "source": "challenger",
        }
    )


def _attempts(task_id: str, passes: int, n: int = 6) -> list[AttemptRow]:
    return [
        AttemptRow(task_id, k, 1, "def f(x): ...", True, Outcome.PASS, 1, 1, float(k < passes), "")
        for k in range(n)
    ]


def _record(it: int, tasks=(), attempts=(), metrics=None, **extra) -> IterationRecord:
    m = {"m": 1.0} if metrics is None else metrics
    return IterationRecord(it, list(tasks), [], list(attempts), m, {}, [], **extra)


@pytest.fixture
def store(tmp_path: Path):
    """A run store in the run directory ``run-a``."""
    (tmp_path / "run-a").mkdir()
    s = RunStore(tmp_path / "run-a" / "run.sqlite")
    yield s
    s.close()


def test_a_commit_stores_tasks_with_provenance_fingerprint_and_outcomes(store: RunStore):
    store.commit_iteration(_record(0, [_task("seed")]))
    store.commit_iteration(
        _record(
            1,
            [_task("new")],
            _attempts("seed", 2),
            fingerprints={"new": FP},
            parents={"new": "seed"},
        )
    )
    entry = store.task_pool.get("new")
    assert entry is not None and entry.fingerprint == FP
    assert entry.provenance == Provenance("run-a", 1, "seed")
    st = store.task_pool.stats("seed", attempt_version(1))
    assert (st.attempts, st.passes) == (6, 2)
    assert [t.id for t in store.tasks()] == ["seed", "new"]


def test_the_pool_lives_in_the_run_file(store: RunStore):
    store.commit_iteration(_record(0, [_task("seed")]))
    with TaskPool(store.path) as pool:
        assert pool.task_ids() == {"seed"}


def test_unscored_attempts_are_not_outcomes(store: RunStore):
    store.commit_iteration(_record(0, [_task("seed")]))
    rows = _attempts("seed", 1, n=2)
    unscored = AttemptRow("seed", 2, 1, "", False, Outcome.INFRA_ERROR, 0, 0, None, "")
    store.commit_iteration(_record(1, attempts=[*rows, unscored]))
    st = store.task_pool.stats("seed", attempt_version(1))
    assert (st.attempts, st.passes) == (2, 1)


def test_a_commit_failing_at_its_last_write_leaves_no_task_outcome_or_marker(store: RunStore):
    store.commit_iteration(_record(0, [_task("seed")]))
    store.commit_iteration(_record(1))
    # iteration 1 is already marked: the marker, written last, fails after everything else
    with pytest.raises(sqlite3.IntegrityError):
        store.commit_iteration(_record(1, [_task("new")], _attempts("seed", 3), metrics={}))
    assert store.task_ids() == {"seed"}
    assert store.task_pool.stats("seed", attempt_version(1)).attempts == 0
    assert store.metrics_rows() == [{"iteration": 0, "m": 1.0}, {"iteration": 1, "m": 1.0}]
    assert store.last_iteration() == 1


def test_a_new_task_already_in_the_pool_fails_the_whole_commit(store: RunStore):
    store.commit_iteration(_record(0, [_task("seed")]))
    with pytest.raises(StoreError, match="already in the pool.*seed"):
        store.commit_iteration(_record(1, [_task("new"), _task("seed")], _attempts("seed", 1)))
    assert store.task_ids() == {"seed"} and store.last_iteration() == 0
    assert store.task_pool.stats("seed", attempt_version(1)).attempts == 0


def test_rollback_removes_later_tasks_and_outcomes(store: RunStore):
    store.commit_iteration(_record(0, [_task("seed")]))
    store.commit_iteration(_record(1, [_task("a")], _attempts("seed", 1)))
    store.commit_iteration(_record(2, [_task("b")], _attempts("a", 1)))
    store.rollback_after(1)
    assert store.task_ids() == {"seed", "a"} and store.last_iteration() == 1
    assert store.task_pool.stats("seed", attempt_version(1)).attempts == 6
    assert store.task_pool.stats("a", attempt_version(2)).attempts == 0


def test_pick_tasks_retries_a_task_the_early_policy_failed_once_the_failure_expires(
    store: RunStore,
):
    cfg = CurriculumConfig(recent_iterations=2, easiest_first=False)
    store.commit_iteration(_record(0, [_task("failed"), _task("easy")]))
    store.commit_iteration(_record(1, attempts=_attempts("failed", 0)))
    store.commit_iteration(_record(2, attempts=_attempts("easy", 6)))
    store.commit_iteration(_record(3, attempts=_attempts("easy", 6)))
    # iteration 4 reads iterations 2-3: "failed" is unseen again, "easy" is solved 12/12
    picks = {store.pick_tasks(1, cfg, 4, random.Random(s))[0].id for s in range(20)}
    assert picks == {"failed"}


def test_pick_tasks_never_returns_an_excluded_task(store: RunStore):
    store.commit_iteration(_record(0, [_task("a"), _task("b")]))
    for s in range(10):
        picked = store.pick_tasks(2, CurriculumConfig(), 1, random.Random(s), exclude_ids={"a"})
        assert [t.id for t in picked] == ["b"]


def test_a_run_store_from_before_the_task_pool_is_refused(tmp_path: Path):
    path = tmp_path / "run.sqlite"
    db = sqlite3.connect(str(path))
    db.execute(
        "CREATE TABLE tasks (id TEXT PRIMARY KEY, iteration INTEGER NOT NULL,"
        " source TEXT NOT NULL, task TEXT NOT NULL)"
    )
    db.commit()
    db.close()
    with pytest.raises(StoreError, match="not a task pool's.*start a new run"):
        RunStore(path)
