"""Nothing on the host is writable from a job, metadata included (EXPLOITS.md row 29).

Every path the sandbox bind-mounts from the host (the runtime, the OS libraries and the
device nodes) keeps its inode metadata through hostile jobs. The hostile job writes each
attribute back with the value it already has, so that a sandbox that lets it through
changes nothing but the inode's change time, which is what the test compares (with mode,
owner and modification time; access times move with the host's own reads).
"""

from __future__ import annotations

import os
import sys

from closedloop.sandbox.worker import runtime_paths

DEVICES = ["/dev/null", "/dev/zero", "/dev/random", "/dev/urandom"]

HOSTILE = """
import os
def f(paths):
    landed = []
    for p in paths:
        try:
            st = os.stat(p)
        except OSError:
            continue
        attempts = (
            lambda: os.chmod(p, st.st_mode & 0o7777),
            lambda: os.chown(p, st.st_uid, st.st_gid),
            lambda: os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns)),
            lambda: os.setxattr(p, 'user.closedloop', b'note'),
        ) + ((lambda: os.truncate(p, st.st_size)),) * os.path.isfile(p)
        for i, attempt in enumerate(attempts):
            try:
                attempt()
                landed.append((p, i))
            except (OSError, TypeError):
                pass
        try:
            fd = os.open(p, os.O_RDONLY)
            try:
                os.fchmod(fd, st.st_mode & 0o7777)
                landed.append((p, 'fchmod'))
            except OSError:
                pass
            try:
                os.utime(fd, ns=(st.st_atime_ns, st.st_mtime_ns))
                landed.append((p, 'futimens'))
            except OSError:
                pass
            try:
                os.fchown(fd, st.st_uid, st.st_gid)
                landed.append((p, 'fchown'))
            except OSError:
                pass
            os.close(fd)
        except OSError:
            pass
    return landed
"""


def _targets() -> list[str]:
    files = [
        os.path.realpath(sys.executable),
        os.path.realpath(os.__file__),
        os.path.dirname(os.path.realpath(os.__file__)),
    ]
    return sorted({*runtime_paths(), *DEVICES, *files})


def _meta(paths: list[str]) -> dict[str, tuple[int, ...]]:
    out = {}
    for p in paths:
        st = os.stat(p)
        out[p] = (st.st_mode, st.st_uid, st.st_gid, st.st_mtime_ns, st.st_ctime_ns)
    return out


def test_hostile_jobs_change_no_host_inode(worker, job):
    paths = _targets()
    before = _meta(paths)
    frame, landed, _ = job(worker, HOSTILE, repr((paths,)))
    assert frame is not None and "value" in frame, frame
    assert _meta(paths) == before
    assert landed == []


ANON = """
import os, select
def f():
    keep = select.epoll()
    fds = [os.eventfd(0), keep.fileno()]
    landed = []
    for fd in fds:
        st = os.fstat(fd)
        for name, attempt in (
            ('fchmod', lambda: os.fchmod(fd, 0o644)),
            ('fchown', lambda: os.fchown(fd, st.st_uid, st.st_gid)),
            ('futimens', lambda: os.utime(fd, ns=(1, 1))),
        ):
            try:
                attempt()
                landed.append(name)
            except OSError:
                pass
    return landed
"""


def test_the_machines_one_anonymous_inode_is_unchangeable_from_a_job(worker, job):
    # eventfd, epoll and timerfd descriptors share one inode for the whole machine: a mode,
    # owner or time set on it from a job would be read by every later job (fchmod and, since
    # red team 25, fchown are allowed on the job's own files). The kernel here (6.18) refuses
    # to set anything on an anonymous inode itself; this holds the sandbox to that on a
    # kernel that does not
    def meta():
        fd = os.eventfd(0)
        try:
            st = os.fstat(fd)
            return st.st_ino, st.st_mode, st.st_uid, st.st_gid, st.st_mtime_ns, st.st_ctime_ns
        finally:
            os.close(fd)

    before = meta()
    frame, landed, _ = job(worker, ANON)
    assert frame is not None and "value" in frame, frame
    assert landed == [] and meta() == before, (landed, meta(), before)
