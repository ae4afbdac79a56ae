"""How much the compute-matched control's score owes to its recipe: retrain a base run's control
several ways and score each on the run's primary held-out set.

A ``closedloop run`` (the embedded preset; ``--preset base`` before it became the default)
compares its final policy with a control: the base trained further on fresh examples of its
own pretraining distribution for as many optimizer steps as
self-play took (``closedloop.loop.baselines.train_control``: batches of 16, a fresh AdamW at
the rate the base's pretraining ended on, no warm-up). Whether "final >= control + 0.05" says
something about self-play depends on that control being a fair one, so this retrains it from
the run's own base, steps and seed with each recipe:

- ``loop``: the run's own recipe (reproduces the run's control score);
- ``warmup``: the same with the rate warmed up over the first third of the steps;
- ``batch64``: the same steps at the pretraining's batch of 64 (four times the examples).

Run:  python benchmarks/control_recipes.py RUN_DIR [RUN_DIR ...] [--recipes loop,warmup,batch64]
Prints each run's base, final and control scores from ``summary.json`` and each recipe's greedy
pass@1 on the run's primary set (``heldout/rg_list_functions.jsonl``).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from closedloop.loop.baselines import base_dir, train_control
from closedloop.loop.config import ModelKind, load_config
from closedloop.loop.evaluate import evaluate
from closedloop.monitor.names import Metric
from closedloop.policy.hf import HFPolicy
from closedloop.tasks.format import load_tasks
from closedloop.verify import Verifier

RECIPES = ("loop", "warmup", "batch64")


def control_steps(run_dir: Path) -> int:
    """Optimizer steps self-play took (what the run matched its control to)."""
    total = 0.0
    for line in (run_dir / "metrics.jsonl").read_text().splitlines():
        total += json.loads(line).get(Metric.OPTIMIZER_STEPS, 0.0)
    return int(total)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("runs", nargs="+", type=Path)
    ap.add_argument("--recipes", default=",".join(RECIPES))
    args = ap.parse_args()
    recipes = args.recipes.split(",")
    unknown = [r for r in recipes if r not in RECIPES]
    if unknown:
        ap.error(f"unknown recipe(s) {unknown}; known: {', '.join(RECIPES)}")
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    with Verifier(workers=2) as verifier:
        for run_dir in args.runs:
            cfg = load_config(run_dir / "config.toml")
            if cfg.model.kind is not ModelKind.BASE:
                raise SystemExit(f"{run_dir}: not a base-model run (model.kind = base)")
            tasks, bad = load_tasks(run_dir / "heldout" / "rg_list_functions.jsonl")
            if bad:
                raise SystemExit(f"{run_dir}: {len(bad)} malformed held-out lines")
            policies = json.loads((run_dir / "summary.json").read_text())["policies"]
            steps = control_steps(run_dir)
            print(
                f"{run_dir} (seed {cfg.seed}, {steps} steps): base "
                f"{policies['cold_start']['pass@1']:.3f}, final {policies['final']['pass@1']:.3f}"
                f", run's control {policies['control']['pass@1']:.3f}",
                flush=True,
            )
            for recipe in recipes:
                policy = HFPolicy.from_pretrained(base_dir(cfg))
                t = time.perf_counter()
                train_control(  # the loop's own function, the recipe varied
                    policy,
                    [],
                    steps,
                    cfg,
                    batch_size=64 if recipe == "batch64" else None,
                    warmup_steps=max(1, steps // 3) if recipe == "warmup" else 0,
                )
                seconds = time.perf_counter() - t
                score = evaluate(policy, tasks, verifier, samples=1).pass_at_1
                print(f"  {recipe:8s} pass@1 {score:.3f}  (training {seconds:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
