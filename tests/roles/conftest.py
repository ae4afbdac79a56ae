"""A tiny embedded policy (random weights, built in seconds) shared by the role tests."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def tiny_policy(tmp_path_factory: pytest.TempPathFactory, tiny_embedded_config):
    from closedloop.policy.embedded import build_embedded_policy

    corpus = [
        "def f(xs):\n    return sorted(xs)\n",
        "f([1, 2]) == [2, 1]\nWrite the Python function.",
    ] * 4
    return build_embedded_policy(
        corpus, Path(tmp_path_factory.mktemp("tiny")), tiny_embedded_config
    )
