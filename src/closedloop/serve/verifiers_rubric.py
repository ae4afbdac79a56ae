"""A reward function and a ``Rubric`` for the ``verifiers`` library (PyPI ``verifiers``, the
``vf.Rubric`` API of 0.1-0.3; 0.4 moved to a new ``verifiers.v1`` stack without ``Rubric``).

    import verifiers as vf
    from closedloop.serve.verifiers_rubric import closedloop_rubric

    rubric = closedloop_rubric(url="http://127.0.0.1:8000")   # or tasks=... to verify here
    env = vf.SingleTurnEnv(dataset=ds, rubric=rubric)          # ds: "question", "answer"

Each row's ``answer`` is a task in closedloop's JSON format or the id of a task the server
holds (or one of ``tasks``). The rubric's reward is ``closedloop_pass`` (1.0 when the code in
the completion passes the private tests, else 0.0), with ``closedloop_tests_passed`` (the
fraction of tests passed) as a metric of weight 0.

Must never: score ``infra_error``/``invalid`` (they raise
:class:`~closedloop.serve.scoring.NoReward`). Said plainly: ``vf.Rubric`` catches an exception
from a reward function, logs it and scores that rollout 0.0; that fallback is the library's.
Importing this module does not import ``verifiers``; :func:`closedloop_rubric` does.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from closedloop.serve.client import RetryPolicy
from closedloop.serve.scoring import Score, Scorer, TaskRef
from closedloop.tasks.format import Task
from closedloop.verify import Outcome, VerificationBackend

RubricFunc = Callable[..., Awaitable[float]]


def _text(completion: Any) -> str:
    """The completion's text: a string, or the last assistant message of a conversation."""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, list):
        said = [m for m in completion if isinstance(m, dict) and m.get("role") == "assistant"]
        if said:
            return str(said[-1].get("content") or "")
        return ""
    raise TypeError(f"a completion must be a string or a list of messages, got {type(completion)}")


def reward_functions(scorer: Scorer) -> tuple[RubricFunc, RubricFunc]:
    """``(closedloop_pass, closedloop_tests_passed)``: async reward functions in ``verifiers``'
    shape (``f(completion, answer, **kwargs) -> float``) over ``scorer``. One verification per
    rollout, shared by both (cached on the rollout's state)."""

    async def _score(completion: Any, answer: TaskRef, state: dict[str, Any] | None) -> Score:
        text = _text(completion)
        key = "closedloop_score"
        if state is not None and key in state:  # kept as plain data: a state is saved as JSON
            c = state[key]
            return Score(c["task_id"], Outcome(c["outcome"]), c["passed"], c["total"], c["detail"])
        (s,) = await asyncio.to_thread(scorer.score_many, [answer], [text])
        if state is not None:
            state[key] = {
                "task_id": s.task_id,
                "outcome": str(s.outcome),
                "passed": s.passed,
                "total": s.total,
                "detail": s.detail,
            }
        return s

    async def closedloop_pass(completion: Any, answer: TaskRef, **kwargs: Any) -> float:
        """1.0 when the completion's code passes the task's private tests, else 0.0."""
        return (await _score(completion, answer, kwargs.get("state"))).reward

    async def closedloop_tests_passed(completion: Any, answer: TaskRef, **kwargs: Any) -> float:
        """The fraction of the task's private tests passed (a checker counts as one)."""
        s = await _score(completion, answer, kwargs.get("state"))
        s.reward  # noqa: B018 - raises NoReward for infra_error/invalid, as closedloop_pass does
        return s.passed / s.total if s.total else 0.0

    return closedloop_pass, closedloop_tests_passed


def closedloop_rubric(
    url: str | None = None,
    tasks: Sequence[Task] = (),
    verifier: VerificationBackend | None = None,
    *,
    workers: int | None = None,
    wall_s: float = 10.0,
    token: str | None = None,
    retry: RetryPolicy | None = None,
) -> Any:
    """A ``vf.Rubric`` scoring code completions with closedloop: on the server at ``url``, or in
    this process (``verifier``, or a pool of ``workers`` slots started on first use). The
    rubric's :class:`Scorer` is ``rubric.closedloop_scorer``; close it when done."""
    import verifiers as vf

    scorer = Scorer(
        url=url,
        tasks=tasks,
        verifier=verifier,
        workers=workers,
        wall_s=wall_s,
        token=token,
        retry=retry,
    )
    passed, fraction = reward_functions(scorer)
    rubric = vf.Rubric(funcs=[passed, fraction], weights=[1.0, 0.0])
    rubric.closedloop_scorer = scorer
    return rubric
