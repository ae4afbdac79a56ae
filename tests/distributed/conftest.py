"""A two-node Ray cluster on this machine, for the tests of closedloop.distributed.

``ray start --head`` and a second ``ray start --address``, one CPU each, told apart by a
custom resource (``cl_node_0`` / ``cl_node_1``): :class:`closedloop.distributed.local_cluster.
LocalCluster`, whose teardown SIGKILLs every process of the cluster's own sessions (``ray stop
--force``, limited to this cluster). Skipped, saying why, only where Ray is not installed or
``ray start`` fails outside CI (in CI, where .ci/run installs Ray, that is a failure).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator
from dataclasses import dataclass

import pytest


@dataclass(frozen=True)
class Cluster:
    """The running cluster: its head's address and each node's id by its resource name."""

    address: str
    node_ids: dict[str, str]
    env: dict[str, str]
    """The environment its nodes run with (this tree's closedloop first on PYTHONPATH)."""


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    ray = pytest.importorskip("ray", reason="Ray is not installed (pip install 'closedloop[ray]')")
    from closedloop.distributed.local_cluster import LocalCluster

    local = LocalCluster(cpus=(1, 1))
    try:
        try:
            local.start()
        except RuntimeError as e:
            if os.environ.get("CI"):  # .ci/run installs Ray: there it must start
                pytest.fail(f"a local Ray cluster did not start: {e}")
            pytest.skip(f"a local Ray cluster cannot start here: {e}")
        with warnings.catch_warnings():  # Ray's tip about GPU env vars: no GPU here
            warnings.simplefilter("ignore", FutureWarning)
            ray.init(address=local.address, log_to_driver=False, include_dashboard=False)
        yield Cluster(local.address, local.node_ids(), local.env)
    finally:
        if ray.is_initialized():
            ray.shutdown()
        local.stop()
        assert not local.processes(), "a process of the test cluster outlived its teardown"
