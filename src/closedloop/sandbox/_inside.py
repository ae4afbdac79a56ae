"""The code that runs inside the sandbox: the worker, its zygote and the job harness.

Its source is sent, after ``wire.py``'s and ``prompt_types.py``'s, to a fresh ``python -I -S``
process, so it is stdlib-only and imports nothing of closedloop. The host never imports it to
run it.

The worker
  0. joins the pids cgroup the host made for it, if any (``cgroups.py``), before it forks, and
     opens its jobs' memory cgroup, which each job child joins before lock-down;
  1. enters new user, mount, PID, network, IPC, UTS and cgroup namespaces (unshare(2));
  2. builds a root of read-only bind mounts holding the Python runtime, the OS libraries and
     four device nodes (nothing of the task or the user's files; read-only, so that no
     inode of the host, device nodes included, can have its mode, owner or times changed),
     pivots into it, and becomes PID 1 there;
  3. serves a fixed, trusted program once through the job harness (``_warm_up``: what every
     job would do first is then done in the pages jobs start from) and forks the zygote;
     then serves jobs: for each one it mounts a fresh size-capped tmpfs at /tmp, has the
     zygote clone a child, and reports how the child ended and what it was refused.

Every process names itself by its role (``cl-worker``, ``cl-pid1``, ``cl-zygote``, ``cl-job``;
a judge worker's ``cl-judges`` and ``cl-judge``), for ``ps`` and for profiles.

A judge worker (checkers, trusted task code run on the candidate's values) forks no zygote: it
runs checkers in a judge runner, a child limited like a job (address space, processes, open
files, file size) before it reads any job, with a fresh /tmp, the CPU time and the wall clock
of each job enforced from outside (``serve_judges``).

No state crosses between jobs, by construction:
  - memory: PID 1 reads each job's output, status and denied calls, so its heap holds what
    jobs wrote; it never forks a job. The zygote, forked before any job, receives only a
    constant trigger byte and never learns a child's PID (the raw clone's result is not
    read), so every job starts from memory no job wrote;
  - kernel objects: each job child is PID 1 of a new PID namespace (it cannot name any
    other process of the sandbox, and its ids do not depend on earlier jobs) and has a new
    IPC namespace (System V shared memory, semaphores and queues, POSIX message queues);
  - files: the root is read-only, /tmp is a new tmpfs per job; locks and inotify watches on
    the host's shared files are denied (they would be a channel between running jobs), and so
    is every call that reads or steers which of their pages the host has cached (mincore,
    cachestat, preadv2's RWF_NOWAIT, fadvise, readahead): without them the page cache is a
    channel only through timing, which is out of scope (below).

Each job child redirects stdout/stderr to capped pipes, sets rlimits, drops every capability,
sets no_new_privs and installs a seccomp filter before it reads a byte of the job. Then it
serves calls (a candidate) or runs a checker (a judge).

What may blame the sandbox (``infra_error``, which the loop drops unscored): only the
result channel's first frame, which ``job_child`` writes once lock-down is in force and
before any candidate code exists (``{"locked": true}``, or ``{"sandbox_error": ...}`` when
lock-down failed), and, for a judge, its death before its ``{"judging": true}`` marker. Every
later frame may be the candidate's, so none of them can make the host blame itself
(``verify.runner._load``).

Denied system calls are counted where the job cannot reach: the filter sends them to a
seccomp user-notification listener (SECCOMP_RET_USER_NOTIF). PID 1 takes a copy of the
child's listener (pidfd_getfd) and only then lets the child close its own, before any job
code runs; the kernel holds the calling thread until PID 1 answers EPERM and counts the call.
(SECCOMP_RET_TRAP would be catchable, and RET_ERRNO invisible, to the job.) A job that makes
more than MAX_DENIALS denied calls is killed. On kernels without pidfd_getfd (before 5.6)
the filter answers EPERM itself and nothing is counted. Limits hit (wall clock, CPU, output
caps, /tmp full, a file at the size limit) are read by PID 1 from the kernel's exit status
and resource usage, the pipes and /tmp after the job.

What this does not protect against: kernel bugs (seccomp narrows the surface; it does not
remove it); timing side channels between concurrent jobs and through caches; a job learning
the inputs it is called with (it is supposed to). Being PID 1 of its namespace, a job
ignores signals it sends itself whose action is the default (``os.kill(os.getpid(), 9)``
does nothing; ``abort()`` ends in SIGSEGV rather than SIGABRT); the kernel's own signals
(faults, the CPU limit's SIGKILL) and PID 1's SIGKILL at the deadline still end it.
"""

import _thread
import builtins
import contextlib
import ctypes
import errno
import fcntl
import functools
import gc
import json
import math
import operator
import os
import resource
import select
import signal
import socket
import struct
import sys
import time
import traceback
import types
import weakref

try:  # on the host, for tools; inside the sandbox the two modules' source precedes this file
    from closedloop.sandbox.prompt_types import NO_HINT, Position, PromptTypes, slot_key
    from closedloop.sandbox.wire import (
        _BASES,
        FUNCTION_HANDLE,
        FUNCTION_NAMES,
        HANDLE_OPS,
        ITER_END,
        JUDGE_INT_BITS,
        MAX_INT_BITS,
        MAX_NODES,
        STDLIB_MUTABLE,
        Handle,
        WireError,
        _builtin_exception_name,
        _fingerprint_of,
        _HandleDoc,
        _is_member,
        _meets,
        _obj_state,
        _set_attr,
        _slot_names,
        contains_nan,
        decode_plain,
        encode_plain,
        function_meta,
        graph_numbers,
        plain_equal,
        read_frame,
        stdlib_type,
        write_frame,
    )
except ImportError:
    pass

_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long

CLONE_NEWNS, CLONE_NEWCGROUP, CLONE_NEWUTS = 0x00020000, 0x02000000, 0x04000000
CLONE_NEWIPC, CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET = (
    0x08000000,
    0x10000000,
    0x20000000,
    0x40000000,
)
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
MS_NOATIME, MS_NODIRATIME, MS_RELATIME, MS_STRICTATIME = 1024, 2048, 1 << 21, 1 << 24
MNT_DETACH = 2
PR_SET_PDEATHSIG, PR_SET_NO_NEW_PRIVS, PR_SET_SECCOMP, PR_CAPBSET_DROP = 1, 38, 22, 24
SYS_PIVOT_ROOT, SYS_CAPSET, SYS_CLONE, SYS_SECCOMP, SYS_PIDFD_GETFD = 155, 126, 56, 317, 438
CLONE_PARENT, CLONE_CHILD_SETTID = 0x00008000, 0x01000000
SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER = 1, 8
SECCOMP_IOCTL_NOTIF_RECV, SECCOMP_IOCTL_NOTIF_SEND = 0xC0502100, 0xC0182101
LISTENER_FD = 5  # where a job child keeps its seccomp listener until its worker has a copy
BIRTH_FD = 6  # the job child's socket to PID 1, closed before job code runs
TID_OFFSET = 720  # glibc's struct pthread.tid on x86-64; checked before use (_tid_address)
MAX_DENIALS = 10_000  # denied system calls a job may make before its worker kills it


def _c(s):
    return None if s is None else s.encode()


PR_SET_NAME = 15


def _set_name(name):
    """Name this process by its role (``ps``, ``top`` and ``perf report --sort comm`` show it:
    ``benchmarks/verify_profile.py`` splits the verifier's CPU time by these names)."""
    _libc.prctl(PR_SET_NAME, name.encode(), 0, 0, 0)


def _check(ret, what):
    if ret != 0:
        e = ctypes.get_errno()
        raise OSError(e, f"{what}: {os.strerror(e)}")


def _mount(src, target, fstype, flags, data=None):
    _check(
        _libc.mount(_c(src), _c(target), _c(fstype), ctypes.c_ulong(flags), _c(data)),
        f"mount {target}",
    )


def _locked_flags(path):
    # A remount inside a user namespace must keep the flags the outer mount has, or EPERM.
    f = os.statvfs(path).f_flag
    out = 0
    for st, ms in (
        (os.ST_NOSUID, MS_NOSUID),
        (os.ST_NODEV, MS_NODEV),
        (os.ST_NOEXEC, MS_NOEXEC),
        (os.ST_NOATIME, MS_NOATIME),
        (os.ST_NODIRATIME, MS_NODIRATIME),
        (os.ST_RELATIME, MS_RELATIME),
    ):
        if f & st:
            out |= ms
    return out


def _bind_ro(src, target):
    flags = _locked_flags(src)
    if os.path.isdir(src):
        os.makedirs(target, exist_ok=True)
    else:
        os.makedirs(os.path.dirname(target), exist_ok=True)
        open(target, "a").close()
    _mount(src, target, None, MS_BIND)
    _mount(None, target, None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | flags)


# -- the worker -----------------------------------------------------------------------------


def enter_sandbox(cfg):
    """Unshare every namespace, build the read-only root, pivot into it. Returns in PID 1."""
    uid, gid = os.getuid(), os.getgid()
    flags = (
        CLONE_NEWUSER
        | CLONE_NEWNS
        | CLONE_NEWPID
        | CLONE_NEWNET
        | CLONE_NEWIPC
        | CLONE_NEWUTS
        | CLONE_NEWCGROUP
    )
    _check(_libc.unshare(flags), "unshare(user, mount, pid, net, ipc, uts, cgroup namespaces)")
    with open("/proc/self/setgroups", "w") as f:
        f.write("deny")
    with open("/proc/self/uid_map", "w") as f:
        f.write(f"0 {uid} 1")
    with open("/proc/self/gid_map", "w") as f:
        f.write(f"0 {gid} 1")
    pid = os.fork()  # the PID namespace applies to children: the child is PID 1
    if pid:
        for fd in range(3, 256):
            try:
                os.close(fd)
            except OSError:
                pass
        _, status = os.waitpid(pid, 0)
        os._exit(os.waitstatus_to_exitcode(status) & 0xFF)
    _check(_libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0), "prctl(PDEATHSIG)")
    _set_name("cl-judges" if cfg.get("mode") == "judge" else "cl-pid1")
    root = cfg["root"]
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    _mount("tmpfs", root, "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,nr_inodes=4096,mode=0755")
    for src in cfg["ro_paths"]:
        if os.path.exists(src):
            _bind_ro(src, root + src)
    for hidden in cfg.get("hidden_paths", ()):  # installed packages: an empty read-only tmpfs
        if os.path.isdir(root + hidden):
            _mount(
                "tmpfs",
                root + hidden,
                "tmpfs",
                MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY,
                "size=4k,nr_inodes=8,mode=0555",
            )
    for name in os.listdir("/"):  # merged-/usr symlinks such as /lib -> usr/lib
        p = "/" + name
        if os.path.islink(p) and not os.path.lexists(root + p):
            os.symlink(os.readlink(p), root + p)
    os.makedirs(root + "/dev", exist_ok=True)
    for dev in ("null", "zero", "random", "urandom"):  # read-only: the inode is the host's
        _bind_ro("/dev/" + dev, root + "/dev/" + dev)
    os.makedirs(root + "/tmp", exist_ok=True)
    os.chdir(root)
    os.makedirs(".oldroot", exist_ok=True)
    _check(_libc.syscall(SYS_PIVOT_ROOT, b".", b".oldroot"), "pivot_root")
    os.chdir("/")
    _check(_libc.umount2(b"/.oldroot", MNT_DETACH), "umount old root")
    os.rmdir("/.oldroot")
    _mount(None, "/", None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)
    _libc.sethostname(b"sandbox", 7)


def _send(sock, obj):
    sock.send(json.dumps(obj).encode())


def _send_done(sock, done):
    """A job's report, which holds what the job wrote: if the socket will not carry it whole
    (a message larger than its buffer), the same report with its output cut, so the verdict
    still comes from how the job ended (never a lost worker the job could cause)."""
    try:  # the output was decoded with "replace": UTF-8 carries it at most 1.5x, not 6x
        sock.send(json.dumps(done, ensure_ascii=False).encode())
    except OSError:
        _send(sock, dict(done, stdout=done["stdout"][-1024:], stderr=done["stderr"][-1024:]))


def serve(sock, cfg):
    """Candidate worker loop. The next job's child is started and locked down *before* its
    job is asked for, and its pipe ends are offered to the host at once (SCM_RIGHTS); the
    host's "go" starts the job's clock. So neither the fork nor a round trip is on the job's
    critical path. Every job runs under the worker's limits.

    This process (PID 1) reads each job's output, status and denied system calls, so its
    memory holds what earlier jobs wrote; it therefore never forks a job. The zygote does:
    a process forked once, before the first job, which receives nothing but a constant
    trigger byte, so every job starts from memory no job has written."""
    _send(sock, {"op": "ready", "pid": os.getpid(), "uid": os.getuid()})
    lim = cfg["limits"]
    if cfg.get("mode") == "judge":
        serve_judges(sock, lim)
    zygote = _start_zygote(sock, lim, cfg["notify"])
    ready = _prefork(zygote, lim)
    _offer(sock, ready)
    while True:
        try:
            data, fds, _, _ = socket.recv_fds(sock, 65536, 4)
        except OSError:
            os._exit(0)
        if not data:
            os._exit(0)  # the host went away: PID 1 exits and the kernel kills the namespace
        for fd in fds:  # a candidate job's pipes are made by its child, never handed in
            os.close(fd)
        if json.loads(data).get("op") == "go":
            _send_done(sock, run_job(sock, ready))
            ready = _prefork(zygote, lim)  # the next child, while the host reads the verdict
            _offer(sock, ready)
        else:
            _send(sock, {"op": "error", "detail": "unknown control message"})


def _offer(sock, ready):
    socket.send_fds(sock, [b'{"op": "offer"}'], [ready["in_w"], ready["out_r"]])
    os.close(ready["in_w"])
    os.close(ready["out_r"])


JUDGE_RUNS = 1024  # judge jobs one judge runner serves before a fresh one replaces it
_CPU_POLL_S = 0.2  # how often a worker reads a busy judge runner's CPU clock


def serve_judges(sock, lim):
    """A judge worker runs checkers in a judge runner: a process forked from this one (which
    never runs a checker nor reads a job's frames), limited in address space, processes,
    open files and file size before it reads a byte of any job (fails closed: a runner whose
    limits cannot be set exits, and the job is the sandbox's failure). Each job gets a fresh
    size-capped /tmp, its CPU time counted and its wall clock (``wall_s``, the host's time
    left: the candidate's deadline) enforced from here, outside the runner, with SIGKILL; a
    runner killed or dead is replaced before the next job, and every ``JUDGE_RUNS`` jobs.

    A runner serves several jobs because a fork per job cost a third of the verifier's
    throughput; checker code still gets fresh globals per job, and checkers are trusted task
    code: the values they handle are the candidate's, but no candidate code runs here. A
    checker driven into a limit after it confirmed ``judging`` is the candidate's failure
    (see ``verify.runner._run_checker``)."""
    runner = None
    while True:
        if runner is None or runner["runs"] >= JUDGE_RUNS:
            _stop_runner(runner)
            runner = _start_runner(sock, lim)
        _fresh_tmp(lim)
        try:
            data, fds, _, _ = socket.recv_fds(sock, 65536, 4)
        except OSError:
            os._exit(0)
        if not data:
            os._exit(0)
        try:
            wall = float(json.loads(data).get("wall_s") or lim["wall_s"])
        except (ValueError, TypeError, AttributeError):
            wall = lim["wall_s"]
        if _ended(runner):  # died between jobs (a checker's leftover killed it): a fresh one
            _stop_runner(runner)
            runner = _start_runner(sock, lim)
        done = run_judge(sock, runner, fds, min(max(wall, 0.0), lim["wall_s"]), lim)
        if done["exit_code"] is not None or done["signal"]:
            _stop_runner(runner)
            runner = None
        _send(sock, done)


def _start_runner(sock, lim):
    """Fork a judge runner; it waits for its jobs' descriptors on a socket of its own and
    never holds this worker's channel to the host."""
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    pid = os.fork()
    if pid == 0:
        code = 70
        try:
            sock.close()
            ours.close()
            judge_runner(theirs, lim)
            code = 0
        finally:
            os._exit(code)
    theirs.close()
    clock = ((~pid) << 3) | 2  # the process's CPU clock (CPUCLOCK_SCHED), read from here
    return {"pid": pid, "pidfd": os.pidfd_open(pid), "ctl": ours, "clock": clock, "runs": 0}


def _ended(runner):
    """Whether the judge runner has ended (its pidfd is readable once it has)."""
    return bool(select.select([runner["pidfd"]], [], [], 0)[0])


def _stop_runner(runner):
    if runner is None:
        return
    if runner["pid"] > 0:  # not reaped yet
        try:
            os.killpg(runner["pid"], signal.SIGKILL)  # the runner and what a checker started
        except OSError:
            pass
        try:
            os.waitpid(runner["pid"], 0)
        except ChildProcessError:
            pass
    runner["ctl"].close()
    os.close(runner["pidfd"])


def judge_runner(ctl, lim):
    """Limit this process, then run each checker job whose descriptors arrive on ``ctl``,
    answering ``done`` after each. An exception escaping the checker's harness ends the
    process without a verdict: before ``judging`` that is the sandbox's failure, after it
    the candidate's."""
    _set_name("cl-judge")
    os.setpgid(0, 0)
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # an oversized write fails, it does not kill
    set_rlimits(
        dict(lim, cpu_s=(JUDGE_RUNS + 1) * _cpu_limit(lim))
    )  # per job: counted from outside
    clean = _process_state()
    while True:
        _, fds, _, _ = socket.recv_fds(ctl, 64, 4)
        if len(fds) != 4:
            return
        os.chdir("/tmp")  # this job's fresh /tmp
        _fresh_module_state()
        try:
            serve_judge(fds[0], fds[1], fds[2:])
        finally:
            # what the checker left running goes first: a thread still holding the job's
            # descriptor numbers would write into the next job's candidate once they are reused
            last = not _restore_process_state(clean)
            for fd in fds:  # the candidate sees end of file once the host closes its end too
                os.close(fd)
        os.chdir("/")
        ctl.send(b"last" if last else b"done")
        if last:
            os._exit(0)


def _process_state():
    """What a judge runner's process looks like before any checker ran: its signal handlers,
    trace and profile hooks, standard streams and recursion limit."""
    handlers = {}
    for sig in signal.valid_signals():
        try:
            handlers[sig] = signal.getsignal(sig)
        except (OSError, ValueError):
            pass
    return {
        "handlers": handlers,
        "streams": (sys.stdin, sys.stdout, sys.stderr),
        "recursion": sys.getrecursionlimit(),
        # the namespaces of the modules checkers use most (builtins and what the worker
        # preloads): a checker that rebinds one of their names (`math.pi = 3`, `builtins.len
        # = ...`) would leave it for every later job of the runner, which is replaced instead;
        # a module a checker imports itself is not watched
        "modules": {name: _module_ids(name) for name in ("builtins", *_PRELOAD, *_PRELOAD_JUDGE)},
    }


def _module_ids(name):
    """What the module ``name`` holds, as identities (None where it is not loaded)."""
    module = sys.modules.get(name)
    if module is None:
        return None
    names = vars(module)
    return tuple(names), tuple(map(id, names.values()))


def _restore_process_state(clean):
    """Undo what a checker may leave behind in the runner that serves the next job; False when
    the runner must be replaced instead (a thread of the checker's still runs: it cannot be
    stopped, and it holds the job's descriptor numbers).

    A checker that armed an alarm with a raising handler and failed before disarming it left
    the alarm to fire in a later job, inside a call the next checker expected to raise: a
    wrong solution passed (red team 21b). Or, left to its default action, it killed the
    runner between jobs and the next job was the sandbox's failure."""
    signal.alarm(0)
    for timer in (signal.ITIMER_REAL, signal.ITIMER_VIRTUAL, signal.ITIMER_PROF):
        signal.setitimer(timer, 0)
    for sig, handler in clean["handlers"].items():
        try:
            if signal.getsignal(sig) is not handler:
                signal.signal(sig, handler)
        except (OSError, ValueError, TypeError):
            pass
    faulthandler = sys.modules.get("faulthandler")
    if faulthandler is not None:
        faulthandler.cancel_dump_traceback_later()
    sys.settrace(None)
    sys.setprofile(None)
    sys.stdin, sys.stdout, sys.stderr = clean["streams"]
    sys.setrecursionlimit(clean["recursion"])
    threading = sys.modules.get("threading")
    if threading is not None:
        threading.settrace(None)
        threading.setprofile(None)
        if threading.active_count() != 1:
            return False
    return all(_module_ids(name) == ids for name, ids in clean["modules"].items())


def _fresh_module_state():
    """What a judge runner's earlier job could have left in the modules checkers use: the
    random generator's state and decimal's context."""
    if "random" in sys.modules:
        sys.modules["random"].seed()
    if "decimal" in sys.modules:
        decimal = sys.modules["decimal"]
        decimal.setcontext(decimal.Context())


def run_judge(sock, runner, fds, wall, lim):
    """Hand ``fds`` to the judge runner, wait for its ``done`` (SIGKILL at ``wall`` seconds of
    wall clock or the limits' CPU seconds) and report how the job ended, as ``run_job`` does."""
    pid, pidfd, ctl, clock = runner["pid"], runner["pidfd"], runner["ctl"], runner["clock"]
    t0 = time.monotonic()
    cpu0 = time.clock_gettime(clock)
    runner["runs"] += 1
    timed_out = cpu_hit = ended = False
    try:
        socket.send_fds(ctl, [b"job"], fds)
    except OSError:
        pass  # the runner died setting its limits: it never judged, and the host says so
    for fd in fds:  # the runner has its own copies
        os.close(fd)
    deadline, cpu_limit = t0 + wall, _cpu_limit(lim)
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            timed_out = True
            break
        ready, _, _ = select.select([ctl, pidfd, sock.fileno()], [], [], min(left, _CPU_POLL_S))
        if ctl in ready:
            said = ctl.recv(16)
            if said in (b"done", b"last"):
                if said == b"last":  # it exits: a fresh runner serves the next job
                    runner["runs"] = JUDGE_RUNS
                break
        if pidfd in ready:
            ended = True
            break
        if sock.fileno() in ready:  # the host went away
            _stop_runner(runner)
            os._exit(0)
        if time.clock_gettime(clock) - cpu0 >= cpu_limit:
            cpu_hit = True
            break
    try:
        cpu = time.clock_gettime(clock) - cpu0
    except OSError:
        cpu = None
    status, maxrss = None, 0
    if timed_out or cpu_hit or ended:
        os.killpg(pid, signal.SIGKILL)
        _, status, ru = os.wait4(pid, 0)
        maxrss = ru.ru_maxrss
        runner["pid"] = -1  # reaped: _stop_runner must not signal or wait for it again
        if cpu is None:
            cpu = ru.ru_utime + ru.ru_stime
    limits = _tmp_limits(lim)
    if timed_out:
        limits["wall_clock"] = 1
    if cpu_hit:
        limits["cpu"] = 1
    sig = 0
    if status is not None and os.WIFSIGNALED(status):
        sig = -os.waitstatus_to_exitcode(status)
    return {
        "op": "done",
        "exit_code": os.WEXITSTATUS(status)
        if status is not None and os.WIFEXITED(status)
        else None,
        "signal": sig or None,
        "timed_out": timed_out or cpu_hit,
        "wall_s": time.monotonic() - t0,
        "cpu_s": cpu,
        "maxrss_kb": maxrss,
        "stdout": "",
        "stderr": "",
        "stdout_bytes": 0,
        "stderr_bytes": 0,
        "refusals": {"denied": {}, "limits": limits},
    }


def _fresh_tmp(lim):
    _libc.umount2(b"/tmp", MNT_DETACH)  # fails harmlessly when nothing is mounted there
    # the job's four pipes and its code's are FIFOs on it: inodes beside the job's own budget
    extra = JOB_PIPES + JOB_CODE_PIPES  # the job's pipes and its code's (_job_code_pipe)
    opts = f"size={lim['tmp_bytes']},nr_inodes={lim['tmp_inodes'] + extra},mode=1777"
    _mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, opts)


# -- the zygote -----------------------------------------------------------------------------

_pyapi = ctypes.pythonapi
_raw = ctypes.PyDLL(None, use_errno=True)  # keeps the GIL across the call, as os.fork does
_raw.syscall.restype = None  # the new child's PID never becomes a Python object in the zygote
for _f in ("PyOS_BeforeFork", "PyOS_AfterFork_Parent", "PyOS_AfterFork_Child"):
    getattr(_pyapi, _f).restype = None
_TID_ADDR = None


def _tid_address():
    """Where glibc caches this thread's id, if it is at TID_OFFSET (checked against gettid):
    a child made with a raw clone must have it rewritten, or glibc's recursive locks would
    take a later thread for the owner."""
    _libc.pthread_self.restype = ctypes.c_void_p
    addr = _libc.pthread_self() + TID_OFFSET
    return addr if ctypes.c_int.from_address(addr).value == _libc.gettid() else None


def _start_zygote(sock, lim, notify):
    """Fork the zygote. It keeps a pipe to wait on and a socket its children report on."""
    trig_r, trig_w = os.pipe()
    births, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    births.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)  # the kernel names the child
    pid = os.fork()
    if pid == 0:
        try:
            sock.close()
            births.close()
            os.close(trig_w)
            zygote(trig_r, theirs.fileno(), lim, notify)
        finally:
            os._exit(70)
    os.close(trig_r)
    theirs.close()
    return {"pid": pid, "trigger": trig_w, "births": births, "notify": notify}


def zygote(trig_r, birth_fd, lim, notify):
    """For each trigger byte, clone one job child. The child is made a child of PID 1 (so that
    PID 1 reaps it and reads its resource usage), in a new PID namespace (it is PID 1 there:
    no other process of the sandbox has a number it can name, and every job's ids start from
    the same place) and a new IPC namespace (no System V object or POSIX message queue of an
    earlier job). Nothing the zygote reads depends on a job."""
    _set_name("cl-zygote")
    flags = CLONE_PARENT | CLONE_NEWPID | CLONE_NEWIPC | signal.SIGCHLD
    tid = _TID_ADDR
    if tid is not None:
        flags |= CLONE_CHILD_SETTID
    args = (ctypes.c_long(SYS_CLONE), ctypes.c_ulong(flags), None, None, ctypes.c_void_p(tid))
    while True:
        if os.read(trig_r, 1) != b"j":
            os._exit(0)  # PID 1 is gone
        ctypes.set_errno(0)
        _pyapi.PyOS_BeforeFork()
        _raw.syscall(*args, None)
        if os.getpid() == 1:  # the child, PID 1 of its own namespace
            _pyapi.PyOS_AfterFork_Child()
            try:
                os.close(trig_r)
                job_child(lim, birth_fd, notify)
            except BaseException:
                traceback.print_exc()
                sys.stderr.flush()
            finally:
                os._exit(70)
        _pyapi.PyOS_AfterFork_Parent()
        if ctypes.get_errno():
            os._exit(72)  # no child: the worker ends, and the host starts a fresh one


def _recv_birth(births, deadline):
    """The new child's pipes and its PID in this namespace (from SCM_CREDENTIALS, which the
    kernel fills in: the child cannot name another process)."""
    left = deadline - time.monotonic()
    if left <= 0 or not select.select([births], [], [], left)[0]:
        return None, []
    fds_size = socket.CMSG_SPACE(4 * 4) + socket.CMSG_SPACE(12)
    _, anc, _, _ = births.recvmsg(64, fds_size)
    pid, fds = None, []
    for level, kind, data in anc:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds += list(struct.unpack(f"{len(data) // 4}i", data[: len(data) - len(data) % 4]))
        elif level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
            pid = struct.unpack("iII", data[:12])[0]
    return pid, fds


def _prefork(zygote, lim):
    """Have the zygote make the next job child on a fresh /tmp; the child locks itself down
    and blocks reading its input pipe, whose other end goes to the host when the job starts.
    With seccomp notification, this takes a copy of the child's listener before the host can
    write to the child, which closes its own at the first byte: no job code ever holds it."""
    _fresh_tmp(lim)
    os.write(zygote["trigger"], b"j")
    births = zygote["births"]
    deadline = time.monotonic() + 30
    pid, fds = _recv_birth(births, deadline)
    if pid is None or len(fds) != 4:
        os._exit(73)  # the zygote or its child failed: the host replaces this worker
    in_w, out_r, so_r, se_r = fds
    pidfd = os.pidfd_open(pid)
    listener = None
    if zygote["notify"]:
        listener = _libc.syscall(SYS_PIDFD_GETFD, pidfd, LISTENER_FD, 0)
        if listener < 0:  # it failed to lock down (and said so), or its calls would hang
            os.kill(pid, signal.SIGKILL)
            listener = None
    return {
        "pid": pid,
        "pidfd": pidfd,
        "listener": listener,
        "in_w": in_w,
        "out_r": out_r,
        "so_r": so_r,
        "se_r": se_r,
        "limits": lim,
    }


def run_job(sock, ready):
    lim = ready["limits"]
    pid, pidfd, so_r, se_r = ready["pid"], ready["pidfd"], ready["so_r"], ready["se_r"]
    listener = ready["listener"]
    t0 = time.monotonic()
    deadline = t0 + lim["wall_s"]
    caps = {so_r: lim["output_bytes"], se_r: lim["output_bytes"]}
    bufs = {so_r: bytearray(), se_r: bytearray()}
    seen = {so_r: 0, se_r: 0}
    denied = {}
    timed_out = flooded = False
    open_fds = [pidfd, so_r, se_r, sock.fileno()] + ([listener] if listener is not None else [])
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            timed_out = True
            break
        ready_fds, _, _ = select.select(open_fds, [], [], left)
        if pidfd in ready_fds:
            break
        if sock.fileno() in ready_fds:  # the host closed the channel: stop now
            os._exit(0)
        if listener in ready_fds:
            if _hung_up(listener):  # no task of the job is left to be refused anything
                open_fds.remove(listener)
            elif _answer_denied(listener, denied) > MAX_DENIALS:
                flooded = True
                break
        for fd in (so_r, se_r):
            if fd in ready_fds:
                _drain(fd, bufs, seen, caps, open_fds)
    if timed_out or flooded:
        # The child is PID 1 of its namespace: its death takes every thread and process of
        # the job with it, and nothing of the job can outlive it.
        os.kill(pid, signal.SIGKILL)
    _, status, ru = os.wait4(pid, 0)
    wall = time.monotonic() - t0
    if listener is not None:
        os.close(listener)
    for fd in (so_r, se_r):
        while fd in open_fds:
            _drain(fd, bufs, seen, caps, open_fds)
        os.close(fd)
    os.close(pidfd)
    sig = -os.waitstatus_to_exitcode(status) if os.WIFSIGNALED(status) else 0
    cpu = ru.ru_utime + ru.ru_stime
    cpu_limit = _cpu_limit(lim)
    cpu_hit = sig == signal.SIGXCPU or (sig == signal.SIGKILL and not timed_out and not flooded)
    cpu_hit = cpu_hit and cpu >= cpu_limit - 0.5
    if sig == signal.SIGSYS:
        # the filter's one kill: a system call of another ABI (``int 0x80``), which never
        # reaches the listener (a SIGSYS the job sends itself is ignored: it is PID 1 of its
        # namespace, and could only raise its own count)
        denied["foreign_abi"] = denied.get("foreign_abi", 0) + 1
    limits = _tmp_limits(lim)
    for hit, name in (
        (timed_out, "wall_clock"),
        (cpu_hit, "cpu"),
        (seen[so_r] > caps[so_r], "stdout"),
        (seen[se_r] > caps[se_r], "stderr"),
        (flooded, "denials"),
    ):
        if hit:
            limits[name] = 1
    return {
        "op": "done",
        "exit_code": os.WEXITSTATUS(status) if os.WIFEXITED(status) else None,
        "signal": sig or None,
        "timed_out": timed_out or cpu_hit,
        "wall_s": wall,
        "cpu_s": cpu,
        "maxrss_kb": ru.ru_maxrss,
        "stdout": bytes(bufs[so_r]).decode("utf-8", "replace"),
        "stderr": bytes(bufs[se_r]).decode("utf-8", "replace"),
        "stdout_bytes": seen[so_r],
        "stderr_bytes": seen[se_r],
        "refusals": {"denied": denied, "limits": limits},
    }


def _answer_denied(listener, denied):
    """Refuse one notified system call with EPERM and count it by name; returns the total.

    The kernel holds the calling thread until the answer comes and cannot be answered by the
    job itself (it no longer has the listener), so no count is forged. A call the job's own
    signal interrupts before this receives it is withdrawn by the kernel and never seen here
    (``refusals``' docstring: a count is a lower bound)."""
    req = bytearray(80)  # struct seccomp_notif, zeroed as the kernel requires
    try:
        fcntl.ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, req, True)
    except OSError:  # the thread was killed before we answered it
        return sum(denied.values())
    nid, _, _, nr, arch = struct.unpack_from("QIIiI", req)
    # by name, unknown numbers together: a key per number let a job grow its report past
    # what the socket to the host carries (9,990 distinct numbers ended the worker)
    name = _SYSCALL_NAMES.get(nr, "other") if arch == AUDIT_ARCH_X86_64 else "x32"
    denied[name] = denied.get(name, 0) + 1
    try:
        fcntl.ioctl(
            listener, SECCOMP_IOCTL_NOTIF_SEND, struct.pack("QqiI", nid, 0, -errno.EPERM, 0)
        )
    except OSError:
        pass
    return sum(denied.values())


def _hung_up(fd):
    """Whether a seccomp listener reports POLLHUP: its filter has no task left. (It turns
    readable as the job exits, before the job's pidfd does.)"""
    p = select.poll()
    p.register(fd, select.POLLIN)
    return any(ev & select.POLLHUP for _, ev in p.poll(0))


def _cpu_limit(lim):
    return int(lim.get("cpu_s") or lim["wall_s"]) + 1


def _tmp_limits(lim):
    """Which of /tmp's limits the job's files stand at (read here, after the job ended)."""
    out = {}
    try:
        st = os.statvfs("/tmp")
    except OSError:
        return out
    if st.f_bavail == 0:
        out["tmp_space"] = 1
    # the job's pipes are FIFOs on /tmp (_job_pipe), beside its budget, and the host may
    # still hold up to all of them: no more free than those is a full /tmp (a job within
    # JOB_PIPES files of the cap may be counted as at it; a count of its files instead went
    # by path, and past PATH_MAX a tree went uncounted)
    if st.f_favail <= JOB_PIPES + JOB_CODE_PIPES:
        out["tmp_inodes"] = 1
    if st.f_files - st.f_ffree > 1:  # something beyond the root directory: look for a big file
        stack = ["/tmp"]
        while stack:
            try:
                entries = list(os.scandir(stack.pop()))
            except OSError:
                continue
            for e in entries:
                try:  # a path past PATH_MAX cannot be looked at: it is not the worker's end
                    if e.is_dir(follow_symlinks=False):
                        stack.append(e.path)
                    elif e.is_file(follow_symlinks=False):
                        if e.stat(follow_symlinks=False).st_size >= lim["fsize_bytes"]:
                            out["file_size"] = 1
                            return out
                except OSError:
                    continue
    return out


def _drain(fd, bufs, seen, caps, open_fds):
    try:
        b = os.read(fd, 65536)
    except BlockingIOError:
        return
    if not b:
        open_fds.remove(fd)
        return
    seen[fd] += len(b)
    buf = bufs[fd]
    buf += b
    if len(buf) > caps[fd]:  # keep the tail: the traceback is at the end
        del buf[: len(buf) - caps[fd]]


# -- the job child --------------------------------------------------------------------------


# The job's filter is an allow-list (ALLOWED_SYSCALLS below): every call not on it is refused
# and counted. A deny-list let through, one red team after another, calls that reach state
# beyond the job -- fcntl leases and hints, SysV segments, ext4's extent cache, Linux AIO's
# machine-wide budget, sysinfo's process count, quotactl_fd's host sync, stacked seccomp
# filters in kernel memory -- and every call a newer kernel adds.
#
# DENIED_SYSCALLS names the refused calls that matter (numbers from asm/unistd_64.h), so a
# refusal is counted by name; any other refused call is counted as "other".
# fmt: off
DENIED_SYSCALLS = {
    # new sockets, and sending on any
    "socket": 41, "connect": 42, "accept": 43, "sendto": 44, "recvfrom": 45, "sendmsg": 46,
    "bind": 49, "listen": 50, "socketpair": 53, "setsockopt": 54, "accept4": 288,
    "recvmmsg": 299, "sendmmsg": 307,
    # other processes' memory and signals
    "ptrace": 101, "process_vm_readv": 310, "process_vm_writev": 311, "kcmp": 312,
    "process_madvise": 440, "process_mrelease": 448, "tkill": 200, "rt_sigqueueinfo": 129,
    "rt_tgsigqueueinfo": 297, "pidfd_send_signal": 424, "pidfd_open": 434, "pidfd_getfd": 438,
    # new processes and programs (threads go through clone, checked below)
    "fork": 57, "vfork": 58, "execve": 59, "execveat": 322,
    # mounts, namespaces, roots
    "mount": 165, "umount2": 166, "unshare": 272, "setns": 308, "pivot_root": 155, "chroot": 161,
    "open_tree": 428, "move_mount": 429, "fsopen": 430, "fsconfig": 431, "fsmount": 432,
    "fspick": 433, "mount_setattr": 442,
    # kernel interfaces with a history of escapes
    "bpf": 321, "perf_event_open": 298, "userfaultfd": 323, "keyctl": 250, "add_key": 248,
    "request_key": 249, "io_uring_setup": 425, "io_uring_enter": 426, "io_uring_register": 427,
    "name_to_handle_at": 303, "open_by_handle_at": 304, "modify_ldt": 154, "uselib": 134,
    "personality": 135, "fanotify_init": 300, "lookup_dcookie": 212, "migrate_pages": 256,
    "move_pages": 279,
    # the machine itself
    "kexec_load": 246, "kexec_file_load": 320, "init_module": 175, "finit_module": 313,
    "delete_module": 176, "reboot": 169, "swapon": 167, "swapoff": 168, "acct": 163,
    "settimeofday": 164, "clock_settime": 227, "adjtimex": 159, "quotactl": 179, "syslog": 103,
    # limits and identities, fixed before the filter goes on (prlimit64 on the job itself is
    # allowed, checked below: it is how glibc reads and sets a process's own limits)
    "setrlimit": 160, "prlimit64": 302, "setpriority": 141, "setuid": 105, "setgid": 106, "setreuid": 113,
    "setregid": 114, "setresuid": 117, "setresgid": 119, "setfsuid": 122, "setfsgid": 123,
    # state on the host's (read-only) files that every worker's jobs share: locks and watches
    # (fcntl takes only the commands in FCNTL_ALLOWED, checked below)
    "flock": 73, "inotify_init": 253, "inotify_add_watch": 254, "inotify_init1": 294,
    # System V and POSIX IPC objects: a job's own IPC namespace keeps them from the next job,
    # but a detached shared-memory segment keeps its pages outside the address-space limit
    # (3 GiB held by one job under a 1 GiB limit), so none may be made at all
    "shmget": 29, "semget": 64, "msgget": 68, "mq_open": 240,
    # and for the same reason anonymous files: written, not mapped, a job's 60 memfds held
    # 960 MiB beside its 1 GiB address space
    "memfd_create": 319,
    # Linux AIO: its event budget (fs.aio-max-nr) is one for the whole machine, so a job held
    # half of it and a job beside it read how much was left
    "io_setup": 206, "io_destroy": 207, "io_getevents": 208, "io_submit": 209, "io_cancel": 210,
    "io_pgetevents": 333,
    # writeback of the whole host (a thread in sync ignores SIGKILL until it returns)
    "sync": 162, "syncfs": 306, "sync_file_range": 277, "quotactl_fd": 443,
    # machine-wide counts (sysinfo's process count was a channel between running jobs), the
    # page-fault counts that read the page cache without timing, filters stacked in kernel
    # memory, process settings, futexes on shared pages
    "sysinfo": 99, "getrusage": 98, "seccomp": 317, "prctl": 157, "arch_prctl": 158,
    "futex_waitv": 449, "timer_create": 222,
    # the page cache of those files, which every job shares too: what is resident can be read
    # without timing (mincore, cachestat, a read that will not wait) and set (fadvise evicts,
    # readahead loads), so a job could leave bits in it for a later one
    "mincore": 27, "readahead": 187, "fadvise64": 221, "preadv2": 327, "pwritev2": 328,
    "cachestat": 451,
    # new pipes: every pipe's inode number comes from one counter for the whole machine
    # (get_next_ino), which fstat reads back, so a job that made pipes until the counter
    # stood at a chosen value left a note that the next job read from its own pipes' numbers
    # (a job's pipes are made before lock-down; mmap's MAP_HUGETLB, which draws from the same
    # counter even where it fails, is refused below)
    "pipe": 22, "pipe2": 293,
}
# fmt: on

# fmt: off
ALLOWED_SYSCALLS = {
    # descriptors and I/O on what the job holds or opens (the root is read-only, /tmp its own)
    "read": 0, "write": 1, "open": 2, "close": 3, "stat": 4, "fstat": 5, "lstat": 6, "poll": 7,
    "lseek": 8, "pread64": 17, "pwrite64": 18, "readv": 19, "writev": 20, "access": 21,
    "select": 23, "dup": 32, "dup2": 33, "sendfile": 40, "truncate": 76,
    "ftruncate": 77, "getdents": 78, "getcwd": 79, "chdir": 80, "fchdir": 81, "rename": 82,
    "mkdir": 83, "rmdir": 84, "creat": 85, "link": 86, "unlink": 87, "symlink": 88,
    "readlink": 89, "chmod": 90, "fchmod": 91, "umask": 95, "utime": 132,
    # a file's owner, as chmod its mode: the job's own files on its /tmp (the host's are on
    # read-only mounts: EROFS), to ids it already has (no CAP_CHOWN). tarfile, run as uid 0,
    # sets each member's owner, and on a refusal skipped its mode and times too (red team 25)
    "chown": 92, "fchown": 93, "lchown": 94, "fchownat": 260,
    "copy_file_range": 326,  # sendfile's newer form: a read and a write
    "getdents64": 217, "utimes": 235, "openat": 257, "mkdirat": 258,
    "futimesat": 261, "newfstatat": 262, "unlinkat": 263, "renameat": 264, "linkat": 265,
    "symlinkat": 266, "readlinkat": 267, "fchmodat": 268, "faccessat": 269, "pselect6": 270,
    "ppoll": 271, "utimensat": 280, "fallocate": 285, "dup3": 292, "preadv": 295,
    "pwritev": 296, "renameat2": 316, "close_range": 436, "faccessat2": 439,
    # what socket.socket(fileno=BIRTH_FD) asks of the job's one socket during lock-down,
    # before PID 1 holds the listener (a refused call then would wait for an answer forever)
    "getsockname": 51, "getpeername": 52, "getsockopt": 55,
    # waiting on its own descriptors
    "epoll_create": 213, "epoll_wait": 232, "epoll_ctl": 233, "epoll_pwait": 281,
    "timerfd_create": 283, "eventfd": 284, "timerfd_settime": 286, "timerfd_gettime": 287,
    "signalfd4": 289, "eventfd2": 290, "epoll_create1": 291, "epoll_pwait2": 441,
    # memory (madvise: the advice values checked below)
    "mmap": 9, "mprotect": 10, "munmap": 11, "brk": 12, "mremap": 25,
    # signals to itself, time, threads (clone, futex: checked below), identity
    "rt_sigaction": 13, "rt_sigprocmask": 14, "rt_sigreturn": 15, "sched_yield": 24,
    "pause": 34, "nanosleep": 35, "getitimer": 36, "alarm": 37, "setitimer": 38, "getpid": 39,
    "exit": 60, "wait4": 61, "uname": 63, "gettimeofday": 96, "getrlimit": 97, "times": 100,
    "getuid": 102, "getgid": 104, "geteuid": 107, "getegid": 108, "getppid": 110,
    "getpgrp": 111, "getgroups": 115, "getresuid": 118, "getresgid": 120, "getpgid": 121,
    "getsid": 124, "capget": 125, "rt_sigpending": 127, "rt_sigtimedwait": 128,
    "rt_sigsuspend": 130, "sigaltstack": 131, "getpriority": 140, "sched_getparam": 143,
    "sched_getscheduler": 145, "sched_get_priority_max": 146, "sched_get_priority_min": 147,
    "sched_rr_get_interval": 148, "gettid": 186, "time": 201, "sched_getaffinity": 204,
    "set_tid_address": 218, "restart_syscall": 219, "clock_gettime": 228, "clock_getres": 229,
    "clock_nanosleep": 230, "exit_group": 231, "set_robust_list": 273, "get_robust_list": 274,
    "getcpu": 309, "getrandom": 318, "rseq": 334,
}
# fmt: on
assert not set(ALLOWED_SYSCALLS.values()) & set(DENIED_SYSCALLS.values())
# madvise's advice values that act on the job's own memory alone: not WILLNEED or POPULATE
# (they load a host file's pages into the shared page cache), not PAGEOUT or COLD (evict
# them), not MERGEABLE (pages shared across processes), not REMOVE
MADVISE_ALLOWED = (0, 1, 2, 4, 8, 10, 11, 14, 15, 16, 17, 18, 19)
FUTEX_PRIVATE = 128  # a futex on a shared file page is the same futex in every process
# clone's flags for a thread: glibc's pthread_create passes exactly these; musl adds
# CLONE_DETACHED. A thread without CLONE_FILES had a descriptor table of its own, each under
# RLIMIT_NOFILE, so 63 threads held 3,654 descriptors against a limit of 64 (and as many pipes
# charged to the host user's pipe budget, which shrank every other job's pipes); CLONE_PIDFD
# would hand the job a pidfd, whose inode number is a machine-wide count of processes.
CLONE_THREAD_REQUIRED = 0x100 | 0x200 | 0x400 | 0x800 | 0x10000  # VM FS FILES SIGHAND THREAD
CLONE_THREAD_ALLOWED = CLONE_THREAD_REQUIRED | 0x40000 | 0x80000 | 0x100000 | 0x200000 | 0x1400000
"""... and SYSVSEM, SETTLS, PARENT_SETTID, CHILD_CLEARTID, DETACHED, CHILD_SETTID."""
MAP_HUGETLB = 0x40000  # a hugetlbfs inode (from the machine-wide counter) even when it fails
CLOSE_RANGE_ALLOWED = (0, 4)
"""close_range's flags: none, or CLOSE_RANGE_CLOEXEC; CLOSE_RANGE_UNSHARE gave a thread a
descriptor table of its own, as clone without CLONE_FILES did (708 descriptors under 64)."""
NO_OP_SYSCALLS = {"msync": 26, "fsync": 74, "fdatasync": 75}
"""Succeed without doing anything: they flush the host's disk for a read-only runtime file,
and a job's own files live in tmpfs, where a flush does nothing anyway."""
UNSUPPORTED_SYSCALLS = {"statfs": 137, "fstatfs": 138, "statx": 332}
"""Fail with ENOSYS, as on a kernel without them, and are not counted as refusals. statfs
reports the free blocks and inodes of the host's file systems (the runtime's read-only binds
are them), which the host moves by writing each verdict, the candidate's output in it: a job
steered the count by what it printed and a later job read it back. libffi asks statfs on
every ctypes callback (an SELinux check it skips when the call fails), so a refusal would be
counted against ordinary code. statx reports a file's mount id, numbered for the whole
machine (each job's /tmp is a fresh mount, so it counts the machine's mounts), whatever mask
the caller asks for: refusing only the masks that ask for it left it readable with mask 0
(red team 25). Python's ``os.stat`` uses ``newfstatat``, and glibc's ``statx`` falls back to
it on ENOSYS."""
XATTR_READS = {
    "getxattr": 191, "lgetxattr": 192, "fgetxattr": 193,
    "listxattr": 194, "llistxattr": 195, "flistxattr": 196,
}  # fmt: skip
"""Fail with ENOTSUP (no extended attributes here), not counted: ``shutil.copy2`` and
``copytree`` list a file's attributes and give up quietly on ENOTSUP, but raised on the EPERM
of a refusal, so a correct solution copying a file failed (red team 25). Writing them stays
refused and counted."""
AUDIT_ARCH_X86_64 = 0xC000003E
# fcntl's harmless commands: F_DUPFD, F_GETFD, F_SETFD, F_GETFL, F_SETFL, F_DUPFD_CLOEXEC,
# F_GETPIPE_SZ. Every other one acts on state beyond the job's descriptors: locks and leases
# on the host's files (a lease blocks the host's own open()), write-life hints stored in a host
# inode (a note a later job reads), directory notifications (a channel between running jobs),
# signal ownership, pipe sizes charged to the host user's pipe budget.
FCNTL_ALLOWED = (0, 1, 2, 3, 4, 1030, 1032)
F_SETFL = 4
# Status flags F_SETFL may not set: O_DIRECT makes a pipe's every write a packet (one byte a
# read: a job writing bytes one by one spent the host's reader a whole core), O_ASYNC sends
# signals on I/O.
SETFL_REFUSED = 0o40000 | 0o20000
# ioctl's harmless commands: TCGETS (isatty), TIOCGWINSZ (terminal size), FIONREAD, FIONBIO,
# FIONCLEX, FIOCLEX. Every other one may reach the file system's state of a host file the job
# can open (ext4's extent cache, set and cleared from a read-only descriptor, carried a note
# to later jobs).
IOCTL_ALLOWED = (0x5401, 0x5413, 0x541B, 0x5421, 0x5450, 0x5451)
_SYSCALL_NAMES = {
    **{nr: name for name, nr in DENIED_SYSCALLS.items()},
    9: "mmap",  # with MAP_HUGETLB
    436: "close_range",  # with CLOSE_RANGE_UNSHARE
    133: "mknod",  # new pipes (FIFOs) come only from the job's own few (_job_code_pipe)
    259: "mknodat",
    56: "clone",  # a new process, or a thread with descriptors of its own
    62: "kill",  # another process
    234: "tgkill",
    72: "fcntl",  # a command outside FCNTL_ALLOWED, or status flags in SETFL_REFUSED
    16: "ioctl",  # a command outside IOCTL_ALLOWED
    28: "madvise",  # advice outside MADVISE_ALLOWED
    202: "futex",  # without FUTEX_PRIVATE
}


def _ranges(numbers):
    out = []
    for n in sorted(set(numbers)):
        if out and n == out[-1][1] + 1:
            out[-1][1] = n
        else:
            out.append([n, n])
    return out


def _x86_64_seccomp_filter(deny):
    """Classic BPF: allow ALLOWED_SYSCALLS (as contiguous ranges, so the program stays short:
    the kernel compiles it for every job) and ``deny`` everything else, with arguments checked
    for clone (threads sharing the job's descriptors only), mmap (no MAP_HUGETLB), close_range
    (no CLOSE_RANGE_UNSHARE), kill/tgkill (itself only: PID 1 of its namespace), prlimit64 and
    setpriority (itself only), sendmsg (BIRTH_FD only), fcntl (FCNTL_ALLOWED; F_SETFL without
    SETFL_REFUSED), ioctl (IOCTL_ALLOWED), madvise (MADVISE_ALLOWED) and futex (private only);
    NO_OP_SYSCALLS return 0 undone, UNSUPPORTED_SYSCALLS ENOSYS, XATTR_READS ENOTSUP. ``deny``
    is either SECCOMP_RET_USER_NOTIF (the worker answers EPERM and counts the call) or EPERM
    itself."""
    RET_ALLOW, RET_KILL = 0x7FFF0000, 0x80000000
    RET_ENOSYS = 0x00050000 | errno.ENOSYS
    RET_ENOTSUP = 0x00050000 | errno.ENOTSUP
    RET_SUCCESS = 0x00050000  # SECCOMP_RET_ERRNO with 0: the call returns 0, not made
    LD, JEQ, JGE, JGT, JSET, RET, AND = 0x20, 0x15, 0x35, 0x25, 0x45, 0x06, 0x54
    prog = []

    def ins(code, jt, jf, k):
        prog.append(struct.pack("HBBI", code, jt, jf, k))

    ins(LD, 0, 0, 4)  # seccomp_data.arch
    ins(JEQ, 1, 0, AUDIT_ARCH_X86_64)
    ins(RET, 0, 0, RET_KILL)
    ins(LD, 0, 0, 0)  # seccomp_data.nr
    ins(JGE, 0, 1, 0x40000000)  # the x32 ABI
    ins(RET, 0, 0, deny)
    ins(JEQ, 0, 8, 56)  # clone: threads only, sharing the job's descriptor table
    ins(LD, 0, 0, 20)  # args[0] high half (flags): none of its bits
    ins(JEQ, 0, 5, 0)
    ins(LD, 0, 0, 16)  # low half: no bit outside CLONE_THREAD_ALLOWED
    ins(JSET, 3, 0, ~CLONE_THREAD_ALLOWED & 0xFFFFFFFF)
    ins(AND, 0, 0, CLONE_THREAD_REQUIRED)  # and every bit of CLONE_THREAD_REQUIRED
    ins(JEQ, 0, 1, CLONE_THREAD_REQUIRED)
    ins(RET, 0, 0, RET_ALLOW)
    ins(RET, 0, 0, deny)
    ins(JEQ, 0, 1, 435)  # clone3: glibc falls back to clone, which can be inspected
    ins(RET, 0, 0, RET_ENOSYS)
    for nr in (62, 234):  # kill(pid, sig), tgkill(tgid, tid, sig): to itself only
        ins(JEQ, 0, 6, nr)
        ins(LD, 0, 0, 16)
        ins(JEQ, 0, 2, 1)  # its own PID: 1 in its namespace
        ins(LD, 0, 0, 20)  # high half must be 0
        ins(JEQ, 1, 0, 0)
        ins(RET, 0, 0, deny)
        ins(RET, 0, 0, RET_ALLOW)
        ins(LD, 0, 0, 0)  # reload nr for the next check
    ins(JEQ, 0, 4, 46)  # sendmsg: on BIRTH_FD only (no other socket can exist in the job)
    ins(LD, 0, 0, 16)  # args[0] low half (fd); fds are ints: the high half is sign extension
    ins(JEQ, 0, 1, BIRTH_FD)
    ins(RET, 0, 0, RET_ALLOW)
    ins(RET, 0, 0, deny)

    def argument_in(nr, offset, allowed, first=()):
        """For call ``nr``: run ``first`` (instructions that may refuse), then allow it when
        the 32-bit argument at ``offset`` of seccomp_data is one of ``allowed``, else deny.
        Any other call falls through with its number still loaded."""
        body = [*first, (LD, 0, 0, offset)]
        body += [(JEQ, len(allowed) - k, 0, v) for k, v in enumerate(allowed)]
        body += [(RET, 0, 0, deny), (RET, 0, 0, RET_ALLOW)]
        ins(JEQ, 0, len(body), nr)
        for code in body:
            ins(*code)

    # fcntl (args[1], cmd: the kernel reads an unsigned int); F_SETFL first: not the refused
    # status flags (args[2])
    setfl = [(LD, 0, 0, 24), (JEQ, 0, 3, F_SETFL), (LD, 0, 0, 32), (JSET, 0, 1, SETFL_REFUSED)]
    argument_in(72, 24, FCNTL_ALLOWED, first=[*setfl, (RET, 0, 0, deny)])
    argument_in(16, 24, IOCTL_ALLOWED)  # ioctl: args[1], cmd
    argument_in(28, 32, MADVISE_ALLOWED)  # madvise: args[2], the advice on its own memory
    ins(JEQ, 0, 4, 9)  # mmap: args[3], flags
    ins(LD, 0, 0, 40)
    ins(JSET, 0, 1, MAP_HUGETLB)
    ins(RET, 0, 0, deny)
    ins(RET, 0, 0, RET_ALLOW)
    argument_in(436, 32, CLOSE_RANGE_ALLOWED)  # close_range: args[2], flags
    ins(JEQ, 0, 4, 202)  # futex: private only
    ins(LD, 0, 0, 24)  # args[1] low half (op)
    ins(JSET, 1, 0, FUTEX_PRIVATE)
    ins(RET, 0, 0, deny)
    ins(RET, 0, 0, RET_ALLOW)
    # prlimit64(pid, ...): the job's own limits only (pid 0). Reading them is harmless, and
    # so is setting them: the hard limits were set before the filter, and without
    # CAP_SYS_RESOURCE in the host's namespace a process can lower them or move a soft limit
    # up to its hard one, nothing else (resource.getrlimit, os.sysconf, and the recursion
    # idiom that raises RLIMIT_STACK's soft limit were all refused before)
    ins(JEQ, 0, 6, 302)
    ins(LD, 0, 0, 16)  # args[0] low half (pid)
    ins(JEQ, 0, 3, 0)
    ins(LD, 0, 0, 20)  # high half
    ins(JEQ, 0, 1, 0)
    ins(RET, 0, 0, RET_ALLOW)
    ins(RET, 0, 0, deny)
    # setpriority(PRIO_PROCESS, who, prio): its own niceness, who being 0 (os.nice) or its
    # own PID, 1 in its namespace (os.setpriority(PRIO_PROCESS, os.getpid(), n)). RLIMIT_NICE
    # is 0, so it can only lower its own priority; any other process or group is refused
    ins(JEQ, 0, 7, 141)
    ins(LD, 0, 0, 16)  # args[0] low half (which): PRIO_PROCESS is 0
    ins(JEQ, 0, 4, 0)
    ins(LD, 0, 0, 24)  # args[1] low half (who): 0 or 1, itself (int: the high half is sign)
    ins(JEQ, 1, 0, 0)
    ins(JEQ, 0, 1, 1)
    ins(RET, 0, 0, RET_ALLOW)
    ins(RET, 0, 0, deny)
    for nr in NO_OP_SYSCALLS.values():
        ins(JEQ, 0, 1, nr)
        ins(RET, 0, 0, RET_SUCCESS)
    for nr in UNSUPPORTED_SYSCALLS.values():
        ins(JEQ, 0, 1, nr)
        ins(RET, 0, 0, RET_ENOSYS)
    for nr in XATTR_READS.values():
        ins(JEQ, 0, 1, nr)
        ins(RET, 0, 0, RET_ENOTSUP)
    for lo, hi in _ranges(ALLOWED_SYSCALLS.values()):
        if lo == hi:
            ins(JEQ, 0, 1, lo)
        else:  # lo <= nr <= hi
            ins(JGE, 0, 2, lo)
            ins(JGT, 1, 0, hi)
        ins(RET, 0, 0, RET_ALLOW)
    ins(RET, 0, 0, deny)
    return b"".join(prog)


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


# Built once in the worker so that a forked child touches as few fresh pages as it can.
_FILTER_BUF = None
_FPROG = None
_CAP_HDR = struct.pack("Ii", 0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3, this process
_CAP_DATA = ctypes.create_string_buffer(24)  # two zeroed __user_cap_data_struct
RET_USER_NOTIF, RET_EPERM = 0x7FC00000, 0x00050000 | errno.EPERM


def _prepare_lockdown(notify):
    global _FILTER_BUF, _FPROG
    flt = _x86_64_seccomp_filter(RET_USER_NOTIF if notify else RET_EPERM)
    _FILTER_BUF = ctypes.create_string_buffer(flt, len(flt))
    _FPROG = _SockFprog(len(flt) // 8, ctypes.cast(_FILTER_BUF, ctypes.c_void_p))


def _notify_works():
    """Whether this kernel lets the worker take a job's seccomp listener (pidfd_getfd, 5.6)."""
    pidfd = os.pidfd_open(os.getpid())
    try:
        fd = _libc.syscall(SYS_PIDFD_GETFD, pidfd, 0, 0)
        if fd < 0:
            return False
        os.close(fd)
        return True
    finally:
        os.close(pidfd)


def set_rlimits(lim):
    """The job's rlimits, soft = hard (the job cannot raise them back). Raises on any error.
    The CPU limit kills outright: a job that is PID 1 of its namespace ignores SIGXCPU."""
    cpu = _cpu_limit(lim)
    for res, val in (
        (resource.RLIMIT_CPU, (cpu, cpu)),
        (resource.RLIMIT_AS, (lim["mem_bytes"],) * 2),
        (resource.RLIMIT_FSIZE, (lim["fsize_bytes"],) * 2),
        (resource.RLIMIT_NOFILE, (lim["nofile"],) * 2),
        (resource.RLIMIT_NPROC, (lim["nproc"],) * 2),
        (resource.RLIMIT_CORE, (0, 0)),
        # every other budget the kernel charges to the host's uid as well as the job's: queued
        # signals (20,000 queued by one job made the host's own timer_create fail), locked
        # memory, message-queue bytes; and no real-time or raised priority
        (resource.RLIMIT_SIGPENDING, (64, 64)),
        (resource.RLIMIT_MEMLOCK, (0, 0)),
        (resource.RLIMIT_MSGQUEUE, (0, 0)),
        (resource.RLIMIT_RTPRIO, (0, 0)),
        (resource.RLIMIT_NICE, (0, 0)),
    ):
        resource.setrlimit(res, val)


def lock_down(lim, notify):
    """rlimits, no capabilities, no_new_privs, seccomp. Fails closed: raises on any error.
    Returns the seccomp listener's descriptor when denied calls go to the worker.

    The capability bounding set is left alone: it matters only across execve, which seccomp
    denies (and no_new_privs would strip gains from anyway). The CPU limit kills outright
    (soft = hard): the job is PID 1 of its namespace, which ignores SIGXCPU's default action.
    """
    set_rlimits(lim)
    _check(_libc.syscall(SYS_CAPSET, _CAP_HDR, _CAP_DATA), "capset")
    _check(_libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl(NO_NEW_PRIVS)")
    if not notify:
        _check(_libc.prctl(PR_SET_SECCOMP, 2, ctypes.byref(_FPROG), 0, 0), "prctl(SECCOMP)")
        return None
    fd = _libc.syscall(
        SYS_SECCOMP, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, ctypes.byref(_FPROG)
    )
    _check(0 if fd >= 0 else -1, "seccomp(SECCOMP_FILTER_FLAG_NEW_LISTENER)")
    return fd


JOB_PIPES = 4
"""The job's pipes (in, out, stdout, stderr): FIFOs on its /tmp, beside its own inode budget."""


def _job_pipe(name):
    """A pipe made as a FIFO on the job's own fresh /tmp, unlinked at once: (read, write).

    ``os.pipe``'s inode numbers come from one counter for the whole machine, which fstat on
    the job's own descriptors read back: a job that made the host replace a judge worker
    (a checker call kept busy past the deadline) moved it by thousands, and the next job read
    the bit from its stdout's number. A FIFO's number comes from the fresh tmpfs, the same in
    every job."""
    path = f"/tmp/.{name}"
    os.mkfifo(path, 0o600)
    return _open_fifo(path)


def _open_fifo(path, unlink=True):
    """Both ends of the FIFO at ``path`` (the read end first, without waiting for a writer;
    then made blocking), which is unlinked unless ``unlink`` is false."""
    try:
        r = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        w = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
    finally:
        if unlink:
            with contextlib.suppress(OSError):  # job code may have removed one of its own
                os.unlink(path)
    os.set_blocking(r, True)
    return r, w


JOB_CODE_PIPES = 8
"""Pipes job code may hold at once (``os.pipe``): FIFOs made on the job's /tmp before
lock-down, beside its own inode budget (a ThreadPool takes one, an mp.Queue one, an asyncio
event loop two). A few, not one per descriptor (12 a job with its own four, 192 pages: 85 jobs
at once reach the budget): every pipe's buffer is charged to one budget of the host user's
(``fs.pipe-user-pages-soft``), and jobs holding 59 pipes each made every other job's new pipes
8 KiB instead of 64 (a channel between running jobs, and a correct solution's many calls timed
out). mknod stays refused, so no job makes more; one whose ends are all closed is handed out
again (its buffer went with its last end), so a solution making a pool or an event loop on
every call runs as many calls as it likes."""
_CODE_PIPES: list[list] = []
"""Each of the job's FIFOs: its path, its inode number, and the two ends last handed out."""


def _make_code_pipes():
    """The FIFOs ``_job_code_pipe`` hands out (before lock-down: mknod is refused after)."""
    for k in range(1, JOB_CODE_PIPES + 1):
        path = f"/tmp/.pipe{k}"
        os.mkfifo(path, 0o600)
        _CODE_PIPES.append([path, os.stat(path).st_ino, -1, -1])


def _holds(fd, ino):
    """Whether descriptor ``fd`` is still an end of the FIFO numbered ``ino`` (a number
    closed and taken again by another file is not)."""
    if fd < 0:
        return False
    try:
        st = os.fstat(fd)
    except OSError:
        return False
    return st.st_ino == ino and (st.st_mode & 0o170000) == 0o010000


def _job_code_pipe():
    """``os.pipe`` for job code: one of the job's ``JOB_CODE_PIPES`` FIFOs none of whose ends
    it still holds, opened as its own pipes are (``_job_pipe``), so that ``multiprocessing``'s
    queues, asyncio's event loops and a program's own pipes work where the filter refuses new
    kernel pipes (their inode numbers come from the machine-wide counter). All eight held:
    EMFILE. (An end job code copied with ``dup`` is not seen: the pipe may be handed out
    again while that copy still writes to it, the job's own code confusing itself.)"""
    for attempt in range(2):
        for entry in _CODE_PIPES:
            path, ino, r, w = entry
            if _holds(r, ino) or _holds(w, ino):
                continue
            try:
                entry[2], entry[3] = _open_fifo(path, unlink=False)
            except OSError:  # job code removed or replaced it
                continue
            return entry[2], entry[3]
        if attempt == 0:  # an event loop never closed holds its pair until it is collected
            import gc

            gc.collect()
    raise OSError(errno.EMFILE, f"a job holds at most {JOB_CODE_PIPES} pipes at once")


class _JobSocket:
    """One end of ``socket.socketpair`` for job code: two of the job's FIFOs, one each way.

    An asyncio event loop wakes itself through a socket pair (its "self-pipe"), and the filter
    refuses socketpair (a socket's inode number comes from the machine-wide counter, as a
    pipe's does), so every correct solution using asyncio failed. This end reads one FIFO and
    writes the other, with the calls a self-pipe and a plain byte stream use: ``fileno`` (the
    read end, what a selector watches), ``send``, ``sendall``, ``recv``, ``recv_into``,
    ``setblocking``, ``settimeout`` (blocking or not only), ``shutdown``, ``close``."""

    def __init__(self, r, w):
        self._r, self._w, self._timeout = r, w, None
        self.family, self.type, self.proto = socket.AF_UNIX, socket.SOCK_STREAM, 0

    def fileno(self):
        return self._r

    def setblocking(self, flag):
        for fd in (self._r, self._w):
            if fd >= 0:
                os.set_blocking(fd, bool(flag))
        self._timeout = None if flag else 0.0

    def settimeout(self, value):
        self.setblocking(value is None or value > 0)

    def gettimeout(self):
        return self._timeout

    def getblocking(self):
        return self._timeout is None

    def send(self, data, flags=0):
        return os.write(self._w, data)

    def sendall(self, data, flags=0):
        view = memoryview(data)
        while view:
            view = view[os.write(self._w, view) :]

    def recv(self, n, flags=0):
        return os.read(self._r, n)

    def recv_into(self, buffer, nbytes=0, flags=0):
        view = memoryview(buffer).cast("B")
        data = os.read(self._r, nbytes or len(view))
        view[: len(data)] = data
        return len(data)

    def shutdown(self, how):
        if how in (1, 2) and self._w >= 0:  # SHUT_WR, SHUT_RDWR: the peer reads end of file
            os.close(self._w)
            self._w = -1

    def close(self):
        for fd in (self._r, self._w):
            if fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self._r = self._w = -1

    def detach(self):
        raise OSError(errno.EOPNOTSUPP, "a job's socket pair is two pipes: no one descriptor")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        self.close()


def _job_socketpair(family=None, type=None, proto=0):
    """``socket.socketpair`` for job code: a :class:`_JobSocket` pair (a byte stream each
    way). Datagram pairs go to the kernel's call, which the filter refuses and counts."""
    if type not in (None, socket.SOCK_STREAM):
        return _KERNEL_SOCKETPAIR(family, type, proto)
    ab_r, ab_w = _job_code_pipe()
    try:
        ba_r, ba_w = _job_code_pipe()
    except OSError:
        os.close(ab_r)
        os.close(ab_w)
        raise
    return _JobSocket(ba_r, ab_w), _JobSocket(ab_r, ba_w)


_KERNEL_SOCKETPAIR = socket.socketpair


_KERNEL_PIPE2 = os.pipe2


def _job_code_pipe2(flags):
    """``os.pipe2`` for job code: O_NONBLOCK and O_CLOEXEC, as the call takes them. Any other
    flag (O_DIRECT: packet mode, one byte a read cost the host's reader a core) goes to the
    kernel's call, which the filter refuses and counts."""
    if flags & ~(os.O_NONBLOCK | os.O_CLOEXEC):
        return _KERNEL_PIPE2(flags)
    r, w = _job_code_pipe()
    for fd in (r, w):
        os.set_blocking(fd, not flags & os.O_NONBLOCK)
        os.set_inheritable(fd, not flags & os.O_CLOEXEC)
    return r, w


class _JobSemLock:
    """``_multiprocessing.SemLock`` for job code: a semaphore on a condition variable.

    multiprocessing's locks, semaphores and queues (and so ``multiprocessing.pool.ThreadPool``
    and ``multiprocessing.dummy``) are POSIX named semaphores: files in /dev/shm, which a job
    has none of, waited on with futexes shared between processes, which the filter refuses
    (a futex on a page of a host file is the same futex in every job running beside it). A job
    is one process (it cannot fork), so its threads are all such an object can serve, and this
    is CPython's ``semaphore.c`` for them: the same counts, owner, errors and timeouts."""

    SEM_VALUE_MAX = 2**31 - 1

    def __init__(self, kind, value, maxvalue, name, unlink):
        import threading

        if kind not in (0, 1):  # multiprocessing.synchronize: RECURSIVE_MUTEX, SEMAPHORE
            raise ValueError("unrecognized kind")
        self.kind, self.maxvalue, self.name = kind, maxvalue, None if unlink else name
        self.handle = id(self)
        self._value, self._acquired, self._last = value, 0, None
        self._cond = threading.Condition(threading.Lock())
        self._ident = threading.get_ident

    def acquire(self, block=True, timeout=None):
        me = self._ident()
        if self.kind == 0 and self._acquired > 0 and self._last == me:
            self._acquired += 1
            return True
        with self._cond:
            if self._value == 0:
                if not block:
                    return False
                wait = None if timeout is None else max(float(timeout), 0.0)
                if not self._cond.wait_for(lambda: self._value > 0, wait):
                    return False
            self._value -= 1
            self._acquired += 1
            self._last = me
        return True

    def release(self):
        with self._cond:
            if self.kind == 0:
                if not (self._acquired > 0 and self._last == self._ident()):
                    raise AssertionError("attempt to release recursive lock not owned by thread")
                if self._acquired > 1:
                    self._acquired -= 1
                    return
            elif self._value >= self.maxvalue:
                raise ValueError("semaphore or lock released too many times")
            self._value += 1
            self._acquired -= 1
            self._cond.notify()

    def __enter__(self):
        return self.acquire()

    def __exit__(self, *exc):
        self.release()

    def _count(self):
        return self._acquired

    def _is_mine(self):
        return self._acquired > 0 and self._last == self._ident()

    def _get_value(self):
        return self._value

    def _is_zero(self):
        return self._value == 0

    def _after_fork(self):
        self._acquired = 0


class _JobSharedMemory:
    """Makes ``multiprocessing.heap`` keep its arenas in anonymous memory when imported.

    ``mp.Value``, ``mp.Array`` and ``mp.Barrier`` put their memory in an arena whose file goes
    in /dev/shm when ``os.statvfs`` says there is room; a job has no /dev/shm and statfs is
    answered ENOSYS (it would tell the host's disks), so every correct solution using them
    raised. A job (and a judge) is one process, so the memory needs no file to be shared
    through: an anonymous mapping, under the memory limit like any other, where a file on /tmp
    had the file-size limit (an array over 16 MiB failed), filled /tmp (SIGBUS) and, in a judge
    runner serving many jobs, sat in a temporary directory the next job's fresh /tmp no longer
    had (red team 21b). A finder on ``sys.meta_path`` rather than an import in the worker: the
    module and the 25 it pulls in would be ~1.9 MB more memory copied into every job."""

    _NAME = "multiprocessing.heap"

    def find_spec(self, fullname, path=None, target=None):
        if fullname != self._NAME:
            return None
        import importlib.machinery

        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is not None and spec.loader is not None:
            run = spec.loader.exec_module

            def exec_module(module):
                run(module)
                module.Arena = _AnonymousArena

            spec.loader.exec_module = exec_module
        return spec


class _AnonymousArena:
    """``multiprocessing.heap.Arena`` for one process: its buffer an anonymous mapping."""

    def __init__(self, size, fd=-1):
        import mmap

        self.size, self.fd = size, -1
        self.buffer = mmap.mmap(-1, size)


def job_child(lim, birth_fd, notify):
    """Runs in a fresh clone of the zygote, as PID 1 of its own PID and IPC namespaces. Makes
    the job's pipes, locks itself down, and hands PID 1 the worker's pipe ends in one message
    (the kernel adds this process's PID in PID 1's namespace; the filter allows sendmsg on
    BIRTH_FD alone, the one socket the job has, closed before job code runs). PID 1 copies the
    seccomp listener before it offers the job to the host, so once the job's first frame is
    readable this process drops its own copy, and only then reads the job."""
    _set_name("cl-job")
    joined = _join_jobs_memory()  # first: the descriptor may sit where the pipes go below
    in_r, in_w = _job_pipe("in")
    out_r, out_w = _job_pipe("out")
    so_r, so_w = _job_pipe("stdout")
    se_r, se_w = _job_pipe("stderr")
    _make_code_pipes()
    os.setpgid(0, 0)
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGPIPE, signal.SIGCHLD):
        signal.signal(sig, signal.SIG_DFL)
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # an oversized write fails, it does not kill
    null = os.open("/dev/null", os.O_RDONLY)
    keep = (null, so_w, se_w, in_r, out_w, birth_fd, in_w, out_r, so_r, se_r)
    ends = [fcntl.fcntl(fd, fcntl.F_DUPFD, 64) for fd in keep]
    for target, fd in zip((0, 1, 2, 3, 4, BIRTH_FD, 7, 8, 9, 10), ends, strict=True):
        os.dup2(fd, target)
    os.closerange(LISTENER_FD, LISTENER_FD + 1)
    os.closerange(11, 1 << 16)  # the zygote's pipe and every spare end: gone
    os.chdir("/tmp")
    error = None
    try:
        if joined is not None:
            raise OSError(joined)
        listener = lock_down(lim, notify)
        if listener is not None and listener != LISTENER_FD:
            os.dup2(listener, LISTENER_FD)
            os.close(listener)
    except BaseException as e:  # fail closed, and say why on the result channel
        error = f"{type(e).__name__}: {e}"
        write_frame(4, {"sandbox_error": error})
    births = socket.socket(fileno=BIRTH_FD)
    socket.send_fds(births, [b"born"], [7, 8, 9, 10])
    births.detach()
    for fd in (BIRTH_FD, 7, 8, 9, 10):
        os.close(fd)
    if error is not None:
        os._exit(71)
    # Lock-down is in force and no candidate code exists yet: the one frame the host trusts to
    # speak for the sandbox (verify.runner._load). It goes before the wait below, since the
    # host sends the job only once it has read it.
    write_frame(4, {"locked": True})
    if notify:
        select.select([3], [], [])  # the host writes only after PID 1 took the listener
        os.close(LISTENER_FD)  # job code must never answer its own denied calls
    # random reseeds itself in a forked child (os.register_at_fork): no shared stream
    os.pipe, os.pipe2 = _job_code_pipe, _job_code_pipe2
    socket.socketpair = _job_socketpair
    code = 1  # a harness that raised (its frame channel closed by the candidate) is no clean end
    try:
        serve_candidate(3, 4)
        code = 0
    finally:
        _flush_and_exit(code)


_JOBS_MEMORY_FD = None
"""A candidate worker's descriptor of its jobs' memory cgroup's ``cgroup.procs`` (the host
made the cgroup, ``cgroups.make_job_memory``; the worker opened it before it entered its
namespaces), or None where the host gave none."""


def _join_jobs_memory():
    """Move this job child into its worker's memory cgroup and drop the descriptor; None, or
    why it failed (then the job fails closed: lock-down is not in force without it)."""
    if _JOBS_MEMORY_FD is None:
        return None
    try:
        os.write(_JOBS_MEMORY_FD, b"0")  # 0: the writer itself
    except OSError as e:
        return f"joining the jobs' memory cgroup: {e}"
    finally:
        os.close(_JOBS_MEMORY_FD)
    return None


def _flush_and_exit(code):
    # the originals too, as the interpreter does: a program may have replaced sys.stdout
    for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
        try:
            stream.flush()
        except BaseException:
            pass
    os._exit(code)


def _exc_line(e, limit=400):
    text = f"{type(e).__name__}: {e}"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _tail_tb(e, limit=1200):
    tb = "".join(traceback.format_exception(type(e), e, e.__traceback__))
    return tb[-limit:]


def serve_candidate(in_fd, out_fd):
    """Load the solution, then answer calls: each reply is plain-data text or an error.

    ``job_child`` has already written the result channel's first frame, ``{"locked": true}``
    (or ``sandbox_error`` when lock-down failed), before any candidate code exists: it is the
    only frame the host trusts to speak for the sandbox. Every later frame, this function's
    included, may be forged by the candidate, so nothing in one can make the host blame
    itself (see ``verify.runner._load``).

    A request with ``"sync": true`` (the checker proxy's) also gets back the arguments' state
    after the call (``args``/``kwargs``) when the call changed them, so that a checker sees the
    candidate's in-place mutations as a real call would.
    """
    spec = read_frame(in_fd)
    if spec is None:
        return
    # no entry point: a program that prints, run as a script is (``if __name__ ==
    # "__main__": main()`` ran nothing), whose ``sys.exit(0)`` is a normal end
    program = not spec["entry"]
    g = _module_namespace("__main__" if program else "__candidate__")
    if program:
        g["__file__"] = "solution.py"
    try:
        exec(compile(spec["code"], "<solution>", "exec", dont_inherit=True), g)
        fn = g[spec["entry"]] if spec["entry"] else None
        if spec["entry"] and not callable(fn):
            raise TypeError(f"{spec['entry']} is not callable")
    except SystemExit as e:
        if not (program and e.code in (None, 0)):
            write_frame(out_fd, {"load_error": _exc_line(e), "trace": _tail_tb(e)})
            return
        fn = None
    except BaseException as e:
        write_frame(out_fd, {"load_error": _exc_line(e), "trace": _tail_tb(e)})
        return
    if program:
        _end_program()
        write_frame(out_fd, {"ready": True})
        _flush_and_exit(0)  # as a script ends: daemon threads printing on are stopped here
    write_frame(out_fd, {"ready": True})
    # A class-based solution's instances stay here: the checker holds them by number (a
    # handle), and reads their attributes and calls their methods through requests "on" one.
    # Whether the checker takes them at all is its own decision (the task's prompt must
    # define the entry point as a class: it says so with "handles" on each request); an
    # iterator stays here in any task.
    kept = _Kept(fn if isinstance(fn, type) else None)
    ids = _Identities(-1)  # the objects that crossed, by the numbers both processes use
    _CALLBACK.update(lock=_thread.allocate_lock(), open=False, g=g, stubs={}, own={}, fn=fn)
    _CALLBACK["nested"] = []  # the requests answered inside call backs, innermost last
    _CALLBACK.update(ids=ids, kept=kept, **{"in": in_fd, "out": out_fd})
    while True:
        req = read_frame(in_fd)
        if req is None:
            return
        write_frame(out_fd, _answer(req))


def _answer(req, nested=False):
    """The reply to one request of the host's or the checker's: the entry point (or, "on" a
    handle, the candidate's object) called with the request's arguments, its value as
    plain-data text, what it raised, or why nothing was called. ``nested``: a request the
    checker's function made while the candidate was calling it (``_call_back``): the calls
    of the checker's functions stay open, since the outer call still runs."""
    fn, g, kept, ids = _CALLBACK["fn"], _CALLBACK["g"], _CALLBACK["kept"], _CALLBACK["ids"]
    t = time.perf_counter()
    proxy = bool(req.get("sync"))  # the checker proxy's request (the host's plain ones: not)

    def close_calls():
        if not nested:
            _open_calls(False)

    if not nested:
        _open_calls(proxy)  # rebuilding its arguments may run the solution's __hash__ or __eq__
    try:
        # the checker's: the standard library's types, object graphs and handles cross
        kept.release(req.get("release"))
        kept.entries = req.get("handles") is True
        held = kept.get if proxy else None
        bits = JUDGE_INT_BITS if proxy else MAX_INT_BITS  # what the judge may send
        made, kmade = ids.graph(), ids.graph()  # objects seen before
        args, kwargs = (
            decode_plain(
                req[key],
                g,
                max_int_bits=bits,
                stdlib=proxy,
                graph=graph,
                handles=held,
                functions=_checker_function if proxy else None,
            )
            if req.get(key)
            else empty
            for key, graph, empty in (("args", made, ()), ("kwargs", kmade, {}))
        )
        for graph in (made, kmade):  # what the checker changed of them since
            _take_states(graph, ids)
            ids.learn(graph)
        if req.get("alias"):
            args, kwargs = _alias(args, kwargs, req["alias"])
    except BaseException as e:
        # Never an exception of the solution's: a checker's `except ValueError` must not
        # take a WireError here for the call raising (its argument's size, a class of the
        # solution's that its objects do not fit).
        why = "nothing: its arguments could not be rebuilt in its process: " + _exc_line(e)
        close_calls()
        return {"i": req["i"], "unplain": why}
    handle = kept.number if proxy else None
    try:
        if proxy and req.get("on") is not None:
            r = kept.operate(req, args, kwargs)  # the candidate's own code runs
            if r is _METHOD or r is ITER_END:
                close_calls()
                return {"i": req["i"], ("method" if r is _METHOD else "stop"): True}
        else:
            r = fn(*args, **kwargs)
    except BaseException as e:
        close_calls()
        rep = _raised(req["i"], e, brief=not proxy)
        if proxy:  # what it changed before raising, as a call shows
            try:
                _changed_args(rep, req, args, kwargs, ids.number, handle)
            except BaseException:
                pass
        ids.flush()  # what crossed is noted as it is now, before the checker goes on
        return rep
    close_calls()
    try:
        text = encode_plain(
            r,
            proxy,
            proxy,
            ids.number if proxy else None,
            handle=handle,
            functions=_stub_number if proxy else None,
        )
    except BaseException as e:
        return {"i": req["i"], "unplain": _exc_line(e)}
    rep = {"i": req["i"], "value": text, "t": time.perf_counter() - t}
    if proxy:
        try:
            _changed_args(rep, req, args, kwargs, ids.number, handle)
            same = _same_argument(r, args, kwargs)
            if same is not None:
                rep["same"] = same
        except BaseException as e:
            rep = {"i": req["i"], "unplain": "its arguments after the call: " + _exc_line(e)}
    ids.flush()
    return rep


class _CheckerFunction:
    # A function the checker passed to the candidate (``candidate(xs, key=lambda x: -x)``):
    # calling it runs the checker's function in the judge, with the arguments crossing as
    # plain data (the standard library's types and objects as the candidate's values do),
    # and gives back what it returned or raises what it raised (a builtin exception as
    # itself, another as ``Exception``). Only while a call of the checker's runs: the
    # candidate's process then reads nothing else, so a thread of the solution's that calls
    # it later, between calls, gets ``RuntimeError``. The same function of the checker's is
    # the same object here (``is``, hashing), and one given back crosses as the checker's
    # own.
    # Its __qualname__, __doc__ and __signature__ are the checker's function's (what
    # ``wire.function_meta`` sent): functools.wraps copies them onto a decorator's wrapper,
    # and a curry reads the arity off inspect.signature. (A comment, not a docstring: the
    # class's own docstring would stand where the function's belongs.)

    __slots__ = ("_k", "__name__", "__qualname__", "_meta", "__weakref__")

    def __init__(self, k, name, meta=None):
        self._k, self.__name__, self._meta = k, name, meta or (None, None, None)
        self.__qualname__ = self._meta[0] or name

    def __call__(self, *args, **kwargs):
        return _call_back(self._k, args, kwargs)

    @property
    def __doc__(self):
        return self._meta[1]

    @property
    def __signature__(self):
        if self._meta[2] is None:
            raise AttributeError("__signature__")
        import inspect  # only where a solution asks

        P = inspect.Parameter
        return inspect.Signature(
            [
                P(n, kind, default=_CHECKERS_DEFAULT if d else P.empty)
                for n, kind, d in self._meta[2]
            ]
        )

    def __repr__(self):
        return f"<function {self.__name__} of the checker's>"


MAX_CHECKER_FUNCTIONS = 1 << 16
"""The checker's functions one job may hold (each one kept alive in the judge for the job)."""

_CALLBACK = {"open": False, "lock": None, "owner": None, "in": -1, "out": -1, "g": None}
"""The candidate's side of the checker's functions: whether a call of the checker's is
running, the lock held by whichever thread has the channel, the channel and the namespace."""


class _CheckersDefault:
    """The default value of a checker's function's parameter, as its signature shows here
    (the value itself stays in the judge)."""

    def __repr__(self):
        return "<the checker's default>"


_CHECKERS_DEFAULT = _CheckersDefault()


def _checker_function(k, name, own=False, meta=None):
    """The stand-in for the checker's function number ``k`` (one object per number); with
    ``own``, the method ``name`` of the candidate's own object ``k`` that the checker holds
    a handle to (``b.subscribe(a.notify)``): that method itself, no call back."""
    if own:
        try:
            method = getattr(_CALLBACK["kept"].get(k), name)
        except Exception as e:
            raise WireError(f"no method {name!r} of the candidate's object: {e}") from None
        if len(_CALLBACK["own"]) < MAX_CHECKER_FUNCTIONS:  # to cross back as the same
            _CALLBACK["own"][id(method)] = (k, name, method)
        return method
    stub = _CALLBACK["stubs"].get(k)
    if stub is None:
        if len(_CALLBACK["stubs"]) >= MAX_CHECKER_FUNCTIONS:
            raise WireError("too many functions of the checker's in one job")
        stub = _CALLBACK["stubs"][k] = _CheckerFunction(k, name, meta)
    return stub


def _stub_number(x):
    """How a stand-in crosses back: as the checker's own function; and a method of the
    candidate's own object that the checker passed, as the checker's handle's method."""
    if type(x) is _CheckerFunction:  # as the judge wrote it: an argument left alone is unchanged
        return x._k, x.__name__, False, x._meta
    own = _CALLBACK["own"].get(id(x))
    return (own[0], own[1], True) if own is not None and own[2] is x else None


_NESTING_FRAMES = 4
"""Recursion depth added for each call the checker's function makes into the candidate while
the candidate calls it: about the harness's frames between the solution's (``_call_back``,
``_answer``, the stand-in's ``__call__``), so a memoized recursion runs as deep as in one
interpreter (450 levels, measured) and one with no end still ends in RecursionError, not in
a C stack overflow. The judge's side adds ``_JUDGE_NESTING_FRAMES`` (the handle's
``__call__``, the port's ``operate``, ``call``, ``_call``, ``call_back``)."""
_JUDGE_NESTING_FRAMES = 6


@contextlib.contextmanager
def _deeper(frames):
    """The recursion limit raised by ``frames`` while the block runs, then as it was (unless
    the code in it set one of its own)."""
    depth = sys.getrecursionlimit()
    sys.setrecursionlimit(depth + frames)
    try:
        yield
    finally:
        if sys.getrecursionlimit() == depth + frames:
            sys.setrecursionlimit(depth)


def _call_back(k, args, kwargs):
    lock = _CALLBACK["lock"]
    if lock is None:
        raise RuntimeError("a function of the checker's, outside any call of the checker's")
    if _CALLBACK["owner"] == _thread.get_ident():  # a finalizer or a signal handler, mid-call
        raise RuntimeError("a function of the checker's, called again while it is being called")
    ids, kept = _CALLBACK["ids"], _CALLBACK["kept"]
    # a default its signature shows (`sig.bind(...).apply_defaults()`) is the argument left
    # out: the value stays in the judge
    kwargs = {key: v for key, v in kwargs.items() if v is not _CHECKERS_DEFAULT}
    while args and args[-1] is _CHECKERS_DEFAULT:
        args = args[:-1]
    if any(a is _CHECKERS_DEFAULT for a in args):
        raise TypeError("a default of the checker's function's, before an argument given")
    # an iterator of the solution's (a generator for the checker's `sum`) goes as its items:
    # kept here as a handle, the checker's function could only iterate it by calling back
    args = tuple(_listed(a) for a in args)
    kwargs = {key: _listed(v) for key, v in kwargs.items()}

    with lock:
        if not _CALLBACK["open"]:
            raise RuntimeError(
                "a function the checker passed can be called only while a call of the "
                "checker's runs"
            )
        _CALLBACK["owner"] = _thread.get_ident()
        collecting = gc.isenabled()
        gc.disable()  # no finalizer of the solution's runs in the middle of the exchange
        try:
            try:
                req = {"cb": k, "args": _as_reply(args)}
                if kwargs:
                    req["kwargs"] = _as_reply(kwargs)
                ids.flush()  # what crossed is noted as it is now, as for a reply
            except WireError as e:
                raise TypeError(f"the checker's {_CALLBACK['stubs'][k].__name__}: {e}") from None
            write_frame(_CALLBACK["out"], req)
            rep = read_frame(_CALLBACK["in"])
            while rep is not None and "i" in rep:
                # the checker's function calls the candidate (a memoizing wrapper around the
                # checker's recursive `fib`): answered here, as a call, before its own answer
                nested = _CALLBACK["nested"]
                nested.append(rep["i"])
                _CALLBACK["owner"] = None
                lock.release()  # the solution's code runs: its threads may call back
                if collecting:
                    gc.enable()
                try:
                    with _deeper(_NESTING_FRAMES):  # the harness's frames are not the solution's
                        reply = _answer(rep, nested=True)
                finally:
                    gc.disable()
                    lock.acquire()  # no other thread's exchange is under way when it goes
                    # Replies go innermost first, as the judge waits for them: a thread of
                    # the solution's may have called back meanwhile and been asked a call of
                    # its own, whose reply is due before this one.
                    while nested[-1] != rep["i"]:
                        lock.release()
                        time.sleep(0.0002)
                        lock.acquire()
                    nested.pop()
                    _CALLBACK["owner"] = _thread.get_ident()
                write_frame(_CALLBACK["out"], reply)
                rep = read_frame(_CALLBACK["in"])
            if rep is None:
                raise RuntimeError("the checker ended during a call of its function")
            if "cb_value" not in rep:
                raise _builtin_exception(rep.get("cb_raised"), rep.get("message"), rep.get("args"))
            graph = ids.graph()
            value = decode_plain(
                rep["cb_value"],
                _CALLBACK["g"],
                max_int_bits=JUDGE_INT_BITS,
                stdlib=True,
                graph=graph,
                handles=kept.get,
                functions=_checker_function,
            )
            _take_states(graph, ids)
            ids.learn(graph)
            return value
        finally:
            _CALLBACK["owner"] = None
            if collecting:
                gc.enable()


def _call_back_handle(obj):
    """The handle number of an object of the entry class (class tasks) or of a function of
    the solution's (the checker's function may call it: the call is answered inside the call
    back), not an iterator's (it goes as a list)."""
    number = _CALLBACK["kept"].number(obj)
    return None if number is None or number[1] is True else number


def _listed(a):
    return list(a) if _is_iterator(a) and _call_back_handle(a) is None else a


def _as_reply(value):
    """A call back's arguments, written as the candidate's reply values are."""
    return encode_plain(
        value, True, True, _CALLBACK["ids"].number, handle=_call_back_handle, functions=_stub_number
    )


def _builtin_exception(name, message, args=None):
    """The builtin exception ``name`` (another: ``Exception``) with the arguments the
    checker's had where they crossed (a KeyError's key, an OSError's errno), else
    ``message``."""
    message = str(message or "")[:1000]
    cls = getattr(builtins, name, None) if type(name) is str else None
    if not (isinstance(cls, type) and issubclass(cls, BaseException)):
        return Exception(message)
    try:
        rebuilt = decode_plain(args, stdlib=True) if type(args) is str else None
        return cls(*rebuilt) if type(rebuilt) is tuple else cls(message)
    except Exception:  # one that takes other arguments (UnicodeDecodeError)
        return Exception(message)


def _open_calls(flag):
    """Let the checker's functions be called (a call of the checker's runs), or not: closing
    waits for a thread that is calling one to have its answer."""
    if flag:
        _CALLBACK["open"] = True
    else:
        with _CALLBACK["lock"]:
            _CALLBACK["open"] = False


class _Kept:
    """The objects the checker holds handles to, by number: in a class task (the request
    says ``"handles"``) every instance of the entry class that crosses, and in any task the
    iterators (a generator returned, ``iter`` of a kept object; ``iter`` of one of the
    standard library's over a container gives its items whole, as a list) and the functions
    (a closure, a decorated function, a ``partial`` the solution returns: the checker calls
    them here, ``candidate(3)(4)``)."""

    def __init__(self, cls):
        self.cls, self.objects, self.numbers, self.kinds = cls, [], {}, []
        self.entries = False  # whether instances of the entry class stay here

    def number(self, obj):
        """``(number, kind)`` where ``obj`` stays here, else None: it crosses as data. The
        kind, fixed when it is first kept, is False for an object of the entry class, True
        for an iterator and ``FUNCTION_HANDLE`` for a function."""
        k = self.numbers.get(id(obj))
        held = self.objects[k] if k is not None else None
        if type(held) is _Let and held.ref() is obj:
            self.objects[k] = held = obj  # the checker holds it again, under its old number
        if held is obj:
            return k, self.kinds[k]
        if self.entries and self.cls is not None and isinstance(obj, self.cls):
            return self.keep(obj, False), False
        if _is_iterator(obj):
            return self.keep(obj, True), True
        if _is_function(obj):
            return self.keep(obj, FUNCTION_HANDLE), FUNCTION_HANDLE
        return None

    def keep(self, obj, kind):
        k = self.numbers[id(obj)] = len(self.objects)
        self.objects.append(obj)  # alive while the checker holds it: its id stays its own
        self.kinds.append(kind)
        return k

    def get(self, k, iterator=False):
        obj = self.objects[k] if type(k) is int and 0 <= k < len(self.objects) else None
        obj = obj.ref() if type(obj) is _Let else obj
        if obj is None:
            raise WireError(f"a handle to no object of the candidate's ({k})")
        return obj

    def release(self, numbers):
        """Let go of the objects whose handles the checker no longer holds (a loop that makes
        a fresh one each round must not keep every one alive)."""
        for k in numbers if type(numbers) is list else ():
            if type(k) is not int or not 0 <= k < len(self.objects):
                continue
            obj = self.objects[k]
            if obj is None or type(obj) is _Let:
                continue
            try:  # weakly: crossing again while the candidate keeps it, it has its old number
                self.objects[k] = _Let(weakref.ref(obj))
            except TypeError:
                self.numbers.pop(id(obj), None)
                self.objects[k] = None

    def operate(self, req, args, kwargs):
        """What a request "on" a handle (or on the class, :data:`CLASS_TARGET`) asks: an
        attribute (or :data:`_METHOD`), a method call, or one of ``HANDLE_OPS`` done as
        Python does it (``__next__``'s end is :data:`ITER_END`; an iterator of the standard
        library's over a container comes whole, as a list)."""
        on, name = req["on"], req.get("name")
        obj = self.cls if on == CLASS_TARGET else self.get(on)
        if name == "__call__":
            return obj(*args, **kwargs)
        if name in HANDLE_OPS:
            return _operation(name, obj, args)
        function_name = name in FUNCTION_NAMES and on != CLASS_TARGET
        function_name = function_name and self.kinds[on] is FUNCTION_HANDLE
        if not (_public(name) or (function_name and req.get("get"))):
            raise TypeError(f"no attribute a checker may ask for: {name!r}")
        if req.get("set") is True and len(args) == 1:  # the checker's `obj.name = value`
            setattr(obj, name, args[0])
            return None
        attr = getattr(obj, name)
        if req.get("get"):  # a function's __wrapped__ crosses as itself (a function again)
            return _METHOD if callable(attr) and not function_name else attr
        return attr(*args, **kwargs)


class _Let:
    """A kept object the checker let go of, held weakly (see :meth:`_Kept.release`)."""

    __slots__ = ("ref",)

    def __init__(self, ref):
        self.ref = ref


def _is_iterator(obj):
    t = type(obj)
    return hasattr(t, "__next__") and hasattr(t, "__iter__") and not isinstance(obj, type)


def _is_function(obj):
    """A function of the solution's that cannot cross as data (a closure, a lambda, a bound
    method, ``partial``, a cached function, an object with ``__call__``): it stays here and
    the checker calls it through a handle. Not a class (``int`` crosses by name; a class of
    the solution's is not a value), nor a value of a builtin type or an enum's member."""
    return (
        callable(obj)
        and not isinstance(obj, type)
        and not isinstance(obj, _BASES)
        and not _is_member(obj)
    )


# The standard library's iterators over its containers: they run no code of anyone's, so
# they cross whole, as a list, in one request (100,000 items in one trip, not 100,000).
_WHOLE_ITERATORS = frozenset(
    type(f(x))
    for f in (iter, reversed)
    for x in ([], (), {}, {}.keys(), {}.values(), {}.items(), range(0), range(1 << 70))
) | frozenset(type(iter(x)) for x in ("", "\u0100", b"", bytearray(), set(), frozenset()))


def _operation(name, obj, args):
    """``name`` done to ``obj`` as Python does it (``operator.add(obj, other)`` for
    ``__add__``, ``operator.add(other, obj)`` for ``__radd__``, ``args[0] in obj``), so the
    candidate's ``NotImplemented``, reflection and fallbacks act as in one process."""
    if name in _UNARY:
        got = _UNARY[name](obj)
        if name in ("__iter__", "__reversed__") and type(got) in _WHOLE_ITERATORS:
            return list(got)
        return got
    if name == "__next__":
        try:
            return next(obj)
        except StopIteration:
            return ITER_END
    if name == "__round__":
        return round(obj, *args[:1])
    if name == "__format__" and len(args) == 1 and type(args[0]) is str:
        return format(obj, args[0])
    if name == "__enter__" and not args:
        return type(obj).__enter__(obj)
    if name == "__exit__" and len(args) == 1:
        exc = _rebuilt_exception(args[0])
        return type(obj).__exit__(obj, None if exc is None else type(exc), exc, None)
    if name == "__setitem__" and len(args) == 2:
        obj[args[0]] = args[1]
        return None
    if len(args) != 1:
        raise TypeError(f"{name} takes one operand")
    if name == "__delitem__":
        del obj[args[0]]
        return None
    if name == "__contains__":
        return args[0] in obj
    plain = name[2:-2]
    reflected = plain[0] == "r" and f"__{plain[1:]}__" in HANDLE_OPS and plain != "reversed"
    if plain[0] == "i" and f"__{plain[1:]}__" in HANDLE_OPS and plain not in ("int", "index"):
        return getattr(operator, plain)(obj, args[0])  # `a += 5` as Python does it
    plain = plain[1:] if reflected else plain
    fn = divmod if plain == "divmod" else getattr(operator, plain + "_" * (plain in ("and", "or")))
    return fn(args[0], obj) if reflected else fn(obj, args[0])


def _rebuilt_exception(note):
    """The exception that ended a checker's ``with`` block, as its ``(builtin class name,
    message)`` describes it (an ``Exception`` where that class cannot be made so)."""
    if not isinstance(note, (tuple, list)) or len(note) != 2:
        return None
    return _builtin_exception(str(note[0]), note[1])


_UNARY = {
    "__len__": len,
    "__bool__": bool,
    "__str__": str,
    "__repr__": repr,
    "__iter__": iter,
    "__reversed__": reversed,
    "__hash__": hash,
    "__int__": int,
    "__index__": operator.index,
    "__float__": float,
    "__abs__": abs,
    "__neg__": operator.neg,
    "__pos__": operator.pos,
    "__invert__": operator.invert,
    "__floor__": math.floor,
    "__ceil__": math.ceil,
    "__trunc__": math.trunc,
}


def _public(name):
    """A name the checker may read or call on the candidate's object: no dunder (``__class__``,
    ``__dict__``: the object's insides, never a method call's result)."""
    return type(name) is str and name.isidentifier() and not name.startswith("__")


def _end_program():
    """What the interpreter does when a script's top level is done: wait for the threads it
    started and run its ``atexit`` functions (a program printing from a thread it never
    joined, the deep-recursion idiom, or from an exit function had its answer lost when the
    job ended at once). Within the job's wall clock, like the rest of it."""
    threading = sys.modules.get("threading")
    for finish in (getattr(threading, "_shutdown", None), _run_exit_functions):
        if finish is None:
            continue
        try:
            finish()
        except BaseException:  # as at a real exit: a failing exit function ends nothing else
            pass


def _run_exit_functions():
    import atexit

    atexit._run_exitfuncs()


def _exit(code=None):
    """``exit()`` and ``quit()`` as a script knows them (their site versions also close
    stdin, which a program that exits no longer reads)."""
    raise SystemExit(code)


def _module_namespace(name):
    """Fresh globals for the solution (or the checker), registered in ``sys.modules`` as the
    module they are: ``dataclasses`` resolves string annotations (``from __future__ import
    annotations``) and ``pickle`` finds a class through the module its ``__module__`` names,
    and without one a correct solution using either failed to load."""
    module = types.ModuleType(name)
    module.__dict__["__builtins__"] = builtins
    sys.modules[name] = module
    return module.__dict__


def _raised(i, e, budget=None, brief=False):
    """The reply for a call that raised: the exception's name, its nearest builtin ancestor
    (so a checker's ``except ValueError`` still catches a ``ValueError`` subclass), message;
    for an exception group, its exceptions' replies too (``except*`` splits them). ``brief``:
    those three and the traceback's tail alone, for the host, which reads no more of them (an I/O test that raised
    failed): the rest is for a checker, and a group of eight exceptions made a reply of more
    arrays and objects than the host takes from a job (``wire.frame_shape_problem``), so the
    channel was refused and every later test of the job lost (red team 25)."""
    base = "Exception"
    try:
        for c in type(e).__mro__:
            if getattr(builtins, c.__name__, None) is c:
                base = c.__name__
                break
    except BaseException:
        pass
    try:
        name = type(e).__name__
        rep = {"i": i, "raised": name, "base": base, "error": _exc_line(e), "trace": _tail_tb(e)}
    except BaseException:
        return {"i": i, "raised": "Exception", "base": "Exception", "error": "(unprintable)"}
    if brief:
        return rep
    # What a checker may read off the exception, as plain data where it is: its message and
    # args (so ``str(e)`` and ``e.args[0]`` are the candidate's own), its instance attributes
    # one by one, and its classes by module and name (so the judge can raise the very class
    # the prompt or a library defines). Keys of their own: ``args``/``kwargs`` on a reply are
    # the call's arguments as the call left them.
    try:
        rep["exc_message"] = str(e)[:_EXC_DATA_CHARS]
    except BaseException:
        pass
    try:
        text = encode_plain(tuple(e.args))
        if len(text) <= _EXC_DATA_CHARS:
            rep["exc_args"] = text
    except BaseException:
        pass
    try:
        attrs, size = {}, 0
        for k, v in (_class_attrs(e) + list(vars(e).items()))[-64:]:
            if type(k) is not str or k.startswith("__"):
                continue
            try:
                text = encode_plain(v)
            except BaseException:
                continue  # an attribute that is not plain data stays behind; the rest cross
            size += len(k) + len(text)
            if size > _EXC_DATA_CHARS:
                break
            attrs[k] = text
        rep["exc_attrs"] = attrs
    except BaseException:
        pass
    try:
        rep["exc_classes"] = [
            [str(c.__module__)[:100], str(c.__qualname__)[:100]] for c in type(e).__mro__[:8]
        ]
    except BaseException:
        pass
    try:
        notes = getattr(e, "__notes__", None)
        if type(notes) is list and notes:
            rep["exc_notes"] = [str(n)[:_EXC_DATA_CHARS] for n in notes[:16] if type(n) is str]
    except BaseException:
        pass
    try:
        if isinstance(e, BaseExceptionGroup):
            budget = [_GROUP_MEMBERS] if budget is None else budget
            rep["exc_message"] = str(e.message)[:_EXC_DATA_CHARS]
            group = rep["exc_group"] = []
            for x in e.exceptions:
                if budget[0] <= 0:
                    break
                budget[0] -= 1
                group.append(_raised(i, x, budget))
    except BaseException:
        rep.pop("exc_group", None)
    return rep


_GROUP_MEMBERS = 64  # exceptions of a group, nested groups' included, that cross
_EXC_DATA_CHARS = 4000  # most characters of an exception's message, args or attributes


def _class_attrs(e):
    """What the candidate's own exception classes give every instance -- class attributes of
    plain data (``status = 404``) and properties -- as (name, value) pairs, most derived
    class last, so that a checker reading ``e.status`` sees what a real call shows."""
    out = []
    for c in reversed(type(e).__mro__[:8]):
        if getattr(c, "__module__", None) != "__candidate__":
            continue
        for k, v in list(vars(c).items())[:32]:
            if type(k) is not str or k.startswith("_"):
                continue
            if isinstance(v, property) or not (callable(v) or hasattr(v, "__get__")):
                try:
                    out.append((k, getattr(e, k)))
                except Exception:
                    pass
    return out


_HELD_OBJECTS = 100_000
_ABSENT = object()


class _Identities:
    """The objects that crossed the checker proxy, by a number both processes know them by:
    the judge numbers its objects 1, 2, 3..., the candidate's process its own -1, -2...;
    each side files the other's objects under the sender's number as it decodes them. So an
    object that crosses again, in this call or a later one, either way, is the one it was --
    a node the checker passed to ``add`` and a later ``get`` returned is the checker's own
    node, a node the candidate returned and the checker passes back is the candidate's --
    changed in place to the state the sender left it in. Held weakly (an object either side
    drops is forgotten); one that takes no weak references (``__slots__``) strongly, up to
    ``_HELD_OBJECTS`` of them, then they are forgotten together."""

    def __init__(self, sign):
        self.sign, self.last = sign, 0
        self.refs, self.numbers, self.held = {}, {}, {}
        self.base = {}  # number -> its attributes' fingerprints when it last crossed
        self.sent = []  # (number, object) sent since the last look: their states are noted
        # at the next decode, when every object they reference has its number

    def get(self, n):
        """The object known by ``n``, or None."""
        ref = self.refs.get(n)
        return ref() if ref is not None else self.held.get(n)

    def number(self, obj):
        """``obj``'s number, a new one of this side's where it has none."""
        n = self.numbers.get(id(obj))
        if n is None or self.get(n) is not obj:
            self.last += self.sign
            n = self.last
            self.file(n, obj)
        self.sent.append((n, obj))  # sent as it is now (this side waits for the answer)
        return n

    def number_of(self, obj):
        n = self.numbers.get(id(obj))
        return n if n is not None and self.get(n) is obj else None

    def crossed(self, obj, attrs, n=None, number_of=None):
        """Note the state ``attrs`` in which ``obj`` crossed, either way."""
        n = self.number_of(obj) if n is None else n
        if n is not None:
            number_of = number_of or self.number_of
            self.base[n] = {k: _fingerprint_of(v, number_of) for k, v in attrs.items()}

    def flush(self):
        sent, self.sent = self.sent, []
        for n, obj in sent:
            if self.get(n) is obj:
                self.crossed(obj, _obj_state(obj) or {}, n)

    def graph(self, strict=False):
        """A ``graph`` for ``decode_plain``: objects known by their numbers are these, and
        only what the sender changed of them since they last crossed is set; ``strict`` (the
        judge taking the candidate's): where this side changed it meanwhile too, otherwise,
        a WireError."""
        self.flush()
        graph = {"resolve": self.get, "base": self.base_of}
        if strict:
            graph["strict"] = self.number_of
        return graph

    def base_of(self, obj):
        n = self.number_of(obj)
        return self.base.get(n) if n is not None else None

    def file(self, n, obj):
        try:
            self.refs[n] = weakref.ref(obj, functools.partial(self._gone, n, id(obj)))
        except TypeError:  # no weak references to it (slots): held, up to a bound
            if len(self.held) >= _HELD_OBJECTS:
                self.forget_held()
            self.held[n] = obj
        self.numbers[id(obj)] = n

    def learn(self, graph):
        """File the objects a decoded ``graph`` made, by their numbers: the other side's,
        and this side's own where their objects are gone (it cannot rename a live one)."""
        states, objects = graph.get("states", ()), graph.get("objects", ())
        number_of = graph_numbers(objects, graph.get("origins", ()))
        for k, (obj, n) in enumerate(zip(objects, graph.get("origins", ()), strict=False)):
            if type(n) is not int or n == 0 or self.get(n) is obj:
                continue
            # the other side's numbers; or one of ours whose object this side let go of
            # (the checker's temporary `Item(1)` the candidate kept and hands back)
            if (n > 0) != (self.sign > 0) or (abs(n) <= abs(self.last) and self.get(n) is None):
                self.file(n, obj)
                self.crossed(obj, states[k] if k < len(states) else {}, n, number_of)

    def forget_held(self):
        self.flush()
        for n, obj in self.held.items():
            if self.numbers.get(id(obj)) == n:
                del self.numbers[id(obj)]
            self.base.pop(n, None)
        self.held.clear()

    def _gone(self, n, i, ref):
        if self.refs.get(n) is ref:
            del self.refs[n]
            self.base.pop(n, None)
        if self.numbers.get(i) == n:
            del self.numbers[i]


def _changed_args(rep, req, args, kwargs, origins, handle=None):
    """Add the arguments' new text to ``rep`` where the call changed them in place."""
    if any(m in req["args"] for m in _MUTABLE_MARKS):
        text = encode_plain(tuple(args), True, True, origins, handle=handle, functions=_stub_number)
        if text != req["args"]:
            rep["args"] = text
    if req.get("kwargs") and any(m in req["kwargs"] for m in _MUTABLE_MARKS):
        text = encode_plain(
            dict(kwargs), True, True, origins, handle=handle, functions=_stub_number
        )
        if text != req["kwargs"]:
            rep["kwargs"] = text


_IMMUTABLE = frozenset({int, float, bool, complex, str, bytes, tuple, frozenset, type(None)})


def _mutable(x):
    """A value whose identity a checker can see: a list, dict or set, a mutable type of the
    standard library's that crosses as itself (a deque, an OrderedDict, a bytearray...), or an
    object that crosses the wire (by its ``__dict__`` or its slots, as ``encode_plain`` sends
    it)."""
    t = type(x)
    if t in (list, dict, set):
        return True
    if t in _IMMUTABLE:  # the common arguments, without the walk of a class's slots
        return False
    name = stdlib_type(t)
    if name is not None:
        return name in STDLIB_MUTABLE
    return not callable(x) and not isinstance(x, type) and _obj_state(x) is not None


def _aliases(args, kwargs):
    """Pairs ``[later, first]`` of arguments (positions, or keywords) that are one mutable
    object passed twice: the checker's ``candidate(xs, xs)``, which the wire would otherwise
    deliver as two equal objects."""
    seen, pairs = {}, []
    for key, a in [*enumerate(args), *kwargs.items()]:
        if _mutable(a):
            if id(a) in seen:
                pairs.append([key, seen[id(a)]])
            else:
                seen[id(a)] = key
    return pairs


def _alias(args, kwargs, pairs):
    """Make the arguments named by each ``[later, first]`` pair one object again."""
    args, kwargs = list(args), dict(kwargs)

    def where(key):
        return args if type(key) is int else kwargs

    for later, first in pairs:
        where(later)[later] = where(first)[first]
    return tuple(args), kwargs


def _same_argument(r, args, kwargs):
    """Which argument (its position, or its keyword) the call returned itself, where it is a
    mutable one: so that the checker gets its own object back, as from a real call (a
    solution that sorts in place and returns its list; one that returns its input where the
    task asks for a copy, which ``ys is xs`` then shows), or None."""
    if not _mutable(r):
        return None
    for k, a in enumerate(args):
        if a is r:
            return k
    for k, a in kwargs.items():
        if a is r:
            return k
    return None


# literal text that may hold a mutable value (a deque's and the dicts' forms hold "[" or "{")
_MUTABLE_MARKS = ("[", "{", "set(", "__ref__", "bytearray(")


class CandidateFault(BaseException):
    """The candidate died, timed out or returned non-plain data: not catchable by ``except
    Exception`` in a checker, so a checker cannot swallow it."""


class CheckerLimit(BaseException):
    """The checker passed an argument over the wire's caps before the candidate returned
    anything: the task's fault, not the candidate's (the verdict is ``invalid``)."""


# Exceptions that steer iteration: raised into a checker they would end its ``map``, ``zip``
# or ``for`` early and let it pass. They reach the checker as RuntimeError, as PEP 479 does
# for a generator whose body raises StopIteration.
_CONTROL_FLOW = frozenset({"StopIteration", "StopAsyncIteration"})
_LEAVING = frozenset({"SystemExit", "KeyboardInterrupt", "GeneratorExit"})
_EXC_CLASSES = {}


def _candidate_exception(rep, known, budget=None):
    """:func:`_made_exception`, with the notes the candidate added to it (``add_note``)."""
    exc = _made_exception(rep, known, budget)
    notes = rep.get("exc_notes")
    if type(notes) is list and notes and not isinstance(exc, CandidateFault):
        try:
            exc.__notes__ = [str(n)[:_EXC_DATA_CHARS] for n in notes[:16] if type(n) is str]
        except Exception:
            pass
    return exc


def _made_exception(rep, known, budget=None):
    """The exception a checker sees when the candidate's reply ``rep`` says it raised: made
    with the candidate's own args (its message where they did not cross) and instance
    attributes, of the class the checker knows it by -- the first of the candidate's classes,
    most derived first, that the prompt defines or imports (``known``: name -> class) or that
    a module the judge has imported defines -- else of a class of its name deriving from its
    nearest builtin ``base``, so ``except`` clauses, ``str(e)``, ``e.args`` and attributes read
    as they would on a real call. Control flow (a ``StopIteration`` by any name) and
    SystemExit, KeyboardInterrupt and GeneratorExit are themselves (``except Exception`` lets
    them by, ``except SystemExit`` takes them, as in one process), any other class beside
    ``Exception`` a :class:`CandidateFault`. Raises
    :class:`CandidateFault` for an exception holding NaN (fail closed, as for values)."""
    name, base = str(rep.get("raised"))[:100], rep.get("base")
    message = rep.get("exc_message")
    message = message[:_EXC_DATA_CHARS] if type(message) is str else str(rep.get("error"))[:400]
    cls = getattr(builtins, base, None) if type(base) is str else None
    if base in _CONTROL_FLOW or name in _CONTROL_FLOW:
        return RuntimeError(f"the candidate raised {name}: {message}")
    if base in _LEAVING:  # SystemExit, KeyboardInterrupt, GeneratorExit: the builtin itself,
        cls = getattr(builtins, base)  # which `except Exception` lets by, as in one process
        args = _reply_data(rep, "exc_args", tuple)
        args = args if args is not None else (message,)
        attrs = _exc_attrs(rep, args)
        own = _checker_class(rep.get("exc_classes"), known, cls)  # the prompt's subclass
        try:
            if own is not None:
                exc = own.__new__(own, *args)
                cls.__init__(exc, *args)  # the builtin's own (SystemExit's code), not theirs
                _set_attrs(exc, attrs)
                return exc
            made = cls if name == base else _EXC_CLASSES.get((name, (cls,)))
            if made is None:
                made = type(name, (cls,), {"__module__": "candidate"})
                if len(_EXC_CLASSES) > 256:
                    _EXC_CLASSES.clear()
                _EXC_CLASSES[(name, (cls,))] = made
            exc = made(*args)
            _set_attrs(exc, attrs)
            return exc
        except Exception:
            return CandidateFault(f"the candidate raised {name}: {message}")
    if base == "BaseException":  # a class of its own beside Exception: nothing catches it
        return CandidateFault(f"the candidate raised {name}: {message}")
    group = rep.get("exc_group")
    if type(group) is list and group and base in ("ExceptionGroup", "BaseExceptionGroup"):
        budget = [_GROUP_MEMBERS] if budget is None else budget  # a forged reply's too
        return _candidate_group(name, message, group, known, budget, rep.get("exc_classes"))
    if not (isinstance(cls, type) and issubclass(cls, Exception)) or cls is BaseException:
        return RuntimeError(f"{name}: {message}")
    args = _reply_data(rep, "exc_args", tuple)
    args = args if args is not None else (message,)
    attrs = _exc_attrs(rep, args)
    own = _checker_class(rep.get("exc_classes"), known, cls)
    if own is not None:
        try:  # the checker's own class, without its __init__ (which may take other arguments)
            exc = own.__new__(own, *args)
            exc.args = args
            _set_attrs(exc, attrs)
            return exc
        except Exception:
            pass
    # every builtin the candidate's class derives from (a ValueError that is also a TypeError
    # is caught by either), else the nearest builtin that takes these arguments
    every = _builtin_bases(rep.get("exc_classes"), cls)
    nearest = [(c,) for c in cls.__mro__ if issubclass(c, Exception)]
    for bases in ([every] if len(every) > 1 else []) + nearest:
        if len(bases) == 1 and name == bases[0].__name__:
            sub = bases[0]  # the builtin itself: its own str()
        else:
            sub = _EXC_CLASSES.get((name, bases))
            if sub is None:
                if len(_EXC_CLASSES) > 256:
                    _EXC_CLASSES.clear()
                try:
                    sub = type(name, bases, {"__module__": "candidate", "__str__": _own_str})
                except TypeError:  # builtins whose layouts conflict: one base only
                    continue
                _EXC_CLASSES[(name, bases)] = sub
        for made in (args, (message,)):
            try:
                exc = sub(*made)
            except Exception:
                continue
            _set_attrs(exc, attrs)
            if sub not in bases:  # a class of ours: str() as the candidate's class gave it
                try:
                    if str(exc) != message:
                        exc.__dict__["_candidate_str"] = message
                except Exception:
                    pass
            return exc
    return RuntimeError(f"{name}: {message}")


def _exc_attrs(rep, args):
    """The plain instance attributes of the candidate's exception (64 at most); raises
    :class:`CandidateFault` where they or its ``args`` hold NaN (fail closed, as for values)."""
    attrs = {}
    raw = rep.get("exc_attrs")
    for k, text in list(raw.items())[:64] if type(raw) is dict else ():
        if type(k) is str and k[:2] != "__" and k.isidentifier() and type(text) is str:
            try:
                attrs[k] = decode_plain(text)
            except Exception:
                pass
    if contains_nan(args) or contains_nan(attrs):
        raise CandidateFault(
            "the candidate raised an exception holding NaN, which a checker cannot judge safely"
        )
    return attrs


def _candidate_group(name, message, group, known, budget, classes):
    """An exception group as the checker sees it: an ``ExceptionGroup`` (of the candidate's
    class name) of its exceptions, each made as :func:`_candidate_exception` makes one, so
    that ``except* ValueError`` splits it as it would the candidate's own."""
    subs = []
    for r in group:
        if budget[0] <= 0 or type(r) is not dict:
            break
        budget[0] -= 1
        sub = _candidate_exception(r, known, budget)
        if isinstance(sub, CandidateFault):
            return sub  # a SystemExit inside: it leaves the checker, group and all
        subs.append(sub)
    if not subs:
        return RuntimeError(f"{name}: {message}")
    own = _checker_class(classes, known, ExceptionGroup)  # the prompt's own group class
    if own is not None:
        try:
            return own.__new__(own, message, subs)  # without its __init__, as for others
        except Exception:
            pass
    cls = ExceptionGroup
    if name != "ExceptionGroup":
        cls = _EXC_CLASSES.get((name, (ExceptionGroup,)))
        if cls is None:
            cls = _EXC_CLASSES[(name, (ExceptionGroup,))] = type(
                name, (ExceptionGroup,), {"__module__": "candidate"}
            )
    return cls(message, subs)


def _own_str(self):
    own = self.__dict__.get("_candidate_str")
    return own if type(own) is str else super(type(self), self).__str__()


def _builtin_bases(classes, nearest):
    """The builtin exception classes among the candidate's class's ancestors (``exc_classes``,
    most derived first), none an ancestor of another: ``(ValueError, TypeError)`` for a class
    deriving from both; ``(nearest,)`` where they say no more."""
    found = []
    for item in classes[:8] if type(classes) is list else ():
        if type(item) is not list or len(item) != 2 or item[0] != "builtins":
            continue
        c = getattr(builtins, str(item[1]), None)
        if (
            isinstance(c, type)
            and issubclass(c, Exception)
            and not issubclass(c, (StopIteration, StopAsyncIteration))
            and not any(issubclass(f, c) for f in found)
        ):
            found.append(c)
    return tuple(found) if nearest in found else (nearest,)


def _set_attrs(exc, attrs):
    for k, v in attrs.items():
        try:
            setattr(exc, k, v)
        except Exception:
            pass


def _checker_class(classes, known, base):
    """The first of ``classes`` (the candidate's exception's classes as [module, qualified
    name], most derived first) that the checker knows: by name from the prompt (``known``)
    for the candidate's own module, else looked up, without running any code, in a module
    the judge has already imported. Only an ``Exception`` subclass of ``base`` that is not
    control flow; None from the first builtin on."""
    if type(classes) is not list:
        return None
    for item in classes[:8]:
        if type(item) is not list or len(item) != 2 or not all(type(x) is str for x in item):
            return None
        module, qualname = item
        if module in ("builtins", "__judge__"):  # never a class of the checker's own
            return None
        if module == "__candidate__":
            c = known.get(qualname)
        else:
            c = sys.modules.get(module)
            for part in qualname.split(".")[:4]:  # a module's or class's own namespace only
                d = getattr(c, "__dict__", None)
                c = d.get(part) if isinstance(d, dict | types.MappingProxyType) else None
        if (
            isinstance(c, type)
            and base is not BaseException
            and issubclass(c, base)
            and not issubclass(c, (StopIteration, StopAsyncIteration))
        ):
            return c
    return None


def _prompt_exceptions(g):
    """The exception classes a task's prompt defines or imports (name -> class), read from
    the judge's namespace after the prompt ran and before the checker does: the classes the
    candidate's code can raise by those names."""
    return {k: v for k, v in g.items() if isinstance(v, type) and issubclass(v, BaseException)}


def _reply_data(rep, key, want):
    """A plain-data field of a candidate's reply, decoded, or None where absent or odd."""
    text = rep.get(key)
    if type(text) is not str:
        return None
    try:
        value = decode_plain(text)
    except Exception:
        return None
    return value if type(value) is want else None


_SYNC_BUILTINS = frozenset({list, dict, set, tuple})
_SYNC_DICTS = frozenset({"OrderedDict", "Counter", "defaultdict"})


def _sync(old, new):
    """Make the checker's argument ``old`` equal ``new`` (its state after the candidate's
    call) in place, as far as ``old`` is mutable. Returns False where it is not (the caller
    then replaces it in its container)."""
    if old is new:
        return True
    if type(old) is Handle or type(new) is Handle:  # the candidate's objects: by identity
        return False
    t = type(old)
    name = stdlib_type(t) if t not in _SYNC_BUILTINS else None
    if name is None and t not in _SYNC_BUILTINS and isinstance(old, type(new)):
        name = stdlib_type(type(new))  # a checker's subclass of one crossed as it
        t = type(new) if name is not None else t
    if name is not None:
        if type(new) is not t or name not in STDLIB_MUTABLE:  # a Fraction's slots stay its own
            return type(new) is t and old == new
        if name == "deque":
            if old.maxlen != new.maxlen:
                return False
            old.clear()
            old.extend(new)
            return True
        if name == "bytearray":
            old[:] = new
            return True
        if name == "defaultdict":
            old.default_factory = new.default_factory
    elif t not in _SYNC_BUILTINS:  # a subclass of a builtin crossed as it: synced as one
        t = next((b for b in (list, dict, set) if isinstance(old, b) and type(new) is b), t)
    if t is list and type(new) is list:
        if any(type(x) is tuple for x in new):  # sorted or moved: the same tuples, not copies
            mine = {slot_key(x): x for x in old if type(x) is tuple}
            new = [mine.get(slot_key(x), x) if type(x) is tuple else x for x in new]
        for k in range(min(len(old), len(new))):
            if old[k] is not new[k] and not _sync(old[k], new[k]):
                old[k] = new[k]
        del old[len(new) :]
        old.extend(new[len(old) :])
        return True
    if (t is dict and type(new) is dict) or (name in _SYNC_DICTS and type(new) is t):
        for k in [k for k in old if k not in new]:
            del old[k]
        for k, v in new.items():
            if k not in old or not _sync(old[k], v):
                old[k] = v
        if list(old) != list(new):  # reordered in place (sorted, an entry moved to the end)
            ordered = {k: old[k] for k in new}
            old.clear()
            old.update(ordered)
        return True
    if t is set and type(new) is set:
        old.clear()
        old.update(new)
        return True
    if t is tuple and type(new) is tuple and len(old) == len(new):
        same = [x is y or _sync(x, y) for x, y in zip(old, new, strict=True)]
        return all(same)
    # An object is one by identity: the graph it crossed in already made each of the
    # checker's own objects the object it is (and synced it, _sync_state); another is another.
    if type(old) is not type(new):
        return False
    return old == new if t in _IMMUTABLE else _obj_state(old) is None and old == new


def _sync_state(obj, attrs, base=None, number_of=None, strict=None):
    """Give the reader's own object ``obj`` the attributes ``attrs`` (the sender's state of
    it), in place: its lists and dicts stay the objects they were. With ``base`` (the
    fingerprints of its state when it last crossed, :func:`_fingerprint_of`), only what the
    sender changed since: what the reader changed meanwhile, and the sender did not, stays
    (a checker's `it.v = 5` between two calls, the candidate's node grown meanwhile).
    ``strict`` (the judge taking the candidate's state; the function numbering the reader's
    own values): an attribute both changed since, each otherwise, is a WireError, since
    taking the sender's would lose what the reader's code wrote (``wire._meets``)."""
    slots = set(_slot_names(type(obj)))
    d = getattr(obj, "__dict__", None)
    mine = _obj_state(obj) or {}
    if base is None:
        gone, new = [k for k in mine if k not in attrs], attrs
    else:
        gone = [k for k in mine if k in base and k not in attrs]
        new = {
            k: v for k, v in attrs.items() if base.get(k, _ABSENT) != _fingerprint_of(v, number_of)
        }
        for k, v in new.items() if strict is not None else ():
            _meets(obj, k, v, base, number_of, strict)
    for k in gone:
        if k in slots:
            object.__delattr__(obj, k)
        else:
            del d[k]
    for k, v in new.items():
        if k not in mine or not _sync(mine[k], v):
            _set_attr(obj, k, v, slots)
    if base is not None:
        return
    if type(d) is dict and [k for k in d if k in attrs] != [k for k in attrs if k in d]:
        ordered = {k: d[k] for k in attrs if k in d}  # reordered, as a dict argument would be
        for k in ordered:
            del d[k]
        d.update(ordered)


def _holds_nan(value, *graphs):
    """NaN in a decoded value or in the attributes of any object of its graphs."""
    return contains_nan(value) or any(
        contains_nan(attrs) for graph in graphs for attrs in graph.get("states", ())
    )


_CODE_CACHE = {}


def _compiled(source, name):
    """Compiled checker code, cached: RL verifies many attempts at the same task."""
    key = (source, name)
    code = _CODE_CACHE.get(key)
    if code is None:
        if len(_CODE_CACHE) > 512:
            _CODE_CACHE.clear()
        code = _CODE_CACHE[key] = compile(source, name, "exec", dont_inherit=True)
    return code


def serve_judge(in_fd, out_fd, cand_fds):
    """Run ``check(candidate)``. The proxy talks straight to the candidate's process over the
    pipes the host handed over (``cand_fds``); the candidate's replies are decoded here, as
    plain data, and the verdict goes to the host on ``out_fd``, which the candidate cannot
    reach.

    ``{"judging": true}`` goes to the host before any checker code runs: the judge's process
    ending before it is the sandbox's fault, after it possibly the candidate's (its values
    reach the checker). A checker that fails to load is ``judge_error`` (the task's fault)
    only while the candidate has not been called.
    """
    import threading  # the judge's worker only: candidate workers copy no more than they use

    spec = read_frame(in_fd)
    if spec is None or len(cand_fds) != 2:
        return
    write_frame(out_fd, {"judging": True})
    cand_w, cand_r = cand_fds
    state = {"calls": 0, "values": 0, "raised": None, "known": {}, "fault": None}
    state["quiet"] = False  # the judge's own reading of an exception: no fault of anyone's
    g = _module_namespace("__judge__")  # this job's own: the last job's module is dropped

    # The candidate's objects the checker holds (a handle dies with the checker's last
    # reference, and the next request lets the candidate's process drop the object), which
    # of their attributes are methods, and whether the task takes its objects at all: only
    # where its prompt defines the entry point as a class, and then each answers only what
    # the prompt's class declares (a candidate's object standing where the checker expects
    # a list cannot answer its `len`, `in` or `.count`). Iterators, in any task, answer
    # `iter` and `next` only; functions (a closure the solution returned) a call only.
    # `kinds`: a handle's number -> False (the entry class), True (an iterator) or
    # FUNCTION_HANDLE.
    # `released`: the numbers let go of and not yet told (a dict: a handle held again leaves
    # it in O(1), where a list's scan made 20,000 functions' handles cost seconds)
    handles, methods, released, kinds = weakref.WeakValueDictionary(), set(), {}, {}
    ids = _Identities(1)  # the objects that crossed, by the numbers both processes use
    entry = {"is_class": False, "names": frozenset(), "ops": frozenset(), "cls": None}
    entry["types"] = None  # what the prompt's annotations say (prompt_types.PromptTypes)
    # Where the candidate's objects came from, for what they may stand for. Each value a
    # reply brings is walked along the annotation of the place it comes from (a method's
    # result, an attribute, an iterator's items), and each of the candidate's objects in it is
    # judged by the spot it sits in: where the prompt types data (`-> float`, the `int` of
    # `tuple[int, Rational]`, a `dict[int, int]`'s key) it is the candidate's fault; where it
    # types nothing (no annotation, `Any`, another class, a part no annotation reaches, an
    # argument the candidate wrote into) the object is "loose": no number ever reaches its
    # operators, whatever the prompt admits there -- else `self` where a number was due would
    # meet the checker's expected number with an always-equal __eq__. An iterator carries
    # the annotation of its items. `arrived` is a stack: decoding one reply may call the
    # candidate again (the hash of its object as a dict key), and each call places its own.
    loose, iter_hints, arrived = set(), {}, [[]]

    def handle_for(k, kind=False):
        h = known_handle(k, kind)
        arrived[-1].append((k, kind))
        return h

    def known_handle(k, kind=False):
        if not entry["is_class"] and not kind:
            raise WireError("an object kept in the candidate's process, in a function task")
        if kinds.setdefault(k, kind) is not kind:
            raise WireError("a handle that changed its kind")
        h = handles.get(k)
        if h is None:
            h = handles[k] = Handle(k, port)
            weakref.finalize(h, released.__setitem__, k, None)
            released.pop(k, None)  # let go of after the request went out: held again, kept
        return h

    def place(handle, name):
        """The annotation of the place the result of ``handle.name`` comes from."""
        if entry["types"] is None:
            return NO_HINT
        k = object.__getattribute__(handle, "_k") if handle is not None else None
        if k is None:
            return entry["cls"]  # the class called: its object
        if kinds.get(k) is FUNCTION_HANDLE:
            return NO_HINT  # what a function of the candidate's returns: typed nowhere
        if kinds.get(k):  # its items, or (`iter` of it) an iterator where it sat
            hint = iter_hints.get(k, NO_HINT)
            return entry["types"].items_hint(hint) if name == "__next__" else hint
        return entry["types"].result_hint(name)

    def judge(k, at, what):
        """The candidate's object ``k`` found where ``at`` is declared: in data, its fault;
        anywhere but the class alone, loose; an iterator takes the annotation for its items."""
        types_ = entry["types"]
        if kinds.get(k):
            old = iter_hints.get(k, at)
            iter_hints[k] = max((old, at), key=lambda h: types_.position(types_.items_hint(h)))
            return
        where = types_.position(at)
        if where == Position.DATA:
            raise CandidateFault(
                f"the candidate's {what} put its own object where the prompt says data"
            )
        if where == Position.UNKNOWN:
            loose.add(k)

    def settle(spots, what, got, exempt=None, outer=NO_HINT):
        """Judge the candidate's objects a reply's value brought (``got``, as decoded) by
        where they sit: each ``(value, hint, holder)`` of ``spots`` walked along its
        annotation, and those no annotation reaches by ``outer`` (data holds none; elsewhere
        they are loose). ``exempt``: the object ``iter`` answered with itself."""
        types_ = entry["types"]
        if types_ is None or not got:
            return
        due, left = {}, [len(got)]
        for k, _ in got:
            due[k] = due.get(k, 0) + 1
        skip = object.__getattribute__(exempt, "_k") if type(exempt) is Handle else None

        def visit(h, at, spot):
            k = object.__getattribute__(h, "_k")
            if not due.get(k):
                return  # not of this reply: the checker's own, sent back
            due[k] -= 1
            left[0] -= 1
            if k != skip:
                judge(k, at, what)

        for value, hint, holder in spots:
            types_.walk(value, hint, visit, _is_handle, lambda: left[0] <= 0, holder)
        for k, n in due.items():  # where the walk did not reach
            if n and k != skip:
                judge(k, outer, what)

    def settle_arguments(spots, what, before, after, got):
        """Judge the candidate's objects in the arguments a call changed in place, each
        occurrence by the spot it sits in (``spots`` as for :func:`settle`; a list's items
        by index): the checker's own stay its own in a spot that holds it no more often than
        before the call (``before`` and ``after``: number -> spot -> count), never in a spot
        typed as data; a new occurrence no annotation reaches is loose, and so is every
        object the reply brought where the arguments were too large to look through."""
        types_ = entry["types"]
        if types_ is None:
            return
        if before is None or after is None:  # past the look's budget: nothing is exempt
            before, after = {}, None
            for k, _ in got:
                judge(k, NO_HINT, what)
        walked = set()

        def visit(h, at, spot):
            k = object.__getattribute__(h, "_k")
            walked.add((k, spot))
            had = before.get(k, {}).get(spot, 0)
            if had and had >= (after or {}).get(k, {}).get(spot, 0):
                if types_.position(at) != Position.DATA:
                    return  # the checker's own, where it put it
            judge(k, at, what)

        for value, hint, holder in spots:
            types_.walk(value, hint, visit, _is_handle, None, holder)
        for k, at in (after or {}).items():
            for spot, n in at.items():
                if n > before.get(k, {}).get(spot, 0) and (k, spot) not in walked:
                    judge(k, NO_HINT, what)  # a new occurrence the walk did not reach

    def argument_spots(on, name, args, kwargs):
        """Each argument with the annotation of its parameter in the method called."""
        types_ = entry["types"]
        if types_ is None or (on is not None and kinds.get(object.__getattribute__(on, "_k"))):
            return []
        positional, by_name = types_.parameter_hints("__init__" if on is None else name)
        at = [positional[i] if i < len(positional) else NO_HINT for i in range(len(args))]
        spots = [(a, hint, (id(args), "item")) for a, hint in zip(args, at, strict=True)]
        return spots + [
            (v, by_name.get(key, NO_HINT), (id(kwargs), "value", slot_key(key)))
            for key, v in kwargs.items()
        ]

    # The classes a reply's new objects may be made of: the prompt's, and those of objects
    # the checker has sent (its Node, its TreeNode) -- never a helper it kept to itself (an
    # always-equal `_Any`, an `Approx` whose tolerance the candidate would choose).
    shown = {"__name__": "__judge__"}

    def ask(handle, name):
        """``handle.name``: a method of the candidate's object (a callable that calls it
        there), or its attribute's value -- not a name of the builtin value types' that the
        prompt's class does not declare (its ``count``, its ``keys``)."""
        k = object.__getattribute__(handle, "_k")
        if name.startswith("__") and not (
            name in FUNCTION_NAMES and kinds.get(k) is FUNCTION_HANDLE
        ):
            raise AttributeError(name)  # a function's name and docstring only
        if name in _VALUE_NAMES and (kinds.get(k) or name not in entry["names"]):
            raise AttributeError(
                f"the candidate's object has no attribute {name!r} (its prompt's class "
                "declares none)"
            )
        if (k, name) not in methods:
            attr = entry["types"].attribute_hint(name) if entry["types"] else NO_HINT
            got = call(handle, name, (), {}, get=True, where=attr)
            if got is not _METHOD:
                return got
            if kinds.get(k) is FUNCTION_HANDLE:
                # a function's data attributes cross (a decorator's `calls` counter), as a
                # plain object's do; a method of its would be live code of the candidate's
                # given the checker's arguments -- its expected values (`r.compare(want)`)
                raise AttributeError(
                    f"the candidate's function answers a call, not its method {name!r}"
                )
            methods.add((k, name))
        where = place(handle, name)
        return _HandleMethod(
            handle, name, lambda *args, **kwargs: call(handle, name, args, kwargs, where=where)
        )

    def candidate(*args, **kwargs):
        return call(None, None, args, kwargs, where=place(None, None))

    # this job's functions; the proxy itself handed to the candidate would only call it back
    # while it runs; a handle's method comes back as the checker reads it off the handle
    def own_method(k, name):
        """The method ``name`` of the candidate's object ``k``, which the candidate's reply
        names as one the checker read off its handle: a method, never an attribute's value
        (a value got so would be placed by the attribute's annotation, not by the spot the
        reply puts it in)."""
        method = ask(known_handle(k, kinds.get(k, False)), name)
        if type(method) is not _HandleMethod:
            raise WireError(f"{name!r} is no method of the candidate's object")
        return method

    _JUDGE_FUNCTIONS.update(list=[], numbers={}, meta={}, own=own_method)
    _JUDGE_FUNCTIONS["not"] = frozenset({id(candidate)})

    def operate(handle, name, args, kwargs):
        """An operation on the candidate's object, where the prompt's class declares it (an
        iterator's ``iter`` and ``next``); else NotImplemented: an object's default."""
        k = object.__getattribute__(handle, "_k")
        if k == CLASS_TARGET:
            return NotImplemented
        if name not in _KIND_OPS.get(kinds.get(k), entry["ops"]):
            return NotImplemented
        if name in _OPERAND_OPS and not all(meets(x, name, k in loose) for x in args):
            return NotImplemented  # an operand the object has no business judging: a list
        if name == "__contains__" and (k in loose or name not in entry["names"]):
            # `7 in obj` where obj may stand for a list, or where `in` is only Python's own
            # iteration (whose `==` would run there, the candidate's on its own objects):
            # here, over the items, each placed by what the prompt says they are
            return NotImplemented
        itself = name in ("__iter__", "__reversed__")
        return call(handle, name, args, kwargs, where=place(handle, name), iterator_itself=itself)

    def meets(x, name, is_loose):
        """Whether the declared operator ``name`` of the candidate's object may take ``x``:
        its own objects; the prompt's class for arithmetic; a number only where the prompt
        annotates the operand as one (``def __mul__(self, k: float)``, ``other: Rational |
        int``) and the object came from a place typed as the class. Anything else -- the
        checker's expected number, tuple or list -- would reach the candidate's code with the
        answer in hand (an always-equal ``__eq__``, a ``__sub__`` returning 0 under
        ``abs(got - want) < tol``)."""
        if type(x) is Handle:
            return not kinds.get(object.__getattribute__(x, "_k"))
        if type(x) in (int, float, complex, bool) or stdlib_type(type(x)) in _EXACT_NUMBERS:
            return not is_loose and entry["types"].admits_numbers(name)
        return name not in _COMPARISONS and isinstance(x, entry["cls"])

    def is_instance(x):
        """``isinstance(x, candidate)`` in a class task: the candidate's objects, and data
        of the prompt's class."""
        if type(x) is Handle:
            return not kinds.get(object.__getattribute__(x, "_k"))
        return isinstance(entry["cls"], type) and isinstance(x, entry["cls"])

    def set_attribute(handle, name, value):
        """``handle.name = value``: set in the candidate's process, where the name is no
        builtin value type's the prompt's class leaves undeclared (nor an iterator's)."""
        k = object.__getattribute__(handle, "_k")
        if (
            k == CLASS_TARGET
            or kinds.get(k)
            or (name in _VALUE_NAMES and name not in entry["names"])
        ):
            raise AttributeError(f"the candidate's object takes no attribute {name!r}")
        call(handle, name, (value,), {}, put=True)

    def doc(handle):
        """``handle.__doc__``: a function's own (asked for), the prompt's class's for its
        objects, an iterator's None."""
        kind = kinds.get(object.__getattribute__(handle, "_k"))
        if kind is FUNCTION_HANDLE:
            return ask(handle, "__doc__")
        return None if kind or entry["cls"] is None else entry["cls"].__doc__

    port = types.SimpleNamespace(
        doc=doc,
        is_function=lambda h: kinds.get(object.__getattribute__(h, "_k")) is FUNCTION_HANDLE,
        set=set_attribute,
        get=ask,
        call=lambda h, name, a, kw: call(h, name, a, kw),
        operate=operate,
        construct=candidate,
        is_instance=is_instance,
    )

    # One call at a time: the pipes carry one request and its reply, and `arrived`, `ids`
    # and `released` are one conversation's. A checker calling the candidate from several
    # threads (a ThreadPoolExecutor's map) had their frames cross: "results out of order",
    # a correct solution failed. Re-entrant: decoding one reply may call the candidate again
    # in the same thread (the hash of its object as a dict key).
    one_call = threading.RLock()

    def call(on, name, args, kwargs, get=False, where=NO_HINT, put=False, iterator_itself=False):
        try:
            with one_call:
                return _call(on, name, args, kwargs, get, where, put, iterator_itself)
        except CandidateFault as e:  # kept: a checker's bare `except:` must not make it a pass
            if state["fault"] is None and not state["quiet"]:
                state["fault"] = e
            raise

    def checkers_own_enum(enums):
        """An enumeration of the checker's own (not the prompt's, not an int, str or float
        one) among ``enums``: its members cannot reach the candidate."""
        for cls in enums:
            if cls.__module__ == "__judge__" and cls.__qualname__.split(".")[0] not in prompted:
                if not any(issubclass(cls, b) for b in (int, str, float)):
                    return cls
        return None

    def show(sent, enums):
        """The checker's classes whose objects or members crossed: the candidate may send
        such objects back."""
        for cls in [type(obj) for obj in sent] + list(enums):
            if cls.__module__ == "__judge__":
                shown.setdefault(cls.__name__, cls)

    # The calls under way, outermost first: each one's arguments and, once the checker's
    # function has run inside it, their fingerprint then. A reply syncs its call's
    # arguments to the candidate's view; where the checker's function changed one
    # meanwhile (`out.append(('bad', x))` inside a call back) and the sync would change it
    # again, it would erase what the checker wrote, and a wrong solution would pass: the
    # candidate's error. (Objects' attributes are merged one by one, as strictly: wire's
    # `_meets` as the reply is decoded, `_sync_state` for their containers.)
    frames = []

    def fingerprint(f):
        return [_fingerprint_of(v, ids.number_of) for v in f["of"]]

    def call_back(rep):
        """Run the checker's function the candidate called, with its arguments taken as a
        reply's values are (the classes the checker showed, its own objects by their numbers,
        the candidate's by their handles, loose where no annotation reaches); the answer to
        write back, its objects numbered as a call's arguments are."""
        k = rep.get("cb")
        if type(k) is not int or not 0 <= k < len(_JUDGE_FUNCTIONS["list"]):
            raise CandidateFault("the candidate called a function the checker never passed")
        state["values"] += 1  # the checker's own code now holds what the candidate wrote
        what = "passed the checker's function"
        graphs = (ids.graph(strict=True), ids.graph(strict=True))
        held = set(handles.keys())  # a handle the checker already held keeps its standing
        for f in frames:  # what the calls under way were given, before the checker's code runs
            if f["base"] is None:
                f["base"] = fingerprint(f)
        arrived.append([])
        try:
            args, kwargs = (
                _reply_data_as_checkers(rep.get(key) or empty, shown, graph, handle_for, what)
                for key, empty, graph in zip(("args", "kwargs"), ("()", "{}"), graphs, strict=True)
            )
            for graph in graphs:
                _take_states(graph, ids, strict=True)
                ids.learn(graph)
            if type(args) is not tuple or type(kwargs) is not dict:
                raise CandidateFault("the candidate called the checker's function malformed")
            if not all(type(key) is str for key in kwargs):
                raise CandidateFault(
                    "the candidate gave the checker's function a keyword not a name"
                )
            new = [(n, it) for n, it in arrived[-1] if n not in held]
            settle([((args, kwargs), NO_HINT, None)], what, new)
        except CandidateFault:
            raise
        except Exception as e:
            # Taking what the candidate wrote into the checker's objects (a frozen key it
            # changed, then hashed by a dict's sync) is the candidate's doing: an exception
            # here must not reach the checker as one its own call raised (`except TypeError`)
            raise CandidateFault(
                f"the candidate's call of the checker's function: {_safe_exc_line(e)}"
            ) from None
        finally:
            arrived.pop()
        try:
            with _deeper(_JUDGE_NESTING_FRAMES):  # the proxy's frames are not the checker's
                result = _JUDGE_FUNCTIONS["list"][k](*args, **kwargs)
        except (CandidateFault, CheckerLimit):
            raise
        except BaseException as e:  # the candidate's call raises it, as a call would
            raised = {"cb_raised": _builtin_exception_name(e), "message": ""}
            state["quiet"] = True  # str() of a handle in its args would ask the candidate
            try:
                raised["message"] = str(e)[:1000]
                raised["args"] = encode_plain(e.args, False, True)  # KeyError's key, errno
            except BaseException:  # args that cannot cross, a message that cannot be made
                pass
            finally:
                state["quiet"] = False
            return raised
        try:
            sent, enums = [], set()
            text = encode_plain(
                result, True, True, ids.number, sent, enums=enums, functions=_function_number
            )
            own_enum = checkers_own_enum(enums)
            if own_enum is not None:
                raise WireError(f"a member of the checker's own {own_enum.__name__}")
            show(sent, enums)
            ids.flush()
        except WireError as e:  # what the candidate's arguments made it return: its call's
            return {"cb_raised": "TypeError", "message": f"its result cannot cross: {e}"}
        return {"cb_value": text}

    def _call(on, name, args, kwargs, get, where, put, iterator_itself):
        # A call made while the candidate is calling one of the checker's functions (the
        # checker's recursive `fib` under the candidate's memoizing wrapper) goes as any
        # other: the candidate answers it inside its call back (`_call_back`).
        state["calls"] += 1
        if len(arrived) == 1:
            arrived[0].clear()  # decoded outside any reply's taking (an exception's): done
        try:
            sent, ksent, enums = [], [], set()  # the checker's objects, by their place
            req = {
                "i": state["calls"],
                "args": encode_plain(
                    tuple(args),
                    True,
                    True,
                    ids.number,
                    sent,
                    enums=enums,
                    functions=_function_number,
                ),
            }
            if kwargs:
                req["kwargs"] = encode_plain(
                    dict(kwargs),
                    True,
                    True,
                    ids.number,
                    ksent,
                    enums=enums,
                    functions=_function_number,
                )
            req["sync"] = True
            if released:  # popped, not iterated: a finalizer may add one meanwhile
                req["release"] = [released.popitem()[0] for _ in range(min(64, len(released)))]
            if on is not None:
                req["on"], req["name"] = object.__getattribute__(on, "_k"), name
                if get:
                    req["get"] = True
                if put:
                    req["set"] = True
            if entry["is_class"]:
                req["handles"] = True  # the candidate's objects stay there
            ids.flush()  # what crosses is noted as it is now, whatever the reply
            own_enum = checkers_own_enum(enums)
            if own_enum is not None:
                # once the candidate has answered (a function of the checker's it called,
                # given the member) it may have put it there: see below
                raise (CandidateFault if state["values"] else CheckerLimit)(
                    f"the checker passed a member of {own_enum.__name__}, an enumeration "
                    "of its own whose members the candidate cannot have"
                )
            show(sent + ksent, enums)
            alias = _aliases(args, kwargs)
            if alias:
                req["alias"] = alias
        except WireError as e:
            # Once the candidate has answered (a value, an exception's args, arguments changed
            # in place) the argument may hold what it wrote, and no rule can tell a checker's
            # own argument from one grown out of that: blaming the task would let a candidate
            # inflate its answers into an unscored verdict, so the candidate takes it. A
            # correct solution cannot pass such a task either way, and validation refuses it
            # (its example solution fails).
            if state["values"]:
                raise CandidateFault(
                    f"the checker passed an argument over the wire's caps after the candidate "
                    f"answered, so it may hold what the candidate wrote: {e}"
                ) from None
            raise CheckerLimit(f"the checker passed an argument that cannot cross: {e}") from None
        frame = {"of": [*args, kwargs], "base": None}
        frames.append(frame)
        try:
            write_frame(cand_w, req)
            rep = read_frame(cand_r)
            while rep is not None and "cb" in rep and "i" not in rep:  # it calls one of ours
                write_frame(cand_w, call_back(rep))
                rep = read_frame(cand_r)
        except (OSError, WireError) as e:
            raise CandidateFault(f"result channel: {e}") from None
        finally:
            frames.pop()
        if rep is None:
            raise CandidateFault("the candidate process ended")
        if rep.get("i") != req["i"]:
            raise CandidateFault("malformed result channel: results out of order")
        if get and rep.get("method") is True:
            return _METHOD
        if name == "__next__" and on is not None and rep.get("stop") is True:
            return ITER_END
        if "value" in rep or "raised" in rep:
            # From here the checker's own data may hold what the candidate wrote, and whatever
            # goes wrong taking it in (a sync half applied included) is the candidate's fault.
            state["values"] += 1
            arrived.append([])
            try:
                if "args" in rep or "kwargs" in rep:  # judged by its parameters' annotations
                    classy = entry["is_class"]
                    before = _handle_spots((args, kwargs)) if classy else {}
                    handles_of = (handle_for, known_handle)
                    now = fingerprint(frame) if frame["base"] is not None else None
                    _take_arguments(rep, req, args, kwargs, ids, shown, handles_of, frame["base"])
                    after_sync = fingerprint(frame) if now is not None else None
                    if now is not None and any(
                        n != b and a != n
                        for b, n, a in zip(frame["base"], now, after_sync, strict=True)
                    ):
                        # the checker's function changed one, and the candidate's view
                        # changed it again: what the checker wrote would be lost
                        raise CandidateFault(
                            "the checker's function changed an argument of this call that "
                            "the candidate's call changed otherwise: the two cannot be merged"
                        )
                    got, arrived[-1] = arrived[-1], []
                    after = _handle_spots((args, kwargs)) if classy else {}
                    spots = argument_spots(on, name, args, kwargs)
                    settle_arguments(spots, name or "constructor", before, after, got)
                if "value" in rep:
                    value = _take_value(rep, args, kwargs, ids, shown, handle_for)
                    got, arrived[-1] = arrived[-1], []
                    itself = value if iterator_itself else None
                    data = entry["types"] and entry["types"].position(where) == Position.DATA
                    outer = where if data else NO_HINT  # no object anywhere in data
                    settle([(value, where, 0)], name or "constructor", got, itself, outer)
                    want = HANDLE_OPS.get(name) if on is not None else None
                    if want is not None and not isinstance(value, want):
                        raise CandidateFault(
                            f"the candidate's {name} gave a {type(value).__name__}, "
                            f"not a {want.__name__}"
                        )
                    return value
            except CandidateFault:
                raise
            except Exception as e:
                raise CandidateFault(f"the candidate's reply: {_safe_exc_line(e)}") from None
            finally:
                arrived.pop()
        if "raised" in rep:  # its args and attributes reach the checker too
            try:
                exc = _candidate_exception(rep, state["known"])
            except CandidateFault:
                raise
            except Exception as e:
                raise CandidateFault(f"the candidate's exception: {_safe_exc_line(e)}") from None
            state["raised"] = exc
            raise exc
        raise CandidateFault(f"the candidate returned {str(rep.get('unplain'))[:300]}")

    prompted = set()  # the names of the classes the prompt defines
    the_candidate = candidate
    try:
        exec(_compiled(spec.get("prelude") or "", "<prompt>"), g)
        state["known"] = _prompt_exceptions(g)
        shown.update((k, v) for k, v in g.items() if isinstance(v, type) and k != "__name__")
        prompted.update(set(shown) - {"__name__"})
        if spec.get("entry"):  # as in human-eval, the entry point's name means the candidate
            cls = g.get(spec["entry"])
            entry["is_class"] = isinstance(cls, type)
            if entry["is_class"]:
                entry["cls"] = cls
                entry["names"], entry["ops"] = _interface(cls)
                entry["types"] = PromptTypes(cls, dict(g))  # the names as the prompt left them
            if entry["is_class"]:
                the_candidate = _TheClass(CLASS_TARGET, port)
            else:
                _dress(candidate, spec["entry"], cls)
            g[spec["entry"]] = the_candidate
        exec(_compiled(spec["checker"], "<checker>"), g)
        for name in prompted:  # a prompt's class the checker defines anew: the name is now its
            if isinstance(g.get(name), type) and g[name].__module__ == "__judge__":
                shown[name] = g[name]
        check = g["check"]
    except BaseException as e:
        if state["calls"] == 0 and not isinstance(e, CheckerLimit):
            write_frame(out_fd, {"verdict": "judge_error", "detail": _safe_exc_line(e)})
            return
        _write_verdict(out_fd, e, state, spec)
        return
    try:
        check(the_candidate)
    except BaseException as e:
        _write_verdict(out_fd, state["fault"] or e, state, spec)
    else:
        if state["fault"] is not None:  # swallowed by a bare `except:`: still the verdict
            _write_verdict(out_fd, state["fault"], state, spec)
        else:
            write_frame(out_fd, {"verdict": "pass", "calls": state["calls"]})


_METHOD = object()  # a reply saying the attribute asked for is a method
CLASS_TARGET = -1  # the number a request "on" the solution's class itself gives
_ITERATOR_OPS = frozenset({"__iter__", "__next__"})
_KIND_OPS = {True: _ITERATOR_OPS, FUNCTION_HANDLE: frozenset({"__call__"})}
"""What a handle answers by its kind (an iterator, a function); the entry class's objects
answer what the prompt's class declares."""
# the comparisons and arithmetic: binary, and judged against their other operand
_OPERAND_OPS = frozenset(HANDLE_OPS).difference(
    _UNARY,
    ("__contains__", "__getitem__", "__setitem__", "__delitem__", "__next__", "__round__"),
    ("__call__", "__enter__", "__exit__", "__format__"),
)
_COMPARISONS = frozenset({"__eq__", "__ne__", "__lt__", "__le__", "__gt__", "__ge__"})


_EXACT_NUMBERS = frozenset({"Fraction", "Decimal"})


# The public names of the builtin value types: a candidate's object answers them only where
# the prompt's class declares them, so it cannot stand in for a list, a dict or a str.
_VALUE_NAMES = frozenset(
    n
    for t in (list, dict, set, frozenset, tuple, str, bytes, bytearray, int, float, complex)
    for n in dir(t)
    if not n.startswith("_")
)


def _dress(proxy, name, stub):
    """Give the checker's proxy the entry point's name, and the prompt's docstring where the
    prompt defines it: a checker reading ``candidate.__name__`` saw ``candidate``. Not the
    prompt's signature: a solution may name its parameters otherwise, and a checker binding
    arguments by the prompt's names would fail it (red team 22)."""
    proxy.__name__ = proxy.__qualname__ = name
    if isinstance(stub, types.FunctionType):
        proxy.__doc__ = stub.__doc__


def _interface(cls):
    """What the prompt's class ``cls`` declares (its own and its bases' besides ``object``):
    its names (methods, attributes, annotations), and the operations of ``HANDLE_OPS`` its
    objects answer -- those it defines and those Python derives from them (``!=`` from
    ``==``, truth from ``len``, ``in`` and iteration from ``__getitem__``, ``str`` from
    ``repr``)."""
    names = set()
    for c in cls.__mro__[:-1]:
        names.update(vars(c))
        names.update(getattr(c, "__annotations__", None) or ())
    ops = {n for n in names if n in HANDLE_OPS}  # __hash__ too where __eq__ set it to None
    derived = {
        "__ne__": "__eq__",
        "__bool__": "__len__",
        "__iter__": "__getitem__",
        "__str__": "__repr__",
    }
    ops.update(n for n, source in derived.items() if source in ops)
    if ops & {"__iter__", "__getitem__"}:
        ops.add("__contains__")
    if {"__len__", "__getitem__"} <= ops:
        ops.add("__reversed__")
    return frozenset(names), frozenset(ops)


class _TheClass(Handle):
    """The checker's name for a class-based solution's class: calling it makes the
    candidate's object (a handle); its class methods, static methods and class attributes
    are read and called there; ``isinstance(x, candidate)`` holds for the objects its calls
    made and for data of the prompt's class."""

    __slots__ = ()

    def __call__(self, *args, **kwargs):
        return object.__getattribute__(self, "_port").construct(*args, **kwargs)

    def __instancecheck__(self, x):
        return object.__getattribute__(self, "_port").is_instance(x)

    def __getitem__(self, parameters):  # `candidate[int]()`: a generic class, parametrised
        return self

    def __repr__(self):
        return "<the candidate's class>"


_TheClass.__doc__ = _HandleDoc(_TheClass.__doc__)  # `candidate.__doc__`: the prompt's class's


def _is_handle(x):
    return type(x) is Handle


def _handle_spots(value, budget=4 * MAX_NODES):
    """Where ``value`` holds the candidate's objects (handles): each one's number, with the
    spots that hold it directly, as :meth:`PromptTypes.walk` names them (a sequence's item at
    an index, a set's item, a dict's key or the value of a key, an object's attribute), and
    how many times in each; each container looked at once. None past ``budget`` nodes."""
    found, seen, todo = {}, set(), [(value, None)]
    while todo:
        x, spot = todo.pop()
        budget -= 1
        if budget < 0:
            return None  # too large to look through: the caller exempts nothing
        if type(x) is Handle:
            at = found.setdefault(object.__getattribute__(x, "_k"), {})
            at[spot] = at.get(spot, 0) + 1
            continue
        if isinstance(x, (str, bytes, int, float, complex)) or id(x) in seen:
            continue
        seen.add(id(x))
        here = id(x)
        if isinstance(x, dict):
            todo.extend((k, (here, "key")) for k in x.keys())
            todo.extend((v, (here, "value", slot_key(k))) for k, v in x.items())
        elif isinstance(x, (set, frozenset)):
            todo.extend((item, (here, "item")) for item in x)
        elif isinstance(x, (list, tuple)) or stdlib_type(type(x)) == "deque":
            todo.extend((item, (here, "item", i)) for i, item in enumerate(x))
        else:
            state = _obj_state(x)
            todo.extend((v, (here, "attribute", n)) for n, v in (state or {}).items())
    return found


def _take_arguments(rep, req, args, kwargs, ids, g, handles_of, base=None):
    """Bring the checker's arguments to the state the candidate's call left them in: its own
    objects changed in place (the graph names them by the numbers ``ids`` knows them by),
    its lists, dicts and sets synced in place. ``handles_of`` is ``(for what the candidate
    wrote, for what the checker sent)``: the candidate's objects in arguments it left as they
    were are the checker's own. ``base`` (where the checker's function ran during the call:
    each argument's fingerprint, the keywords' last, as they were sent): one the candidate's
    view leaves as it was sent is not synced, so what the checker's function wrote into it
    stays."""
    graphs = (ids.graph(strict=True), ids.graph(strict=True))
    new_args, new_kwargs = (
        _reply_data_as_checkers(
            rep[key] if key in rep else req.get(key) or "{}",
            g,
            graph,
            handles_of[0] if key in rep else handles_of[1],
            what,
        )
        for key, graph, what in zip(
            ("args", "kwargs"),
            graphs,
            ("left its arguments as", "left its keywords as"),
            strict=True,
        )
    )
    for graph in graphs:  # only once both are known good: nothing half-applied
        _take_states(graph, ids, strict=True)
        ids.learn(graph)
    if base is not None and type(new_args) is tuple and len(new_args) == len(args):
        same = [
            _fingerprint_of(v, ids.number_of) == b for v, b in zip(new_args, base[:-1], strict=True)
        ]
        new_args = tuple(a if keep else v for a, v, keep in zip(args, new_args, same, strict=True))
        if _fingerprint_of(new_kwargs, ids.number_of) == base[-1]:
            new_kwargs = kwargs
    _sync(args, new_args)
    _sync(kwargs, new_kwargs)


def _take_value(rep, args, kwargs, ids, g, handle_for):
    """The value the candidate's call returned, as the checker gets it: an object that
    crossed before (``ids``: its arguments', an earlier call's) is that object, an argument
    returned itself the checker's own argument."""
    graph = ids.graph(strict=True)
    value = _reply_data_as_checkers(rep["value"], g, graph, handle_for, "returned")
    _take_states(graph, ids, strict=True)
    ids.learn(graph)
    same = rep.get("same")
    own = args if type(same) is int else kwargs if type(same) is str else None
    if own is not None and (same in own if type(same) is str else 0 <= same < len(own)):
        mine = own[same]  # synced above to the state the call left it in
        if type(mine) is type(value) and plain_equal(mine, value):
            return mine  # the call returned its argument itself: the checker's object
    return value


_JUDGE_FUNCTIONS = {"list": [], "numbers": {}, "meta": {}, "not": frozenset(), "own": None}
"""The judge's side: the checker's functions the candidate was given in this job, by number
(kept alive, so that a number always names the same function)."""
_UNCROSSABLE = frozenset(
    id(f)
    for f in (eval, exec, compile, __import__, open, breakpoint, input, globals, locals, vars)
    + (getattr, setattr, delattr, str.format, str.format_map)  # "{0.__globals__}" reads too
    + (object.__getattribute__, object.__setattr__, object.__delattr__, type.__getattribute__)
    + (type.__setattr__, type.__delattr__)
)
"""Builtins no candidate is handed: a checker passing one would let the candidate run code
or reach files in the judge, which no plain-data call can."""
_SYSTEM_MODULES = frozenset(
    {
        "os",
        "posix",
        "nt",
        "sys",
        "subprocess",
        "_posixsubprocess",
        "shutil",
        "io",
        "_io",
        "pathlib",
        "glob",
        "tempfile",
        "ctypes",
        "_ctypes",
        "marshal",
        "pickle",
        "_pickle",
        "shelve",
        "importlib",
        "runpy",
        "code",
        "codeop",
        "inspect",
        "gc",
        "signal",
        "_signal",
        "resource",
        "socket",
        "_socket",
        "select",
        "selectors",
        "fcntl",
        "mmap",
        "pty",
        "threading",
        "_thread",
        "multiprocessing",
        "_multiprocessing",
        "faulthandler",
        "sysconfig",
        "site",
        "atexit",
        "weakref",
        "_weakref",
        "posixpath",
        "genericpath",
        "ntpath",
        "types",
        "string",
    }
)
"""Modules whose functions a checker never hands over (by ``__module__``, or the module a
builtin is bound to): the process, files, code, memory, signals and threads of the judge,
and paths."""


def _uncrossable(x):
    """Whether ``x`` is, or wraps (``functools.partial``, a bound method), a function that
    runs code or reaches outside the values it is given: a seatbelt for a checker passing
    one by mistake, not a boundary (a checker's own function may do anything it does)."""
    for _ in range(8):
        if id(x) in _UNCROSSABLE:
            return True
        owner = getattr(x, "__self__", None)
        if isinstance(owner, types.ModuleType) and owner.__name__.split(".")[0] in _SYSTEM_MODULES:
            return True
        module = getattr(x, "__module__", None)
        if type(module) is str and module.split(".")[0] in _SYSTEM_MODULES:
            return True
        if owner is not None and type(owner).__module__.split(".")[0] in _SYSTEM_MODULES:
            return True  # sys.stdout.write: a method of the judge's file
        wrapped = getattr(x, "__wrapped__", None)  # lru_cache(None)(eval)
        if isinstance(x, functools.partial):
            x = x.func
        elif isinstance(x, types.MethodType):
            x = x.__func__
        elif wrapped is not None:
            x = wrapped
        elif callable(owner) and not isinstance(owner, type | types.ModuleType):
            x = owner  # eval.__call__: the method-wrapper of a function
        else:
            return False
    return True


_FUNCTION_TYPES = (
    types.FunctionType,  # a checker's def or lambda
    types.BuiltinFunctionType,  # len, math.sqrt, a builtin's bound method ("ab".count)
    types.MethodType,  # a bound method of a checker's object
    types.MethodDescriptorType,  # str.lower
    types.WrapperDescriptorType,  # int.__add__
    types.MethodWrapperType,  # (3).__add__
    types.ClassMethodDescriptorType,  # dict.fromkeys unbound
    functools.partial,
    type(functools.lru_cache(None)(len)),  # a cached function of the checker's
    operator.itemgetter,  # the usual keys (a name or index the checker fixed)
    operator.attrgetter,
    operator.methodcaller,
)


class _HandleMethod:
    """A method of the candidate's object, as the checker reads it off a handle (``a.notify``):
    calling it calls that method in the candidate's process. Passed to the candidate, it is
    that method there, not a function of the checker's."""

    __slots__ = ("handle", "name", "call", "__name__", "__weakref__")

    def __init__(self, handle, name, call):
        self.handle, self.name, self.call, self.__name__ = handle, name, call, name

    def __eq__(self, other):  # as bound methods compare: the same object's same method
        if type(other) is not _HandleMethod:
            return NotImplemented
        return other.handle is self.handle and other.name == self.name

    def __hash__(self):
        return hash((id(self.handle), self.name))

    def __call__(self, *args, **kwargs):
        return self.call(*args, **kwargs)


def _function_number(x):
    """How one of the checker's functions crosses to the candidate: ``(number, name, False,
    what it says of itself)`` (``wire.function_meta``: its qualified name, docstring and
    signature, taken once a job), or
    None for a callable that is not a function (a class, an object with ``__call__``) or one
    of ``_UNCROSSABLE``."""
    if type(x) is _HandleMethod:
        return object.__getattribute__(x.handle, "_k"), x.name, True
    if not isinstance(x, _FUNCTION_TYPES) or _uncrossable(x) or id(x) in _JUDGE_FUNCTIONS["not"]:
        return None
    known = _JUDGE_FUNCTIONS["numbers"]
    # a bound method is made anew at each `a.m`: one number for what it binds, as `==` says
    bound = getattr(x, "__self__", None)
    if isinstance(x, types.MethodType):
        key = (id(bound), id(x.__func__))
    elif bound is not None and not isinstance(bound, types.ModuleType):
        key = (id(bound), getattr(x, "__name__", ""), type(x))  # out.append, (3).__add__
    else:
        key = id(x)
    k = known.get(key)
    if k is None:
        if len(known) >= MAX_CHECKER_FUNCTIONS:
            return None
        k = known[key] = len(_JUDGE_FUNCTIONS["list"])
        _JUDGE_FUNCTIONS["list"].append(x)
    name = getattr(x, "__name__", None)
    meta = _JUDGE_FUNCTIONS["meta"].get(k)
    if meta is None:
        try:  # what its signature or docstring properties run is the checker's own code
            meta = _JUDGE_FUNCTIONS["meta"][k] = function_meta(x)
        except Exception:
            meta = _JUDGE_FUNCTIONS["meta"][k] = (None, None, None)
    return k, name if type(name) is str else type(x).__name__, False, meta


def _function_of(k, name, own=False, meta=None):
    """The checker's function number ``k`` (a candidate naming another is refused); with
    ``own``, the method ``name`` of the candidate's object ``k`` as the checker reads it off
    its handle (a function task has none: refused)."""
    functions = _JUDGE_FUNCTIONS["list"]
    if own:
        return _JUDGE_FUNCTIONS["own"](k, name)
    if not 0 <= k < len(functions):
        raise WireError("a function the checker never passed")
    return functions[k]


def _reply_data_as_checkers(text, g, graph, handle_for, what):
    """One plain-data text of the candidate's reply, decoded as the checker's process takes
    it (its int size, the standard library's types, its classes ``g``, its own objects by
    ``graph``, the candidate's by ``handle_for``). Anything odd is the candidate's fault, NaN
    included, which defeats ``assert not abs(a - b) > tol``: it fails closed."""
    try:
        value = decode_plain(
            text,
            g,
            max_int_bits=JUDGE_INT_BITS,
            stdlib=True,
            graph=graph,
            handles=handle_for,
            functions=_function_of,
        )
    except WireError as e:
        raise CandidateFault(f"the candidate {what} {e}") from None
    if _holds_nan(value, graph):
        raise CandidateFault(f"the candidate {what} NaN, which a checker cannot judge safely")
    return value


def _take_states(graph, ids, strict=False):
    """Give the reader's own objects a decoded graph met what the sender changed of them
    since they last crossed (all of it where that is not known). ``strict`` (the judge
    taking the candidate's): an attribute both sides changed since, each otherwise, is a
    WireError (the checker's write would be lost)."""
    number_of = graph_numbers(graph.get("objects", ()), graph.get("origins", ()))

    for obj, attrs in graph["pending"] if "pending" in graph else ():
        _sync_state(obj, attrs, ids.base_of(obj), number_of, ids.number_of if strict else None)
        ids.crossed(obj, attrs, None, number_of)


def _safe_exc_line(e, limit=400):
    """``_exc_line``, for an exception whose ``str`` may itself raise (a message holding an int
    too long to print): the verdict must be written whatever the checker raised."""
    try:
        return _exc_line(e, limit)
    except BaseException:
        return f"{type(e).__name__}: (message not printable)"


def _write_verdict(out_fd, e, state, spec):
    """The verdict for a checker that raised ``e``."""
    calls = state["calls"]
    if isinstance(e, CheckerLimit):
        verdict = {"verdict": "limit", "detail": str(e)}
    elif isinstance(e, CandidateFault):
        verdict = {"verdict": "fault", "detail": str(e)}
    elif e is state["raised"]:
        verdict = {"verdict": "error", "detail": "the candidate raised " + _safe_exc_line(e)}
    else:
        try:
            where = _checker_line(e, spec["checker"])
        except BaseException:
            where = ""
        verdict = {"verdict": "fail", "detail": (where + " " + _safe_exc_line(e, 200)).strip()}
    verdict["calls"] = calls
    write_frame(out_fd, verdict)


def _checker_line(e, source):
    lines = source.splitlines()
    for fs in reversed(traceback.extract_tb(e.__traceback__)):
        if fs.filename == "<checker>" and 0 < fs.lineno <= len(lines):
            return f"checker line {fs.lineno}: {lines[fs.lineno - 1].strip()[:200]} ->"
    return ""


# -- start-up -------------------------------------------------------------------------------

# A fixed, trusted program that the harness serves once in the worker before its zygote forks
# (``_warm_up``): plain values of every common kind in and out, in-place changes, an exception.
_WARM_UP_PROGRAM = """
import math


def f(x, *rest, **kw):
    if x is None:
        raise ValueError("warm-up")
    if isinstance(x, str):
        return x.upper() + "".join(sorted(set(x.lower()))) + str(len(rest))
    if isinstance(x, dict):
        return {str(k): [v, None, True] for k, v in sorted(x.items())}
    if isinstance(x, float):
        return (math.sqrt(abs(x)), round(x, 2), 1.5e300, -0.0)
    if isinstance(x, list):
        x.append(len(x))
        return sorted(y * 2 for y in x if type(y) is int and y % 2 == 0) + [list(rest), kw]
    return [x, x // 3, x % 7, -x, 2 ** 70, False, (x, "s"), {x, 1}, frozenset(), b"b"]
"""
_WARM_UP_CALLS = (
    ("([3, 1, 4, 1, 5],)", None),
    ("('Hello World', 'x', 2)", None),
    ("({'b': 2, 'a': [1.5, 'x']},)", '{"k": (1, 2)}'),
    ("(-2.25,)", None),
    ("(12345,)", None),
    ("(None,)", None),
    ("([[1, 2], [3]], {1, 2}, frozenset({3}), (4,), b'z', True, 1j)", None),
)


_WARMED_UP = 0
"""Replies the worker's warm-up got (its jobs inherit the count: a test reads it)."""


def _warm_up():
    """Serve ``_WARM_UP_PROGRAM`` once, here, as a job would (frames in and out, the program
    compiled and run, arguments decoded, results encoded). Every job does these things first;
    done once before the zygote forks, the interpreter's work that they leave behind -- the
    harness's bytecode specialised, the type attribute cache filled, libc's symbols bound --
    is in the pages every job starts from, and no job writes (and so copies) them again.
    Trusted code and values only: the same in every worker, so no job learns anything from it.
    Returns the replies (a test checks that they are what a job would answer).
    """
    replies = []
    in_r, in_w = os.pipe()
    out_r, out_w = os.pipe()
    try:
        write_frame(in_w, {"code": _WARM_UP_PROGRAM, "entry": "f"})
        for i, (args, kwargs) in enumerate(_WARM_UP_CALLS):
            write_frame(in_w, {"i": i, "args": args, "kwargs": kwargs, "sync": i % 2 == 0})
        os.close(in_w)
        in_w = None
        serve_candidate(in_r, out_w)  # replies fit in the pipe: a few hundred bytes
        os.close(out_w)
        out_w = None
        while (reply := read_frame(out_r)) is not None:
            replies.append(reply)
    finally:
        for fd in (in_r, in_w, out_r, out_w):
            if fd is not None:
                os.close(fd)
    return replies


# Imported before the fork so that jobs need not import them. Every page the worker holds is
# copied-on-write into its children, so a candidate worker keeps to what solutions commonly
# import (measured on HumanEval and MBPP references); a judge worker, which never forks per
# job, takes more.
_PRELOAD = (
    "math",
    "re",
    "collections",
    "itertools",
    "functools",
    "heapq",
    "bisect",
    "string",
    "typing",
    "random",
    "operator",
    "cmath",
    "array",
    "copy",
)
_PRELOAD_JUDGE = (
    "statistics",
    "fractions",
    "decimal",
    "datetime",
    "hashlib",
    "dataclasses",
    "unicodedata",
    "textwrap",
)


def main():
    _set_name("cl-worker")  # until it forks the sandbox's PID 1, which it then waits for
    cfg = json.loads(sys.argv[1])
    # the control socket keeps the number it had in the host, past 1024 in a host holding
    # many descriptors, where every select below failed: moved to the lowest free one
    given = int(sys.argv[2])
    sock = socket.socket(fileno=os.dup(given))
    os.close(given)
    # what a job would see of the worker's command line (its limits, the host's paths and
    # cgroup names; argparse at import read it as arguments): a plain program name instead
    sys.argv = ["solution.py"]
    # exit() and quit(), which the site module (left out: -S) would have installed
    builtins.exit = builtins.quit = _exit
    try:  # multiprocessing's locks for one process's threads (_JobSemLock says why)
        import _multiprocessing

        _multiprocessing.SemLock = _JobSemLock
    except ImportError:
        pass
    sys.meta_path.insert(0, _JobSharedMemory())
    extra = _PRELOAD_JUDGE if cfg.get("mode") == "judge" else ()
    for name in _PRELOAD + extra + tuple(cfg.get("preload", ())):
        try:
            __import__(name)
        except ImportError:
            pass
    global _TID_ADDR, _JOBS_MEMORY_FD
    _TID_ADDR = _tid_address()  # here, where the thread id is the host's (unique) one
    try:
        if cfg.get("cgroup"):  # before the first fork: every task of the worker is counted
            with open(os.path.join(cfg["cgroup"], "cgroup.procs"), "w") as f:
                f.write(str(os.getpid()))
        if cfg.get("jobs_memory"):  # opened here, on the host's tree; each job joins itself
            _JOBS_MEMORY_FD = os.open(os.path.join(cfg["jobs_memory"], "cgroup.procs"), os.O_WRONLY)
        enter_sandbox(cfg)
    except OSError as e:
        _send(sock, {"op": "unavailable", "detail": str(e)})
        os._exit(3)
    cfg["notify"] = cfg.get("mode") != "judge" and _notify_works()
    _prepare_lockdown(cfg["notify"])
    if cfg.get("mode") != "judge":
        global _WARMED_UP
        _WARMED_UP = len(_warm_up())
    import gc

    gc.collect()
    gc.freeze()  # children's collections then skip the worker's objects: fewer copied pages
    serve(sock, cfg)


if __name__ == "__main__":
    main()
