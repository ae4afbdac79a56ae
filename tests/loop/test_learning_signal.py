"""The update sees the distribution the loop sampled from: on a batch built by the loop's own
phases (challenger proposals at the challenger's temperature, solver attempts at the solver's),
the first pass of the GRPO trainer the loop builds gives a PPO ratio of 1 on every trained token.

Before issue 15 the loop built the trainer's config by hand without a temperature, so solver
tokens sampled at 0.7 were rescored at 1.0: ratios far from 1 before any update, and the
exploratory picks that found a success clipped to zero gradient.
"""

from __future__ import annotations

import tomllib

import pytest

from closedloop.loop import phases
from closedloop.loop.baselines import build_policy, corpus_examples, corpus_pairs, train_cold_start
from closedloop.loop.config import config_from_dict
from closedloop.loop.domain import seed_pool
from closedloop.loop.presets import SHORT
from closedloop.loop.store import IterationRecord, RunStore
from closedloop.tasks.contamination import ContaminationGuard


@pytest.fixture(scope="module")
def loop_batch(tmp_path_factory: pytest.TempPathFactory, verifier):
    from closedloop.train.grpo import GRPOTrainer

    root = tmp_path_factory.mktemp("signal")
    cfg = config_from_dict(tomllib.loads(SHORT))
    assert cfg.solver.temperature != cfg.challenger.temperature  # the mix is the point
    pairs = corpus_pairs(cfg)
    policy = build_policy(cfg, pairs, root / "init")
    train_cold_start(policy, corpus_examples(policy, pairs), cfg)
    store = RunStore(root / "run.sqlite")
    store.commit_iteration(IterationRecord(0, seed_pool(cfg, 12), [], [], {}, {}, []))
    gen = phases.generate(policy, cfg, verifier, ContaminationGuard([]), store.task_ids(), 1)
    tasks = phases.choose_tasks(cfg, gen.accepted, store, 1)
    att = phases.attempt(policy, cfg, verifier, tasks, 1)
    phases.verify(verifier, verifier, att, cfg, 1)
    solver, chal = phases.trajectories(
        cfg, gen, phases.challenger_rewards(cfg, gen, att), att, 1, 0
    )
    store.close()
    return cfg, GRPOTrainer(policy, cfg.train.grpo), solver, chal


def test_each_trajectory_carries_the_temperature_its_role_sampled_at(loop_batch):
    cfg, _, solver, chal = loop_batch
    assert solver and chal
    assert {t.temperature for t in solver} == {cfg.solver.temperature}
    assert {t.temperature for t in chal} == {cfg.challenger.temperature}


def test_the_first_pass_over_a_loop_batch_gives_a_ratio_of_one(loop_batch):
    _, trainer, solver, chal = loop_batch
    assert trainer.ratio_deviation(solver + chal) < 1e-4


def test_scored_at_the_wrong_temperature_the_same_batch_is_far_from_one(loop_batch):
    # the check can fail: rescoring the solver's tokens at 1.0 (the old loop) moves the ratio
    import dataclasses

    _, trainer, solver, _ = loop_batch
    wrong = [dataclasses.replace(t, temperature=1.0) for t in solver]
    assert trainer.ratio_deviation(wrong) > 0.05
