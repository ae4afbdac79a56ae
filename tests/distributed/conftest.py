"""A two-node Ray cluster on this machine, for the tests of closedloop.distributed.

``ray start --head`` and a second ``ray start --address``, one CPU each, told apart by a
custom resource (``cl_node_a`` / ``cl_node_b``). Each ``ray start`` runs in a session of its
own, and teardown SIGKILLs every process of those two sessions (what ``ray stop --force``
does, but only to this cluster's processes: other Ray clusters on the machine are left
alone). Skipped, saying why, only where Ray is not installed or ``ray start`` fails.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

import closedloop

NODE_RESOURCES = ("cl_node_a", "cl_node_b")
_START_S = 60.0


@dataclass(frozen=True)
class Cluster:
    """The running cluster: its head's address and each node's id by its resource name."""

    address: str
    node_ids: dict[str, str]
    env: dict[str, str]
    """The environment its nodes run with (this tree's closedloop first on PYTHONPATH)."""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _session(pid: int) -> int | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return None if fields[0] == "Z" else int(fields[3])


def session_processes(sessions: set[int]) -> list[int]:
    """Live (not zombie) processes in any of ``sessions``."""
    return [
        int(d)
        for d in os.listdir("/proc")
        if d.isdigit() and _session(int(d)) in sessions and int(d) != os.getpid()
    ]


def _stop(sessions: set[int]) -> None:
    deadline = time.monotonic() + 15
    while (pids := session_processes(sessions)) and time.monotonic() < deadline:
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.2)


def _ray_start(args: list[str], env: dict[str, str], sessions: set[int]) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "ray.scripts.scripts", "start", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its daemons stay in this session: teardown finds them there
    )
    sessions.add(proc.pid)
    out, _ = proc.communicate(timeout=_START_S)
    if proc.returncode != 0:
        raise RuntimeError(f"ray start {' '.join(args[:2])} failed: {out[-1500:]}")


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    ray = pytest.importorskip("ray", reason="Ray is not installed (pip install 'closedloop[ray]')")
    src = str(Path(closedloop.__file__).parent.parent)
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(p for p in (src, os.environ.get("PYTHONPATH")) if p),
        "RAY_USAGE_STATS_ENABLED": "0",
    }
    temp = tempfile.mkdtemp(prefix="clray-", dir="/tmp")  # short: Ray's socket paths are capped
    port = _free_port()
    common = ["--num-cpus", "1", "--object-store-memory", str(80 << 20), "--disable-usage-stats"]
    sessions: set[int] = set()
    try:
        try:
            _ray_start(
                [
                    "--head",
                    "--port",
                    str(port),
                    "--temp-dir",
                    temp,
                    "--include-dashboard=false",
                    "--ray-client-server-port",
                    str(_free_port()),
                    "--dashboard-agent-listen-port",
                    str(_free_port()),
                    "--resources",
                    json.dumps({NODE_RESOURCES[0]: 1}),
                    *common,
                ],
                env,
                sessions,
            )
            address = f"{_head_ip()}:{port}"
            _ray_start(
                [
                    "--address",
                    address,
                    "--dashboard-agent-listen-port",
                    str(_free_port()),
                    "--resources",
                    json.dumps({NODE_RESOURCES[1]: 1}),
                    *common,
                ],
                env,
                sessions,
            )
        except (RuntimeError, subprocess.TimeoutExpired) as e:
            pytest.skip(f"a local Ray cluster cannot start here: {e}")
        with warnings.catch_warnings():  # Ray's tip about GPU env vars: no GPU here
            warnings.simplefilter("ignore", FutureWarning)
            ray.init(address=address, log_to_driver=False, include_dashboard=False)
        node_ids = _wait_for_nodes(ray)
        yield Cluster(address, node_ids, env)
    finally:
        if ray.is_initialized():
            ray.shutdown()
        _stop(sessions)
        shutil.rmtree(temp, ignore_errors=True)


def _head_ip() -> str:
    import ray._private.services as services

    return services.get_node_ip_address()


def _wait_for_nodes(ray) -> dict[str, str]:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + _START_S
    while time.monotonic() < deadline:
        found = {
            name: n["NodeID"]
            for n in ray.nodes()
            if n.get("Alive")
            for name in NODE_RESOURCES
            if name in n.get("Resources", {})
        }
        if len(found) == len(NODE_RESOURCES):
            return found
        time.sleep(0.2)
    raise RuntimeError(f"the two Ray nodes did not both come up in {_START_S:.0f}s")
