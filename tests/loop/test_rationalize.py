"""STaR rationalization in the loop: a task no sample solved is trained on its own verified
solution, and only such a task."""

from __future__ import annotations

import dataclasses
import tomllib

import pytest

from closedloop.loop import phases
from closedloop.loop.baselines import build_policy, corpus_pairs
from closedloop.loop.config import config_from_dict
from closedloop.loop.domain import seed_pool
from closedloop.loop.presets import SHORT
from closedloop.roles.prompts import solver_prompt
from closedloop.roles.solver import Attempt, score_attempts
from closedloop.train.sft import examples_from_text, mean_nll

WRONG = "def f(xs):\n    return [123456]\n"


def _cfg(rationalize: bool, **train):
    raw = tomllib.loads(SHORT)
    raw["train"] = {"rationalize": rationalize, "hindsight": False, **train}
    return config_from_dict(raw)


@pytest.fixture(scope="module")
def attempted(verifier):
    solved, failed, no_solution, unjudged = seed_pool(_cfg(True), 4)
    no_solution = dataclasses.replace(no_solution, example_solution=None)
    tasks = [solved, failed, no_solution, unjudged]
    codes = [[WRONG, solved.example_solution], [WRONG, WRONG], [WRONG], [WRONG]]
    attempts = [
        [Attempt(t.id, i, [], codes=[c]) for i, c in enumerate(row)]
        for t, row in zip(tasks, codes, strict=True)
    ]
    score_attempts(verifier, tasks[:3], attempts[:3])  # the last task's attempts stay unjudged
    return phases.Attempted(tasks, attempts)


def test_only_a_judged_task_that_no_sample_solved_is_rationalized(attempted):
    out = phases.rationalize(_cfg(True), attempted)
    failed = attempted.tasks[1]
    assert out == [(solver_prompt(failed), failed.example_solution, failed.source)]
    assert phases.rationalize(_cfg(False), attempted) == []


def test_the_supervised_step_trains_the_solution_in(attempted, tmp_path):
    cfg = _cfg(True)
    policy = build_policy(cfg, corpus_pairs(cfg), tmp_path / "init")
    rationalized = phases.rationalize(cfg, attempted)
    ex = examples_from_text(policy, [(p, c) for p, c, _ in rationalized])
    before = mean_nll(policy, ex)
    out = phases.train(None, policy, cfg, [], [], 0, rationalized=rationalized)
    assert out.optimizer_steps == 1
    assert out.metrics["train_rationalized"] == 1.0
    assert out.metrics["train_rationalized_proposals"] == 0.0
    assert mean_nll(policy, ex) < before


def test_sft_epochs_sets_the_supervised_steps(attempted, tmp_path):
    cfg = _cfg(True, sft_batch_size=1, sft_epochs=3.0)
    policy = build_policy(cfg, corpus_pairs(cfg), tmp_path / "init")
    out = phases.train(
        None, policy, cfg, [], [], 0, rationalized=phases.rationalize(cfg, attempted)
    )
    assert out.optimizer_steps == 3
