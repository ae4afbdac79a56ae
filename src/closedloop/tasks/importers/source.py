"""Reading a benchmark's source file into records, with one error for every way it can be
the wrong file: not there, not text, not gzip, not JSON, records that are not objects or
lack a field the importer needs.

The importers raise :class:`SourceFileError` for a file they cannot read as their format
(the message names the file, the line and what was expected) and their own record errors
for a record they read but cannot turn into a task.
"""

from __future__ import annotations

import gzip
import io
import json
import zlib
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any


class SourceFileError(ValueError):
    """A source file an importer cannot read as its format; the message names the file."""


MAX_SOURCE_BYTES = 512 << 20
"""The most bytes a benchmark file may hold, decompressed (the shipped releases hold under 3
MB): a 1 MB gzip of zeros once decompressed to 1 GiB and took 2 GB of memory, and one of
newlines ran the machine out of memory."""


def read_text(path: Path, *, gzipped: bool = False) -> str:
    """The UTF-8 text of ``path`` (decompressed first when ``gzipped``), at most
    :data:`MAX_SOURCE_BYTES` of it (decompressed: read up to the cap, never past it)."""
    try:
        if gzipped:
            with gzip.open(path, "rb") as fh:
                data = fh.read(MAX_SOURCE_BYTES + 1)
        else:
            with open(path, "rb") as fh:
                data = fh.read(MAX_SOURCE_BYTES + 1)
    except (gzip.BadGzipFile, EOFError, zlib.error):
        raise SourceFileError(f"{path}: not a gzip file (is it the right file?)") from None
    except OSError as e:
        raise SourceFileError(f"{path}: cannot read ({e.strerror or e})") from None
    if len(data) > MAX_SOURCE_BYTES:
        raise SourceFileError(
            f"{path}: more than {MAX_SOURCE_BYTES >> 20} MiB"
            f"{' decompressed' if gzipped else ''}; not a benchmark release"
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise SourceFileError(
            f"{path}: not UTF-8 text (byte {e.start}); is it the right file?"
        ) from None


def json_lines(path: Path, text: str) -> list[Any]:
    """The JSON value of each non-blank line of ``text`` (read from ``path``)."""
    out = []
    for n, line in enumerate(io.StringIO(text), 1):  # lazily: a file of newlines is no list
        if not line.strip():
            continue
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError as e:
            raise SourceFileError(f"{path} line {n}: not JSON ({e.msg})") from None
        except RecursionError:
            raise SourceFileError(f"{path} line {n}: JSON nested too deeply") from None
    return out


def records(
    path: Path,
    values: Iterable[Any],
    required: Sequence[str],
    types: Mapping[str, type | tuple[type, ...]] | None = None,
) -> list[dict[str, Any]]:
    """``values`` checked to be JSON objects holding every ``required`` field, and each field
    named in ``types`` (when present) of that type; the error names the record and field."""
    out = []
    for n, rec in enumerate(values, 1):
        if not isinstance(rec, dict):
            raise SourceFileError(
                f"{path} record {n}: expected a JSON object, found {type(rec).__name__}"
            )
        missing = [k for k in required if k not in rec]
        if missing:
            raise SourceFileError(f"{path} record {n}: no {', '.join(missing)} field")
        for key, kind in (types or {}).items():
            value = rec.get(key)
            if value is not None and (not isinstance(value, kind) or isinstance(value, bool)):
                names = (
                    kind.__name__
                    if isinstance(kind, type)
                    else " or ".join(k.__name__ for k in kind)
                )
                raise SourceFileError(
                    f"{path} record {n}: {key} must be {names}, found {type(value).__name__}"
                )
        out.append(rec)
    return out
