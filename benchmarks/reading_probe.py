"""Does a policy read the examples, or write its favourite program? A per-primitive probe.

A thin command line over :mod:`closedloop.loop.probe` (the probe's tasks and scoring live
there, so ``closedloop pretrain`` and this script measure the same thing).

Held-out pass@1 of a small model mixes two things: reading the examples (the skill the loop
is meant to grow) and guessing a program its prior favours that happens to fit. This probe
separates them. Each probe task is a single grammar primitive (reverse, sorted, ``x + 3``,
``[len(xs)]``, ...) shown on three random lists; a policy that reads solves them all, a
policy that guesses solves the few its favourite programs fit. Expected outputs come from
running each primitive's program in the sandbox, never from a Python re-statement here.

    # what each policy reads (greedy pass@1 per primitive, and how varied its programs are)
    python benchmarks/reading_probe.py RUN_DIR/policies/cold_start RUN_DIR/policies/final

    # the same with instructions no training data used (does it read past the sentence?)
    python benchmarks/reading_probe.py --phrasings unseen RUN_DIR/policies/cold_start

    # how many SFT steps a fresh embedded model needs to tell k primitives apart
    python benchmarks/reading_probe.py --learn reverse,sorted,sorted_desc,add3 --steps 300

``--learn`` trains the default embedded shape (the preset's: 4 layers, width 192, 2048-token
BPE) on 1,500 tasks of only the named primitives, with the cold start's optimizer settings,
and probes it after each third of the steps. Chance is ``1/k``.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from closedloop.loop.phrasing import HELDOUT_PHRASINGS, INSTRUCTIONS
from closedloop.loop.probe import PRIMITIVES, probe_tasks, run_probe, unknown_primitives
from closedloop.roles.prompts import solver_prompt
from closedloop.verify import Verifier


def report(label: str, policy: object, tasks: list, verifier: Verifier) -> float:
    """Print per-primitive greedy pass@1 and the variety of the programs written."""
    result = run_probe(policy, tasks, verifier)
    print(f"{label} | {result.summary()}", flush=True)
    return result.pass_at_1


def learn(names: list[str], steps: int, verifier: Verifier) -> None:
    """Train a fresh embedded model on ``names`` only and probe it after each third."""
    from closedloop.loop.config import RunConfig
    from closedloop.policy.embedded import EmbeddedConfig, build_embedded_policy
    from closedloop.train.sft import examples_from_text, sft_steps

    cs = RunConfig().cold_start
    train = probe_tasks(verifier, names, 1500 // len(names), seed=1)
    test = probe_tasks(verifier, names, 25, seed=99)
    pairs = [(solver_prompt(t), t.example_solution or "") for t in train]
    with tempfile.TemporaryDirectory() as tmp:
        policy = build_embedded_policy(
            [p + "\n" + c for p, c in pairs], Path(tmp) / "init", EmbeddedConfig()
        )
    examples = examples_from_text(policy, pairs)
    t0, done = time.monotonic(), 0
    for i in range(3):
        chunk = steps // 3 if i < 2 else steps - done
        # one schedule per chunk: the decay restarts, as in three short cold starts
        sft_steps(policy, examples, chunk, cs.batch_size, cs.learning_rate, seed=i)
        done += chunk
        report(f"{done} steps ({time.monotonic() - t0:.0f}s)", policy, test, verifier)
    print(f"chance: {1 / len(names):.3f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("policies", nargs="*", type=Path)
    ap.add_argument("--per", type=int, default=25, help="probe tasks per primitive")
    ap.add_argument("--learn", help="comma-separated primitives to train a fresh model on")
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument(
        "--phrasings",
        choices=("fixed", "unseen"),
        default="fixed",
        help="instructions of the probe's tasks: the six the corpus uses, or ones it never does",
    )
    args = ap.parse_args()
    if not args.policies and not args.learn:
        ap.error("give policy directories, or --learn PRIMITIVES")
    names = args.learn.split(",") if args.learn else list(PRIMITIVES)
    unknown = unknown_primitives(names)
    if unknown:
        ap.error(f"unknown primitive(s) {unknown}; known: {', '.join(PRIMITIVES)}")
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # one bar per save/load would bury the table
    with Verifier(workers=2) as verifier:
        if args.learn:
            learn(names, args.steps, verifier)
        if args.policies:
            from closedloop.policy.hf import HFPolicy

            phrasings = INSTRUCTIONS if args.phrasings == "fixed" else HELDOUT_PHRASINGS
            tasks = probe_tasks(verifier, list(PRIMITIVES), args.per, 99, phrasings)
            for path in args.policies:
                report(str(path), HFPolicy.from_pretrained(path), tasks, verifier)


if __name__ == "__main__":
    main()
