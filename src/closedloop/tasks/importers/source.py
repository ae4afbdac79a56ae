"""Reading a benchmark's source file into records, with one error for every way it can be
the wrong file: not there, not text, not gzip, not JSON, records that are not objects or
lack a field the importer needs.

The importers raise :class:`SourceFileError` for a file they cannot read as their format
(the message names the file, the line and what was expected) and their own record errors
for a record they read but cannot turn into a task.
"""

from __future__ import annotations

import gzip
import json
import zlib
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any


class SourceFileError(ValueError):
    """A source file an importer cannot read as its format; the message names the file."""


def read_text(path: Path, *, gzipped: bool = False) -> str:
    """The UTF-8 text of ``path`` (decompressed first when ``gzipped``)."""
    try:
        if gzipped:
            with gzip.open(path, "rb") as fh:
                data = fh.read()
        else:
            data = Path(path).read_bytes()
    except (gzip.BadGzipFile, EOFError, zlib.error):
        raise SourceFileError(f"{path}: not a gzip file (is it the right file?)") from None
    except OSError as e:
        raise SourceFileError(f"{path}: cannot read ({e.strerror or e})") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise SourceFileError(
            f"{path}: not UTF-8 text (byte {e.start}); is it the right file?"
        ) from None


def json_lines(path: Path, text: str) -> list[Any]:
    """The JSON value of each non-blank line of ``text`` (read from ``path``)."""
    out = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError as e:
            raise SourceFileError(f"{path} line {n}: not JSON ({e.msg})") from None
    return out


def records(path: Path, values: Iterable[Any], required: Sequence[str]) -> list[dict[str, Any]]:
    """``values`` checked to be JSON objects holding every ``required`` field."""
    out = []
    for n, rec in enumerate(values, 1):
        if not isinstance(rec, dict):
            raise SourceFileError(
                f"{path} record {n}: expected a JSON object, found {type(rec).__name__}"
            )
        missing = [k for k in required if k not in rec]
        if missing:
            raise SourceFileError(f"{path} record {n}: no {', '.join(missing)} field")
        out.append(rec)
    return out
