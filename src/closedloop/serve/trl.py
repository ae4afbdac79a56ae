"""A reward function for TRL's ``GRPOTrainer`` (and anything with its signature), backed by the
verifier: through ``closedloop serve``, or in this process.

    from closedloop.serve.trl import local_reward, verifier_reward

    reward = verifier_reward(url="http://127.0.0.1:8000")   # the server holds the tasks
    trainer = GRPOTrainer(model, reward_funcs=reward, train_dataset=ds, ...)  # ds has task_id

    with local_reward(tasks, workers=4) as reward:           # a sandbox pool in this process,
        GRPOTrainer(model, reward_funcs=reward, ...).train()  # stopped when the block ends

TRL passes the dataset's columns as keyword arguments, one value per completion; the
``task_id`` column names the task each completion answers. Completions may be strings or
conversations (a list of ``{"role", "content"}`` messages: the last message's content is
used). The reward is 1.0 for a pass on the private tests, 0.0 otherwise, and None for an
``infra_error`` or ``invalid`` (TRL turns None into NaN: no reward for that sample, rather
than a failure).

Over HTTP a batch larger than the server's cap is split (and a chunk the server refuses as too
large, 413, is halved), and a server that is down or busy (refused connection, 502/503/504) is
retried with bounded back-off (:class:`~closedloop.serve.client.RetryPolicy`), then
:class:`~closedloop.serve.client.RewardServerUnavailable` names it.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from closedloop.roles.prompts import extract_code
from closedloop.serve.app import MAX_BATCH
from closedloop.serve.client import RetryPolicy, ServerClient
from closedloop.serve.scoring import tasks_by_id, wire_batch
from closedloop.tasks.format import Split, Task, load_tasks
from closedloop.verify import VerificationBackend, Verifier


def _text(completion: Any) -> str:
    if isinstance(completion, str):
        return completion
    if isinstance(completion, list) and completion and isinstance(completion[-1], dict):
        return str(completion[-1].get("content", ""))
    raise TypeError(f"a completion must be a string or a list of messages, got {type(completion)}")


TaskSource = Sequence[Task] | str | os.PathLike[str]
"""Tasks, or the path of a task file (JSONL, the task format) to read them from."""


def read_task_source(tasks: TaskSource) -> list[Task]:
    """The tasks of ``tasks``: a path is read as a task file (a line that does not parse is an
    error here: a reward that silently lost a task would fail every completion for it), a
    sequence must hold :class:`~closedloop.tasks.format.Task` objects."""
    if isinstance(tasks, str | os.PathLike):
        read, bad = load_tasks(Path(tasks))
        if bad:
            raise ValueError(f"{bad[0].reason}; mend or remove the line")
        return read
    read = list(tasks)
    wrong = next((t for t in read if not isinstance(t, Task)), None)
    if wrong is not None:
        raise TypeError(
            f"tasks: Task objects or a task file's path, got a {type(wrong).__name__} "
            "(closedloop.tasks.format.load_tasks reads a file)"
        )
    return read


class VerifierReward:
    """TRL's reward-function shape: ``reward(prompts, completions, **columns)`` ->
    ``list[float | None]``. A context manager: leaving it closes the server connections, and
    the sandbox pool when this object started it (:func:`local_reward`)."""

    __name__ = "closedloop_reward"
    """What TRL logs the reward under (``rewards/closedloop_reward/mean``)."""

    def __init__(
        self,
        tasks: TaskSource,
        task_id_column: str,
        client: ServerClient | None = None,
        verifier: VerificationBackend | None = None,
        owns_verifier: bool = False,
    ):
        self.by_id = tasks_by_id(read_task_source(tasks))
        self.task_id_column = task_id_column
        self.client = client
        self.verifier = verifier
        self._owns_verifier = owns_verifier

    def __call__(
        self, prompts: Sequence[Any], completions: Sequence[Any], **kwargs: Any
    ) -> list[float | None]:
        ids = kwargs.get(self.task_id_column)
        if ids is None or len(ids) != len(completions):
            raise ValueError(
                f"the dataset needs a {self.task_id_column!r} column (one id per completion)"
            )
        ids = [str(i) for i in ids]
        texts = [_text(c) for c in completions]
        if self.client is not None:
            return self._remote(ids, texts)
        if self.verifier is None:
            raise RuntimeError("this reward function is closed")
        missing = [i for i in ids if i not in self.by_id]
        if missing:
            raise KeyError(f"{self.task_id_column} {missing[0]!r} is not among the tasks given")
        pairs = [(self.by_id[i], extract_code(t)) for i, t in zip(ids, texts, strict=True)]
        return [v.reward for v in self.verifier.verify_many(pairs, split=Split.PRIVATE)]

    def _remote(self, ids: list[str], texts: list[str]) -> list[float | None]:
        """Reward on the server. A task given at construction goes along with the items that
        answer it, under its id with a digest of its content appended (``scoring.wire_ids``): the
        server refuses an inline task under the id of one it holds, which a server started on
        the same task file does. An id not among them names the server's own task."""
        assert self.client is not None
        tasks = [self.by_id.get(i) for i in ids]
        items, tasks_for = wire_batch(ids, tasks, "completion", texts)
        return self.client.post_batched("/reward", "items", items, tasks_for, "rewards")

    def close(self) -> None:
        """Close the server connections, and the sandbox pool when this object started it."""
        if self.client is not None:
            self.client.close()
        if self._owns_verifier and self.verifier is not None:
            self.verifier.close()
        if self._owns_verifier:
            self.verifier = None

    def __enter__(self) -> VerifierReward:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def verifier_reward(
    tasks: TaskSource = (),
    verifier: VerificationBackend | None = None,
    url: str | None = None,
    task_id_column: str = "task_id",
    timeout_s: float = 600.0,
    *,
    token: str | None = None,
    max_batch: int = MAX_BATCH,
    retry: RetryPolicy | None = None,
) -> VerifierReward:
    """A TRL reward function. Give ``url`` (a ``closedloop serve`` server; ``tasks`` are sent
    along when given, else the server's own are used; ``token`` or ``CLOSEDLOOP_SERVE_TOKEN``
    is its bearer token; ``timeout_s`` bounds one request) or ``verifier`` (a
    :class:`closedloop.verify.Verifier` in this process, which the caller closes, with
    ``tasks``). ``tasks``: :class:`~closedloop.tasks.format.Task` objects or a task file's
    path. For a verifier this function starts and stops, use :func:`local_reward`.

    >>> reward = verifier_reward(url="http://127.0.0.1:8000")  # doctest: +SKIP
    """
    if (url is None) == (verifier is None):
        raise ValueError("give exactly one of url= (a closedloop server) or verifier=")
    tasks = read_task_source(tasks)
    if verifier is not None and not tasks:
        raise ValueError("a local verifier needs the tasks")
    client = (
        ServerClient(url, token=token, timeout_s=timeout_s, max_batch=max_batch, retry=retry)
        if url is not None
        else None
    )
    return VerifierReward(tasks, task_id_column, client=client, verifier=verifier)


def local_reward(
    tasks: TaskSource,
    workers: int | None = None,
    wall_s: float = 10.0,
    task_id_column: str = "task_id",
) -> VerifierReward:
    """A TRL reward function over a sandbox pool it starts now (``workers`` slots, default one
    per core; ``wall_s`` seconds per verification) and stops on ``close()`` or at the end of a
    ``with`` block. ``tasks``: :class:`~closedloop.tasks.format.Task` objects or a task file's
    path.

    >>> with local_reward("tasks.jsonl") as reward:  # doctest: +SKIP
    ...     reward(prompts, completions, task_id=ids)  # TRL calls it so: [1.0, 0.0, None, ...]
    """
    tasks = read_task_source(tasks)
    if not tasks:
        raise ValueError("local_reward needs the tasks")
    from closedloop.sandbox import SandboxLimits

    verifier = Verifier(workers=workers, limits=SandboxLimits(wall_s=wall_s))
    return VerifierReward(tasks, task_id_column, verifier=verifier, owns_verifier=True)
