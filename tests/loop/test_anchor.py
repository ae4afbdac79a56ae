"""Replayed cold-start examples (``train.anchor_ratio``) join the loop's supervised step and
count in the optimizer steps the control is matched to."""

from __future__ import annotations

import pytest

from closedloop.loop import phases
from closedloop.loop.config import config_from_dict
from closedloop.loop.domain import cold_start_pairs, grammar_task
from closedloop.loop.grammar import sample_tasks
from closedloop.loop.hindsight import Relabel
from closedloop.loop.iteration import LoopState, anchor_examples
from closedloop.monitor.names import train_key
from closedloop.train.sft import examples_from_text


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory, tiny_embedded_config):
    from closedloop.policy.embedded import build_embedded_policy

    cfg = config_from_dict(
        {
            "model": {"kind": "embedded"},
            "cold_start": {"corpus_size": 30},
            "train": {"algorithm": "expert_iteration", "sft_batch_size": 4, "anchor_ratio": 0.5},
        }
    )
    pairs = cold_start_pairs(cfg)
    policy = build_embedded_policy(
        [p + "\n" + c for p, c in pairs], tmp_path_factory.mktemp("tiny"), tiny_embedded_config
    )
    return cfg, policy, examples_from_text(policy, pairs)


def _relabels(n: int) -> list[Relabel]:
    gts = sample_tasks(n, seed=3)
    return [
        Relabel(grammar_task(g, f"r{i}", "Write f."), g.program.code) for i, g in enumerate(gts)
    ]


def test_anchor_examples_join_the_supervised_step_and_its_step_count(setup):
    cfg, policy, corpus = setup
    relabels = _relabels(3)
    alone = phases.train(None, policy, cfg, [], [], 0, relabels)
    mixed = phases.train(None, policy, cfg, [], [], 0, relabels, corpus[:5])
    assert alone.optimizer_steps == 1  # ceil(3 / 4)
    assert mixed.optimizer_steps == 2  # ceil((3 + 5) / 4): the control gets these steps too
    assert mixed.metrics[train_key("anchor")] == 5.0
    assert alone.metrics[train_key("anchor")] == 0.0


def _state(cfg, corpus) -> LoopState:
    state = LoopState(cfg, None, None, None, None, {}, None, None, None)  # type: ignore[arg-type]
    state.set_corpus(corpus)
    return state


def test_an_iteration_draws_ratio_times_relabels_from_the_cold_start_corpus(setup):
    cfg, _, corpus = setup
    state = _state(cfg, corpus)
    first = anchor_examples(state, 10, iteration=1)
    assert len(first) == 5 and len({id(e) for e in first}) == 5
    assert all(any(e is c for c in corpus) for e in first)
    assert anchor_examples(state, 10, iteration=1) == first  # seeded by the iteration: resumable
    assert anchor_examples(state, 10, iteration=2) != first
    off = _state(config_from_dict({"train": {"anchor_ratio": 0.0}}), corpus)
    assert anchor_examples(off, 10, iteration=1) == []


def test_replay_of_an_embedded_run_draws_its_own_stream_of_the_corpus(setup):
    from closedloop.loop.iteration import replay_examples

    _, _, corpus = setup
    cfg = config_from_dict(
        {
            "model": {"kind": "embedded"},
            "cold_start": {"corpus_size": 30},
            "train": {"replay_examples": 6, "anchor_ratio": 1.0, "grpo": {"replay_coef": 0.5}},
        }
    )
    state = _state(cfg, corpus)
    replay = replay_examples(state, 2)
    assert len(replay) == 6 and all(e in corpus for e in replay)
    assert replay == replay_examples(state, 2)  # the same after a resume
    assert replay != anchor_examples(state, 6, 2)  # not the anchors' draw
