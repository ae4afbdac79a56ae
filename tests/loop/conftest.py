"""Helpers for the loop tests: the CLI in a subprocess, row counts of a run store, and a policy
that writes one text every time."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

APP = (
    "import typer\n"
    "from closedloop.cli.loop_cmds import register\n"
    "app = typer.Typer(pretty_exceptions_enable=False)\n"
    "@app.callback()\n"
    "def _root() -> None: ...\n"
    "register(app)\n"
    "app()\n"
)


def cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    """Run ``closedloop`` (the loop commands) in a fresh process."""
    return subprocess.run(
        [sys.executable, "-c", APP, *args], capture_output=True, text=True, timeout=timeout
    )


def cli_popen(*args: str) -> subprocess.Popen:
    """Start ``closedloop`` (the loop commands) without waiting."""
    return subprocess.Popen(
        [sys.executable, "-c", APP, *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )


def row_counts(run_dir: Path) -> dict[str, int]:
    """Rows per table of the run store (events excluded: their count is not part of the contract)."""
    db = sqlite3.connect(str(run_dir / "run.sqlite"))
    try:
        tables = ("tasks", "proposals", "attempts", "metrics", "evals", "iterations")
        return {t: db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in tables}
    finally:
        db.close()


@pytest.fixture(scope="session")
def random_model_dir(tmp_path_factory: pytest.TempPathFactory, tiny_embedded_config) -> Path:
    """A tiny Llama-shaped Hugging Face model directory with random weights (a stand-in for a
    real model: the real-model preset's tests load it with ``model.kind = "hf"``)."""
    from closedloop.policy.embedded import build_embedded_policy

    model_dir = tmp_path_factory.mktemp("random-model")
    build_embedded_policy(["def f(x):\n    return x\n"] * 4, model_dir, tiny_embedded_config)
    return model_dir


class ScriptedPolicy:
    """A policy that writes one text for every sample (a program, or a proposal)."""

    def __init__(self, text: str) -> None:
        self.text = text

    def encode_prompt(self, text: str) -> list[int]:
        return [1, 2, 3]

    def sample_ids(self, prompts, n, params):  # noqa: ANN001, ANN201 - the policy protocol
        from closedloop.policy.base import Completion, FinishReason

        c = Completion(self.text, (5, 6), (-1.0, -1.0), FinishReason.STOP, (1, 2, 3))
        return [[c] * n for _ in prompts]


@pytest.fixture
def scripted() -> type[ScriptedPolicy]:
    """:class:`ScriptedPolicy`, for tests that need a policy of known output."""
    return ScriptedPolicy
