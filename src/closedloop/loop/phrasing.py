"""How a list-function task is phrased: the six fixed instructions, and a generator of many.

Why a generator: the first bases were taught six instruction sentences and learned them as
strings, not as "some words before the examples". Measured on the shipped list-positions base
(reasoning-gym list_functions, seed 1234, rule families identity, third, reverse and sorted
both ways, 62 tasks, greedy): with reasoning-gym's own sentence 0.161; the same tasks with one
of the six sentences the base was taught, examples and everything else unchanged, 0.645
(reverse 0/16 -> 13/16, sorted 0/8 -> 8/8; ``benchmarks/phrasing_swap.py``). A base that reads the examples must not depend on
the sentence above them, so ``closedloop pretrain --instruction-variety`` draws each task's
instruction from :func:`varied_instruction`: sentences composed from parts (hundreds of
thousands of combinations), sometimes none at all, sometimes with an unrelated remark.

Held out: :data:`HELDOUT_PHRASINGS` are written differently from anything the generator makes
(and a test checks the generator never produces one, nor reasoning-gym's sentence), so the
reading probe on them (``benchmarks/reading_probe.py --phrasings unseen``) measures
robustness to an unseen phrasing, not recall of a seen one.

Owns phrasing only; must never read a held-out set to decide what to generate.
"""

from __future__ import annotations

import random
from collections.abc import Callable

Phrase = Callable[[random.Random], str]
"""Draws a task's instruction: :func:`fixed_instruction` or :func:`varied_instruction`."""

INSTRUCTIONS = (
    "Write a Python function f(xs) that maps each list of integers to its output, as in these examples.",
    "Find the rule and write f(xs) in Python. xs is a list of integers.",
    "Write a Python function `f(xs)` that takes a list of integers and returns a list following the examples.",
    "Implement f(xs) so that it returns the shown output for each input list.",
    "Each example applies the same rule to a list of integers. Write that rule as a Python function f(xs).",
    "Write f(xs): a function from a list of integers to a list of integers that agrees with every example.",
)
"""The six fixed instruction phrasings of grammar tasks (the loop's corpus, seed pool and probe)."""

_OPENERS = (
    "Write",
    "Implement",
    "Define",
    "Create",
    "Code up",
    "Give",
    "Produce",
    "Please write",
    "Your task: write",
    "Now implement",
    "Program",
    "Build",
)
_FUNCTION = (
    "a Python function f(xs)",
    "f(xs)",
    "a function `f(xs)`",
    "the function f(xs)",
    "a function f",
    "def f(xs)",
    "`f`",
    "f in Python",
    "a short Python function named f",
    "the Python function `f`",
)
_INPUT = (
    "",
    " where xs is a list of integers",
    " for a list xs of integers",
    " that accepts a list of ints",
    " which receives a list of numbers",
    " over integer lists",
    " taking one argument, a list",
    " of one list argument",
)
_GOAL = (
    "",
    " and gives the output shown",
    " matching the examples",
    " that agrees with each example",
    " reproducing the pairs below",
    " so each input yields its output",
    " returning a new list",
    " consistent with every example shown",
    " that transforms the input as the examples do",
    " which computes the hidden rule",
)
_CLOSE = (".", ":", "", ". Use the examples.", ". The examples show the rule.", "!", ". Python 3.")
_REMARKS = (
    "Find the rule.",
    "Figure out the transformation from the examples.",
    "Each pair shows an input list and the list it becomes.",
    "One rule explains all examples.",
    "Inputs are lists of integers.",
    "Examples follow.",
    "Study these examples.",
    "Infer f from the input/output pairs.",
    "The rule is simple.",
    "Look closely at the numbers.",
    "Here is some data.",
    "Solve this puzzle.",
)

HELDOUT_PHRASINGS = (
    "Determine the transformation applied to each list and express it in code as f(xs).",
    "Given these before/after lists, give me the Python implementation of f.",
    "What program turns every left-hand list into its right-hand list? Answer with f(xs).",
    "Reverse-engineer the mapping. Provide def f(xs) returning the expected lists.",
    "Look at the sample calls; code the function f they come from.",
    "Complete f(xs) such that all of the following assertions hold.",
)
"""Phrasings no generator draws (held out for measuring robustness to an unseen sentence)."""


def varied_instruction(rng: random.Random) -> str:
    """One instruction: a fixed phrasing (15%), none at all (10%), or a composed sentence,
    sometimes with an unrelated remark before or after it (20% each).

        >>> varied_instruction(random.Random(3))  # doctest: +SKIP
        'Define a function `f(xs)` over integer lists matching the examples.'
    """
    roll = rng.random()
    if roll < 0.15:
        return rng.choice(INSTRUCTIONS)
    if roll < 0.25:
        return ""
    sentence = (
        rng.choice(_OPENERS)
        + " "
        + rng.choice(_FUNCTION)
        + rng.choice(_INPUT)
        + rng.choice(_GOAL)
        + rng.choice(_CLOSE)
    )
    place = rng.random()
    if place < 0.2:
        return f"{rng.choice(_REMARKS)} {sentence}"
    if place < 0.4:
        return f"{sentence} {rng.choice(_REMARKS)}".strip()
    return sentence


def fixed_instruction(rng: random.Random) -> str:
    """One of the six fixed phrasings (what the loop's tasks use)."""
    return rng.choice(INSTRUCTIONS)
