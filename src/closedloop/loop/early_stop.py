"""Early stopping: what the loop does after an iteration whose monitors raised alarms.

``monitor.on_alarm`` decides: ``warn`` goes on; ``stop`` ends self-play after the iteration;
``rollback`` ends it too, and the final policy becomes the newest one evaluated on held-out
before the alarm (the cold start when none was). The decision is committed with the iteration
as an ``early_stop`` event, so a resumed run stops where the original stopped and the final
policy comes from the same iteration.

Owns the decision and where the final policy comes from. Must never raise alarms (the detectors
in closedloop.monitor do) or delete the policies of iterations after a rollback target (they
stay for inspection).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from closedloop.loop.config import AlarmAction
from closedloop.loop.rundir import iter_label, iteration_of
from closedloop.monitor.detectors import Alarm

EARLY_STOP_EVENT = "early_stop"


@dataclass(frozen=True)
class StopDecision:
    """Self-play stops after this iteration; with ``rollback_to`` the final policy is that one."""

    kinds: tuple[str, ...]
    rollback_to: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The ``early_stop`` event's data."""
        data: dict[str, Any] = {"kinds": list(self.kinds)}
        if self.rollback_to is not None:
            data["rollback_to"] = self.rollback_to
        return data


def decide(
    alarms: Sequence[Alarm],
    action: AlarmAction,
    iteration: int,
    evaluated: Iterable[int],
) -> StopDecision | None:
    """Whether self-play stops after ``iteration``, given its alarms and the iterations whose
    policies were evaluated on held-out (0, the cold start, always is)."""
    if not alarms or action is AlarmAction.WARN:
        return None
    kinds = tuple(sorted({str(a.kind) for a in alarms}))
    if action is AlarmAction.ROLLBACK:
        before = [i for i in evaluated if i < iteration]
        return StopDecision(kinds, iter_label(max(before, default=0)))
    return StopDecision(kinds)


def final_source(last: int, stops: Sequence[tuple[int, dict[str, Any]]]) -> tuple[int, str | None]:
    """The iteration the final policy comes from, and the rollback label when there was one:
    the last committed iteration, or the target of the committed rollback."""
    rollback = stops[-1][1].get("rollback_to") if stops else None
    if rollback is None:
        return last, None
    source = iteration_of(rollback)
    if source is None:
        raise ValueError(f"rollback target {rollback!r} is not an iteration's label")
    return source, rollback
