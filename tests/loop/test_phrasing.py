"""Instruction phrasings: the generator varies the sentence, never draws a held-out one, and
the loop's own corpus keeps its six fixed phrasings unless a base was taught the varied ones."""

from __future__ import annotations

import itertools
import random

from closedloop.loop import phrasing
from closedloop.loop.config import RunConfig
from closedloop.loop.domain import cold_start_pairs, seed_pool
from closedloop.loop.phrasing import (
    HELDOUT_PHRASINGS,
    INSTRUCTIONS,
    fixed_instruction,
    varied_instruction,
)
from closedloop.loop.probe import probe_tasks
from closedloop.tasks.importers.reasoning_gym import (
    LIST_FUNCTIONS_INSTRUCTION as REASONING_GYM_SENTENCE,  # the primary held-out set's
)


def _every_sentence() -> set[str]:
    """Every instruction varied_instruction can return (fixed ones, none, composed ones
    alone or with a remark before or after)."""
    composed = {
        "".join((o, " ", f, i, g, c))
        for o, f, i, g, c in itertools.product(
            phrasing._OPENERS, phrasing._FUNCTION, phrasing._INPUT, phrasing._GOAL, phrasing._CLOSE
        )
    }
    with_remarks = {
        s
        for sentence in composed
        for r in phrasing._REMARKS
        for s in (f"{r} {sentence}", f"{sentence} {r}".strip())
    }
    return composed | with_remarks | set(INSTRUCTIONS) | {""}


def test_the_generator_never_draws_a_held_out_phrasing_nor_reasoning_gyms() -> None:
    space = _every_sentence()
    assert len(space) > 100_000
    assert not space & {*HELDOUT_PHRASINGS, REASONING_GYM_SENTENCE}
    rng = random.Random(0)
    assert all(varied_instruction(rng) in space for _ in range(2_000))


def test_the_generator_varies_the_sentence() -> None:
    rng = random.Random(1)
    drawn = [varied_instruction(rng) for _ in range(1_000)]
    assert len(set(drawn)) > 500
    assert 50 < drawn.count("") < 150  # about 10% show the examples alone
    assert 100 < sum(d in INSTRUCTIONS for d in drawn) < 200  # about 15% a fixed phrasing


def test_the_loops_corpus_keeps_the_six_fixed_phrasings() -> None:
    cfg = RunConfig.model_validate({"cold_start": {"corpus_size": 60}})
    prompts = [p for p, _ in cold_start_pairs(cfg) if p != cfg.challenger_prompt]
    assert prompts and all(p.split("\n")[0] in INSTRUCTIONS for p in prompts)


def test_a_varied_phrase_reaches_corpus_and_seed_pool() -> None:
    cfg = RunConfig.model_validate({"cold_start": {"corpus_size": 60}})
    prompts = [p for p, _ in cold_start_pairs(cfg, varied_instruction)]
    firsts = {p.split("\n")[0] for p in prompts}
    assert len(firsts - set(INSTRUCTIONS)) > 20
    fixed = {t.instruction.split("\n")[0] for t in seed_pool(cfg, 40, fixed_instruction)}
    varied = {t.instruction.split("\n")[0] for t in seed_pool(cfg, 40, varied_instruction)}
    assert fixed <= set(INSTRUCTIONS) and len(varied - set(INSTRUCTIONS)) > 10


def test_the_probe_can_be_phrased_with_the_held_out_sentences(verifier) -> None:
    tasks = probe_tasks(verifier, ["reverse", "len"], 6, phrasings=HELDOUT_PHRASINGS)
    assert len(tasks) == 12
    assert {t.instruction.split("\n")[0] for t in tasks} <= set(HELDOUT_PHRASINGS)
