"""``closedloop serve``: the verifier over HTTP (FastAPI).

Endpoints (JSON in, JSON out); all but ``/health`` need the token when the server has one
(:mod:`closedloop.serve.auth`):

- ``GET /health`` -> ``{"status": "ok", "tasks": N}`` (tasks the server holds).
- ``GET /limits`` -> ``{"max_batch", "max_body_bytes", "queue_items"}``: what a client must
  split its batches to (:mod:`closedloop.serve.limits`).
- ``GET /metrics``: Prometheus text (:mod:`closedloop.serve.metrics`).
- ``POST /reward`` ``{"items": [{"task_id", "completion"}], "tasks": [TASK...]?}`` ->
  ``{"rewards": [1.0 | 0.0 | null], "outcomes": [...]}``: the code is extracted from each
  completion (the first fenced block, else the whole text) and verified on the task's private
  tests; ``null`` for ``infra_error`` (the verifier's fault, never a reward of 0) and
  ``invalid``. Tasks come from the server's task file, or inline.
- ``POST /verify`` ``{"solutions": [{"task_id", "solution"}], "tasks": [TASK...]?, "split"}``
  -> ``{"verdicts": [VERDICT...]}``: the verdict lines of docs/design.md; on a task the server
  holds, without what its private tests hold (:mod:`closedloop.serve.redact`).
- ``POST /get_reward``: OpenRLHF's remote reward-model contract
  (:mod:`closedloop.serve.openrlhf`).

Bad input is a 422 whose ``detail`` is one line naming the item (``items[3].task_id: 'x' is
not a task the server holds``; ``body: not UTF-8 text (byte 24)``) or pydantic's first 20
errors; so are two different inline tasks under one id, and an inline task with a held task's
id. A body over the size limit, a list longer than a batch, a body of more arrays, objects or
strings than any request needs (:mod:`closedloop.serve.body`, which parses every body off the
event loop), or a batch larger than the queue, is a 413; a batch the queue has no room for now
is a 503 with ``Retry-After``. A batch is verified
in parallel on the verifier's slots, and inline tasks are parsed and verdicts rendered, off the
event loop, so requests overlap. Text no UTF-8 can carry (a lone surrogate) is answered with
U+FFFD in its place, never a 500.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

import anyio
import anyio.to_thread
from fastapi import FastAPI, HTTPException, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from closedloop.roles.prompts import extract_code
from closedloop.serve import openrlhf
from closedloop.serve.auth import BearerAuth, LoopbackHostOnly
from closedloop.serve.body import BodyError, BodyInvalid, M, parse_body, short
from closedloop.serve.limits import (
    MAX_BATCH,
    Admission,
    BodyLimit,
    InFlightLimit,
    ServeLimits,
)
from closedloop.serve.metrics import MetricsMiddleware, ServerMetrics
from closedloop.serve.redact import redact_held, verdict_json
from closedloop.tasks.format import Split, Task, TaskFormatError, parse_task
from closedloop.verify import Verdict, VerificationBackend
from closedloop.verify.text import safe_text

__all__ = ["MAX_BATCH", "ROUTES", "ServeLimits", "make_app"]

CPU_THREADS = 4
"""Threads that parse requests and render answers (beside those that wait on verification)."""

T = TypeVar("T")

ROUTES = ("/health", "/limits", "/metrics", "/reward", "/verify", "/get_reward")
"""The server's paths (also the ``route`` label values of its metrics)."""


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _WithTasks(_Body):
    tasks: list[dict[str, Any]] = Field(default_factory=list, max_length=MAX_BATCH)
    """Tasks sent inline (the public format), beside those the server holds."""


class RewardItem(_Body):
    task_id: str
    completion: str


class RewardRequest(_WithTasks):
    items: list[RewardItem] = Field(max_length=MAX_BATCH)


class SolutionItem(_Body):
    task_id: str
    solution: str


class VerifyRequest(_WithTasks):
    solutions: list[SolutionItem] = Field(max_length=MAX_BATCH)
    split: Split = Split.PRIVATE


def _bad(msg: str) -> HTTPException:
    return HTTPException(status_code=422, detail=short(msg))  # it may quote an id or a label


def _tasks(held: Mapping[str, Task], inline: Sequence[dict[str, Any]]) -> dict[str, Task]:
    """The tasks a request may name: those the server holds, and those it sent.

    An inline task may not use the id of a held task, even with the same content (a request
    may not replace a held task's tests, and a 422 only when the content differed would tell
    the caller whether it guessed the private tests). Two inline tasks may share an id only
    when they are the same task: otherwise which one an item names is ambiguous."""
    out = dict(held)
    sent: dict[str, int] = {}
    for i, obj in enumerate(inline):
        try:
            task = parse_task(obj)
        except TaskFormatError as e:
            raise _bad(f"tasks[{i}]: {e}") from None
        except UnicodeError:  # a lone surrogate: no UTF-8 text holds it, nor hashes it
            raise _bad(f"tasks[{i}]: holds text that is not Unicode (a lone surrogate)") from None
        except RecursionError:
            raise _bad(f"tasks[{i}]: nested too deeply") from None
        if task.id in held:  # a request may not swap the tests of a task the server holds
            raise _bad(f"tasks[{i}]: {task.id!r} is a task the server holds; send only its id")
        first = sent.setdefault(task.id, i)
        if first != i and out[task.id] != task:
            raise _bad(
                f"tasks[{i}]: id {task.id!r} is also the id of tasks[{first}], a different "
                "task; give each task its own id"
            )
        out[task.id] = task
    return out


def _request_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The OpenAPI request body of a route that parses its own (see ``body_of``)."""
    schema = {"schema": model.model_json_schema()}
    return {"requestBody": {"content": {"application/json": schema}, "required": True}}


def _json_bytes(obj: Any) -> bytes:
    """``obj`` as the JSON body Starlette's ``JSONResponse`` writes."""
    return json.dumps(
        obj, ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":")
    ).encode("utf-8")


def _pairs(
    tasks: Mapping[str, Task], ids: Sequence[str], where: str, known: str = "holds or was sent"
) -> list[Task]:
    """The task of each id; ``where`` names an item, e.g. ``"items[{}].task_id"``."""
    out = []
    for i, tid in enumerate(ids):
        task = tasks.get(tid)
        if task is None:
            raise _bad(f"{where.format(i)}: {tid!r} is not a task the server {known}")
        out.append(task)
    return out


class _Work:
    """Runs batches on the verifier through the bounded queue, counting verdicts."""

    def __init__(
        self, verifier: VerificationBackend, limits: ServeLimits, metrics_routes: Sequence[str]
    ):
        self.verifier = verifier
        self.limits = limits
        self.held_ids: frozenset[str] = frozenset()
        """The ids of the tasks the server holds (their private runs' times are withheld)."""
        self.admission = Admission(limits.queue_items, verifier.pool.size)
        self.metrics = ServerMetrics(self.admission, metrics_routes)
        # threads of their own for batches being verified (each waits on the pool while it
        # holds one): the default 40 are left to everything else
        self.waiting = anyio.CapacityLimiter(max(1, limits.queue_items))

    async def run(self, pairs: list[tuple[Task, str]], split: Split) -> list[Verdict]:
        """Verdicts for ``pairs``, or 413 (larger than the queue) / 503 (no room now)."""
        n = len(pairs)
        if n > self.limits.max_batch:
            raise HTTPException(
                status_code=413,
                detail=f"{n} items in one request; the server takes at most "
                f"{self.limits.max_batch}: split the batch",
            )
        if not self.admission.admit(n):
            raise HTTPException(
                status_code=503,
                detail=f"the queue is full ({self.admission.depth} of "
                f"{self.admission.capacity} solutions waiting); retry later",
                headers={"Retry-After": str(self.admission.retry_after_s())},
            )
        lock = threading.Lock()
        done = 0

        def on_done(v: Verdict) -> None:  # on the verifier's threads, as each verdict is ready
            nonlocal done
            with lock:
                done += 1
            self.metrics.verdict(v.outcome)
            # the drain estimate behind Retry-After learns only from runs whose time the
            # caller may see: a held task's private run, slept in proportion to a private
            # input, came back multiplied by the queue's depth in a 503's Retry-After
            seen = split is Split.PUBLIC or v.task_id not in self.held_ids
            self.admission.release(1, v.elapsed_s if seen else None)

        try:  # off the event loop: other requests are admitted (or refused) meanwhile
            return await anyio.to_thread.run_sync(
                lambda: self.verifier.verify_many(pairs, split, False, on_done),
                limiter=self.waiting,
            )
        finally:
            with lock:
                left, done = n - done, n
            if left:
                self.admission.release(left)


def make_app(
    verifier: VerificationBackend,
    tasks: Sequence[Task] = (),
    *,
    token: str | None = None,
    limits: ServeLimits | None = None,
) -> FastAPI:
    """The app over ``verifier`` (which the caller owns and closes), holding ``tasks``.

    With ``token``, every route but ``/health`` needs it (``Authorization: Bearer TOKEN``);
    ``limits`` bound the body size and the queue (defaults: :class:`ServeLimits`).
    """
    held = {t.id: t for t in tasks}
    limits = limits or ServeLimits()
    work = _Work(verifier, limits, ROUTES)
    work.held_ids = frozenset(held)
    # no Swagger or ReDoc pages: they load their scripts from a CDN, and a reward server's
    # clients are programs (its schema stays at /openapi.json)
    app = FastAPI(title="closedloop reward server", version="1", docs_url=None, redoc_url=None)
    # the last added is the outermost: metrics count what auth and the size check refuse;
    # auth answers before a body is read
    app.add_middleware(BodyLimit, max_bytes=limits.max_body_bytes)
    if token is not None:
        app.add_middleware(BearerAuth, token=token)
    else:  # loopback only (the CLI refuses any other address without a token)
        app.add_middleware(LoopbackHostOnly)
    app.add_middleware(MetricsMiddleware, metrics=work.metrics)
    app.add_middleware(InFlightLimit, max_requests=limits.max_requests)
    app.state.admission = work.admission

    # the probes are coroutines: a sync route waits for one of the thread pool's 40 threads,
    # which 40 requests being verified held (/health took 17.5 s to answer)
    @app.get("/health")
    async def health() -> dict[str, Any]:
        return {"status": "ok", "tasks": len(held)}

    @app.get("/limits")
    async def server_limits() -> dict[str, int]:
        return {
            "max_batch": limits.max_batch,
            "max_body_bytes": limits.max_body_bytes,
            "queue_items": limits.queue_items,
        }

    @app.get("/metrics")
    async def metrics() -> Response:
        text, content_type = work.metrics.render()
        return Response(content=text, media_type=content_type)

    # Parsing inline tasks (a decode_plain per test), extracting code and rendering verdicts
    # run in worker threads, as verification does: the event loop only moves bytes, so
    # /health, /metrics and the 503s of a full queue are answered while a heavy request is
    # worked on. Their own few threads: this work never waits for a thread that a batch
    # holds while it is verified (a full server still answers 503 at once), and it is
    # CPU-bound under one interpreter lock, which more threads would only contend for. That
    # lock is the limit of "answered meanwhile": json.loads holds it for a whole body, about
    # a second at the body's bounds (a million keys; serve/body.py), four such at once ~4 s.
    cpu = anyio.CapacityLimiter(CPU_THREADS)

    async def off_loop(fn: Callable[[], T]) -> T:
        return await anyio.to_thread.run_sync(fn, limiter=cpu)

    async def body_of(request: Request, model: type[M]) -> M:
        """The request's body as a ``model``, parsed and validated off the event loop
        (:mod:`closedloop.serve.body`); 413 or 422 naming what is wrong."""
        # JSON only: a browser sends a page's cross-origin POST without asking first only
        # as text/plain, a form or no type at all, and then its code ran in the sandbox
        kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if kind != "application/json":
            raise HTTPException(
                status_code=415,
                detail=f"Content-Type {short(kind, 100)!r}: the body must be application/json",
            )
        data = await request.body()
        try:
            return await off_loop(lambda: parse_body(data, model))
        except BodyError as e:
            raise HTTPException(status_code=e.status, detail=e.detail) from None
        except BodyInvalid as e:
            raise HTTPException(status_code=422, detail=e.errors) from None

    @app.post("/reward", openapi_extra=_request_schema(RewardRequest))
    async def reward(request: Request) -> dict[str, Any]:
        req = await body_of(request, RewardRequest)

        def prepare() -> list[tuple[Task, str]]:
            known = _tasks(held, req.tasks)
            ts = _pairs(known, [it.task_id for it in req.items], "items[{}].task_id")
            return list(zip(ts, [extract_code(it.completion) for it in req.items], strict=True))

        verdicts = await work.run(await off_loop(prepare), Split.PRIVATE)
        return {
            "rewards": [v.reward for v in verdicts],
            "outcomes": [str(v.outcome) for v in verdicts],
        }

    @app.post("/verify", openapi_extra=_request_schema(VerifyRequest))
    async def verify(request: Request) -> Response:
        req = await body_of(request, VerifyRequest)

        def prepare() -> list[tuple[Task, str]]:
            known = _tasks(held, req.tasks)
            ts = _pairs(known, [s.task_id for s in req.solutions], "solutions[{}].task_id")
            return list(zip(ts, [s.solution for s in req.solutions], strict=True))

        pairs = await off_loop(prepare)
        verdicts = await work.run(pairs, req.split)

        def render() -> bytes:
            shown = []
            for (task, _), v in zip(pairs, verdicts, strict=True):
                is_held = held.get(task.id) is task
                if is_held:
                    v = redact_held(v, task, req.split)
                shown.append(verdict_json(v, is_held, req.split))
            return _json_bytes({"verdicts": shown})

        return Response(await off_loop(render), media_type="application/json")

    @app.post("/get_reward", openapi_extra=_request_schema(openrlhf.GetRewardRequest))
    async def get_reward(request: Request) -> dict[str, Any]:
        req = await body_of(request, openrlhf.GetRewardRequest)

        def prepare() -> list[tuple[Task, str]]:
            try:
                items = openrlhf.split_request(req)
            except openrlhf.ContractError as e:
                raise _bad(str(e)) from None
            ts = _pairs(held, [tid for tid, _ in items], "labels[{}]", known="holds")
            return list(zip(ts, [code for _, code in items], strict=True))

        pairs = await off_loop(prepare)
        verdicts = await work.run(pairs, Split.PRIVATE)
        # every task here is held: a refusal's detail is redacted like /verify's verdicts
        shown = [
            redact_held(v, t, Split.PRIVATE) for (t, _), v in zip(pairs, verdicts, strict=True)
        ]
        refused = openrlhf.problem(shown)
        if refused is not None:
            status, detail = refused
            headers = {"Retry-After": "1"} if status == 503 else None
            raise HTTPException(status_code=status, detail=safe_text(detail), headers=headers)
        return openrlhf.answer(verdicts)

    return app
