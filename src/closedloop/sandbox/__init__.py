"""sandbox: running untrusted code.

Owns a pool of pre-warmed worker processes, each inside kernel-enforced isolation (user, PID,
network, mount, IPC, UTS and cgroup namespaces; a read-only root holding only the Python
runtime, OS libraries and read-only device nodes) and, where the host gives them, a pids cgroup
bounding its tasks and a memory cgroup holding its jobs alone, bounding all they hold, page
tables included (``cgroups.py``). Every job is cloned fresh by the worker's
zygote, a process that never handles job data, into its own PID and IPC namespaces and a fresh
/tmp, so that each job starts from state no earlier job could have written; it is locked down
with rlimits, no capabilities, no_new_privs and a seccomp filter whose denials the worker
counts (``JobStatus.refusals``); results travel on a dedicated length-prefixed channel; the
wall clock is enforced from outside the job with SIGKILL. ``_inside.py`` says how.

Must never: decide a verdict; let expected values, test code or task files into the
candidate's process; let a job change the host's files or leave state for a later job.
"""

from closedloop.sandbox.limits import SandboxLimits
from closedloop.sandbox.refusals import Limit, Refusals
from closedloop.sandbox.worker import JobChannel, JobStatus, SandboxUnavailable, Worker, WorkerLost

__all__ = [
    "JobChannel",
    "JobStatus",
    "Limit",
    "Refusals",
    "SandboxLimits",
    "SandboxUnavailable",
    "Worker",
    "WorkerLost",
]
