"""A run's torch threads: the run config's ``threads`` key, which ``closedloop run --threads``
overrides (for a new run in its recorded config; on ``--resume`` for that process only)."""

from __future__ import annotations

import sqlite3
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from closedloop.cli import app
from closedloop.loop.config import ConfigError, config_from_dict, load_config
from closedloop.loop.presets import SHORT, preset_config


@pytest.fixture
def torch_threads() -> Iterator[object]:
    """torch, its thread count put back after the test (it is the whole process's)."""
    torch = pytest.importorskip("torch")
    before = torch.get_num_threads()
    yield torch
    torch.set_num_threads(before)


def test_threads_is_a_config_key_the_command_line_overrides(tmp_path: Path):
    p = tmp_path / "run.toml"
    p.write_text('name = "t"\nthreads = 1\n')
    assert load_config(p).threads == 1
    assert load_config(p, {"threads": 3}).threads == 3  # what `run CONFIG --threads 3` passes
    assert load_config(None).threads is None  # default: torch's own choice
    with pytest.raises(ConfigError, match="threads"):
        load_config(p, {"threads": 0})


def test_the_quick_preset_runs_on_one_thread_unless_told_otherwise():
    assert preset_config("quick").threads == 1
    assert preset_config("quick", {"threads": 2}).threads == 2


def test_a_run_uses_its_configs_threads_and_resume_threads_overrides_them(
    tmp_path: Path, torch_threads
):
    from closedloop.loop.runner import LoopRunner

    run_dir = tmp_path / "run"
    LoopRunner.new(config_from_dict({**tomllib.loads(SHORT), "threads": 2}), run_dir)
    # a store the run refuses as soon as it opens it: the run ends there, after its threads
    db = sqlite3.connect(run_dir / "run.sqlite")
    db.execute("CREATE TABLE tasks (id TEXT)")
    db.commit()
    db.close()
    cli = CliRunner()
    torch_threads.set_num_threads(3)
    r = cli.invoke(app, ["run", "--resume", str(run_dir)])
    assert r.exit_code == 2 and "not a task pool's" in r.stderr, r.output
    assert torch_threads.get_num_threads() == 2  # the config's
    r = cli.invoke(app, ["run", "--resume", str(run_dir), "--threads", "1"])
    assert r.exit_code == 2, r.output
    assert torch_threads.get_num_threads() == 1  # the flag's
    assert "threads = 2" in (run_dir / "config.toml").read_text()  # the run's own kept
