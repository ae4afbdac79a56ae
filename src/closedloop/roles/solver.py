"""The solver role: attempt a task in up to T turns, scored on private tests only.

Protocol (one attempt):

1. the solver sees :func:`~closedloop.roles.prompts.solver_prompt` (instruction + public tests);
2. its code runs on the **public** tests (``Split.PUBLIC``); if every public test passes, or
   the turn budget is spent, that code is the final attempt; otherwise the per-test feedback
   (failing input, expected, got, error tail) is appended as a user turn and it tries again;
3. the final attempt is verified on the **private** tests (``Split.PRIVATE``); that verdict is
   the reward. Private-test results are never rendered into any turn.

The trajectory concatenates every turn's tokens: the policy's tokens with loss mask 1 and the
environment's (feedback, turn separators) with loss mask 0. Turns continue from the exact
sampled token ids (:meth:`~closedloop.policy.base.Policy.sample_ids`).

Does not cover: tasks without public tests get a single turn (there is nothing to give
feedback on); checker-only tasks give feedback only from their public I/O tests.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from closedloop.policy.base import Completion, SamplingParams
from closedloop.roles.prompts import (
    extract_code,
    feedback_message,
    load_error_message,
    solver_prompt,
)
from closedloop.sandbox import Refusals
from closedloop.tasks.format import Split, Task
from closedloop.train.trajectory import Trajectory, logprob_temperature
from closedloop.verify import Verdict, VerificationBackend
from closedloop.verify.outcome import Outcome

_PLACEHOLDER = "\x00TURN\x00"


@dataclass
class Attempt:
    """One multi-turn attempt at one task."""

    task_id: str
    sample: int
    prompt_ids: list[int]
    completion_ids: list[int] = field(default_factory=list)
    loss_mask: list[int] = field(default_factory=list)
    logprobs: list[float] = field(default_factory=list)
    codes: list[str] = field(default_factory=list)
    feedback: list[str] = field(default_factory=list)
    public_pass: bool = False
    verdict: Verdict | None = None
    temperature: float | None = None
    """The temperature every turn was sampled at (set by :func:`attempt_tasks`; None for an
    attempt built by hand, which cannot become a trajectory)."""
    public_refusals: Refusals = field(default_factory=Refusals)
    """What the sandbox refused or cut the attempt's turns while they ran on the public tests
    (the private scoring's are on ``verdict``): a program can probe the sandbox only on the
    inputs its prompt shows, so both are counted (:attr:`refusals`)."""

    @property
    def code(self) -> str:
        """The final attempt's code."""
        return self.codes[-1] if self.codes else ""

    @property
    def turns(self) -> int:
        """Turns the policy took."""
        return len(self.codes)

    @property
    def refusals(self) -> Refusals:
        """Everything the sandbox refused the attempt: its public-test turns and its scoring."""
        scored = self.verdict.refusals if self.verdict is not None else Refusals()
        return self.public_refusals + scored

    @property
    def reward(self) -> float | None:
        """The private verdict's reward (None for infra_error/invalid or before scoring)."""
        return self.verdict.reward if self.verdict else None

    def trajectory(self, group_id: str, policy_version: int) -> Trajectory:
        """The attempt as a training trajectory (feedback tokens masked out), stamped with the
        temperature its log-probs are under, so the trainer recomputes them at the same one."""
        if self.temperature is None:
            raise ValueError(
                f"attempt {self.task_id}#{self.sample} records no sampling temperature; "
                "build attempts with attempt_tasks to train on them"
            )
        outcome = self.verdict.outcome if self.verdict else Outcome.INFRA_ERROR
        return Trajectory(
            prompt_ids=tuple(self.prompt_ids),
            completion_ids=tuple(self.completion_ids),
            loss_mask=tuple(self.loss_mask),
            sampling_logprobs=tuple(self.logprobs),
            temperature=logprob_temperature(self.temperature),
            reward=self.reward,
            group_id=group_id,
            policy_version=policy_version,
            outcome=outcome,
        )

    def seen_ids(self) -> list[int]:
        """Every token the solver was shown as input (prompt and environment turns)."""
        env = [t for t, m in zip(self.completion_ids, self.loss_mask, strict=True) if m == 0]
        return self.prompt_ids + env


def turn_separator_ids(policy: Any, feedback: str, prev_ids: Sequence[int]) -> list[int]:
    """Token ids the environment appends after a policy turn: the end of that turn (when the
    policy did not stop by itself), the user's feedback message, and the assistant header.

    Computed by rendering a conversation with a placeholder assistant turn through the
    policy's own template and taking the text after the placeholder.
    """
    conv = [
        {"role": "user", "content": "x"},
        {"role": "assistant", "content": _PLACEHOLDER},
        {"role": "user", "content": feedback},
    ]
    text = policy.render(conv)
    between = text.split(_PLACEHOLDER, 1)[1] if _PLACEHOLDER in text else "\n" + feedback + "\n"
    ids = list(policy.tokenizer(between, add_special_tokens=False)["input_ids"])
    eos = policy.eos_id
    ended = bool(prev_ids) and prev_ids[-1] == eos
    if ended and ids and ids[0] == eos:
        ids = ids[1:]
    elif not ended and (not ids or ids[0] != eos):
        ids = [eos, *ids]
    return ids


def _failing_public(task: Task, v: Verdict) -> str:
    bad = [t for t in v.tests if not t.passed]
    if bad:
        return feedback_message(task.entry_point, bad)
    return load_error_message(v.detail or str(v.outcome))


def attempt_tasks(
    policy: Any,
    tasks: Sequence[Task],
    verifier: VerificationBackend,
    n: int,
    params: SamplingParams,
    turns: int = 1,
    score: bool = True,
) -> list[list[Attempt]]:
    """``n`` attempts per task, each of up to ``turns`` turns. With ``score`` every final
    attempt is then scored on the private tests (``attempt.verdict``); the loop passes False
    and scores them in its own verify phase (:func:`score_attempts`)."""
    if turns < 1:
        raise ValueError(f"turns={turns}: must be >= 1")
    prompts = [policy.encode_prompt(solver_prompt(t)) for t in tasks]
    attempts = [
        [Attempt(t.id, j, list(p), temperature=params.temperature) for j in range(n)]
        for t, p in zip(tasks, prompts, strict=True)
    ]
    flat = [(t, a) for t, row in zip(tasks, attempts, strict=True) for a in row]
    open_ = list(flat)
    for turn in range(turns):
        if not open_:
            break
        contexts = [a.prompt_ids + a.completion_ids for _, a in open_]
        comps: list[Completion] = [c[0] for c in policy.sample_ids(contexts, 1, params)]
        for (_, a), c in zip(open_, comps, strict=True):
            a.completion_ids += list(c.token_ids)
            a.loss_mask += [1] * len(c.token_ids)
            a.logprobs += list(c.logprobs)
            a.codes.append(extract_code(c.text))
        checkable = [(t, a) for t, a in open_ if t.public_tests]
        verdicts = verifier.verify_many([(t, a.code) for t, a in checkable], split=Split.PUBLIC)
        still = []
        for (t, a), v in zip(checkable, verdicts, strict=True):
            a.public_pass = v.outcome is Outcome.PASS
            a.public_refusals = a.public_refusals + v.refusals
            if a.public_pass or turn == turns - 1 or v.outcome is Outcome.INFRA_ERROR:
                continue
            msg = _failing_public(t, v)
            sep = turn_separator_ids(policy, msg, a.completion_ids)
            a.feedback.append(msg)
            a.completion_ids += sep
            a.loss_mask += [0] * len(sep)
            a.logprobs += [0.0] * len(sep)
            still.append((t, a))
        open_ = still
    if score:
        score_attempts(verifier, tasks, attempts)
    return attempts


def score_attempts(
    verifier: VerificationBackend, tasks: Sequence[Task], attempts: Sequence[Sequence[Attempt]]
) -> None:
    """Verify every attempt's final program on its task's **private** tests and set
    ``attempt.verdict`` (the reward). Nothing of the verdict reaches any turn."""
    flat = [(t, a) for t, row in zip(tasks, attempts, strict=True) for a in row]
    finals = verifier.verify_many([(t, a.code) for t, a in flat], split=Split.PRIVATE)
    for (_, a), v in zip(flat, finals, strict=True):
        a.verdict = v
