"""Tasks already in the public format, from a JSONL file."""

from __future__ import annotations

from pathlib import Path

from closedloop.tasks.format import Task, TaskFormatError, load_tasks


def import_jsonl(path: Path, strict: bool = True) -> list[Task]:
    """The tasks of a JSONL file. With ``strict``, a malformed line raises
    :class:`TaskFormatError` naming it; otherwise malformed lines are skipped."""
    tasks, bad = load_tasks(Path(path))
    if bad and strict:
        raise TaskFormatError(f"{len(bad)} malformed line(s); first: {bad[0].reason}")
    return tasks
