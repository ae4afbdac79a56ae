"""Verification throughput on Ray, 1 node and 2 nodes, against the local pool, side by side.

HumanEval reference solutions (164 tasks, checker tests), ``--reps`` rounds; each round runs
the three paths one after the other, so that load from other work on a shared machine falls
on all of them alike:

1. local: ``Verifier(workers=S)``, this process's own sandbox pool;
2. Ray, 1 node: ``RayVerifier(max_nodes=1, workers=S)``, one actor holding S slots;
3. Ray, 2 nodes: ``RayVerifier(workers=S/2)``, one actor on each node, S/2 slots each.

Both Ray clusters are nodes of one :class:`~closedloop.distributed.local_cluster.LocalCluster`
on this machine, so all three paths have the same S sandbox slots on the same cores: what is
measured is the cost of the fan-out (Ray's calls, pickling, batching), not a speed-up. More
nodes only help when they bring more cores (see docs/distributed.md).

Run:  python benchmarks/ray_verify.py [--reps 3] [--slots 2]
"""

from __future__ import annotations

import argparse
import os
import platform
import time
import warnings

import ray
from rich.console import Console
from rich.table import Table

from closedloop.distributed import RayVerifier
from closedloop.distributed.local_cluster import LocalCluster
from closedloop.sandbox import SandboxLimits
from closedloop.tasks.format import Task
from closedloop.tasks.importers.humaneval import import_humaneval
from closedloop.verify import Outcome, Verifier


def humaneval() -> list[tuple[Task, str]]:
    """Each HumanEval task with its reference solution (the project's importer)."""
    return [(t, t.example_solution or "") for t in import_humaneval()]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--slots", type=int, default=os.cpu_count() or 2, help="sandbox slots S")
    ap.add_argument("--jps", type=int, default=4, help="RayVerifier's jobs_per_slot")
    args = ap.parse_args()
    if args.slots < 2 or args.slots % 2:
        ap.error("--slots must be even (two nodes get half each)")
    console = Console(stderr=True)
    items = humaneval()
    limits = SandboxLimits(wall_s=10.0)
    half = args.slots // 2
    load_before = os.getloadavg()
    names = ("local pool", "Ray, 1 node", "Ray, 2 nodes")
    seconds = dict.fromkeys(names, 0.0)
    passed = dict.fromkeys(names, 0)
    t = time.perf_counter()
    with LocalCluster(cpus=(half, half)) as cluster:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            ray.init(address=cluster.address, log_to_driver=False, include_dashboard=False)
        try:
            with (
                Verifier(workers=args.slots, limits=limits) as local,
                RayVerifier(
                    cluster.address, args.slots, limits, max_nodes=1, jobs_per_slot=args.jps
                ) as one,
                RayVerifier(cluster.address, half, limits, jobs_per_slot=args.jps) as two,
            ):
                console.print(f"cluster and pools started in {time.perf_counter() - t:.1f}s")
                paths = dict(zip(names, (local, one, two), strict=True))
                for path in paths.values():  # warm-up: first calls pay for imports, pickling
                    path.verify_many(items[:8])
                for rep in range(args.reps):
                    for name, verifier in paths.items():
                        t = time.perf_counter()
                        verdicts = verifier.verify_many(items)
                        seconds[name] += time.perf_counter() - t
                        passed[name] += sum(v.outcome is Outcome.PASS for v in verdicts)
                    console.print(f"round {rep + 1}/{args.reps} done")
                stats = {"Ray, 1 node": one.stats, "Ray, 2 nodes": two.stats}
        finally:
            ray.shutdown()
    load_after = os.getloadavg()
    n = len(items) * args.reps
    table = Table(
        title=f"HumanEval references x{args.reps} ({n} verifications per path), "
        f"{args.slots} sandbox slots per path, {platform.node()}, {os.cpu_count()} cores"
    )
    for col in ("path", "passed", "seconds", "solutions/s", "vs local"):
        table.add_column(col, justify="left" if col == "path" else "right")
    base = n / seconds["local pool"]
    for name in names:
        rate = n / seconds[name]
        table.add_row(
            name,
            f"{passed[name]}/{n}",
            f"{seconds[name]:.2f}",
            f"{rate:.1f}",
            f"{rate / base:.2f}x",
        )
    Console().print(table)
    for name, s in stats.items():
        print(f"{name}: {s.batches} batches, {s.lost_batches} lost, {s.retried_jobs} retried")
    print(f"load average (1 min) before {load_before[0]:.2f}, after {load_after[0]:.2f}")


if __name__ == "__main__":
    main()
