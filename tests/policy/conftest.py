"""A tiny embedded model (built with the real builder) for the policy tests."""

from __future__ import annotations

from pathlib import Path

import pytest

LIST_FUNCTIONS = [
    "Write a function f(xs) on a list of integers.\nf([3, 1, 2]) == [1, 2, 3]\nf([]) == []\n",
    "def f(xs):\n    return sorted(xs)\n",
    "Write a function f(xs).\nf([1, 2, 3]) == [2, 4, 6]\n",
    "def f(xs):\n    out = []\n    for x in xs:\n        if x % 2 == 0:\n            out.append(x * 2)\n    return out\n",
    "def f(xs):\n\treturn [x for x in xs if x > 0]  # keep positives\n",
]


@pytest.fixture(scope="session")
def tiny_config():
    # not tests/conftest.py's tiny_embedded_config: the round-trip test needs the merges of
    # a 320-token vocabulary
    from closedloop.policy.embedded import EmbeddedConfig

    return EmbeddedConfig(
        vocab_size=320,
        hidden_size=32,
        intermediate_size=64,
        num_layers=2,
        num_heads=2,
        max_positions=256,
    )


@pytest.fixture(scope="session")
def embedded_dir(tmp_path_factory: pytest.TempPathFactory, tiny_config) -> Path:
    """A tiny embedded model directory built from the list-functions corpus."""
    from closedloop.policy.embedded import build_embedded_policy

    out = tmp_path_factory.mktemp("embedded")
    build_embedded_policy(LIST_FUNCTIONS * 4, out, tiny_config)
    return out


@pytest.fixture
def embedded(embedded_dir: Path):
    from closedloop.policy.hf import HFPolicy

    return HFPolicy.from_pretrained(embedded_dir, device="cpu")
