"""EvalPlus (Liu et al. 2023): HumanEval+ and MBPP+ ``.jsonl.gz`` releases, from a path.

Records carry inputs only (``base_input`` then ``plus_input``, each a list of arguments).
Expected outputs come from running the record's ``canonical_solution`` on every input through
``Verifier.call`` (in the sandbox, like any code); an input on which the canonical solution
errors, times out or returns something that is not plain data is dropped and counted in
``metadata["dropped_inputs"]``. ``atol`` becomes ``float_tolerance`` (0 means exact).
Inputs that are not Python literals (NaN, infinities) are dropped too.

Departures from EvalPlus's own evaluator: it compares some tasks with bespoke checks (e.g.
HumanEval/32, ``find_zero``, checks ``|poly(x)| < tol`` instead of equal roots) and applies
``contract`` input checks; we compare returned values only, so such tasks may fail
validation. JSON turned tuples in inputs into lists; we pass lists, as EvalPlus does.
"""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from closedloop.tasks.format import Task, parse_task
from closedloop.tasks.probes import literal_text

if TYPE_CHECKING:
    from closedloop.verify import Verifier

SOURCE_HUMANEVAL_PLUS = "humanevalplus"
SOURCE_MBPP_PLUS = "mbppplus"


def read_records(path: Path) -> list[dict[str, Any]]:
    """The records of an EvalPlus release (``.jsonl.gz`` or plain ``.jsonl``)."""
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def _inputs(rec: dict[str, Any], max_tests: int | None) -> tuple[list[str], int]:
    out: list[str] = []
    dropped = 0
    for args in list(rec.get("base_input") or []) + list(rec.get("plus_input") or []):
        text = literal_text(tuple(args)) if isinstance(args, list) else None
        if text is None:
            dropped += 1
        elif text not in out:
            out.append(text)
        if max_tests is not None and len(out) >= max_tests:
            break
    return out, dropped


def _shape(rec: dict[str, Any]) -> dict[str, Any]:
    tid = str(rec["task_id"])
    if tid.startswith("Mbpp/"):
        text = re.sub(r'^\s*"""|"""\s*$', "", rec.get("prompt", "")).strip()
        return {
            "source": SOURCE_MBPP_PLUS,
            "instruction": text,
            "prompt": "",
            "example_solution": rec["canonical_solution"].lstrip("\n"),
        }
    return {
        "source": SOURCE_HUMANEVAL_PLUS,
        "instruction": (
            f"Complete the Python function `{rec['entry_point']}` so that it does what its "
            "docstring says."
        ),
        "prompt": rec["prompt"],
        "example_solution": rec["prompt"] + rec["canonical_solution"],
    }


def evalplus_task(
    rec: dict[str, Any], verifier: Verifier, max_tests: int | None = None, public: int = 0
) -> Task:
    """One EvalPlus record as a task with expected outputs computed in the sandbox.

    The first ``public`` inputs become public tests, the rest private.
    """
    shape = _shape(rec)
    inputs, dropped = _inputs(rec, max_tests)
    results = verifier.call(
        shape["example_solution"], rec["entry_point"], inputs=inputs, prompt=shape["prompt"]
    )
    tests = []
    for inp, res in zip(inputs, results, strict=True):
        if res.ok and res.value is not None:
            tests.append({"input": inp, "output": res.value})
        else:
            dropped += 1
    atol = rec.get("atol") or 0
    return parse_task(
        {
            "id": rec["task_id"],
            "kind": "function",
            "instruction": shape["instruction"],
            "entry_point": rec["entry_point"],
            "prompt": shape["prompt"],
            "public_tests": tests[:public],
            "private_tests": tests[public:],
            "float_tolerance": float(atol) if atol else None,
            "example_solution": shape["example_solution"],
            "source": shape["source"],
            "metadata": {"benchmark_id": rec["task_id"], "dropped_inputs": dropped},
        }
    )


def import_evalplus(
    path: Path,
    verifier: Verifier,
    max_tests: int | None = None,
    public: int = 0,
    limit: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> list[Task]:
    """The records of an EvalPlus release as tasks (``limit`` keeps the first records only).

    ``progress(done, total)`` is called after each record.
    """
    records = read_records(Path(path))[:limit]
    tasks = []
    for i, rec in enumerate(records):
        tasks.append(evalplus_task(rec, verifier, max_tests=max_tests, public=public))
        if progress is not None:
            progress(i + 1, len(records))
    return tasks
