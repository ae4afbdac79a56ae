"""Jobs and their ledger: each job has an id, and the first result for an id is the one kept.

Owns the exactly-once rule of the fan-out. A job's batch can be lost after its actor did the
work (the actor died before answering, or its batch ran past its deadline and was sent
elsewhere); the copy that answers first is kept, and a later answer for the same id is
dropped and counted, never passed on. Must never import Ray.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Job:
    """One unit of work: a verification (task, solution) or a ``CallJob``."""

    id: int
    """Its position in the caller's input: results go back in this order."""
    payload: Any
    lost: int = 0
    """Batches holding it that were lost (actor died, deadline passed) so far."""
    why: str = ""
    """Why the last of those was lost."""


class Ledger:
    """The job ids of one call that have their result: the first result for an id wins."""

    def __init__(self) -> None:
        self._done: set[int] = set()
        self.duplicates = 0
        """Later results for an id that already had one: dropped."""

    def record(self, job_id: int) -> bool:
        """True if this is the first result for ``job_id`` (keep it); False, and counted, if
        the id already has one (drop it)."""
        if job_id in self._done:
            self.duplicates += 1
            return False
        self._done.add(job_id)
        return True

    def __contains__(self, job_id: int) -> bool:
        return job_id in self._done

    def __len__(self) -> int:
        return len(self._done)
