"""``closedloop_rubric`` scored by the real ``verifiers`` library's ``Rubric`` (rollout by rollout
and as a group), in process and on a server."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path

import pytest

from closedloop.serve.app import make_app
from closedloop.serve.background import background_server
from closedloop.serve.verifiers_rubric import closedloop_rubric
from closedloop.tasks.format import load_tasks

from ._http import RIGHT, SORT

vf = pytest.importorskip(
    "verifiers", reason="verifiers is not installed (.ci/run installs verifiers==0.3.1 --no-deps)"
)
if not hasattr(vf, "Rubric"):
    pytest.skip("this verifiers has no Rubric (0.4 moved to verifiers.v1)", allow_module_level=True)

SLICE = Path(__file__).resolve().parents[2] / "examples" / "tasks" / "mbpp_slice.jsonl"


def _tasks(n: int = 2):
    tasks, bad = load_tasks(SLICE)
    assert not bad
    return tasks[:n]


def _state(i: int, answer: str, completion: str):
    """A rollout's state as a ``verifiers`` environment leaves it for its rubric."""
    st = vf.State(
        input={"prompt": [{"role": "user", "content": "q"}], "answer": answer, "example_id": i}
    )
    st["completion"] = [{"role": "assistant", "content": completion}]
    st["trajectory"] = []
    return st


def _rollouts(tasks, answer_of):
    states = []
    for t in tasks:
        right = f"```python\n{t.example_solution}```"
        wrong = f"def {t.entry_point}(*a):\n    return None\n"
        states += [_state(len(states), answer_of(t), c) for c in (right, wrong)]
    return states


def test_the_rubric_scores_a_group_of_rollouts_in_process(verifier):
    rubric = closedloop_rubric(tasks=_tasks(), verifier=verifier)
    states = _rollouts(_tasks(), lambda t: json.dumps(t.to_json()))
    asyncio.run(rubric.score_group(states))
    assert [s["reward"] for s in states] == [1.0, 0.0, 1.0, 0.0]
    assert [s["metrics"]["closedloop_tests_passed"] for s in states] == [1.0, 0.0, 1.0, 0.0]
    assert [s["metrics"]["closedloop_pass"] for s in states] == [1.0, 0.0, 1.0, 0.0]


def test_tests_passed_is_the_fraction_of_private_tests_passed(verifier):
    # the slice's tasks are checker-only (one test each): here sort's two private tests, and a
    # solution that drops duplicates passes [5, 4] and fails [2, 2, -1]
    rubric = closedloop_rubric(tasks=[SORT], verifier=verifier)
    half = "def f(xs):\n    return sorted(set(xs))\n"
    states = [_state(i, "sort", c) for i, c in enumerate((half, RIGHT))]
    asyncio.run(rubric.score_group(states))
    assert [s["reward"] for s in states] == [0.0, 1.0]
    assert [s["metrics"]["closedloop_tests_passed"] for s in states] == [0.5, 1.0]


def test_the_rubric_scores_one_rollout_by_task_id_on_a_server(verifier):
    tasks = _tasks()
    with background_server(make_app(verifier, tasks)) as url:
        rubric = closedloop_rubric(url=url)
        states = _rollouts(tasks[:1], lambda t: t.id)
        for s in states:
            asyncio.run(rubric.score_rollout(s))
        rubric.closedloop_scorer.close()
    assert [s["reward"] for s in states] == [1.0, 0.0]
    # one verification per rollout, shared by both functions, kept as plain data
    assert json.loads(json.dumps(states[0]["closedloop_score"]))["outcome"] == "pass"


def test_a_broken_task_is_not_scored_by_closedloop(verifier):
    checker = "raise RuntimeError('x')\ndef check(candidate):\n    assert candidate() == 1\n"
    task = {"id": "broken", "entry_point": "f", "instruction": "x", "checker": checker}
    rubric = closedloop_rubric(verifier=verifier)
    st = _state(0, json.dumps(task), "def f():\n    return 1\n")
    seen: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: seen.append(record.getMessage())
    rubric.logger.addHandler(handler)  # on the rubric's own logger: verifiers may not propagate
    try:
        asyncio.run(rubric.score_rollout(st))
    finally:
        rubric.logger.removeHandler(handler)
    # closedloop raises NoReward; the 0.0 is verifiers' own fallback, and it logs why
    assert st["reward"] == 0.0
    assert any("no reward for task 'broken': invalid" in m for m in seen)
