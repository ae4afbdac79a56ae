"""The whole loop runs in CI on the short preset; a SIGKILL mid-run resumes to the same rows."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import time
from pathlib import Path

import pytest

from closedloop.loop.presets import SHORT

from .conftest import cli, cli_popen, row_counts


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    p = tmp_path_factory.mktemp("cfg") / "short.toml"
    p.write_text(SHORT)
    return p


@pytest.fixture(scope="module")
def reference(config: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    run_dir = tmp_path_factory.mktemp("runs") / "ref"
    res = cli("run", str(config), "--run-dir", str(run_dir))
    assert res.returncode == 0, res.stderr[-3000:]
    return run_dir


def test_short_preset_writes_the_run_directory_contract(reference: Path):
    for label in ("cold_start", "iter_001", "iter_002", "final", "control"):
        assert (reference / "policies" / label / "config.json").is_file(), label
    summary = json.loads((reference / "summary.json").read_text())
    for label in ("cold_start", "control", "final"):
        entry = summary["policies"][label]
        assert entry["n_tasks"] == 6 and 0.0 <= entry["pass@1"] <= 1.0
    lines = (reference / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(x)["iteration"] for x in lines] == [0, 1, 2]
    counts = row_counts(reference)
    assert (
        counts["proposals"] == 2 * 3
        and counts["attempts"] == 2 * 3 * 2
        and counts["iterations"] == 3
    )
    assert (reference / "config.toml").is_file() and any((reference / "tb").iterdir())


def test_existing_non_empty_run_dir_is_refused(config: Path, reference: Path):
    res = cli("run", str(config), "--run-dir", str(reference))
    assert res.returncode == 2 and "not empty" in res.stderr


def _committed(run_dir: Path) -> int:
    try:
        db = sqlite3.connect(str(run_dir / "run.sqlite"))
        try:
            row = db.execute("SELECT MAX(iteration) FROM iterations").fetchone()
        finally:
            db.close()
    except sqlite3.Error:
        return -1
    return -1 if row[0] is None else row[0]


def test_resume_after_sigkill_gives_the_same_row_counts(
    config: Path, reference: Path, tmp_path: Path
):
    run_dir = tmp_path / "killed"
    proc = cli_popen("run", str(config), "--run-dir", str(run_dir))
    deadline = time.monotonic() + 240
    while _committed(run_dir) < 1 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    assert proc.poll() is None, "the run ended before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (run_dir / "summary.json").exists()
    res = cli("run", "--resume", str(run_dir))
    assert res.returncode == 0, res.stderr[-3000:]
    assert row_counts(run_dir) == row_counts(reference)
    lines = (run_dir / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(x)["iteration"] for x in lines] == [0, 1, 2]


def test_eval_prints_one_json_object_with_n_tasks_and_pass_at_1(reference: Path, tmp_path: Path):
    from closedloop.loop.domain import grammar_task
    from closedloop.loop.grammar import sample_tasks
    from closedloop.tasks.format import write_tasks

    tasks = [grammar_task(g, f"g{i}", "Write f.") for i, g in enumerate(sample_tasks(4, seed=11))]
    path = tmp_path / "tasks.jsonl"
    write_tasks(tasks, path)
    res = cli(
        "eval",
        "--policy",
        str(reference / "policies" / "final"),
        "--tasks",
        str(path),
        "--samples",
        "2",
        "--json",
        "--max-new-tokens",
        "16",
    )
    assert res.returncode == 0, res.stderr[-2000:]
    out = json.loads(res.stdout)
    assert out["n_tasks"] == 4 and 0.0 <= out["pass@1"] <= 1.0 and "pass@1" in out
