"""No state crosses between jobs (issue 17, family 1; EXPLOITS.md row 29).

Each channel is a writer, which leaves a secret wherever it can, and a reader, which reports
what it sees there. The reader runs before and after the writer; it must see the same thing
both times, and never the secret. Placements: the same worker (the job after), another
worker (a neighbour), and a worker started after the writer's was killed (a later run).
"""

from __future__ import annotations

import os
import secrets
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from closedloop.sandbox import SandboxLimits, Worker

_IPC = """
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
libc.shmat.restype = ctypes.c_void_p
libc.shmat.argtypes = (ctypes.c_int, ctypes.c_void_p, ctypes.c_int)
KEY, CREAT, NOWAIT = 0x5EC12E7, 0o1000, 0o4000
"""

# A host file every job can read (the runtime's own): big enough for BITS + 2 pages.
_PAGE_FILE = max(
    (p for p in Path(os.__file__).parent.glob("*.py") if p.is_file()),
    key=lambda p: p.stat().st_size,
)
_PAGES = f"""
import ctypes, mmap, os
libc = ctypes.CDLL(None, use_errno=True)
libc.mmap.restype = ctypes.c_void_p
libc.mmap.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long)
libc.syscall.restype = ctypes.c_long
P, PAGE, BITS = {str(_PAGE_FILE.resolve())!r}, 4096, 24
"""

# name -> (writer source defining f(secret: int), reader source defining f())
CHANNELS: dict[str, tuple[str, str]] = {
    "sysv_shm": (
        _IPC
        + """
def f(secret):
    shmid = libc.shmget(KEY, 4096, CREAT | 0o666)
    if shmid < 0:
        return ('refused', ctypes.get_errno())
    addr = libc.shmat(shmid, None, 0)
    data = str(secret).encode()
    ctypes.memmove(addr, data, len(data))
    return shmid
""",
        _IPC
        + """
def f():
    shmid = libc.shmget(KEY, 4096, 0o666)
    if shmid < 0:
        return 'none'
    return ctypes.string_at(libc.shmat(shmid, None, 0), 32).rstrip(b'\\0').decode()
""",
    ),
    "sysv_semaphore": (
        _IPC
        + """
def f(secret):
    semid = libc.semget(KEY, 1, CREAT | 0o666)
    return libc.semctl(semid, 0, 16, ctypes.c_int(secret % 30000))  # SETVAL
""",
        _IPC
        + """
def f():
    semid = libc.semget(KEY, 1, 0o666)
    return 'none' if semid < 0 else libc.semctl(semid, 0, 12)  # GETVAL
""",
    ),
    "sysv_message_queue": (
        _IPC
        + """
def f(secret):
    q = libc.msgget(KEY, CREAT | 0o666)
    buf = ctypes.create_string_buffer(8 + 32)
    ctypes.memmove(ctypes.addressof(buf), (1).to_bytes(8, 'little') + str(secret).encode(), 8 + len(str(secret)))
    return libc.msgsnd(q, buf, 32, NOWAIT)
""",
        _IPC
        + """
def f():
    q = libc.msgget(KEY, 0o666)
    if q < 0:
        return 'none'
    buf = ctypes.create_string_buffer(8 + 32)
    n = libc.msgrcv(q, buf, 32, 0, NOWAIT)
    return 'empty' if n < 0 else buf.raw[8:8 + n].rstrip(b'\\0').decode()
""",
    ),
    "posix_message_queue": (
        _IPC
        + """
def f(secret):
    q = libc.mq_open(b'/closedloop_note', os.O_CREAT | os.O_RDWR, 0o666, None)
    data = str(secret).encode()
    return (q, libc.mq_send(q, data, len(data), 0), ctypes.get_errno())
""",
        _IPC
        + """
def f():
    q = libc.mq_open(b'/closedloop_note', os.O_RDWR | os.O_NONBLOCK)
    if q < 0:
        return 'none'
    buf = ctypes.create_string_buffer(1 << 16)
    n = libc.mq_receive(q, buf, 1 << 16, None)
    return 'empty' if n < 0 else buf.raw[:n].decode()
""",
    ),
    # The worker reads a job's output into its own memory; freed, that memory must never be
    # what the next job starts from. The reader scans its heap and the allocator's arenas.
    "freed_worker_memory": (
        """
import sys
def f(secret):
    note = ('QZX' + '7:%016x;' % secret) * 1024
    for _ in range(16):
        sys.stdout.write(note)
        sys.stderr.write(note)
    sys.stdout.flush(); sys.stderr.flush()
    return 1
""",
        """
import ctypes, gc, os, re
libc = ctypes.CDLL(None, use_errno=True)
libc.sbrk.restype = ctypes.c_void_p
libc.write.argtypes = (ctypes.c_int, ctypes.c_void_p, ctypes.c_size_t)
PAT = re.compile(rb'QZ' + rb'X7:([0-9a-f]{16});')

def readable(fd, addr, n):  # a file copies the bytes: EFAULT, not a crash, when unmapped
    os.lseek(fd, 0, 0)
    return libc.write(fd, addr, n) == n

def f():
    fd = os.open('/tmp/probe', os.O_RDWR | os.O_CREAT, 0o600)
    found, page = set(), 1 << 12
    top = libc.sbrk(0) & ~(page - 1)
    lo = top
    while lo > page and readable(fd, lo - page, page) and top - lo < (1 << 30):
        lo -= page
    regions = [(lo, top)]
    arenas = {id(o) >> 20 for o in gc.get_objects()}
    regions += [(a << 20, (a + 1) << 20) for a in arenas]
    for start, end in regions:
        for addr in range(start, end, page):
            if readable(fd, addr, page):
                found.update(m.decode() for m in PAT.findall(ctypes.string_at(addr, page)))
    return sorted(found)
""",
    ),
    # A write-life hint is kept in the host's in-memory inode of a runtime file (0..5 each:
    # the standard library's thousands of files would carry a long note).
    "inode_write_hint": (
        """
import fcntl, os, struct
def f(secret):
    out = []
    d = os.path.join(os.path.dirname(os.__file__), 'json')
    for i, name in enumerate(sorted(n for n in os.listdir(d) if n.endswith('.py'))[:4]):
        fd = os.open(os.path.join(d, name), os.O_RDONLY)
        try:
            fcntl.fcntl(fd, 1036, struct.pack('Q', 1 + (secret >> (3 * i)) % 5))
            out.append('set')
        except OSError as e:
            out.append(e.errno)
        os.close(fd)
    return out
""",
        """
import fcntl, os, struct
def f():
    out = []
    d = os.path.join(os.path.dirname(os.__file__), 'json')
    for name in sorted(n for n in os.listdir(d) if n.endswith('.py'))[:4]:
        fd = os.open(os.path.join(d, name), os.O_RDONLY)
        try:
            out.append(struct.unpack('Q', fcntl.fcntl(fd, 1035, bytes(8)))[0])
        except OSError as e:
            out.append(e.errno)
        os.close(fd)
    return out
""",
    ),
    # Device nodes are bind-mounted from the host: their times are the host's inode's.
    "device_node_times": (
        """
import os
def f(secret):
    out = []
    for d in ('null', 'zero', 'random', 'urandom'):
        try:
            os.utime('/dev/' + d, ns=(secret, secret))
            out.append('set')
        except OSError as e:
            out.append(e.errno)
    return out
""",
        """
import os
def f():
    return [(s.st_mode, s.st_atime_ns, s.st_mtime_ns, s.st_ctime_ns)
            for s in (os.stat('/dev/' + d) for d in ('null', 'zero', 'random', 'urandom'))]
""",
    ),
    # Scheduling state set on another process of the worker is inherited by later jobs.
    "worker_priority": (
        """
import os
def f(secret):
    out = []
    for who in range(0, 40):
        try:
            os.setpriority(os.PRIO_PROCESS, who, 1 + secret % 19); out.append(who)
        except OSError:
            pass
    for which in (os.PRIO_PGRP, os.PRIO_USER):
        try:
            os.setpriority(which, 0, 1 + secret % 19); out.append(which)
        except OSError:
            pass
    return out
""",
        "import os\ndef f():\n    return os.getpriority(os.PRIO_PROCESS, 0)\n",
    ),
    "worker_cpu_affinity": (
        """
import os
def f(secret):
    cpus = sorted(os.sched_getaffinity(0))
    out = []
    for who in range(1, 40):
        try:
            os.sched_setaffinity(who, {cpus[secret % len(cpus)]}); out.append(who)
        except OSError:
            pass
    return out
""",
        "import os\ndef f():\n    return sorted(os.sched_getaffinity(0))\n",
    ),
    # How many processes and threads earlier jobs made must not show in the next job's ids.
    "pid_counter": (
        """
import threading
def f(secret):
    ts = [threading.Thread(target=lambda: None) for _ in range(5 + secret % 20)]
    [t.start() for t in ts]; [t.join() for t in ts]
    return len(ts)
""",
        """
import os, threading
def f():
    got = []
    t = threading.Thread(target=lambda: got.append(threading.get_native_id()))
    t.start(); t.join()
    return (os.getpid(), got[0])
""",
    ),
    # The host's page cache is shared by every job: a writer evicts a read-only host file and
    # reads back the pages that spell its secret; a reader asks which pages are resident
    # without reading them (mincore on a mapping, a read that will not wait, cachestat).
    "page_cache": (
        _PAGES
        + """
def f(secret):
    fd = os.open(P, os.O_RDONLY)
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_RANDOM)
    except OSError as e:
        return e.errno
    for b in range(BITS):
        if secret >> b & 1:
            os.pread(fd, 1, (b + 1) * PAGE)
    return 0
""",
        _PAGES
        + """
def f():
    fd = os.open(P, os.O_RDONLY)
    size = (BITS + 2) * PAGE
    addr = libc.mmap(None, size, mmap.PROT_READ, mmap.MAP_SHARED, fd, 0)
    vec = (ctypes.c_ubyte * (BITS + 2))()
    if libc.mincore(ctypes.c_void_p(addr), ctypes.c_size_t(size), vec) != 0:
        resident = ('mincore', ctypes.get_errno())
    else:
        resident = sum(1 << b for b in range(BITS) if vec[b + 1] & 1)
    nowait = 0
    try:
        for b in range(BITS):
            try:
                os.preadv(fd, [bytearray(1)], (b + 1) * PAGE, os.RWF_NOWAIT)
                nowait |= 1 << b
            except BlockingIOError:
                pass
    except OSError as e:
        nowait = ('preadv2', e.errno)
    stat = (ctypes.c_uint64 * 5)()
    rng = (ctypes.c_uint64 * 2)(0, size)
    cached = libc.syscall(451, fd, rng, stat, 0)  # cachestat (Linux 6.5)
    return (resident, nowait, stat[0] if cached == 0 else ('cachestat', ctypes.get_errno()))
""",
    ),
    "tmp_files": (
        "def f(secret):\n    open('/tmp/note', 'w').write(str(secret))\n    return 1\n",
        "import os\nPIPES = {f'.pipe{k}' for k in range(1, 9)}  # the job's own FIFOs\ndef f():\n    return sorted(n for n in os.listdir('/tmp') if n not in PIPES)\n",
    ),
}


@pytest.fixture(scope="module")
def workers() -> Iterator[tuple[Worker, Worker]]:
    a, b = Worker(SandboxLimits(wall_s=10)), Worker(SandboxLimits(wall_s=10))
    yield a, b
    a.kill()
    b.kill()


@pytest.fixture
def restore_device_nodes() -> Iterator[None]:
    """The old sandbox let a job rewrite the host's device nodes' times: put them back."""
    saved = {p: os.stat(p) for p in ("/dev/null", "/dev/zero", "/dev/random", "/dev/urandom")}
    yield
    for p, st in saved.items():
        now = os.stat(p)
        if (now.st_atime_ns, now.st_mtime_ns) != (st.st_atime_ns, st.st_mtime_ns):
            os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns))


def _observe(job, worker: Worker, reader: str) -> object:
    frame, value, _ = job(worker, textwrap.dedent(reader))
    assert frame is not None and "value" in frame, frame
    return value


def _write(job, worker: Worker, writer: str, secret: int) -> None:
    frame, _, _ = job(worker, textwrap.dedent(writer), f"({secret},)")
    assert frame is not None and "value" in frame, frame


def _secret() -> int:
    return secrets.randbits(60) | (1 << 59)


@pytest.mark.parametrize("channel", sorted(CHANNELS))
def test_the_next_job_on_the_same_worker_reads_nothing(job, workers, channel, restore_device_nodes):
    writer, reader = CHANNELS[channel]
    w, _ = workers
    secret = _secret()
    before = _observe(job, w, reader)
    _write(job, w, writer, secret)
    after = _observe(job, w, reader)
    assert f"{secret:016x}" not in str(after) and str(secret) not in str(after)
    assert after == before


@pytest.mark.parametrize("channel", sorted(CHANNELS))
def test_a_job_on_another_worker_reads_nothing(job, workers, channel, restore_device_nodes):
    writer, reader = CHANNELS[channel]
    w, other = workers
    secret = _secret()
    before = _observe(job, other, reader)
    _write(job, w, writer, secret)
    after = _observe(job, other, reader)
    assert f"{secret:016x}" not in str(after) and str(secret) not in str(after)
    assert after == before


@pytest.mark.parametrize(
    "channel", ["device_node_times", "sysv_shm", "freed_worker_memory", "inode_write_hint"]
)
def test_a_later_run_reads_nothing(job, channel, restore_device_nodes):
    writer, reader = CHANNELS[channel]
    secret = _secret()
    with Worker() as first:
        before = _observe(job, first, reader)
    with Worker() as w:
        _write(job, w, writer, secret)
    with Worker() as later:
        after = _observe(job, later, reader)
    assert f"{secret:016x}" not in str(after) and str(secret) not in str(after)
    assert after == before


LOCKER = """
import fcntl, os
def f(path):
    fd = os.open(path, os.O_RDONLY)
    out = []
    for attempt in (lambda: fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB),
                    lambda: fcntl.lockf(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)):
        try:
            attempt()
            out.append('held')
        except OSError as e:
            out.append(e.errno)
    return out
"""


def test_a_running_job_cannot_signal_a_neighbour_through_file_locks(job, workers):
    # Both workers see the same host inode (read-only): a lock one job holds would be a bit
    # the job running beside it reads. The job holding it stays alive while the other looks.
    a, b = workers
    path = os.path.realpath(os.__file__)
    alone = _observe_locks(job, b, path)
    ch = a.begin("candidate")
    try:
        ch.send({"code": textwrap.dedent(LOCKER), "entry": "f"})
        ch.recv_lock_down()
        assert "ready" in (ch.recv() or {})
        ch.send({"i": 0, "args": repr((path,))})
        held = ch.recv()
        beside = _observe_locks(job, b, path)
    finally:
        a.end(ch)
    assert held is not None and "'held'" not in held.get("value", ""), held
    assert beside == alone


def _observe_locks(job, worker: Worker, path: str) -> object:
    frame, value, _ = job(worker, textwrap.dedent(LOCKER), repr((path,)))
    assert frame is not None and "value" in frame, frame
    return value


# Every new pipe's inode number (and a hugetlbfs file's, made even by a MAP_HUGETLB mmap that
# fails) comes from one counter for the whole machine, handed to each CPU in batches of 1,024:
# a job that made pipes until the counter stood at a chosen batch left a note that the next
# job read from its own pipes' numbers (fstat), on any worker, in any later run.
_INODE_MOVER = """
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
libc.mmap.restype = ctypes.c_void_p
libc.mmap.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long)
libc.syscall.restype = ctypes.c_long
def f(n):
    made = {'pipe': 0, 'pipe2': 0, 'hugetlb': 0}
    for _ in range(3 * n):  # job code's os.pipe: one of its few FIFOs, closed and taken again
        try:
            r, w = os.pipe()
            os.close(r); os.close(w)
            made['pipe'] += 1
        except OSError:
            pass
    for _ in range(n):
        fds = (ctypes.c_int * 2)()
        if libc.syscall(293, fds, 0) == 0:
            made['pipe2'] += 1
        if libc.mmap(None, 2 << 20, 3, 0x22 | 0x40000, -1, 0) not in (None, 2**64 - 1):
            made['hugetlb'] += 1
        elif ctypes.get_errno() != 1:  # refused by the kernel, not by the filter: it counted
            made['hugetlb'] += 1
    return made
"""


def _batch() -> int:
    """Which batch of the machine's inode counter this CPU holds after taking a fresh one."""
    while True:
        r, w = os.pipe()
        ino = os.fstat(r).st_ino
        os.close(r)
        os.close(w)
        if ino & 1023 == 1:  # the first number of a batch just taken from the shared counter
            return ino >> 10


def test_a_job_cannot_move_the_machines_inode_counter(job, workers):
    w, _ = workers
    before = _batch()
    # 6,600 refused attempts (a job is killed past 10,000): six batches if made; job code's
    # own pipes are the job's few FIFOs
    frame, made, status = job(w, _INODE_MOVER, "(3300,)")
    after = _batch()
    assert frame is not None and "value" in frame, frame
    # job code's pipes: its own eight FIFOs, each handed out again once closed (no new pipe)
    assert made == {"pipe": 3 * 3300, "pipe2": 0, "hugetlb": 0}
    assert status.refusals.denied == {"pipe2": 3300, "mmap": 3300}
    # the batch this process took itself, and what the host took meanwhile: a few at most
    assert after - before <= 4, (before, after)


def test_a_job_cannot_read_the_machines_inode_counter(job, workers):
    # the job's pipes came from os.pipe, numbered by the machine-wide counter: a job that made
    # the host replace a judge worker moved it by thousands, and the next job read the bit in
    # its stdout's number. FIFOs on the job's fresh /tmp have the same numbers in every job
    w, _ = workers
    code = (  # its own channels, and a pipe job code makes
        "import os\ndef f():\n    return [os.fstat(fd).st_ino for fd in [*range(5), *os.pipe()]]\n"
    )
    _, first, _ = job(w, code)
    moved = [os.pipe() for _ in range(2000)]  # what a worker's replacement does, and more
    for r, wr in moved:
        os.close(r)
        os.close(wr)
    _, second, _ = job(w, code)
    assert first == second, (first, second)
    host = os.pipe()
    try:
        assert os.fstat(host[0]).st_ino not in first  # not the counter's numbers at all
    finally:
        os.close(host[0])
        os.close(host[1])
