"""Where an iteration's time goes in the embedded preset: generate, attempt, verify, train, eval.

Runs the loop (the embedded preset by default, or ``--config``) in a temporary run directory
and prints per-phase seconds from its ``metrics.jsonl``. ``verify`` is the wall time spent
inside the sandbox verifier, summed over the generate (validation) and attempt phases, so
``generate + attempt - verify`` is the time spent sampling and parsing.

    python benchmarks/loop_profile.py [--config FILE] [--iterations N] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from closedloop.loop.config import load_config
from closedloop.loop.runner import LoopRunner

PHASES = ("t_generate", "t_attempt", "t_verify", "t_train", "t_eval", "seconds")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", type=Path, default=None)
    ap.add_argument("--iterations", type=int, default=None)
    ap.add_argument(
        "--keep", type=Path, default=None, help="run directory to keep (default: temporary)"
    )
    args = ap.parse_args()
    overrides = {"iterations": args.iterations} if args.iterations is not None else {}
    cfg = load_config(args.config, overrides)
    with tempfile.TemporaryDirectory() as tmp:
        run_dir = args.keep or Path(tmp) / "run"
        t0 = time.monotonic()
        result = LoopRunner.new(cfg, run_dir).run()
        total = time.monotonic() - t0
        rows = [json.loads(x) for x in (run_dir / "metrics.jsonl").read_text().splitlines()]
    iters = [r for r in rows if r["iteration"] > 0]
    print(f"\nloop profile: {cfg.name}, {len(iters)} iterations, total {total:.1f}s")
    print(f"cold start (build + SFT + held-out eval): {rows[0]['seconds']:.1f}s")
    print(f"{'phase':<10}{'mean s/iter':>12}{'share':>8}")
    per = {p: statistics.fmean(r.get(p, 0.0) for r in iters) if iters else 0.0 for p in PHASES}
    for p in PHASES[:-1]:
        share = per[p] / per["seconds"] if per["seconds"] else 0.0
        print(f"{p[2:]:<10}{per[p]:>12.2f}{share:>8.0%}")
    print(f"{'iteration':<10}{per['seconds']:>12.2f}")
    print("held-out:", {k: round(v[1], 3) for k, v in result.table.items()})


if __name__ == "__main__":
    main()
