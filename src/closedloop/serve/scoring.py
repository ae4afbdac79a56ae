"""Scoring completions against task references: what the veRL and ``verifiers`` adapters share.

A *task reference* is what a trainer's dataset carries in its answer column (veRL's
``ground_truth``, ``verifiers``' ``answer``): a task in closedloop's JSON format (a JSON string,
or a dict as a dataset may hand it back, lists turned into arrays and all), a :class:`Task`, or
the id of a task held by a ``closedloop serve`` server (or among the tasks given). A
:class:`Scorer` extracts the code from each completion (the first fenced block, else the whole
text, as the server does) and verifies it on the private tests: in this process, or on a server.

Must never: judge anything itself, or turn ``infra_error``/``invalid`` into a score (they raise
:class:`NoReward`: a score of 0 would train the policy away from what may be a right answer).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping, Sequence
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
        self.by_id = {t.id: t for t in tasks}
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
        assert self.client is not None
        inline = {r.id: r for r in resolved if isinstance(r, Task)}
        inline.update(
            {i: self.by_id[i] for i in resolved if isinstance(i, str) and i in self.by_id}
        )
        items = [
            {"task_id": r.id if isinstance(r, Task) else r, "solution": c}
            for r, c in zip(resolved, codes, strict=True)
        ]

        def tasks_for(chunk: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
            ids = dict.fromkeys(it["task_id"] for it in chunk)
            return [inline[i].to_json() for i in ids if i in inline]

        verdicts = self.client.post_batched(
            "/verify", "solutions", items, tasks_for, "verdicts", {"split": "private"}
        )
        return [
            Score(v["task_id"], Outcome(v["outcome"]), v["passed"], v["total"], v.get("detail", ""))
            for v in verdicts
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
