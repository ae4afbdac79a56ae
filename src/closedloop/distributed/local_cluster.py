"""A throwaway multi-node Ray cluster on this machine, for tests and benchmarks.

``ray start --head`` and ``ray start --address`` for each further node, as on a real
cluster, each node with its own CPU count and a custom resource naming it (``cl_node_0``,
``cl_node_1``, ...) so that the nodes can be told apart. Every ``ray start`` runs in a
session of its own; :meth:`LocalCluster.stop` SIGKILLs every process of those sessions (what
``ray stop --force`` does, but only to this cluster: other Ray clusters on the machine, other
users' included, are left alone).

Must never: be used for a real cluster (every node is this machine); stop a process that is
not in one of its own sessions; leave a process of its own running after ``stop``.
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
from pathlib import Path
from types import TracebackType

import closedloop

_START_S = 60.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _session(pid: int) -> int | None:
    """The session of a live process (None for a zombie or a process gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return None if fields[0] == "Z" else int(fields[3])


class LocalCluster:
    """``len(cpus)`` Ray nodes on this machine, node ``i`` with ``cpus[i]`` CPUs.

    Use as a context manager (it stops on leaving, whatever happened). The nodes run with
    this process's ``closedloop`` first on their ``PYTHONPATH``, so that they judge with the
    same code. Raises :class:`RuntimeError` (with ``ray start``'s output) when a node cannot
    start."""

    def __init__(self, cpus: tuple[int, ...] = (1, 1), object_store_mb: int = 80) -> None:
        if not cpus or min(cpus) < 1:
            raise ValueError(f"cpus: one positive CPU count per node, got {cpus!r}")
        self.cpus = cpus
        self.object_store_mb = object_store_mb
        src = str(Path(closedloop.__file__).parent.parent)
        self.env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(p for p in (src, os.environ.get("PYTHONPATH")) if p),
            "RAY_USAGE_STATS_ENABLED": "0",
        }
        """The environment the nodes run with (subprocesses that must judge alike use it)."""
        self.address = ""
        self.sessions: set[int] = set()
        self._temp = ""

    @staticmethod
    def resource(i: int) -> str:
        """The custom resource that names node ``i``."""
        return f"cl_node_{i}"

    def start(self) -> LocalCluster:
        """Start every node and return once all are up."""
        import ray._private.services as services

        self._temp = tempfile.mkdtemp(prefix="clray-", dir="/tmp")  # Ray's socket paths are short
        port = _free_port()
        try:
            for i, n in enumerate(self.cpus):
                common = [
                    "--num-cpus",
                    str(n),
                    "--resources",
                    json.dumps({self.resource(i): 1}),
                    "--object-store-memory",
                    str(self.object_store_mb << 20),
                    "--dashboard-agent-listen-port",
                    str(_free_port()),
                    "--disable-usage-stats",
                ]
                if i == 0:
                    self._ray_start(
                        ["--head", "--port", str(port), "--temp-dir", self._temp]
                        + ["--include-dashboard=false", "--ray-client-server-port"]
                        + [str(_free_port()), *common]
                    )
                    self.address = f"{services.get_node_ip_address()}:{port}"
                else:
                    self._ray_start(["--address", self.address, *common])
        except BaseException:
            self.stop()
            raise
        return self

    def node_ids(self, timeout_s: float = _START_S) -> dict[str, str]:
        """Each node's id by its resource name, once all are alive (this process must be
        connected to the cluster)."""
        import ray

        deadline = time.monotonic() + timeout_s
        names = [self.resource(i) for i in range(len(self.cpus))]
        while True:
            found = {
                name: n["NodeID"]
                for n in ray.nodes()
                if n.get("Alive")
                for name in names
                if name in n.get("Resources", {})
            }
            if len(found) == len(names):
                return found
            if time.monotonic() > deadline:
                raise RuntimeError(f"only {sorted(found)} of {names} came up in {timeout_s:.0f}s")
            time.sleep(0.2)

    def processes(self) -> list[int]:
        """This cluster's live processes."""
        return [
            int(d) for d in os.listdir("/proc") if d.isdigit() and _session(int(d)) in self.sessions
        ]

    def stop(self) -> None:
        """SIGKILL every process of this cluster's sessions, until none is left (15 s at
        most), and remove its temporary directory."""
        deadline = time.monotonic() + 15
        while (pids := self.processes()) and time.monotonic() < deadline:
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.2)
        if self._temp:
            shutil.rmtree(self._temp, ignore_errors=True)

    def __enter__(self) -> LocalCluster:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _ray_start(self, args: list[str]) -> None:
        proc = subprocess.Popen(
            [sys.executable, "-m", "ray.scripts.scripts", "start", *args],
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,  # its daemons stay in this session: stop() finds them there
        )
        self.sessions.add(proc.pid)
        try:
            out, _ = proc.communicate(timeout=_START_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise RuntimeError(
                f"ray start {' '.join(args[:2])} did not finish in {_START_S}s"
            ) from None
        if proc.returncode != 0:
            raise RuntimeError(f"ray start {' '.join(args[:2])} failed: {out[-1500:]}")
