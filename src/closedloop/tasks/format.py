"""The task format: one JSON object per line (a public contract, see DESIGN.md).

Checkers: ``check(candidate)`` calls a proxy that behaves like a call of the solution. The
arguments cross as plain data, and what the call did to them in place comes back into the
checker's own objects (lists, dicts, sets, objects' attributes), so a checker may test
in-place mutation. The candidate's exceptions arrive as classes of the same name deriving
from the same builtin (``except ValueError`` catches a ``ValueError`` subclass), except that
``StopIteration`` and ``StopAsyncIteration`` arrive as ``RuntimeError`` (as PEP 479 does for
generators), so that they cannot end a checker's ``map`` or ``zip`` early. Expected outputs
may not hold NaN (nothing equals it), and no checker receives NaN from a candidate (it passes
every negated comparison, ``assert not candidate(x) > 5``: it is the candidate's error): a task
whose answer is undefined somewhere asks for ``None`` or a string there instead. A checker
cannot see what the candidate prints or give it standard input (the candidate runs in another
process): judge printed output as an ``answer`` task, or wrap the program as a function of
its input text returning its output text. A checker's function passed to the candidate
(``candidate(xs, key=lambda x: -x)``, ``candidate(str.lower, words)``) is a function there
that calls back into the checker's process while that call runs (its arguments and result
plain data, its exceptions builtin ones); a checker may not hand it ``eval``, ``exec``,
``open`` and their kind. A function the candidate returns (``make_adder(3)(4)``, a
decorator's wrapper) stays in the candidate's process, and the checker calls it there
through a handle.

This module parses and writes task and solution lines. It never runs anything: turning a task
into verdicts is ``closedloop.verify``'s job. Errors name the line and the field, so a
malformed line becomes one ``invalid`` verdict and the rest of a file is still verified.

Example::

    >>> task = parse_task({"kind": "function", "instruction": "sort", "entry_point": "f",
    ...                    "private_tests": [{"input": "([2, 1],)", "output": "[1, 2]"}]})
    >>> task.entry_point, len(task.private_tests), len(task.id)
    ('f', 1, 16)
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from closedloop.sandbox.wire import (
    MAX_TEXT,
    MAX_TOKENS,
    TooManyTokens,
    WireError,
    contains_nan,
    decode_plain,
)

MAX_DEPTH = 100
"""Deepest nesting of lists and objects a task or solution line may have (the wire's own
cap on a value): deeper lines are bad lines, so nothing that copies or encodes a task
(``Task.to_json``, :func:`content_id`) can run out of recursion on one."""


class TaskKind(StrEnum):
    """What a solution to the task is."""

    FUNCTION = "function"  # a Python function called with test inputs, or judged by a checker
    ANSWER = "answer"  # a final answer (or a program printing it), compared after normalising


class Split(StrEnum):
    """Which tests a verification uses: the solver sees public ones, rewards use private ones."""

    PUBLIC = "public"
    PRIVATE = "private"
    ALL = "all"


class TaskFormatError(ValueError):
    """A task or solution line does not follow the format; the message names the field."""


@dataclass(frozen=True)
class TestCase:
    """One I/O test: ``input`` is the literal of the positional-argument tuple."""

    __test__ = False  # not a pytest class

    input: str
    output: str


@dataclass(frozen=True)
class Task:
    """A task in the public format. Build it with :func:`parse_task`, which checks it."""

    id: str
    kind: TaskKind
    instruction: str
    entry_point: str = ""
    prompt: str = ""
    public_tests: tuple[TestCase, ...] = ()
    private_tests: tuple[TestCase, ...] = ()
    checker: str | None = None
    float_tolerance: float | None = None
    example_solution: str | None = None
    failure_cases: tuple[str, ...] = ()
    # Answer tasks: the gold answer and how to compare (exact | numeric | list | set).
    answer: str | None = None
    answer_match: str = "exact"
    source: str = "unknown"
    metadata: dict[str, Any] = field(default_factory=dict)

    def tests(self, split: Split) -> tuple[TestCase, ...]:
        """The I/O tests of a split (``all`` is public then private)."""
        if split is Split.PUBLIC:
            return self.public_tests
        if split is Split.PRIVATE:
            return self.private_tests
        return self.public_tests + self.private_tests

    def to_json(self) -> dict[str, Any]:
        """The task as a JSON-ready dict in the public format."""
        out = asdict(self)
        out["kind"] = str(self.kind)
        return out


@dataclass(frozen=True)
class Solution:
    """One solution line: ``{"task_id": ..., "solution": "..."}``."""

    task_id: str
    solution: str
    line: int = 0


_STR_FIELDS = ("instruction", "entry_point", "prompt", "source", "answer_match")
_KNOWN = {
    "id", "kind", "instruction", "entry_point", "prompt", "public_tests", "private_tests",
    "checker", "float_tolerance", "example_solution", "failure_cases", "answer",
    "answer_match", "source", "metadata",
}  # fmt: skip
ANSWER_MATCHES = ("exact", "numeric", "list", "set")


def content_id(obj: dict[str, Any]) -> str:
    """A stable id for a task without one: a hash of its other fields.

    Any text hashes, lone surrogates included (encoded as themselves, so the id of every
    other task is what it always was). Raises :class:`TaskFormatError` for fields JSON
    cannot encode (an int past the digit limit, nesting past the recursion limit)."""
    rest = {k: v for k, v in obj.items() if k != "id"}
    try:
        blob = json.dumps(rest, sort_keys=True, ensure_ascii=False, default=str)
    except (ValueError, RecursionError) as e:
        raise TaskFormatError(f"cannot be hashed for an id ({type(e).__name__}: {e})") from None
    return hashlib.sha256(blob.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def _tests(obj: dict[str, Any], name: str) -> tuple[TestCase, ...]:
    raw = obj.get(name) or []
    if not isinstance(raw, list):
        raise TaskFormatError(f"{name}: expected a list of {{input, output}} objects")
    out = []
    for i, t in enumerate(raw):
        if not isinstance(t, dict) or not isinstance(t.get("input"), str):
            raise TaskFormatError(f"{name}[{i}]: expected an object with a string 'input'")
        if not isinstance(t.get("output"), str):
            raise TaskFormatError(f"{name}[{i}]: expected a string 'output' (a Python literal)")
        where = f"{name}[{i}].input"
        if len(t["input"]) > MAX_TEXT:  # decode_plain refuses it too; this says it for authors
            raise TaskFormatError(
                f"{where}: {len(t['input']):,} characters, over the {MAX_TEXT:,} the sandbox"
                " wire carries (no solution could ever be run on it)"
            )
        try:  # the decoder of the candidate's process: what parses here can be run
            args = decode_plain(t["input"])
        except TooManyTokens:
            raise TaskFormatError(
                f"{where}: more than {MAX_TOKENS:,} tokens, over the sandbox wire's cap"
            ) from None
        except WireError as e:
            raise TaskFormatError(f"{where}: not a literal the sandbox can carry ({e})") from None
        if not isinstance(args, tuple):
            raise TaskFormatError(
                f"{name}[{i}].input: must be a tuple of positional arguments, e.g. '([1, 2],)'"
            )
        try:  # the verifier's own decoder: what parses here is what a verdict compares with
            expected = decode_plain(t["output"])
        except WireError as e:
            raise TaskFormatError(f"{name}[{i}].output: not a plain literal ({e})") from None
        if contains_nan(expected):
            raise TaskFormatError(
                f"{name}[{i}].output: holds NaN, which equals nothing, so no solution could pass;"
                " ask for None or a string where the answer is undefined"
            )
        out.append(TestCase(input=t["input"], output=t["output"]))
    return tuple(out)


def parse_task(obj: Any) -> Task:
    """Check a decoded JSON object against the format and build a :class:`Task`.

    Raises :class:`TaskFormatError` naming the offending field.
    """
    if not isinstance(obj, dict):
        raise TaskFormatError("a task must be a JSON object")
    extra = sum(1 for k in obj if k not in _KNOWN)
    if extra:  # named in the task's order, five at most: a task may hold a million
        first = [k[:60] if isinstance(k, str) else k for k in obj if k not in _KNOWN][:5]
        more = f" and {extra - 5} more" if extra > 5 else ""
        raise TaskFormatError(f"unknown field(s) {first}{more}; known: {sorted(_KNOWN)}")
    try:
        kind = TaskKind(obj.get("kind", "function"))
    except ValueError:
        raise TaskFormatError(
            f"kind: {obj.get('kind')!r} is not one of {[k.value for k in TaskKind]}"
        ) from None
    for name in _STR_FIELDS:
        if name in obj and obj[name] is not None and not isinstance(obj[name], str):
            raise TaskFormatError(f"{name}: expected a string")
    for name in ("checker", "example_solution", "answer"):
        if obj.get(name) is not None and not isinstance(obj[name], str):
            raise TaskFormatError(f"{name}: expected a string or null")
    public, private = _tests(obj, "public_tests"), _tests(obj, "private_tests")
    checker = obj.get("checker") or None
    entry_point = obj.get("entry_point") or ""
    if kind is TaskKind.FUNCTION:
        if not entry_point.isidentifier():
            raise TaskFormatError(f"entry_point: {entry_point!r} is not a Python identifier")
        if not (public or private or checker):
            raise TaskFormatError("a function task needs tests or a checker")
        if checker is not None and "def check" not in checker:
            raise TaskFormatError("checker: must define check(candidate)")
    else:
        if obj.get("answer") is None:
            raise TaskFormatError("answer: an answer task needs a gold answer")
        if obj.get("answer_match", "exact") not in ANSWER_MATCHES:
            raise TaskFormatError(f"answer_match: must be one of {ANSWER_MATCHES}")
        if public or private or checker:
            # an answer task is judged against its gold answer alone: public tests would be
            # scored against it too, and a feedback turn would show the gold answer
            raise TaskFormatError(
                "an answer task is judged by its answer alone: no public_tests, private_tests "
                "or checker"
            )
    tol = obj.get("float_tolerance")
    if tol is not None and (
        isinstance(tol, bool)
        or not isinstance(tol, int | float)
        or not 0 <= tol <= sys.float_info.max  # no NaN, infinity, or int too big for a float
    ):
        raise TaskFormatError("float_tolerance: expected a finite non-negative number or null")
    failures = obj.get("failure_cases") or []
    if not isinstance(failures, list) or not all(isinstance(f, str) for f in failures):
        raise TaskFormatError("failure_cases: expected a list of strings")
    metadata = obj.get("metadata") or {}
    if not isinstance(metadata, dict):
        raise TaskFormatError("metadata: expected an object")
    task_id = obj.get("id") or content_id(obj)
    if not isinstance(task_id, str):
        raise TaskFormatError("id: expected a string")
    return Task(
        id=task_id,
        kind=kind,
        instruction=obj.get("instruction") or "",
        entry_point=entry_point,
        prompt=obj.get("prompt") or "",
        public_tests=public,
        private_tests=private,
        checker=checker,
        float_tolerance=float(tol) if tol is not None else None,
        example_solution=obj.get("example_solution"),
        failure_cases=tuple(failures),
        answer=obj.get("answer"),
        answer_match=obj.get("answer_match") or "exact",
        source=obj.get("source") or "unknown",
        metadata=metadata,
    )


@dataclass(frozen=True)
class BadLine:
    """A line that could not be parsed: where it is and why."""

    line: int
    reason: str
    task_id: str | None = None


def _depth_over(obj: Any, limit: int) -> bool:
    """Whether lists and objects in ``obj`` nest deeper than ``limit`` (iterative)."""
    stack = [(obj, 1)]
    while stack:
        x, d = stack.pop()
        if isinstance(x, dict):
            x = x.values()
        elif not isinstance(x, list):
            continue
        if d > limit:
            return True
        stack.extend((v, d + 1) for v in x if isinstance(v, dict | list))
    return False


def _decode_line(raw: str) -> Any:
    """The JSON value of one line; raises ``ValueError`` with a one-line reason."""
    try:
        obj = json.loads(raw)
    except json.JSONDecodeError as e:
        raise ValueError(f"not valid JSON ({e.msg} at column {e.colno})") from None
    except RecursionError:
        raise ValueError(f"not usable JSON (nested deeper than {MAX_DEPTH} levels)") from None
    except ValueError as e:  # an int past the digit limit (json raises it unwrapped)
        if "digits" in str(e):
            limit = sys.get_int_max_str_digits()
            raise ValueError(f"not usable JSON (a number of more than {limit:,} digits)") from None
        raise ValueError(f"not usable JSON ({e})") from None
    if (raw.count("[") + raw.count("{")) > MAX_DEPTH and _depth_over(obj, MAX_DEPTH):
        raise ValueError(f"not usable JSON (nested deeper than {MAX_DEPTH} levels)")
    return obj


def read_jsonl(path: Path) -> Iterator[tuple[int, Any | BadLine]]:
    """Yield ``(line_number, decoded_object | BadLine)`` for each non-blank line.

    A line that is not JSON, nests deeper than :data:`MAX_DEPTH` or holds an int past
    Python's digit limit is a :class:`BadLine` naming the file and line.
    Raises ``OSError`` when the file cannot be opened; a bad line never stops the iteration.
    """
    name = Path(path).name
    # utf-8-sig: a byte-order mark that an editor put at the file's start is not part of
    # line 1 (it made the first task unreadable, and every solution for it "unknown")
    with open(path, encoding="utf-8-sig", errors="replace") as fh:
        for n, raw in enumerate(fh, start=1):
            if not raw.strip():
                continue
            try:
                yield n, _decode_line(raw)
            except ValueError as e:
                yield n, BadLine(n, f"{name} line {n}: {e}")


def require_unique_ids(tasks: Iterable[Task]) -> None:
    """Raise ``ValueError`` naming the first task id that more than one task carries. Scores
    are kept by task id, so a set that repeats one would count it once and divide by both."""
    seen: set[str] = set()
    for t in tasks:
        if t.id in seen:
            raise ValueError(f"task id {t.id!r} appears more than once; give each task its own id")
        seen.add(t.id)


def load_tasks(path: Path) -> tuple[list[Task], list[BadLine]]:
    """Read a task file; malformed lines come back as :class:`BadLine` with the reason."""
    tasks, bad = [], []
    for n, obj in read_jsonl(path):
        if isinstance(obj, BadLine):
            bad.append(obj)
            continue
        try:
            tasks.append(parse_task(obj))
        except TaskFormatError as e:
            tid = obj.get("id") if isinstance(obj, dict) else None
            bad.append(
                BadLine(n, f"{path.name} line {n}: {e}", tid if isinstance(tid, str) else None)
            )
    return tasks, bad


def load_solutions(path: Path) -> tuple[list[Solution], list[BadLine]]:
    """Read a solutions file (``task_id`` and ``solution`` per line)."""
    sols, bad = [], []
    for n, obj in read_jsonl(path):
        if isinstance(obj, BadLine):
            bad.append(obj)
            continue
        if not isinstance(obj, dict):
            bad.append(BadLine(n, f"{path.name} line {n}: a solution must be a JSON object"))
            continue
        tid, sol = obj.get("task_id"), obj.get("solution")
        if not isinstance(tid, str) or not tid:
            bad.append(BadLine(n, f"{path.name} line {n}: task_id: expected a non-empty string"))
        elif sol is None:  # a field named otherwise ("code", "completion"): say which
            fields = ", ".join(repr(k) for k in list(obj)[:8])
            why = f"solution: missing (the line has {fields}; a solution line is task_id, solution)"
            bad.append(BadLine(n, f"{path.name} line {n}: {why}", tid))
        elif not isinstance(sol, str):
            bad.append(BadLine(n, f"{path.name} line {n}: solution: expected a string", tid))
        else:
            sols.append(Solution(task_id=tid, solution=sol, line=n))
    return sols, bad


_SEPARATORS = {0x2028: "\\u2028", 0x2029: "\\u2029", 0x85: "\\u0085"}


def task_line(obj: Any) -> str:
    """One JSON line (no newline) for ``obj`` that any UTF-8 writer takes and any reader
    splitting lines reads as one line, and that reads back as the same value: a line holding
    a lone surrogate (which UTF-8 cannot encode) is written with ASCII escapes, and the line
    separators U+2028, U+2029 and U+0085 as escapes (as closedloop.verify.text.json_line
    does, but losing nothing: a task is data, not a candidate's message)."""
    text = json.dumps(obj, ensure_ascii=False)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = json.dumps(obj, ensure_ascii=True)
    return text.translate(_SEPARATORS)


def write_tasks(tasks: list[Task], path: Path) -> None:
    """Write tasks as JSONL in the public format (each line :func:`task_line`).

    The file appears whole or not at all: lines go to a temporary file beside it, renamed
    over ``path`` once all are written (a write that fails leaves ``path`` as it was). A
    path that is not a regular file (``/dev/stdout``, a pipe) is written in place."""
    path = Path(path)
    if path.is_symlink():  # replace the file it names, not the link
        path = path.resolve()
    lines = [task_line(t.to_json()) + "\n" for t in tasks]  # every line encodes before any write
    if path.exists() and not path.is_file():
        with open(path, "w", encoding="utf-8") as fh:
            fh.writelines(lines)
        return
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.writelines(lines)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
