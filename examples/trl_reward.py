"""closedloop as the reward of TRL's GRPOTrainer: the reward function, over HTTP and in process.

Run it (a server is started in this process unless --url names one already running, e.g.
``closedloop serve --tasks examples/tasks/mbpp_slice.jsonl``)::

    PYTHONPATH=src python examples/trl_reward.py [--url http://127.0.0.1:8000] [--limit 40]

It scores each task's reference solution and a wrong one, the call GRPOTrainer makes once per
batch, and prints the pass rates (1.0 and 0.0 when all is well). In a trainer::

    from closedloop.serve.trl import verifier_reward
    reward = verifier_reward(url="http://127.0.0.1:8000")
    trainer = GRPOTrainer(model, reward_funcs=reward, train_dataset=ds, args=GRPOConfig(...))

where ``ds`` has a ``prompt`` column (the task's instruction) and a ``task_id`` column.
"""

from __future__ import annotations

import argparse
from contextlib import ExitStack
from pathlib import Path

from closedloop.serve.trl import local_reward, verifier_reward
from closedloop.tasks.format import load_tasks

SLICE = Path(__file__).resolve().parent / "tasks" / "mbpp_slice.jsonl"


def main(argv: list[str] | None = None) -> dict[str, float]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--url", help="a running `closedloop serve` (default: start one here)")
    ap.add_argument("--tasks", type=Path, default=SLICE)
    ap.add_argument("--limit", type=int, default=40)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args(argv)
    tasks, _ = load_tasks(args.tasks)
    tasks = tasks[: args.limit]

    # what a GRPO batch looks like: prompts, completions, and the dataset's task_id column
    prompts = [t.instruction for t in tasks for _ in (0, 1)]
    completions = [
        c
        for t in tasks
        for c in (f"```python\n{t.example_solution}```", f"def {t.entry_point}(*a):\n    pass\n")
    ]
    ids = [t.id for t in tasks for _ in (0, 1)]

    with ExitStack() as stack:
        if args.url is None:
            from closedloop.sandbox import SandboxLimits
            from closedloop.serve.app import make_app
            from closedloop.serve.background import background_server
            from closedloop.verify import Verifier

            v = stack.enter_context(Verifier(args.workers, SandboxLimits(wall_s=10.0)))
            args.url = stack.enter_context(background_server(make_app(v, tasks)))
        http = stack.enter_context(verifier_reward(url=args.url))
        over_http = http(prompts, completions, task_id=ids)
    with local_reward(tasks, workers=args.workers) as reward:  # the pool stops with the block
        in_process = reward(prompts, completions, task_id=ids)

    out = {
        "tasks": len(tasks),
        "right_pass_rate": sum(over_http[0::2]) / len(tasks),
        "wrong_pass_rate": sum(over_http[1::2]) / len(tasks),
        "http_equals_in_process": float(over_http == in_process),
    }
    print(" ".join(f"{k}={v:g}" for k, v in out.items()))
    return out


if __name__ == "__main__":
    main()
