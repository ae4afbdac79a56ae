"""Policy backends by name: one explicit registry that raises on unknown or duplicate names.

Built-in backends are registered by :func:`default_registry` as factories that import their
module only when called, so building the registry imports neither torch nor transformers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from closedloop.policy.base import BackendName, Policy

PolicyFactory = Callable[..., Policy]
"""Builds a policy from keyword arguments (e.g. ``path=...`` or ``base_url=...``)."""


class UnknownBackendError(KeyError):
    """No backend is registered under the name."""


class DuplicateBackendError(ValueError):
    """A backend is already registered under the name."""


class PolicyRegistry:
    """Maps backend names to factories. Not global: build one with :func:`default_registry`."""

    def __init__(self) -> None:
        self._factories: dict[str, PolicyFactory] = {}

    def register(self, name: str, factory: PolicyFactory) -> None:
        """Register ``factory`` under ``name``; raises :class:`DuplicateBackendError` if taken."""
        key = str(name)
        if key in self._factories:
            raise DuplicateBackendError(
                f"policy backend {key!r} is already registered; pick another name "
                f"(registered: {sorted(self._factories)})"
            )
        self._factories[key] = factory

    def names(self) -> list[str]:
        """The registered names, sorted."""
        return sorted(self._factories)

    def create(self, name: str, **kwargs: Any) -> Policy:
        """Build the policy registered under ``name`` with ``kwargs``."""
        key = str(name)
        if key not in self._factories:
            raise UnknownBackendError(
                f"unknown policy backend {key!r}; registered: {self.names()} "
                "(register a factory first, or fix the name)"
            )
        return self._factories[key](**kwargs)


def _hf(**kwargs: Any) -> Policy:
    from closedloop.policy.hf import HFPolicy

    return HFPolicy.from_pretrained(**kwargs)


def _vllm(**kwargs: Any) -> Policy:
    from closedloop.policy.vllm_backend import VLLMPolicy

    return VLLMPolicy(**kwargs)


def _openai(**kwargs: Any) -> Policy:
    from closedloop.policy.openai_backend import OpenAIPolicy

    return OpenAIPolicy(**kwargs)


def default_registry() -> PolicyRegistry:
    """A new registry holding the built-in backends (``hf``, ``vllm``, ``openai``)."""
    registry = PolicyRegistry()
    registry.register(BackendName.HF, _hf)
    registry.register(BackendName.VLLM, _vllm)
    registry.register(BackendName.OPENAI, _openai)
    return registry


def load_policy(backend: str, registry: PolicyRegistry | None = None, **kwargs: Any) -> Policy:
    """Build a policy by backend name, e.g. ``load_policy("hf", path="runs/x/policy")``."""
    return (registry or default_registry()).create(backend, **kwargs)
