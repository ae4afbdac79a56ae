"""Fixtures for the tasks part: benchmark data paths and a small task builder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from closedloop.data import DATA_DIR
from closedloop.tasks.format import Task, parse_task


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The benchmark sets shipped in the package (never skipped: a clone has them)."""
    return DATA_DIR


@pytest.fixture(name="make_task")
def make_task_fixture():
    """The :func:`make_task` builder."""
    return make_task


def make_task(**fields: Any) -> Task:
    """A function task computing sorted(xs), with overrides."""
    base: dict[str, Any] = {
        "kind": "function",
        "instruction": "Return the list sorted in ascending order.",
        "entry_point": "f",
        "public_tests": [{"input": "([3, 1, 2],)", "output": "[1, 2, 3]"}],
        "private_tests": [
            {"input": "([5, 4],)", "output": "[4, 5]"},
            {"input": "([],)", "output": "[]"},
            {"input": "([2, 9, 1, 1],)", "output": "[1, 1, 2, 9]"},
        ],
        "example_solution": "def f(xs):\n    return sorted(xs)\n",
        "failure_cases": [
            "def f(xs):\n    return xs\n",
            "def f(xs):\n    return sorted(xs, reverse=True)\n",
            "def f(xs):\n    return sorted(set(xs))\n",
        ],
        "source": "challenger",
    }
    base.update(fields)
    return parse_task(base)
