"""The trajectory record: the boundary between the generate/verify phases and training.

A trajectory is one attempt at one task, as tokens. ``completion_ids`` may interleave tokens
the policy wrote with tokens the environment wrote (execution feedback in a multi-turn
attempt); ``loss_mask`` is 1 on the policy's tokens and 0 on the environment's, and no update
ever trains on a 0. No torch here: trajectories are plain data that cross process boundaries
and go to the run store as JSON.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from closedloop.policy.base import Completion
from closedloop.verify.outcome import Outcome


@dataclass(frozen=True)
class Trajectory:
    """One attempt at one task, ready for training."""

    prompt_ids: tuple[int, ...]
    """The rendered prompt's token ids."""
    completion_ids: tuple[int, ...]
    """Every token after the prompt: the policy's and, in multi-turn attempts, the environment's."""
    loss_mask: tuple[int, ...]
    """1 where the policy wrote the token (trained on), 0 where the environment did (never)."""
    sampling_logprobs: tuple[float, ...]
    """Log-prob of each completion token when it was sampled; ignored where ``loss_mask`` is 0."""
    temperature: float
    """The temperature of the distribution ``sampling_logprobs`` are under, which the trainer
    recomputes its log-probs at so that the first PPO ratio is 1: the sampling temperature, or
    1.0 for greedy decoding (whose recorded log-probs are untempered); see
    :func:`logprob_temperature`."""
    reward: float | None
    """The verified reward; None when there is none (the attempt is then dropped, never scored 0)."""
    group_id: str
    """Attempts at the same task in the same round share a group (advantages are per group)."""
    policy_version: int
    """Number of updates the sampling policy had received (for staleness)."""
    outcome: Outcome
    """The verifier's outcome; ``infra_error`` attempts are dropped from every update."""

    def __post_init__(self) -> None:
        n = len(self.completion_ids)
        if len(self.loss_mask) != n or len(self.sampling_logprobs) != n:
            raise ValueError(
                f"trajectory of group {self.group_id!r}: completion_ids has {n} tokens but "
                f"loss_mask has {len(self.loss_mask)} and sampling_logprobs "
                f"{len(self.sampling_logprobs)}; all three must be aligned token by token"
            )
        if any(m not in (0, 1) for m in self.loss_mask):
            raise ValueError(f"trajectory of group {self.group_id!r}: loss_mask must be 0/1")
        if not self.prompt_ids:
            raise ValueError(f"trajectory of group {self.group_id!r}: prompt_ids is empty")
        if not self.temperature > 0:
            raise ValueError(
                f"trajectory of group {self.group_id!r}: temperature={self.temperature}: must be "
                "> 0; pass logprob_temperature(sampling temperature) (1.0 for greedy decoding)"
            )

    @property
    def usable(self) -> bool:
        """Whether an update may use it: a reward exists and the verifier did not fail."""
        return self.reward is not None and self.outcome is not Outcome.INFRA_ERROR

    @property
    def trained_tokens(self) -> int:
        """How many completion tokens the policy wrote."""
        return sum(self.loss_mask)

    @classmethod
    def from_completion(
        cls,
        completion: Completion,
        reward: float | None,
        group_id: str,
        policy_version: int,
        outcome: Outcome,
        temperature: float,
    ) -> Trajectory:
        """A single-turn trajectory: every completion token is the policy's. ``temperature`` is
        the one the completion was sampled at (``SamplingParams.temperature``, 0 for greedy)."""
        if not completion.token_ids or not completion.prompt_ids:
            raise ValueError(
                "completion carries no token ids (an HTTP backend?); sample with a local "
                "backend to train on it"
            )
        return cls(
            prompt_ids=tuple(completion.prompt_ids),
            completion_ids=tuple(completion.token_ids),
            loss_mask=(1,) * len(completion.token_ids),
            sampling_logprobs=tuple(completion.logprobs),
            temperature=logprob_temperature(temperature),
            reward=reward,
            group_id=group_id,
            policy_version=policy_version,
            outcome=outcome,
        )

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        out = asdict(self)
        out["outcome"] = str(self.outcome)
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Trajectory:
        """Inverse of :meth:`to_json`."""
        if "temperature" not in data:
            raise ValueError(
                f"trajectory of group {data.get('group_id')!r} has no 'temperature': it was "
                "written before trajectories recorded their sampling temperature, so its "
                "log-probs cannot be matched; resample it"
            )
        return cls(
            prompt_ids=tuple(data["prompt_ids"]),
            completion_ids=tuple(data["completion_ids"]),
            loss_mask=tuple(data["loss_mask"]),
            sampling_logprobs=tuple(float(x) for x in data["sampling_logprobs"]),
            temperature=float(data["temperature"]),
            reward=None if data["reward"] is None else float(data["reward"]),
            group_id=str(data["group_id"]),
            policy_version=int(data["policy_version"]),
            outcome=Outcome(data["outcome"]),
        )


def logprob_temperature(sampling_temperature: float) -> float:
    """The temperature a sampler's recorded log-probs are under: the sampling temperature, or 1.0
    for greedy decoding (temperature 0), whose log-probs the local samplers (``HFPolicy.sample``,
    ``roles.sampling``) report untempered."""
    if sampling_temperature < 0:
        raise ValueError(f"sampling temperature {sampling_temperature}: must be >= 0")
    return sampling_temperature if sampling_temperature > 0 else 1.0


def usable(trajectories: Iterable[Trajectory]) -> list[Trajectory]:
    """The trajectories an update may use (drops ``infra_error`` and reward-less ones)."""
    return [t for t in trajectories if t.usable]


def group_by_id(trajectories: Sequence[Trajectory]) -> dict[str, list[Trajectory]]:
    """Trajectories by ``group_id``, in first-seen order."""
    groups: dict[str, list[Trajectory]] = {}
    for t in trajectories:
        groups.setdefault(t.group_id, []).append(t)
    return groups
