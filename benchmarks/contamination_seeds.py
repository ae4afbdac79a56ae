"""How many of the loop's own grammar tasks the contamination guard rejects, and why.

Run:  python benchmarks/contamination_seeds.py [--fresh 500] [--behaviour] [--workers 2]

Builds the guard on the default config's held-out set (reasoning-gym ``list_functions``,
``eval.heldout_size`` tasks, ``eval.heldout_seeds``), then checks the seed pool
(``seed_pool(cfg, 200, task_phrase(cfg))``, as the runner builds it) and ``--fresh`` grammar
tasks drawn from seeds disjoint from the corpus's and the pool's, phrased and laid out as the
loop does. Prints rejections per
field, the phrasings rejected, and one hit's shared n-grams with its held-out task.
``--behaviour`` also runs the sandboxed behaviour check (each example solution on every
held-out input) and lists the held-out tasks whose outputs were reproduced.
Those tasks are made by the loop, never copied from a held-out set: every hit is a false
positive unless a held-out task's content really recurs.
"""

from __future__ import annotations

import argparse
import random
import time
from collections import Counter

from closedloop.loop.baselines import task_phrase
from closedloop.loop.config import RunConfig
from closedloop.loop.domain import (
    GRAMMAR_INPUTS,
    INLINE_SHARE,
    grammar_task,
    seed_pool,
)
from closedloop.loop.grammar import sample_tasks
from closedloop.loop.heldout import heldout_sets
from closedloop.tasks.contamination import ContaminationGuard, ngram_texts
from closedloop.tasks.format import Task

FRESH_SEED_OFFSET = 50_000
"""Grammar seeds of the fresh tasks: cfg.seed plus this (the corpus uses +0, the pool +7919)."""


def fresh_tasks(cfg: RunConfig, n: int) -> list[Task]:
    """``n`` grammar tasks phrased and laid out as the corpus and the seed pool are (the run's
    own phrasing: varied sentences for the shipped base, as ``closedloop run`` phrases them)."""
    phrase = task_phrase(cfg)
    rng = random.Random(cfg.seed + FRESH_SEED_OFFSET)
    gts = sample_tasks(
        n, cfg.seed + FRESH_SEED_OFFSET, n_inputs=GRAMMAR_INPUTS, max_depth=cfg.cold_start.max_depth
    )
    public = cfg.challenger.public_tests
    return [
        grammar_task(g, f"fresh/{i}", phrase(rng), public, rng.random() < INLINE_SHARE)
        for i, g in enumerate(gts)
    ]


def report(name: str, tasks: list[Task], guard: ContaminationGuard, heldout: dict) -> None:
    """Print the guard's rejections of ``tasks`` by field and phrasing, with one example."""
    n = guard.config.ngram
    hits = [(t, h) for t in tasks if (h := guard.check(t)) is not None]
    print(f"{name}: {len(hits)} of {len(tasks)} rejected", dict(Counter(h.field for _, h in hits)))
    for line, c in Counter(t.instruction.split("\n")[0] for t, _ in hits).most_common():
        print(f"  {c:4d} x {line!r}")
    if hits:
        t, h = hits[0]
        held = heldout[h.heldout_id]
        shared = sorted(set(ngram_texts(t.instruction, n)) & set(ngram_texts(held.instruction, n)))
        print(f"  e.g. {t.id} ~ {h.heldout_id} on {h.field} ({h.overlap:.0%}); shared {n}-grams:")
        for g in shared:
            print(f"    {g}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=200)
    ap.add_argument("--fresh", type=int, default=500)
    ap.add_argument("--behaviour", action="store_true")
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    cfg = RunConfig()
    t0 = time.monotonic()
    heldout = {t.id: t for ts in heldout_sets(cfg).values() for t in ts}
    guard = ContaminationGuard(heldout.values())
    print(
        f"guard over {guard.size} held-out tasks in {time.monotonic() - t0:.1f}s; template "
        f"n-grams per field { ({str(f): len(g) for f, g in guard.template.items()}) }, "
        f"template pairs {len(guard.template_pairs)}"
    )
    sets = {
        "seed pool": seed_pool(cfg, args.seeds, task_phrase(cfg)),
        "fresh grammar": fresh_tasks(cfg, args.fresh),
    }
    for name, tasks in sets.items():
        report(name, tasks, guard, heldout)
    if args.behaviour:
        from closedloop.verify import Verifier

        with Verifier(workers=args.workers) as v:
            for name, tasks in sets.items():
                t0 = time.monotonic()
                hits = [h for h in guard.behaviour_filter(tasks, v) if h is not None]
                took = time.monotonic() - t0
                print(f"{name}: behaviour check rejects {len(hits)} of {len(tasks)} ({took:.0f}s)")
                for h in hits:
                    rule = heldout[h.heldout_id].metadata.get("rule_family")
                    print(f"  {h.task_id} reproduces {h.heldout_id} (rule family {rule})")


if __name__ == "__main__":
    main()
