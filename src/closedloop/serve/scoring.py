"""Scoring completions against task references: what the veRL and ``verifiers`` adapters share.

A *task reference* is what a trainer's dataset carries in its answer column (veRL's
``ground_truth``, ``verifiers``' ``answer``): a task in closedloop's JSON format (a JSON string,
or a dict as a dataset may hand it back, lists turned into arrays and all), a :class:`Task`, or
the id of a task held by a ``closedloop serve`` server (or among the tasks given). A
:class:`Scorer` extracts the code from each completion (the first fenced block, else the whole
text, as the server does) and verifies it on the private tests: in this process, or on a server.

Must never: judge anything itself, turn ``infra_error``/``invalid`` into a score (they raise
:class:`NoReward`: a score of 0 would train the policy away from what may be a right answer),
or send two different tasks under one id in one request (each would be scored on one of them).
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from closedloop.roles.prompts import extract_code
from closedloop.serve.client import RetryPolicy, ServerClient
from closedloop.tasks.format import Split, Task, TaskFormatError, parse_task
from closedloop.verify import Outcome, VerificationBackend, Verifier

TaskRef = str | Mapping[str, Any] | Task
"""A task in closedloop's JSON format (string or dict), a Task, or a task id."""


class NoReward(RuntimeError):
    """The verifier gave no verdict to score: its own fault (``infra_error``) or the task's
    (``invalid``), never the completion's."""


@dataclass(frozen=True)
class Score:
    """One completion's verdict, reduced to what a trainer logs."""

    task_id: str
    outcome: Outcome
    passed: int
    total: int
    detail: str = ""

    @property
    def reward(self) -> float:
        """1.0 for a pass, else 0.0; raises :class:`NoReward` for infra_error/invalid."""
        if self.outcome in (Outcome.INFRA_ERROR, Outcome.INVALID):
            raise NoReward(
                f"closedloop: no reward for task {self.task_id!r}: {self.outcome} ({self.detail}); "
                "this is the verifier's or the task's fault, not the completion's"
            )
        return 1.0 if self.outcome is Outcome.PASS else 0.0


def _plain(obj: Any) -> Any:
    """``obj`` with numpy arrays and scalars (what a parquet round trip gives) made plain."""
    if isinstance(obj, Mapping):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_plain(v) for v in obj]
    if hasattr(obj, "tolist") and not isinstance(obj, str | bytes):  # numpy, without importing it
        return _plain(obj.tolist())
    return obj


def resolve(ref: TaskRef) -> Task | str:
    """The task a reference carries, or the id it names. Raises ``ValueError`` naming what is
    wrong for a reference that is neither."""
    if isinstance(ref, Task):
        return ref
    if isinstance(ref, Mapping):
        obj: Any = _plain(ref)
    elif isinstance(ref, str):
        text = ref.strip()
        if not text.startswith("{"):
            if not text:
                raise ValueError("a task reference is empty: give a task (JSON) or a task id")
            return text
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as e:
            raise ValueError(f"a task reference is not JSON ({e.msg}): {text[:80]!r}") from None
    else:
        raise ValueError(
            f"a task reference must be a task (JSON string or dict) or a task id, got {type(ref)}"
        )
    try:
        return parse_task(obj)
    except TaskFormatError as e:
        raise ValueError(f"a task reference is not a task in closedloop's format: {e}") from None


def _content(task: Task) -> str:
    """A task's whole content, id included, as one comparable string."""
    return json.dumps(task.to_json(), sort_keys=True, default=str)


def tasks_by_id(tasks: Sequence[Task]) -> dict[str, Task]:
    """``tasks`` by id; raises ``ValueError`` naming an id that two different tasks share
    (which one an id would name is then a guess; the same task twice is fine)."""
    out: dict[str, Task] = {}
    for t in tasks:
        if out.setdefault(t.id, t) is not t and _content(out[t.id]) != _content(t):
            raise ValueError(f"two different tasks share the id {t.id!r}: give each its own id")
    return out


def wire_ids(tasks: Sequence[Task | None], bare: set[str]) -> dict[int, str]:
    """The id to send each task under (by ``id()`` of the task object): its own id with ``#``
    and a digest of its content appended, so that an inline task never takes the id of a task
    the server holds (the server refuses that, whatever the content) nor of another inline task
    of the batch with other content, and one content is sent once. ``bare``: ids the batch
    names without a task (the server's), never taken."""
    by_content: dict[str, str] = {}  # content -> id sent
    taken = set(bare)
    keys: dict[int, str] = {}
    for t in tasks:
        if t is None or id(t) in keys:
            continue
        keys[id(t)] = key = _content(t)
        if key in by_content:
            continue
        wid = base = f"{t.id}#{hashlib.sha256(key.encode()).hexdigest()[:12]}"
        n = 1
        while wid in taken:  # the same id and digest from another task: not seen outside a test
            wid, n = f"{base}-{n}", n + 1
        by_content[key] = wid
        taken.add(wid)
    return {k: by_content[key] for k, key in keys.items()}


def wire_batch(
    names: Sequence[str], tasks: Sequence[Task | None], field: str, values: Sequence[str]
) -> tuple[list[dict[str, Any]], Callable[[Sequence[dict[str, Any]]], list[dict[str, Any]]]]:
    """A request's items, ``{"task_id", field}`` each, and the function that gives the inline
    tasks a chunk of them answers (``post_batched``'s ``tasks_for``). An item with a task goes
    under its wire id (:func:`wire_ids`) and the task along with it; one without (None) names
    the server's task ``names[i]``."""
    wire = wire_ids(tasks, {n for n, t in zip(names, tasks, strict=True) if t is None})
    inline: dict[str, Task] = {}
    items = []
    for name, t, value in zip(names, tasks, values, strict=True):
        if t is not None:
            name = wire[id(t)]
            inline.setdefault(name, t)
        items.append({"task_id": name, field: value})

    def tasks_for(chunk: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        sent = dict.fromkeys(it["task_id"] for it in chunk)
        return [{**inline[i].to_json(), "id": i} for i in sent if i in inline]

    return items, tasks_for


class Scorer:
    """Verifies completions against task references, on a server (``url``) or in this process.

    In this process it uses ``verifier`` (the caller's, left open) or one it starts and owns
    (``workers`` sandbox slots, ``wall_s`` per verification), closed by :meth:`close`. Thread-safe:
    veRL calls a reward function from several threads at once."""

    def __init__(
        self,
        url: str | None = None,
        tasks: Sequence[Task] = (),
        verifier: VerificationBackend | None = None,
        workers: int | None = None,
        wall_s: float = 10.0,
        token: str | None = None,
        retry: RetryPolicy | None = None,
    ):
        if url is not None and verifier is not None:
            raise ValueError("give url= (a closedloop server) or verifier=, not both")
        self.by_id = tasks_by_id(tasks)
        self.client = ServerClient(url, token=token, retry=retry) if url is not None else None
        self._verifier = verifier
        self._own = verifier is None and url is None
        self._workers, self._wall_s = workers, wall_s
        self._lock = threading.Lock()

    def _local(self) -> VerificationBackend:
        with self._lock:  # started on first use: a scorer that is only built costs nothing
            if self._verifier is None:
                from closedloop.sandbox import SandboxLimits

                self._verifier = Verifier(self._workers, SandboxLimits(wall_s=self._wall_s))
            return self._verifier

    def score_many(self, refs: Sequence[TaskRef], completions: Sequence[str]) -> list[Score]:
        """One :class:`Score` per completion, in order (verified in parallel)."""
        if len(refs) != len(completions):
            raise ValueError(f"{len(refs)} task references for {len(completions)} completions")
        resolved = [resolve(r) for r in refs]
        codes = [extract_code(c) for c in completions]
        if self.client is not None:
            return self._remote(resolved, codes)
        tasks = []
        for r in resolved:
            task = r if isinstance(r, Task) else self.by_id.get(r)
            if task is None:
                raise KeyError(
                    f"task id {r!r}: not among the tasks given; give tasks=, send the task "
                    "itself (JSON), or score on a server that holds it (url=)"
                )
            tasks.append(task)
        verdicts = self._local().verify_many(list(zip(tasks, codes, strict=True)), Split.PRIVATE)
        return [Score(v.task_id, v.outcome, v.passed, v.total, v.detail) for v in verdicts]

    def _remote(self, resolved: list[Task | str], codes: list[str]) -> list[Score]:
        """Score on the server. Each task sent inline goes under its id with a digest of its
        content appended (:func:`wire_ids`), so it names that task alone: two different tasks
        that share an id (two datasets' ``q1``) go as two, and none takes the id of a task the
        server holds. A bare id that is not among ``tasks=`` names the server's task. Scores
        carry the task's own id."""
        assert self.client is not None
        tasks = [r if isinstance(r, Task) else self.by_id.get(r) for r in resolved]
        names = [r if isinstance(r, str) else r.id for r in resolved]
        items, tasks_for = wire_batch(names, tasks, "solution", codes)
        verdicts = self.client.post_batched(
            "/verify", "solutions", items, tasks_for, "verdicts", {"split": "private"}
        )
        return [
            Score(
                t.id if t is not None else str(r),
                Outcome(v["outcome"]),
                v["passed"],
                v["total"],
                v.get("detail", ""),
            )
            for r, t, v in zip(resolved, tasks, verdicts, strict=True)
        ]

    def close(self) -> None:
        """Close the server connections, and the verifier when this scorer started it."""
        if self.client is not None:
            self.client.close()
        with self._lock:
            if self._own and self._verifier is not None:
                self._verifier.close()
                self._verifier = None

    def __enter__(self) -> Scorer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
