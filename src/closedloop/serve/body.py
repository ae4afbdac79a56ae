"""Request bodies: bounded, then parsed and validated off the event loop.

FastAPI parses a route's JSON body and validates it on the event loop, before the route runs.
A body under the size limit could still cost that loop seconds and the process gigabytes: 32 MiB
of ``[[]]`` is 6.7 M lists (1.2 GB), one item of 2.6 M unknown keys was 2.6 M validation
errors (19.7 s with ``/health`` unanswered, 3.2 GB). So the routes take the raw bytes, and
:func:`parse_body` runs in a worker thread:

1. the body's shape is bounded before any object is built (:func:`shape_problem`: arrays,
   objects and strings counted in C, linear in the bytes);
2. ``json.loads``; a body that is not UTF-8 JSON, nests too deeply or holds an integer past
   Python's digit limit is a 422 that says which (FastAPI answered a 400 naming nothing);
3. lists longer than :data:`~closedloop.serve.limits.MAX_BATCH` are a 413 (split the batch),
   and unknown fields of a model that forbids them a 422 naming them, both before pydantic
   builds an object or an error per element;
4. pydantic validates what is left; its first 20 errors are the 422's ``detail`` (without the
   ``input`` each echoes), as FastAPI's would be.

Must never: run on the event loop, or build more than the bounds allow before refusing.
"""

from __future__ import annotations

import itertools
import json
import re
import typing
from typing import Any, TypeVar

from fastapi.encoders import jsonable_encoder
from pydantic import BaseModel, ValidationError

from closedloop.serve.limits import MAX_BATCH
from closedloop.verify.text import safe_json, safe_text

MAX_CONTAINERS = 1 << 20
"""Most JSON arrays and objects in a body: a full batch of inline tasks with hundreds of tests
each has under a tenth of it; at this cap the parsed body holds ~350 MB."""
MAX_STRINGS = 1 << 20
"""Most JSON strings in a body (four to a test, an item or a key and its value; a full batch
of inline tasks of a thousand tests each has under half). The count itself splits the body
at its strings: 4 M of them cost it 900 MB."""
MAX_ELEMENTS = 1 << 21
"""Most commas and colons outside strings: every value past an array's first and every key
of an object is one, so this bounds the numbers and keys a body builds (8 M floats took
531 MB, 2 M keys 6.8 s)."""
MAX_DETAIL = 1000
"""Longest ``detail`` a refusal carries: a key or an id it quotes may be megabytes."""
MAX_ERRORS = 20
"""Validation errors a 422 lists (a million wrong items made a 94 MB answer)."""

_STRING = re.compile(rb'"[^"]*"')

M = TypeVar("M", bound=BaseModel)


class BodyError(Exception):
    """A body refused before validation: ``status`` (422 or 413) and a one-line ``detail``."""

    def __init__(self, detail: str, status: int = 422) -> None:
        super().__init__(detail)
        self.detail = short(detail)
        self.status = status


def short(text: str, limit: int = MAX_DETAIL) -> str:
    """``text`` made safe to send (:func:`safe_text`) and cut to ``limit`` characters."""
    text = safe_text(text)
    return text if len(text) <= limit else text[: limit - 3] + "..."


class BodyInvalid(Exception):
    """A body pydantic refused: ``errors`` is the 422's ``detail`` (JSON-ready)."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__(f"{len(errors)} validation error(s)")
        self.errors = errors


def shape_problem(data: bytes) -> str | None:
    """Why ``data`` holds more strings or more arrays and objects than any request needs, or
    None. Exact for every prefix of ``data`` that is valid JSON (there a backslash only ever
    starts an escape inside a string), which is as far as ``json.loads`` builds anything."""
    flat = data.replace(b"\\\\", b"").replace(b'\\"', b"")
    if flat.count(b'"') > 2 * MAX_STRINGS:
        return f"body: more than {MAX_STRINGS} strings"
    outside = _STRING.sub(b"", flat)
    if outside.count(b"[") + outside.count(b"{") > MAX_CONTAINERS:
        return f"body: more than {MAX_CONTAINERS} arrays and objects"
    if outside.count(b",") + outside.count(b":") > MAX_ELEMENTS:
        return f"body: more than {MAX_ELEMENTS} values and keys"
    return None


def _item_model(annotation: Any) -> type[BaseModel] | None:
    """The model of a ``list[Model]`` field, else None."""
    if typing.get_origin(annotation) is not list:
        return None
    (arg,) = typing.get_args(annotation) or (None,)
    return arg if isinstance(arg, type) and issubclass(arg, BaseModel) else None


def _forbids_extra(model: type[BaseModel]) -> bool:
    return model.model_config.get("extra") == "forbid"


def _unknown(obj: dict[str, Any], model: type[BaseModel], where: str) -> None:
    known = model.model_fields
    extra = sum(1 for k in obj if k not in known)
    if extra:
        first = [k for k in itertools.islice((k for k in obj if k not in known), 5)]
        names = ", ".join(repr(k[:60]) for k in first)  # in the body's order: no sort
        more = f" and {extra - 5} more" if extra > 5 else ""
        raise BodyError(f"{where}unknown field(s) {names}{more}")


def _precheck(obj: dict[str, Any], model: type[BaseModel]) -> None:
    """Lengths and unknown fields, before pydantic builds an object or an error per element."""
    if _forbids_extra(model):
        _unknown(obj, model, "body: ")
    for name, field in model.model_fields.items():
        value = obj.get(name)
        if not isinstance(value, list):
            continue
        if len(value) > MAX_BATCH:
            raise BodyError(
                f"{name}: {len(value)} entries in one request; the server takes at most "
                f"{MAX_BATCH}: split the batch",
                status=413,
            )
        item = _item_model(field.annotation)
        if item is not None and _forbids_extra(item):
            for i, element in enumerate(value):
                if isinstance(element, dict):
                    _unknown(element, item, f"{name}[{i}]: ")


def parse_body(data: bytes, model: type[M]) -> M:
    """``data`` as a ``model``; :class:`BodyError` or :class:`BodyInvalid` when it is not one.
    CPU-bound: call it off the event loop."""
    try:  # first: json.loads takes UTF-16 and UTF-32 too, where the shape's byte counts lie
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise BodyError(f"body: not UTF-8 text (byte {e.start})") from None
    problem = shape_problem(data)
    if problem:
        raise BodyError(problem, status=413)
    try:
        obj = json.loads(text.removeprefix("\ufeff"))
    except RecursionError:
        raise BodyError("body: nested too deeply") from None
    except ValueError as e:  # not JSON, or an integer past Python's digit limit
        raise BodyError(f"body: not valid JSON ({str(e).splitlines()[0][:200]})") from None
    if not isinstance(obj, dict):
        raise BodyError("body: must be a JSON object")
    _precheck(obj, model)
    try:
        return model.model_validate(obj)
    except ValidationError as e:
        errors = []
        for err in e.errors(include_url=False)[:MAX_ERRORS]:
            err = {k: x for k, x in err.items() if k not in ("input", "ctx")}
            # where FastAPI's own errors point; a key in it may be as long as the body
            err["loc"] = ["body", *(short(x, 100) if isinstance(x, str) else x for x in err["loc"])]
            err["msg"] = short(str(err.get("msg", "")), 300)
            errors.append(err)
        raise BodyInvalid(safe_json(jsonable_encoder(errors))) from None
