"""The real-model preset's path (HF model dir, code tasks, HumanEval held out) runs one short
iteration with a tiny random model: its garbage proposals are rejected and the loop goes on."""

from __future__ import annotations

import json
import sqlite3
import tomllib
from pathlib import Path

import pytest

from closedloop.loop.config import config_from_dict, dump_config
from closedloop.loop.presets import REAL_MODEL

from .conftest import cli

pytestmark = pytest.mark.slow  # a whole run of the loop


def test_tiny_random_model_runs_one_iteration_and_reports_rejections(
    tmp_path: Path, tiny_embedded_config
):
    from closedloop.policy.embedded import build_embedded_policy

    model_dir = tmp_path / "random-model"
    build_embedded_policy(["def f(x):\n    return x\n"] * 4, model_dir, tiny_embedded_config)
    data = tomllib.loads(REAL_MODEL)
    data.update(iterations=1, workers=2)
    data["model"]["path"] = str(model_dir)
    data["challenger"].update(proposals=3, max_new_tokens=32)
    data["solver"].update(tasks_per_iteration=2, samples=2, max_new_tokens=16)
    data["eval"].update(heldout_size=3, max_new_tokens=16)
    cfg_path = tmp_path / "real.toml"
    cfg_path.write_text(dump_config(config_from_dict(data)))
    run_dir = tmp_path / "run"
    res = cli("run", str(cfg_path), "--run-dir", str(run_dir))
    assert res.returncode == 0, res.stderr[-3000:]
    assert "proposed 3 accepted 0" in res.stderr
    db = sqlite3.connect(str(run_dir / "run.sqlite"))
    reasons = [r[0] for r in db.execute("SELECT reason FROM proposals WHERE iteration = 1")]
    db.close()
    assert len(reasons) == 3 and all(reasons)
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["policies"]["final"]["n_tasks"] == 3
