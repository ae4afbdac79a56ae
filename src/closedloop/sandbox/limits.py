"""Resource limits of one sandboxed job."""

from __future__ import annotations

from dataclasses import dataclass

MAX_SLOTS = 1024
"""Most sandbox slots (or torch threads) an option or a config takes: each slot is two
processes, started at once, so a larger number is a typo that would fork thousands."""
MAX_WALL_S = 86_400.0
"""Longest wall clock a timeout option or setting takes (a day): a larger one is a typo, and an
infinite one overflows the clock arithmetic (every verdict an infra_error)."""


@dataclass(frozen=True)
class SandboxLimits:
    """Limits the kernel enforces on every job (rlimits, tmpfs size) plus the wall clock,
    which the worker enforces from outside the job with SIGKILL.
    """

    wall_s: float = 10.0
    """Wall-clock seconds for the whole job (load plus every call)."""
    cpu_s: float | None = None
    """CPU seconds; RLIMIT_CPU is ``int(cpu_s) + 1``, where the kernel kills the job (SIGKILL).
    Defaults to ``wall_s``."""
    mem_bytes: int = 1 << 30
    """Address space (RLIMIT_AS)."""
    fsize_bytes: int = 16 << 20
    """Largest file the job may write (RLIMIT_FSIZE); a bigger write fails with EFBIG."""
    tmp_bytes: int = 64 << 20
    """Size of the job's fresh /tmp (tmpfs)."""
    tmp_inodes: int = 4096
    """Files the job may create in /tmp."""
    nofile: int = 64
    """Open file descriptors (RLIMIT_NOFILE)."""
    nproc: int = 64
    """Processes and threads (RLIMIT_NPROC); fork itself is denied by seccomp."""
    output_bytes: int = 8192
    """Bytes of stdout and of stderr kept (the tail); the rest is read and dropped."""

    @property
    def held_bytes(self) -> int:
        """Memory a job may hold in all where the host gives its jobs a memory cgroup
        (``sandbox/cgroups.py``): its address space and its /tmp, plus room for what the
        kernel allocates for them (page tables of a densely mapped address space, 1/256 of
        it; pipes, descriptors, threads' stacks: 32 MiB). Past it the kernel kills the job."""
        return self.mem_bytes + self.tmp_bytes + self.mem_bytes // 256 + (32 << 20)

    def __post_init__(self) -> None:
        if not self.wall_s > 0:
            raise ValueError(f"wall_s must be > 0 seconds, got {self.wall_s!r}")
        if self.cpu_s is not None and not self.cpu_s > 0:
            raise ValueError(f"cpu_s must be > 0 seconds or None, got {self.cpu_s!r}")
        for name in ("mem_bytes", "fsize_bytes", "tmp_bytes", "tmp_inodes", "nofile", "nproc"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be a positive integer, got {getattr(self, name)!r}")
