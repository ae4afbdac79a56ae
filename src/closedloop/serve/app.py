"""``closedloop serve``: the verifier over HTTP (FastAPI).

Endpoints (JSON in, JSON out):

- ``GET /health`` -> ``{"status": "ok", "tasks": N}`` (tasks the server holds).
- ``POST /reward`` ``{"items": [{"task_id", "completion"}], "tasks": [TASK...]?}`` ->
  ``{"rewards": [1.0 | 0.0 | null], "outcomes": [...]}``: the code is extracted from each
  completion (the first fenced block, else the whole text) and verified on the task's private
  tests; ``null`` for ``infra_error`` (the verifier's fault, never a reward of 0) and
  ``invalid``. Tasks come from the server's task file, or inline.
- ``POST /verify`` ``{"solutions": [{"task_id", "solution"}], "tasks": [TASK...]?, "split"}``
  -> ``{"verdicts": [VERDICT...]}``: the verdict lines of docs/design.md.

Bad input is a 422 whose ``detail`` is one line naming the item (``items[3].task_id: 'x' is
not a task the server holds``). A batch is verified in parallel on the verifier's slots.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, HTTPException
from pydantic import BaseModel, ConfigDict, Field

from closedloop.roles.prompts import extract_code
from closedloop.tasks.format import Split, Task, TaskFormatError, parse_task
from closedloop.verify import Verifier

MAX_BATCH = 4096
"""Most items in one request (a GRPO batch is typically 8-1024 completions)."""


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


def _pairs(tasks: Mapping[str, Task], ids: Sequence[str], field: str) -> list[Task]:
    out = []
    for i, tid in enumerate(ids):
        task = tasks.get(tid)
        if task is None:
            raise _bad(f"{field}[{i}].task_id: {tid!r} is not a task the server holds or was sent")
        out.append(task)
    return out


def make_app(verifier: Verifier, tasks: Sequence[Task] = ()) -> FastAPI:
    """The app over ``verifier`` (which the caller owns and closes), holding ``tasks``."""
    held = {t.id: t for t in tasks}
    app = FastAPI(title="closedloop reward server", version="1")

    @app.get("/health")
    def health() -> dict[str, Any]:
        return {"status": "ok", "tasks": len(held)}

    # plain (sync) handlers: FastAPI runs them in its thread pool, so requests overlap while
    # the verifier's slots do the work
    @app.post("/reward")
    def reward(req: RewardRequest) -> dict[str, Any]:
        known = _tasks(held, req.tasks)
        ts = _pairs(known, [it.task_id for it in req.items], "items")
        codes = [extract_code(it.completion) for it in req.items]
        verdicts = verifier.verify_many(list(zip(ts, codes, strict=True)), split=Split.PRIVATE)
        return {
            "rewards": [v.reward for v in verdicts],
            "outcomes": [str(v.outcome) for v in verdicts],
        }

    @app.post("/verify")
    def verify(req: VerifyRequest) -> dict[str, Any]:
        known = _tasks(held, req.tasks)
        ts = _pairs(known, [s.task_id for s in req.solutions], "solutions")
        pairs = list(zip(ts, [s.solution for s in req.solutions], strict=True))
        return {"verdicts": [v.to_json() for v in verifier.verify_many(pairs, split=req.split)]}

    return app
