"""The backend registry, and the rule that importing policy (or train) never imports torch."""

from __future__ import annotations

import subprocess
import sys

import pytest

from closedloop.policy import (
    BackendName,
    DuplicateBackendError,
    PolicyRegistry,
    UnknownBackendError,
    default_registry,
    load_policy,
)


def test_default_registry_names_the_builtins() -> None:
    assert default_registry().names() == sorted(b.value for b in BackendName)


def test_unknown_backend_raises_with_the_known_names() -> None:
    with pytest.raises(UnknownBackendError, match="registered"):
        load_policy("nope")


def test_duplicate_backend_raises() -> None:
    registry = PolicyRegistry()
    registry.register("mine", lambda **_: None)  # type: ignore[arg-type, return-value]
    with pytest.raises(DuplicateBackendError):
        registry.register("mine", lambda **_: None)  # type: ignore[arg-type, return-value]
    with pytest.raises(DuplicateBackendError):
        default_registry().register(BackendName.HF, lambda **_: None)  # type: ignore[arg-type, return-value]


def test_importing_policy_and_train_does_not_import_torch() -> None:
    code = (
        "import sys, closedloop.policy, closedloop.train, closedloop.policy.registry;"
        "bad = [m for m in ('torch', 'transformers', 'trl') if m in sys.modules];"
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
