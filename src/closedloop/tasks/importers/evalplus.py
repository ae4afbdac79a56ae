"""EvalPlus (Liu et al. 2023): HumanEval+ and MBPP+ ``.jsonl.gz`` releases, from a path.

Records carry inputs only (``base_input`` then ``plus_input``, each a list of arguments).
Expected outputs come from running the record's ``canonical_solution`` on every input through
``Verifier.call`` (in the sandbox, like any code); an input on which the canonical solution
errors, times out or returns something that is not plain data is dropped and counted in
``metadata["dropped_inputs"]``. ``atol`` becomes ``float_tolerance`` (0 means exact).
Inputs that are not Python literals (NaN, infinities) are dropped too.

JSON turned tuples (and sets, complex numbers) in MBPP+ inputs into lists and strings; we
restore them for the tasks EvalPlus itself restores (``restore_mbpp_types``). As EvalPlus
does, a tolerance of 1e-6 is used when ``atol`` is 0 and expected outputs are floats.

Departures from EvalPlus's own evaluator: it judges a few tasks with special oracles
(HumanEval/32 ``find_zero`` checks ``|poly(x)| <= atol`` rather than equal roots; Mbpp/164
accepts anything; Mbpp/295 also accepts 0; three MBPP+ tasks compare only ``is not None``);
we compare returned values only, so those tasks are stricter here and may fail validation.
EvalPlus also compares the outputs of eight MBPP+ tasks as sets (:data:`SET_EQUALITY_TASKS`);
here their verdict follows set iteration order, which follows the sandbox process's hash seed,
so a correct answer passes or fails by chance (held-out sets leave them out).
"""

from __future__ import annotations

import ast
import math
import re
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from closedloop.tasks.format import Task, parse_task
from closedloop.tasks.importers.source import SourceFileError, json_lines, read_text, records
from closedloop.tasks.literals import literal_text
from closedloop.verify import CallJob

if TYPE_CHECKING:
    from closedloop.verify import CallResult, VerificationBackend

SOURCE_HUMANEVAL_PLUS = "humanevalplus"
SOURCE_MBPP_PLUS = "mbppplus"


SET_EQUALITY_TASKS = frozenset(
    {"Mbpp/2", "Mbpp/7", "Mbpp/111", "Mbpp/140", "Mbpp/232", "Mbpp/249", "Mbpp/579", "Mbpp/769"}
)
"""MBPP+ tasks whose outputs EvalPlus compares as sets, order ignored (its
``MBPP_OUTPUT_SET_EQ_TASKS``, evalplus/eval/_special_oracle.py, v0.3.1): their references
build the result from a set (Mbpp/2: ``tuple(set(a) & set(b))``)."""

REQUIRED = ("task_id", "entry_point", "canonical_solution")
"""The fields of an EvalPlus record the importer needs (besides the inputs and ``prompt``)."""
_TYPES = {
    "task_id": str,
    "entry_point": str,
    "canonical_solution": str,
    "prompt": str,
    "base_input": (list, dict),  # MbppPlus has a record whose plus_input is {} (no inputs)
    "plus_input": (list, dict),
}


def read_records(path: Path) -> list[dict[str, Any]]:
    """The records of an EvalPlus release (``.jsonl.gz`` or plain ``.jsonl``). Raises
    :class:`SourceFileError` for a file that is not one."""
    text = read_text(path, gzipped=str(path).endswith(".gz"))
    out = records(path, json_lines(path, text), REQUIRED, _TYPES)
    for n, rec in enumerate(out, 1):
        where = f"{path} record {n} ({rec['task_id']})"
        if not rec["entry_point"].isidentifier():
            raise SourceFileError(f"{where}: entry_point {rec['entry_point']!r:.60} is not a name")
        if not str(rec["task_id"]).startswith("Mbpp/") and not isinstance(rec.get("prompt"), str):
            raise SourceFileError(f"{where}: a HumanEval+ record needs its prompt")
        atol = rec.get("atol")
        if atol is not None and not (isinstance(atol, int | float) and 0 <= atol < math.inf):
            raise SourceFileError(f"{where}: atol must be a finite number >= 0, found {atol!r:.60}")
    return out


# MBPP+ tasks whose inputs had tuples, sets or complex numbers that JSON flattened; the
# groups and their repairs follow EvalPlus's ``mbpp_deserialize_inputs`` (evalplus/data/mbpp.py).
_TUPLE_ARGS = {2, 116, 132, 143, 222, 261, 273, 394, 399, 421, 424, 429, 470, 560, 579, 596,
               616, 630, 726, 740, 744, 809}  # fmt: skip
_TUPLES_IN_ARGS = {63, 64, 70, 94, 120, 237, 272, 299, 400, 409, 417, 438, 473, 614, 780}
_TUPLES_IN_FIRST = {75, 413, 444, 753}
_SECOND_TUPLE = {106, 750}
_FIRST_TUPLE = {250, 405, 446, 617, 720, 763, 808}
_TUPLES_IN_TUPLE_ARGS = {259, 401, 445}
_ALL_TUPLES = {580, 615, 791}


def _deep_tuple(x: Any) -> Any:
    return tuple(_deep_tuple(i) for i in x) if isinstance(x, list) else x


def restore_mbpp_types(task_id: str, args: list[Any]) -> list[Any]:
    """Undo what JSON did to one MBPP+ input (tuples became lists, complex became text)."""
    n = int(task_id.rsplit("/", 1)[-1])
    if n in _TUPLE_ARGS:
        return [tuple(a) for a in args]
    if n in _TUPLES_IN_ARGS:
        return [[tuple(x) for x in a] for a in args]
    if n in _TUPLES_IN_FIRST:
        return [[tuple(x) for x in args[0]], args[1]]
    if n in _SECOND_TUPLE:
        return [args[0], tuple(args[1])]
    if n == 115:
        return [[set(i) if isinstance(i, list) and i else {} for i in args[0]]]
    if n == 124:
        return [float(args[0]), complex(args[1])]
    if n in _FIRST_TUPLE:
        return [tuple(args[0]), args[1]]
    if n in _TUPLES_IN_TUPLE_ARGS:
        return [tuple(tuple(x) for x in a) for a in args]
    if n == 278:
        return [tuple(tuple(i) if isinstance(i, list) else i for i in args[0])]
    if n == 307:
        return [tuple(args[0]), args[1], args[2]]
    if n == 722:
        return [{k: tuple(v) for k, v in args[0].items()}, *args[1:]]
    if n == 252:
        return [complex(args[0])]
    if n in _ALL_TUPLES:
        return list(_deep_tuple(args))
    return args


def _inputs(rec: dict[str, Any], max_tests: int | None) -> tuple[list[str], int]:
    out: list[str] = []
    dropped = 0
    mbpp = str(rec["task_id"]).startswith("Mbpp/")
    for args in list(rec.get("base_input") or []) + list(rec.get("plus_input") or []):
        if mbpp and isinstance(args, list):
            try:
                args = restore_mbpp_types(rec["task_id"], args)
            except (TypeError, ValueError, IndexError, AttributeError):
                dropped += 1
                continue
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


class EvalPlusRecordError(ValueError):
    """A record the importer cannot turn into a task; the message names the record."""


def _has_float(literal: str) -> bool:
    try:
        value = ast.literal_eval(literal)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return False
    if isinstance(value, float):
        return True
    return isinstance(value, list | tuple) and any(isinstance(v, float) for v in value)


def _job(rec: dict[str, Any], max_tests: int | None) -> tuple[CallJob, int]:
    """The call of a record's canonical solution on its inputs, and how many inputs were
    dropped before calling."""
    shape = _shape(rec)
    inputs, dropped = _inputs(rec, max_tests)
    return CallJob(shape["example_solution"], rec["entry_point"], inputs, shape["prompt"]), dropped


def evalplus_task(
    rec: dict[str, Any],
    verifier: VerificationBackend,
    max_tests: int | None = None,
    public: int = 0,
) -> Task:
    """One EvalPlus record as a task with expected outputs computed in the sandbox.

    The first ``public`` inputs become public tests, the rest private.
    """
    job, dropped = _job(rec, max_tests)
    results = verifier.call(job.code, job.entry_point, list(job.inputs), job.prompt)
    return _task(rec, job, dropped, results, public)


def _task(
    rec: dict[str, Any],
    job: CallJob,
    dropped: int,
    results: Sequence[CallResult],
    public: int,
) -> Task:
    """The task of a record, from the canonical solution's results on the job's inputs.

    Raises :class:`EvalPlusRecordError` when no input gave a usable output.
    """
    infra = next((r for r in results if r.infra_error), None)
    if infra is not None:  # the sandbox failed, not the canonical solution
        raise EvalPlusRecordError(f"{rec['task_id']}: not run: {infra.error}")
    shape = _shape(rec)
    tests = []
    for inp, res in zip(job.inputs, results, strict=True):
        if res.ok and res.value is not None:
            tests.append({"input": inp, "output": res.value})
        else:
            dropped += 1
    if not tests:
        raise EvalPlusRecordError(
            f"{rec['task_id']}: the canonical solution gave no usable output on any of "
            f"{dropped} inputs"
        )
    atol = float(rec.get("atol") or 0)
    if not atol and any(_has_float(t["output"]) for t in tests):
        atol = 1e-6  # EvalPlus enforces this tolerance when expected outputs are floats
    return parse_task(
        {
            "id": rec["task_id"],
            "kind": "function",
            "instruction": shape["instruction"],
            "entry_point": rec["entry_point"],
            "prompt": shape["prompt"],
            "public_tests": tests[:public],
            "private_tests": tests[public:],
            "float_tolerance": atol or None,
            "example_solution": shape["example_solution"],
            "source": shape["source"],
            "metadata": {"benchmark_id": rec["task_id"], "dropped_inputs": dropped},
        }
    )


def import_evalplus(
    path: Path,
    verifier: VerificationBackend,
    max_tests: int | None = None,
    public: int = 0,
    limit: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    skipped: list[str] | None = None,
) -> list[Task]:
    """The records of an EvalPlus release as tasks (``limit`` keeps the first records only).

    ``progress(done, total)`` is called after each record. A record whose canonical solution
    gives no usable output (or that the sandbox could not run) is left out, and the reason
    appended to ``skipped`` when given.
    """
    records = read_records(Path(path))[:limit]
    jobs = [_job(rec, max_tests) for rec in records]
    done = 0
    lock = threading.Lock()  # jobs finish on the verifier's threads

    def tick(_: list[CallResult]) -> None:
        nonlocal done
        with lock:
            done += 1
            if progress is not None:
                progress(done, len(records))

    calls = verifier.call_many([job for job, _ in jobs], on_done=tick)
    tasks: list[Task] = []
    for rec, (job, dropped), results in zip(records, jobs, calls, strict=True):
        try:
            tasks.append(_task(rec, job, dropped, results, public))
        except EvalPlusRecordError as e:
            if skipped is not None:
                skipped.append(str(e))
    return tasks
