"""How many list-function tasks have shown examples that two simplest rules fit, differently
on the hidden tests (``closedloop.loop.domain.rival_rules``), and what the check costs.

The seed pool the preset builds (``RunConfig()``, ``--pool`` tasks) is checked, and for each
``RUN_DIR`` given, the challenger tasks its run accepted, with the learnability reward each
proposal earned: a run made before ``challenger.refuse_ambiguous`` shows what the refusal
closes (a seed-0 preset run of that code: 6 of 45 accepted proposals ambiguous, two rewarded
0.56), a run made after it shows none (0 of 31; 6 refused). Seed pool: 18 of 200; 3.4 ms a
task on average, 21 ms at most (the 2-core VM, nothing else running).

    python benchmarks/ambiguous_tasks.py [RUN_DIR ...] [--pool 200]
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import statistics
import time
from pathlib import Path

from closedloop.loop.config import RunConfig
from closedloop.loop.domain import rival_rules, seed_pool
from closedloop.tasks.format import parse_task


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("runs", nargs="*", type=Path, help="run directories to look into")
    ap.add_argument("--pool", type=int, default=200, help="seed-pool tasks to check")
    args = ap.parse_args()
    cfg = RunConfig()
    shown = cfg.challenger.public_tests
    pool = seed_pool(cfg, args.pool)
    secs, found = [], []
    for task in pool:
        t = time.perf_counter()
        why = rival_rules(task, shown)
        secs.append(time.perf_counter() - t)
        if why:
            found.append((task.id, why))
    print(
        f"seed pool: {len(found)} of {len(pool)} tasks ambiguous; the check took "
        f"{1000 * statistics.mean(secs):.1f} ms a task on average, {1000 * max(secs):.0f} ms at most"
    )
    for task_id, why in found[:5]:
        print(f"  {task_id}: {why}")
    for run in args.runs:
        db = next(run.glob("runs/*/run.sqlite"), None) or run / "run.sqlite"
        con = sqlite3.connect(db)
        rows = con.execute(
            "select t.id, t.task_json, p.reward from tasks t join proposals p on p.task_id = t.id"
            " where t.source = 'challenger' and p.accepted = 1"
        ).fetchall()
        refused = con.execute(
            "select count(*) from proposals where reason = 'ambiguous'"
        ).fetchone()[0]
        hits = [
            (tid, reward, why)
            for tid, js, reward in rows
            if (why := rival_rules(parse_task(json.loads(js)), shown))
        ]
        print(
            f"{db.parent}: {len(hits)} of {len(rows)} accepted proposals ambiguous, "
            f"{refused} refused as ambiguous"
        )
        for tid, reward, why in hits:
            print(f"  {tid} (reward {reward if reward is None else round(reward, 2)}): {why}")


if __name__ == "__main__":
    main()
