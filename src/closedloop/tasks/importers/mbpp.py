"""MBPP (Austin et al. 2021) from a path to ``mbpp.jsonl`` (or ``sanitized-mbpp.json``).

MBPP tests are ``assert`` lines that call the function by name. The checker binds that name
to ``candidate`` inside ``check(candidate)``, after ``test_imports`` and ``test_setup_code``.
The entry point is the function the asserts call that the reference ``code`` defines. When the
asserts or the setup use a module the reference imports (``sys``) or a class it defines
(``Node``, ``Pair``), that import or class definition is copied into the checker's header:
MBPP ran tests in the solution's namespace, our checker runs in a judge process.

The instruction is MBPP's prompt as in the paper: the problem text, then "Your code should
pass these tests:" and the asserts (so the tests are visible to the solver, as in MBPP).
"""

from __future__ import annotations

import ast
import json
import textwrap
from pathlib import Path
from typing import Any

from closedloop.tasks.format import Task, TaskFormatError, parse_task
from closedloop.tasks.importers.source import SourceFileError, json_lines, read_text, records
from closedloop.tasks.literals import parse_code

SOURCE = "mbpp"


class MbppRecordError(ValueError):
    """An MBPP record the importer cannot turn into a task; the message names the record."""


REQUIRED = ("task_id", "code", "test_list")
"""The fields of an MBPP record the importer reads (besides ``text`` or ``prompt``)."""
_TYPES = {
    "task_id": (int, str),
    "code": str,
    "test_list": list,
    "test_imports": list,
    "test_setup_code": str,
    "text": str,
    "prompt": str,
}


def _load(path: Path) -> list[dict[str, Any]]:
    """The records of ``path``; raises :class:`SourceFileError` when it is not an MBPP file."""
    text = read_text(path)
    if text.lstrip().startswith("["):  # sanitized-mbpp.json is one JSON array
        try:
            values = json.loads(text)
        except json.JSONDecodeError as e:
            raise SourceFileError(f"{path} line {e.lineno}: not JSON ({e.msg})") from None
        except RecursionError:
            raise SourceFileError(f"{path}: JSON nested too deeply") from None
    else:
        values = json_lines(path, text)
    out = records(path, values, REQUIRED, _TYPES)
    for n, rec in enumerate(out, 1):
        for key in ("test_list", "test_imports"):
            if any(not isinstance(x, str) for x in rec.get(key) or []):
                raise SourceFileError(f"{path} record {n}: {key} must hold strings only")
    return out


def _called_names(tests: list[str]) -> list[str]:
    out: list[str] = []
    for t in tests:
        for node in ast.walk(parse_code(t)):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id not in out
            ):
                out.append(node.func.id)
    return out


def _used_names(code: str) -> set[str]:
    return {n.id for n in ast.walk(parse_code(code)) if isinstance(n, ast.Name)}


def _header(code_tree: ast.Module, used: set[str]) -> str:
    parts = []
    for node in code_tree.body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            bound = {(a.asname or a.name).split(".")[0] for a in node.names}
            if bound & used:
                parts.append(ast.unparse(node))
        elif isinstance(node, ast.ClassDef) and node.name in used:
            parts.append(ast.unparse(node))
    return "\n".join(parts)


def mbpp_task(rec: dict[str, Any]) -> Task:
    """One MBPP record as a task. Raises :class:`MbppRecordError` when it cannot be built."""
    tid = rec.get("task_id")
    code = str(rec.get("code", "")).replace("\r\n", "\n")
    tests = [str(t).replace("\r\n", "\n").strip() for t in rec.get("test_list", [])]
    setup = str(rec.get("test_setup_code") or "").replace("\r\n", "\n")
    imports = rec.get("test_imports") or []
    try:
        tree = parse_code(code)
        defs = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
        entry = next((n for n in _called_names(tests) if n in defs), None)
        used = set().union(*(_used_names(t) for t in tests), _used_names(setup) if setup else set())
    except SyntaxError as e:
        raise MbppRecordError(f"MBPP task {tid}: code or tests do not parse ({e})") from None
    if entry is None:
        raise MbppRecordError(
            f"MBPP task {tid}: no function defined in code is called by the tests"
        )
    body = "\n".join([f"{entry} = candidate", *tests])
    checker = (
        "\n".join(p for p in ("\n".join(imports), _header(tree, used), setup.strip()) if p)
        + f"\n\n\ndef check(candidate):\n{textwrap.indent(body, '    ')}\n"
    )
    text = str(rec.get("text") or rec.get("prompt") or "")
    instruction = f"{text}\nYour code should pass these tests:\n\n" + "\n".join(tests)
    try:
        return parse_task(
            {
                "id": f"mbpp/{tid}",
                "kind": "function",
                "instruction": instruction,
                "entry_point": entry,
                "checker": checker,
                "example_solution": code,
                "source": SOURCE,
                "metadata": {"benchmark_id": tid},
            }
        )
    except TaskFormatError as e:
        raise MbppRecordError(f"MBPP task {tid}: {e}") from None


def import_mbpp(path: Path) -> list[Task]:
    """All records of an MBPP file as tasks (974 for the full ``mbpp.jsonl``).

    Raises :class:`SourceFileError` for a file that is not MBPP's format and
    :class:`MbppRecordError` for a record that cannot become a task."""
    return [mbpp_task(rec) for rec in _load(Path(path))]
