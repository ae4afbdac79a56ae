"""Shared fixtures: one sandbox pool per test session where a test only needs a verifier."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest


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


def descendants(pid: int) -> list[int]:
    """Host PIDs of every live process below ``pid`` (zombies excluded)."""
    children: dict[int, list[int]] = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            stat = Path(f"/proc/{d}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if stat[0] == "Z":
            continue
        children.setdefault(int(stat[1]), []).append(int(d))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        for c in children.get(p, []):
            out.append(c)
            todo.append(c)
    return out


@pytest.fixture(name="descendants")
def descendants_fixture():
    return descendants
