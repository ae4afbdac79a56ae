"""closedloop as a ``verifiers`` rubric (``pip install verifiers==0.3.1``).

    PYTHONPATH=src python examples/verifiers_rubric.py [--url URL] [--limit 40]

builds the rubric and a dataset in ``verifiers``' shape (``question``, ``answer`` = the task in
closedloop's JSON), then has the rubric score a right and a wrong rollout per task, as an
environment does after generation, and prints the mean rewards. In an environment::

    import verifiers as vf
    from closedloop.serve.verifiers_rubric import closedloop_rubric

    def load_environment(**kwargs):
        return vf.SingleTurnEnv(dataset=ds, rubric=closedloop_rubric(url="http://HOST:8000"))
"""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path

from closedloop.serve.verifiers_rubric import closedloop_rubric
from closedloop.tasks.format import load_tasks

SLICE = Path(__file__).resolve().parent / "tasks" / "mbpp_slice.jsonl"


def main(argv: list[str] | None = None) -> dict[str, float]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--url", help="verify on this `closedloop serve` (default: in process)")
    ap.add_argument("--tasks", type=Path, default=SLICE)
    ap.add_argument("--limit", type=int, default=40)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args(argv)
    tasks, _ = load_tasks(args.tasks)
    tasks = tasks[: args.limit]

    import verifiers as vf

    rows = [{"question": t.instruction, "answer": json.dumps(t.to_json())} for t in tasks]
    states = []
    for row, t in zip(rows, tasks, strict=True):
        for text in (
            f"```python\n{t.example_solution}```",
            f"def {t.entry_point}(*a):\n    pass\n",
        ):
            st = vf.State(
                input={
                    "prompt": [{"role": "user", "content": row["question"]}],
                    "answer": row["answer"],
                    "example_id": len(states),
                }
            )
            st["completion"] = [{"role": "assistant", "content": text}]
            st["trajectory"] = []
            states.append(st)

    rubric = closedloop_rubric(url=args.url, workers=args.workers)
    try:
        asyncio.run(rubric.score_group(states))
    finally:
        rubric.closedloop_scorer.close()
    out = {
        "tasks": len(tasks),
        "right_mean_reward": sum(s["reward"] for s in states[0::2]) / len(tasks),
        "wrong_mean_reward": sum(s["reward"] for s in states[1::2]) / len(tasks),
    }
    print(" ".join(f"{k}={v:g}" for k, v in out.items()))
    return out


if __name__ == "__main__":
    main()
