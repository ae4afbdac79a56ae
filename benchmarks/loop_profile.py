"""Where an iteration's time goes in the embedded preset: generate, attempt, verify, train, eval.

Runs the loop (the embedded preset by default, or ``--config``) in a temporary run directory
and prints per-phase seconds from its ``metrics.jsonl``; ``--from-run DIR`` prints the same
for a run that already finished (e.g. a plain ``closedloop run``), without running anything. ``verify`` is the wall time spent
inside the sandbox verifier, summed over the generate (validation), attempt (public-test
feedback), score (private tests) and eval phases, overlapping them; ``score`` appears in runs
that have that phase.

    python benchmarks/loop_profile.py [--config FILE] [--iterations N] [--keep DIR]
    python benchmarks/loop_profile.py --from-run RUN_DIR
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
from closedloop.monitor.metrics import METRICS_FILE
from closedloop.monitor.names import Metric

M = Metric
PHASES = (M.T_GENERATE, M.T_ATTEMPT, M.T_SCORE, M.T_VERIFY, M.T_TRAIN, M.T_EVAL, M.SECONDS)


def report(run_dir: Path, total: float | None = None) -> None:
    """Print the per-phase profile and the held-out table of a finished run."""
    rows = [json.loads(x) for x in (run_dir / METRICS_FILE).read_text().splitlines()]
    summary = json.loads((run_dir / "summary.json").read_text())
    iters = [r for r in rows if r[M.ITERATION] > 0]
    took = f", total {total:.1f}s" if total is not None else ""
    print(f"\nloop profile: {run_dir}, {len(iters)} iterations{took}")
    print(f"cold start (build + SFT + held-out eval): {rows[0][M.SECONDS]:.1f}s")
    print(f"{'phase':<10}{'mean s/iter':>12}{'share':>8}")
    per = {p: statistics.fmean(r.get(p, 0.0) for r in iters) if iters else 0.0 for p in PHASES}
    for p in PHASES[:-1]:
        share = per[p] / per[M.SECONDS] if per[M.SECONDS] else 0.0
        print(f"{p.removeprefix('t_'):<10}{per[p]:>12.2f}{share:>8.0%}")
    print(f"{'iteration':<10}{per[M.SECONDS]:>12.2f}")
    evals = [r[M.T_EVAL] for r in iters if M.HELDOUT_PASS_AT_1 in r]
    if evals:
        print(f"held-out eval: {statistics.fmean(evals):.2f}s each, {len(evals)} times")
    print("held-out:", {k: v["pass@1"] for k, v in summary["policies"].items()})


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", type=Path, default=None)
    ap.add_argument("--iterations", type=int, default=None)
    ap.add_argument(
        "--keep", type=Path, default=None, help="run directory to keep (default: temporary)"
    )
    ap.add_argument("--from-run", type=Path, default=None, help="profile a finished run directory")
    args = ap.parse_args()
    if args.from_run is not None:
        report(args.from_run)
        return
    overrides = {"iterations": args.iterations} if args.iterations is not None else {}
    cfg = load_config(args.config, overrides)
    with tempfile.TemporaryDirectory() as tmp:
        run_dir = args.keep or Path(tmp) / "run"
        t0 = time.monotonic()
        LoopRunner.new(cfg, run_dir).run()
        report(run_dir, time.monotonic() - t0)


if __name__ == "__main__":
    main()
