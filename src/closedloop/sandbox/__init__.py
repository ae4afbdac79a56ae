"""sandbox: running untrusted code.

Owns a pool of pre-warmed worker processes, each inside kernel-enforced isolation (user, PID,
network, mount, IPC, UTS and cgroup namespaces; a read-only root holding only the Python
runtime and OS libraries); every job is forked fresh from a worker and locked down with
rlimits, no capabilities, no_new_privs and a seccomp filter; results travel on a dedicated
length-prefixed channel; the wall clock is enforced from outside the job with SIGKILL.

Must never: decide a verdict; let expected values, test code or task files into the
candidate's process.
"""

from closedloop.sandbox.limits import SandboxLimits
from closedloop.sandbox.worker import JobChannel, JobStatus, SandboxUnavailable, Worker, WorkerLost

__all__ = ["JobChannel", "JobStatus", "SandboxLimits", "SandboxUnavailable", "Worker", "WorkerLost"]
