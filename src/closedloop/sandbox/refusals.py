"""What the sandbox refused a job or cut it off at: the record the monitors count attempts by.

Every count here is observed outside the job's process, by its worker, so a candidate cannot
forge one (see ``_inside.py``: denied system calls reach the worker through a seccomp
user-notification listener the job no longer holds when its code runs; the limits are read
from the kernel's exit status and resource usage, the output pipes and ``/tmp``, and the
memory cgroup's count of OOM kills, read by the host). A count is a lower bound: what the
job can keep out of it is below.

Not counted, because nothing outside the process sees it: an allocation refused by the
address-space limit (the job sees ENOMEM or a ``MemoryError``), a thread refused by the
process limit (EAGAIN), a write refused by the file-size limit that left no file at the cap.
Nor is a denied call the job interrupts with a signal of its own before its worker received
the notification: the kernel withdraws the notification and the call fails with EINTR (a
job setting a 10-microsecond interval timer hid ~90% of 1,000 denied calls from the count,
red team 25; the rest were counted, so such a job still shows). ``clone3`` is answered
ENOSYS by the filter itself, uncounted: its flags sit in memory the filter cannot read, and
glibc makes every thread with it first, falling back to ``clone``, which is inspected and
counted. The filter's one kill, a system call of another ABI, is counted from the job's
death by SIGSYS (``foreign_abi``); a SIGSYS the job sends itself is ignored (it is PID 1 of
its namespace), and could only raise its own count.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Limit(StrEnum):
    """A limit a job ran into, as its worker saw it."""

    WALL_CLOCK = "wall_clock"  # killed by the worker at the job's deadline
    CPU = "cpu"  # killed by the kernel at RLIMIT_CPU
    STDOUT = "stdout"  # wrote more than ``output_bytes`` to stdout (the rest was dropped)
    STDERR = "stderr"  # the same on stderr
    TMP_SPACE = "tmp_space"  # /tmp was full at the end of the job
    TMP_INODES = "tmp_inodes"  # /tmp had no inode left at the end of the job
    FILE_SIZE = "file_size"  # a file in /tmp had reached RLIMIT_FSIZE at the end of the job
    DENIALS = "denials"  # so many denied system calls that the worker killed the job
    MEMORY = "memory"  # killed by the kernel's OOM killer: at the jobs' memory cgroup's
    # bound (SandboxLimits.held_bytes), or the machine's; only where the host gave the cgroup


@dataclass(frozen=True)
class Refusals:
    """Counts of what the sandbox refused one job (or several, summed with ``+``).

    ``denied`` maps a system call's name to how many times the job was refused it; ``limits``
    maps each :class:`Limit` to how many jobs ran into it. Empty means nothing was refused.
    """

    denied: Mapping[str, int] = field(default_factory=dict)
    limits: Mapping[Limit, int] = field(default_factory=dict)

    @property
    def denied_total(self) -> int:
        return sum(self.denied.values())

    @property
    def limits_total(self) -> int:
        return sum(self.limits.values())

    def __bool__(self) -> bool:
        return bool(self.denied or self.limits)

    def __add__(self, other: Refusals) -> Refusals:
        denied = dict(self.denied)
        for k, n in other.denied.items():
            denied[k] = denied.get(k, 0) + n
        limits = dict(self.limits)
        for k, n in other.limits.items():
            limits[k] = limits.get(k, 0) + n
        return Refusals(denied, limits)

    def to_json(self) -> dict[str, Any]:
        """``{"denied": {name: n}, "limits": {limit: n}}``, keys sorted, empty parts left out."""
        out: dict[str, Any] = {}
        if self.denied:
            out["denied"] = {k: self.denied[k] for k in sorted(self.denied)}
        if self.limits:
            out["limits"] = {str(k): self.limits[k] for k in sorted(self.limits)}
        return out

    @classmethod
    def from_json(cls, obj: Mapping[str, Any] | None) -> Refusals:
        """The inverse of :meth:`to_json`; limits this version does not know are dropped."""
        if not obj:
            return cls()
        known = {str(m) for m in Limit}
        return cls(
            {str(k): int(n) for k, n in (obj.get("denied") or {}).items()},
            {Limit(k): int(n) for k, n in (obj.get("limits") or {}).items() if k in known},
        )
