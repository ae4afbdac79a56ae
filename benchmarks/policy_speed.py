"""Tokens per second of the embedded model: sampling, scoring, and GRPO training steps.

Run: ``python benchmarks/policy_speed.py [--threads 2] [--prompts 8] [--n 8] [--new-tokens 64]``

Builds the default embedded model (``EmbeddedConfig()``, about 2.2 M parameters) with a
tokenizer trained on a small synthetic list-functions corpus, then times, on this machine:
sampling ``n`` completions for each prompt (generated tokens/s), re-scoring them (completion
tokens/s, forward only), and GRPO updates on them (trained tokens/s, forward + backward +
AdamW, with and without a reference for the KL). Prints a rich table.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time

import torch
from rich.console import Console
from rich.table import Table

from closedloop.policy.base import SamplingParams
from closedloop.policy.embedded import EmbeddedConfig, build_embedded_policy, parameter_count
from closedloop.train.grpo import GRPOConfig, GRPOTrainer
from closedloop.train.trajectory import Trajectory
from closedloop.verify.outcome import Outcome

SOLUTIONS = [
    "def f(xs):\n    return sorted(xs)\n",
    "def f(xs):\n    return [x * 2 for x in xs]\n",
    "def f(xs):\n    return [x for x in xs if x % 2 == 0]\n",
    "def f(xs):\n    return xs[::-1]\n",
    "def f(xs):\n    out = []\n    for x in xs:\n        out.append(x + 1)\n    return out\n",
]


def corpus(rng: random.Random, size: int = 400) -> list[str]:
    """Synthetic list-functions text: example-based prompts and short solutions."""
    out = []
    for _ in range(size):
        xs = [rng.randint(-9, 20) for _ in range(rng.randint(0, 6))]
        out.append(f"Write a Python function f(xs).\nf({xs}) == {sorted(xs)}\n")
        out.append(rng.choice(SOLUTIONS))
    return out


def timed(fn):  # -> (result, seconds)
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--prompts", type=int, default=8)
    parser.add_argument("--n", type=int, default=8)
    parser.add_argument("--new-tokens", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    rng = random.Random(0)
    text = corpus(rng)
    with tempfile.TemporaryDirectory() as tmp:
        policy = build_embedded_policy(text, tmp, EmbeddedConfig())
    prompts = text[0 : 2 * args.prompts : 2]
    params = SamplingParams(max_new_tokens=args.new_tokens, temperature=1.0)
    rows = []

    policy.sample(prompts[:1], 1, SamplingParams(max_new_tokens=4))  # warm-up
    samples, secs, gen_tokens = [], 0.0, 0
    for r in range(args.repeats):
        out, s = timed(
            lambda r=r: policy.sample(
                prompts, args.n, SamplingParams(**{**params.__dict__, "seed": r})
            )
        )
        samples, secs = out, secs + s
        gen_tokens += sum(len(c.token_ids) for g in out for c in g)  # each repeat's own count
    rows.append(("sample (generate)", f"{args.prompts}x{args.n} seqs", gen_tokens, secs))

    flat = [c for g in samples for c in g]
    _, s = timed(
        lambda: policy.token_logprobs([c.prompt_ids for c in flat], [c.token_ids for c in flat])
    )
    rows.append(("score (forward)", f"{len(flat)} seqs", sum(len(c.token_ids) for c in flat), s))

    batch = [
        Trajectory.from_completion(
            c, float(i % 2), str(i // args.n), 0, Outcome.FAIL, temperature=1.0
        )
        for i, c in enumerate(flat)
    ]
    for label, track in (("GRPO step, no reference", False), ("GRPO step + reference KL", True)):
        trainer = GRPOTrainer(
            policy, GRPOConfig(learning_rate=1e-4, minibatch_size=16, track_ref_kl=track)
        )
        trainer.step(batch[:16])  # warm-up
        metrics, s = timed(
            lambda trainer=trainer: [trainer.step(batch) for _ in range(args.repeats)]
        )
        rows.append((label, f"{len(batch)} seqs, mb 16", metrics[-1].num_tokens * args.repeats, s))

    table = Table(
        title=f"embedded model ({parameter_count(policy) / 1e6:.2f} M params, {len(policy.tokenizer)} vocab), {args.threads} CPU threads"
    )
    for col in ("phase", "batch", "tokens", "seconds", "tokens/s"):
        table.add_column(col, justify="right" if col != "phase" else "left")
    for phase, desc, tokens, seconds in rows:
        table.add_row(phase, desc, str(tokens), f"{seconds:.2f}", f"{tokens / seconds:,.0f}")
    Console().print(table)


if __name__ == "__main__":
    main()
