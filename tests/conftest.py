"""Shared fixtures: one sandbox pool per test session where a test only needs a verifier."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ._procs import descendants


@pytest.fixture(scope="session")
def tiny_embedded_config():
    """The smallest embedded-model shape the role and loop tests build (random weights)."""
    from closedloop.policy.embedded import EmbeddedConfig

    return EmbeddedConfig(
        vocab_size=300,
        hidden_size=32,
        intermediate_size=64,
        num_layers=1,
        num_heads=2,
        max_positions=512,
    )


@pytest.fixture(scope="session")
def verifier() -> Iterator[object]:
    from closedloop.sandbox import SandboxLimits
    from closedloop.verify import Verifier

    with Verifier(workers=2, limits=SandboxLimits(wall_s=10.0)) as v:
        yield v


@pytest.fixture(name="descendants", scope="session")
def descendants_fixture():
    """``tests/_procs.descendants``: host PIDs of every live process below a PID."""
    return descendants
