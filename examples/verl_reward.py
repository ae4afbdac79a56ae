"""closedloop as veRL's reward: a dataset in veRL's format, and the reward function checked.

    PYTHONPATH=src python examples/verl_reward.py --out /tmp/cl_verl [--url URL] [--limit 40]

writes ``train.parquet`` in veRL's RL dataset format (``data_source``, ``prompt`` as chat
messages, ``reward_model.ground_truth`` = the task in closedloop's JSON, ``extra_info``), then
scores each task's reference solution and a wrong one with
``closedloop.serve.verl.compute_score_batch`` (as veRL's ``batch`` reward manager calls it) and
prints the pass rates. Then train with veRL (on a GPU machine)::

    python -m verl.trainer.main_ppo \\
        data.train_files=/tmp/cl_verl/train.parquet data.val_files=/tmp/cl_verl/train.parquet \\
        custom_reward_function.path=pkg://closedloop.serve.verl \\
        custom_reward_function.name=compute_score \\
        actor_rollout_ref.model.path=Qwen/Qwen2.5-Coder-0.5B-Instruct ...

Add ``+custom_reward_function.reward_kwargs.url=http://HOST:8000`` (or set
``CLOSEDLOOP_SERVE_URL`` for the Ray workers) to verify on a ``closedloop serve`` server;
without it each reward worker verifies in a sandbox pool of its own.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from closedloop.serve import verl as cl_verl
from closedloop.tasks.format import load_tasks

SLICE = Path(__file__).resolve().parent / "tasks" / "mbpp_slice.jsonl"
DATA_SOURCE = "closedloop/mbpp"


def verl_rows(tasks) -> list[dict]:
    """One veRL RL-dataset row per task."""
    return [
        {
            "data_source": DATA_SOURCE,
            "prompt": [{"role": "user", "content": t.instruction}],
            "ability": "code",
            "reward_model": {"style": "rule", "ground_truth": json.dumps(t.to_json())},
            "extra_info": {"split": "train", "index": i, "task_id": t.id},
        }
        for i, t in enumerate(tasks)
    ]


def main(argv: list[str] | None = None) -> dict[str, float]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, required=True, help="folder for train.parquet")
    ap.add_argument("--url", help="verify on this `closedloop serve` (default: in process)")
    ap.add_argument("--tasks", type=Path, default=SLICE)
    ap.add_argument("--limit", type=int, default=40)
    args = ap.parse_args(argv)
    tasks, _ = load_tasks(args.tasks)
    tasks = tasks[: args.limit]

    import pandas as pd

    rows = verl_rows(tasks)
    args.out.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows).to_parquet(args.out / "train.parquet")

    # read back as veRL does, and score a right and a wrong response per row
    back = pd.read_parquet(args.out / "train.parquet")
    truths = [r["ground_truth"] for r in back["reward_model"] for _ in (0, 1)]
    responses = [
        c
        for t in tasks
        for c in (f"```python\n{t.example_solution}```", f"def {t.entry_point}(*a):\n    pass\n")
    ]
    kw = {"url": args.url} if args.url else {}
    try:
        scores = cl_verl.compute_score_batch(
            [DATA_SOURCE] * len(responses), responses, truths, None, **kw
        )
    finally:
        cl_verl.close()
    out = {
        "tasks": len(tasks),
        "right_pass_rate": sum(s["score"] for s in scores[0::2]) / len(tasks),
        "wrong_pass_rate": sum(s["score"] for s in scores[1::2]) / len(tasks),
    }
    print(f"wrote {args.out / 'train.parquet'}; " + " ".join(f"{k}={v:g}" for k, v in out.items()))
    return out


if __name__ == "__main__":
    main()
