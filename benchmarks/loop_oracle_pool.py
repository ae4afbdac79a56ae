"""What RL could gain if self-play's tasks were the held-out set's kind: an in-distribution pool.

Issue 16 asks the loop to lift the primary held-out set (600 reasoning-gym ``list_functions``
tasks) by 1.5x, and the preset moves it by -0.02 to +0.00 against its base. Two explanations
predict different things: if self-play's tasks (grammar programs, and what the challenger makes
of them) are the wrong kind, the same update on tasks of the held-out set's own kind should
move it; if the update itself cannot move this model in a run's budget, it should not either.

This runs the embedded preset (``closedloop run``'s defaults) with two changes, in this
process: the pool starts with ``--pool-size`` reasoning-gym ``list_functions`` tasks drawn from
``--pool-seed`` (items ``Random(seed + i)``: none of the held-out set's, whose seeds are
20,250,807 and up; its seventeen rule families are the same), and the challenger proposes
nothing (``challenger.proposals = 0``), so every attempt is at one of those tasks. The pool's
tasks share the held-out set's instruction template, which the contamination guard would
refuse; it is let through for this pool alone (their items differ, the point of the
comparison is that their kind does not). This is a diagnostic, not a loop to use: no part of
the product does this.

Run:  python benchmarks/loop_oracle_pool.py RUN_DIR [--seed 0] [--pool-size 200]
      [--pool-seed 5000000] [--iterations N] [--samples K]
Then read RUN_DIR/summary.json (``policies``: cold_start, final, control; ``gate``) as for any
run; the run prints its held-out table and per-family table at the end.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

HELDOUT_SEEDS_FROM = 20_250_807  # the primary set's lowest seed (loop/config.py)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run_dir", type=Path)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--pool-size", type=int, default=200)
    ap.add_argument("--pool-seed", type=int, default=5_000_000)
    ap.add_argument("--iterations", type=int, default=None)
    ap.add_argument("--samples", type=int, default=None, help="attempts per task (a GRPO group)")
    args = ap.parse_args()
    if not 0 < args.pool_size <= 10_000:
        ap.error(f"--pool-size {args.pool_size}: must be 1 to 10000")
    if args.pool_seed + args.pool_size > HELDOUT_SEEDS_FROM:
        ap.error(f"--pool-seed {args.pool_seed}: its items would reach the held-out seeds")

    import closedloop.loop.domain as domain
    from closedloop.cli import main as cli_main
    from closedloop.tasks.contamination import ContaminationGuard
    from closedloop.tasks.importers.reasoning_gym import import_reasoning_gym

    pool = import_reasoning_gym("list_functions", size=args.pool_size, seed=args.pool_seed)
    pool_ids = {t.id for t in pool}

    def rg_pool(cfg, size, phrase=None):  # noqa: ANN001, ANN202 - seed_pool's signature
        return list(pool)

    guard_check = ContaminationGuard.check

    def check(self, task):  # noqa: ANN001, ANN202 - ContaminationGuard.check's signature
        return None if task.id in pool_ids else guard_check(self, task)

    domain.seed_pool = rg_pool
    ContaminationGuard.check = check
    config = Path(tempfile.mkdtemp(prefix="cl-oracle-")) / "oracle.toml"
    solver = f"[solver]\nsamples = {args.samples}\n" if args.samples else ""
    config.write_text("[challenger]\nproposals = 0\n" + solver)
    argv = ["closedloop", "run", str(config), "--run-dir", str(args.run_dir)]
    argv += ["--seed", str(args.seed)]
    if args.iterations is not None:
        argv += ["--iterations", str(args.iterations)]
    sys.argv = argv
    cli_main()


if __name__ == "__main__":
    main()
