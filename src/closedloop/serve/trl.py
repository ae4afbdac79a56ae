"""A reward function for TRL's ``GRPOTrainer`` (and anything with its signature), backed by the
verifier: in this process, or through ``closedloop serve``.

    from closedloop.serve.trl import verifier_reward
    reward = verifier_reward(url="http://127.0.0.1:8000")   # the server holds the tasks
    trainer = GRPOTrainer(model, reward_funcs=reward, train_dataset=ds, ...)  # ds has task_id

TRL passes the dataset's columns as keyword arguments, one value per completion; the
``task_id`` column names the task each completion answers. Completions may be strings or
conversations (a list of ``{"role", "content"}`` messages: the last message's content is
used). The reward is 1.0 for a pass on the private tests, 0.0 otherwise, and None for an
``infra_error`` (TRL treats None as "no reward for this sample" rather than as a failure).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from closedloop.roles.prompts import extract_code
from closedloop.tasks.format import Split, Task

RewardFn = Callable[..., list[float | None]]


def _text(completion: Any) -> str:
    if isinstance(completion, str):
        return completion
    if isinstance(completion, list) and completion and isinstance(completion[-1], dict):
        return str(completion[-1].get("content", ""))
    raise TypeError(f"a completion must be a string or a list of messages, got {type(completion)}")


def verifier_reward(
    tasks: Sequence[Task] = (),
    verifier: Any = None,
    url: str | None = None,
    task_id_column: str = "task_id",
    timeout_s: float = 600.0,
) -> RewardFn:
    """A TRL reward function. Give ``url`` (a ``closedloop serve`` server; ``tasks`` are sent
    along when given, else the server's own are used) or ``verifier`` (a
    :class:`closedloop.verify.Verifier` in this process, with ``tasks``)."""
    if (url is None) == (verifier is None):
        raise ValueError("give exactly one of url= (a closedloop server) or verifier=")
    by_id = {t.id: t for t in tasks}
    if verifier is not None and not by_id:
        raise ValueError("a local verifier needs the tasks")

    def reward(
        prompts: Sequence[Any], completions: Sequence[Any], **kwargs: Any
    ) -> list[float | None]:
        ids = kwargs.get(task_id_column)
        if ids is None or len(ids) != len(completions):
            raise ValueError(
                f"the dataset needs a {task_id_column!r} column (one id per completion)"
            )
        texts = [_text(c) for c in completions]
        if url is not None:
            import httpx

            body: dict[str, Any] = {
                "items": [{"task_id": i, "completion": t} for i, t in zip(ids, texts, strict=True)]
            }
            if by_id:
                body["tasks"] = [by_id[i].to_json() for i in dict.fromkeys(ids) if i in by_id]
            r = httpx.post(url.rstrip("/") + "/reward", json=body, timeout=timeout_s)
            if r.status_code != 200:
                raise RuntimeError(f"reward server {url}: {r.status_code} {r.text[:300]}")
            return r.json()["rewards"]
        missing = [i for i in ids if i not in by_id]
        if missing:
            raise KeyError(f"{task_id_column} {missing[0]!r} is not among the tasks given")
        pairs = [(by_id[i], extract_code(t)) for i, t in zip(ids, texts, strict=True)]
        return [v.reward for v in verifier.verify_many(pairs, split=Split.PRIVATE)]

    return reward
