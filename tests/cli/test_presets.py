"""``closedloop presets`` and ``closedloop run --preset NAME``: a newcomer finds the quick run
by name, and the quick preset runs the whole loop, report included."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from closedloop.cli import app
from closedloop.loop.presets import CATALOGUE, PRESETS

runner = CliRunner()


def _error(*args: str) -> str:
    r = runner.invoke(app, list(args))
    assert r.exit_code == 2, r.output
    (line,) = r.stderr.strip().splitlines()
    assert line.startswith("closedloop: error: ")
    return line


def test_presets_lists_each_preset_on_one_line_with_what_it_runs_and_how_long():
    r = runner.invoke(app, ["presets"])
    assert r.exit_code == 0, r.output
    lines = r.stdout.strip().splitlines()
    assert [x.split()[0] for x in lines] == [p.name for p in CATALOGUE] == list(PRESETS)
    assert all("2 CPU cores" in x or "GPU" in x for x in lines)
    assert lines[0].startswith("quick ")  # the first thing a newcomer should try


@pytest.mark.parametrize("name", list(PRESETS))
def test_presets_show_prints_a_config_that_runs_as_the_preset(name: str):
    # a newcomer had no config to start from: only the source module named the keys
    from closedloop.loop.config import config_from_dict
    from closedloop.loop.presets import preset_config

    r = runner.invoke(app, ["presets", "--show", name])
    assert r.exit_code == 0, r.output
    assert config_from_dict(tomllib.loads(r.stdout)) == preset_config(name)
    assert "[monitor]" in r.stdout and "[train.grpo]" in r.stdout  # every section, spelt out
    assert "--show: no preset 'quik'" in _error("presets", "--show", "quik")


def test_run_with_an_unknown_preset_lists_the_presets(tmp_path: Path):
    line = _error("run", "--preset", "nope", "--run-dir", str(tmp_path / "r"))
    assert all(name in line for name in PRESETS)


def test_the_old_base_preset_name_says_where_it_went(tmp_path: Path):
    line = _error("run", "--preset", "base", "--run-dir", str(tmp_path / "r"))
    assert "embedded preset" in line and "--preset scratch" in line
    assert not (tmp_path / "r").exists()


def test_a_preset_name_given_as_config_points_to_the_option(tmp_path: Path):
    line = _error("run", "short", "--run-dir", str(tmp_path / "r"))
    assert "--preset short" in line


def test_config_and_preset_together_are_refused(tmp_path: Path):
    cfg = tmp_path / "c.toml"
    cfg.write_text('name = "x"\n')
    assert "not both" in _error("run", str(cfg), "--preset", "quick")


def test_the_real_model_preset_without_a_model_asks_for_one(tmp_path: Path):
    line = _error("run", "--preset", "real-model", "--run-dir", str(tmp_path / "r"))
    assert "--model PATH" in line and not (tmp_path / "r").exists()


@pytest.mark.slow
def test_the_quick_preset_runs_every_phase_and_writes_the_report(tmp_path: Path):
    run_dir = tmp_path / "quick"
    r = subprocess.run(
        [sys.executable, "-m", "closedloop.cli", "run", "--preset", "quick", "--seed", "3"]
        + ["--run-dir", run_dir],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    rows = [json.loads(x) for x in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert [row["iteration"] for row in rows] == [0, 1, 2, 3, 4]
    assert tomllib.loads((run_dir / "config.toml").read_text())["seed"] == 3  # --seed recorded
    assert all("heldout_pass@1" in row for row in rows)  # evaluated every iteration: a line
    assert sum(row.get("optimizer_steps", 0) for row in rows) > 0  # the policy was trained
    summary = json.loads((run_dir / "summary.json").read_text())
    assert set(summary["policies"]) >= {"cold_start", "final", "control"} and summary["gate"]
    assert (run_dir / "report.html").read_text().count("<svg") >= 5
    assert "report: " in r.stderr  # the run's last lines say where the report is


def test_flags_show_no_value_and_the_version_is_printed():
    # typer showed a flag's type as <bool>, which read as a value to give (`--rerun true`)
    r = runner.invoke(app, ["verify", "--help"], env={"COLUMNS": "120"})
    rerun = next(line for line in r.stdout.splitlines() if "--rerun" in line)
    assert "<bool>" not in r.stdout and "bool" not in rerun
    assert "<int>" in r.stdout  # options that take a value still say what
    r = runner.invoke(app, ["--version"])
    assert r.exit_code == 0 and r.stdout.startswith("closedloop ")
