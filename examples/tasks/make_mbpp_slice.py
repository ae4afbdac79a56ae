"""Write ``mbpp_slice.jsonl``: 40 MBPP tasks for the adapter examples, in closedloop's format.

The slice is the first 40 tasks of MBPP's test split (task ids 11-510) in the shipped
sanitized file (``closedloop.data.MBPP_SANITIZED``), each kept only when its reference solution
passes in the sandbox, so every task in the file has a known right answer
(``example_solution``). Rerun it to check the file is what this script makes::

    PYTHONPATH=src python examples/tasks/make_mbpp_slice.py

MBPP: Austin et al. 2021, Google Research; Apache-2.0 / CC BY 4.0 (see
``src/closedloop/data/README.md`` and ``src/closedloop/data/mbpp/LICENSE``).
"""

from __future__ import annotations

from pathlib import Path

from closedloop.data import MBPP_SANITIZED
from closedloop.tasks.format import write_tasks
from closedloop.tasks.importers.mbpp import import_mbpp
from closedloop.verify import Outcome, Verifier

OUT = Path(__file__).resolve().parent / "mbpp_slice.jsonl"
COUNT = 40
TEST_SPLIT = range(11, 511)
"""MBPP's test split (the paper's task ids 11-510)."""


def main() -> None:
    tasks = [t for t in import_mbpp(MBPP_SANITIZED) if t.metadata["benchmark_id"] in TEST_SPLIT]
    with Verifier(workers=2) as v:
        verdicts = v.verify_many([(t, t.example_solution or "") for t in tasks[: COUNT + 10]])
    good = [t for t, vd in zip(tasks, verdicts, strict=False) if vd.outcome is Outcome.PASS]
    write_tasks(good[:COUNT], OUT)
    print(f"wrote {min(COUNT, len(good))} tasks to {OUT}")


if __name__ == "__main__":
    main()
