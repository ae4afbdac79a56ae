"""Validate every HumanEval and MBPP task (Code-as-Task checks plus mutation testing) and
print acceptance counts, rejection reasons and mutation-score bands.

Run:  python benchmarks/tasks_validation.py [--data DIR (default: closedloop.data, the shipped sets)] [--max-mutants 20]
      [--workers 2] [--wall-s 3] [--min-mutation-score 0.5] [--evalplus] [--json OUT]

Mutation scores are computed with the rejection threshold off, so the bands show every
task that got that far; "accepted at threshold" applies ``--min-mutation-score`` afterwards
with the validator's own rule (``weak_tests``: a task with no score is accepted).
Slow by design (thousands of sandboxed runs): not part of the test suite.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path

from closedloop.data import DATA_DIR
from closedloop.sandbox import SandboxLimits
from closedloop.tasks.format import Task
from closedloop.tasks.importers import import_humaneval, import_mbpp
from closedloop.tasks.importers.evalplus import import_evalplus
from closedloop.tasks.validate import (
    ValidationConfig,
    ValidationResult,
    validate_tasks,
    weak_tests,
)
from closedloop.verify import Verifier

BANDS = [(0.0, 0.2), (0.2, 0.4), (0.4, 0.6), (0.6, 0.8), (0.8, 1.0), (1.0, 1.0)]


def band_counts(results: list[ValidationResult]) -> dict[str, int]:
    """How many tasks reach each mutation-score band ('none': no score)."""
    out: dict[str, int] = {}
    for lo, hi in BANDS:
        name = "1.0" if lo == hi else f"[{lo:.1f},{hi:.1f})"
        out[name] = sum(
            1
            for r in results
            if r.mutation_score is not None
            and (r.mutation_score == 1.0 if lo == hi else lo <= r.mutation_score < hi)
        )
    out["none"] = sum(1 for r in results if r.mutation_score is None)
    return out


def run_set(
    name: str, tasks: list[Task], v: Verifier, cfg: ValidationConfig, threshold: float
) -> dict:
    t0 = time.monotonic()
    results = validate_tasks(
        tasks,
        v,
        cfg,
        progress=lambda phase, done, total: print(
            f"  {name}: {phase} ({done}/{total} decided, {time.monotonic() - t0:.0f}s)",
            file=sys.stderr,
        ),
    )
    elapsed = time.monotonic() - t0
    reasons = Counter(str(r.reason) if r.reason else "accepted" for r in results)
    scores = [r.mutation_score for r in results if r.mutation_score is not None]
    at_threshold = sum(
        1 for r in results if r.accepted and not weak_tests(r.mutation_score, threshold)
    )
    summary = {
        "set": name,
        "tasks": len(tasks),
        "accepted_checks": reasons.get("accepted", 0),
        "reasons": dict(reasons),
        f"accepted_at_mutation_score_{threshold}": at_threshold,
        "mutation_score_mean": round(sum(scores) / len(scores), 4) if scores else None,
        "bands": band_counts(results),
        "mutants_total": sum(r.mutants_total for r in results),
        "elapsed_s": round(elapsed, 1),
        "rejected": {r.task_id: f"{r.reason}: {r.detail[:160]}" for r in results if not r.accepted},
    }
    print(f"\n== {name}: {len(tasks)} tasks in {elapsed:.0f}s, {summary['mutants_total']} mutants")
    print(f"   passed every check but mutation: {reasons.get('accepted', 0)}/{len(tasks)}")
    print(f"   accepted at mutation score >= {threshold}: {at_threshold}/{len(tasks)}")
    print(f"   reasons: {dict(reasons)}")
    print(f"   mutation score mean: {summary['mutation_score_mean']}")
    print("   bands: " + ", ".join(f"{k}: {n}" for k, n in summary["bands"].items()))
    for tid, why in list(summary["rejected"].items())[:15]:
        print(f"     {tid}: {why}")
    return summary


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=DATA_DIR)
    ap.add_argument("--max-mutants", type=int, default=20)
    ap.add_argument("--min-mutation-score", type=float, default=0.5)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--wall-s", type=float, default=3.0)
    ap.add_argument("--evalplus", action="store_true", help="also HumanEval+ Mini and MBPP+")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()
    cfg = ValidationConfig(max_mutants=args.max_mutants, min_mutation_score=0.0)
    out = []
    with Verifier(workers=args.workers, limits=SandboxLimits(wall_s=args.wall_s)) as v:
        sets = [
            ("humaneval", import_humaneval()),
            ("mbpp", import_mbpp(args.data / "mbpp" / "mbpp.jsonl")),
        ]
        for name, tasks in sets:
            out.append(run_set(name, tasks, v, cfg, args.min_mutation_score))
        if args.evalplus:
            for fname in ("HumanEvalPlus-Mini.jsonl.gz", "MbppPlus.jsonl.gz"):
                tasks = import_evalplus(args.data / "evalplus" / fname, v)
                out.append(run_set(fname.split(".")[0], tasks, v, cfg, args.min_mutation_score))
    if args.json:
        args.json.write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
