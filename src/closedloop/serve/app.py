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
  -> ``{"verdicts": [VERDICT...]}``: the verdict lines of docs/design.md.
- ``POST /get_reward``: OpenRLHF's remote reward-model contract
  (:mod:`closedloop.serve.openrlhf`).

Bad input is a 422 whose ``detail`` is one line naming the item (``items[3].task_id: 'x' is
not a task the server holds``). A body over the size limit, or a batch larger than the queue,
is a 413; a batch the queue has no room for now is a 503 with ``Retry-After``. A batch is
verified in parallel on the verifier's slots, off the event loop, so requests overlap.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, HTTPException, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from closedloop.roles.prompts import extract_code
from closedloop.serve import openrlhf
from closedloop.serve.auth import BearerAuth
from closedloop.serve.limits import MAX_BATCH, Admission, BodyLimit, ServeLimits
from closedloop.serve.metrics import MetricsMiddleware, ServerMetrics
from closedloop.tasks.format import Split, Task, TaskFormatError, parse_task
from closedloop.verify import Verdict, VerificationBackend

__all__ = ["MAX_BATCH", "ROUTES", "ServeLimits", "make_app"]

ROUTES = ("/health", "/limits", "/metrics", "/reward", "/verify", "/get_reward")
"""The server's paths (also the ``route`` label values of its metrics)."""


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _WithTasks(_Body):
    tasks: list[dict[str, Any]] = Field(default_factory=list)
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
    return HTTPException(status_code=422, detail=msg)


def _tasks(held: Mapping[str, Task], inline: Sequence[dict[str, Any]]) -> dict[str, Task]:
    out = dict(held)
    for i, obj in enumerate(inline):
        try:
            task = parse_task(obj)
        except TaskFormatError as e:
            raise _bad(f"tasks[{i}]: {e}") from None
        if task.id in held:  # a request may not swap the tests of a task the server holds
            raise _bad(f"tasks[{i}]: {task.id!r} is a task the server holds; send only its id")
        out[task.id] = task
    return out


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
        self.admission = Admission(limits.queue_items, verifier.pool.size)
        self.metrics = ServerMetrics(self.admission, metrics_routes)

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
            self.admission.release(1, v.elapsed_s)

        try:  # off the event loop: other requests are admitted (or refused) meanwhile
            return await run_in_threadpool(self.verifier.verify_many, pairs, split, False, on_done)
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
    app = FastAPI(title="closedloop reward server", version="1")
    # the last added is the outermost: metrics count what auth and the size check refuse;
    # auth answers before a body is read
    app.add_middleware(BodyLimit, max_bytes=limits.max_body_bytes)
    if token is not None:
        app.add_middleware(BearerAuth, token=token)
    app.add_middleware(MetricsMiddleware, metrics=work.metrics)
    app.state.admission = work.admission

    @app.get("/health")
    def health() -> dict[str, Any]:
        return {"status": "ok", "tasks": len(held)}

    @app.get("/limits")
    def server_limits() -> dict[str, int]:
        return {
            "max_batch": limits.max_batch,
            "max_body_bytes": limits.max_body_bytes,
            "queue_items": limits.queue_items,
        }

    @app.get("/metrics")
    def metrics() -> Response:
        text, content_type = work.metrics.render()
        return Response(content=text, media_type=content_type)

    @app.post("/reward")
    async def reward(req: RewardRequest) -> dict[str, Any]:
        known = _tasks(held, req.tasks)
        ts = _pairs(known, [it.task_id for it in req.items], "items[{}].task_id")
        codes = [extract_code(it.completion) for it in req.items]
        verdicts = await work.run(list(zip(ts, codes, strict=True)), Split.PRIVATE)
        return {
            "rewards": [v.reward for v in verdicts],
            "outcomes": [str(v.outcome) for v in verdicts],
        }

    @app.post("/verify")
    async def verify(req: VerifyRequest) -> dict[str, Any]:
        known = _tasks(held, req.tasks)
        ts = _pairs(known, [s.task_id for s in req.solutions], "solutions[{}].task_id")
        pairs = list(zip(ts, [s.solution for s in req.solutions], strict=True))
        return {"verdicts": [v.to_json() for v in await work.run(pairs, req.split)]}

    @app.post("/get_reward")
    async def get_reward(req: openrlhf.GetRewardRequest) -> dict[str, Any]:
        try:
            items = openrlhf.split_request(req)
        except openrlhf.ContractError as e:
            raise _bad(str(e)) from None
        ts = _pairs(held, [tid for tid, _ in items], "labels[{}]", known="holds")
        verdicts = await work.run(
            list(zip(ts, [code for _, code in items], strict=True)), Split.PRIVATE
        )
        refused = openrlhf.problem(verdicts)
        if refused is not None:
            status, detail = refused
            headers = {"Retry-After": "1"} if status == 503 else None
            raise HTTPException(status_code=status, detail=detail, headers=headers)
        return openrlhf.answer(verdicts)

    return app
