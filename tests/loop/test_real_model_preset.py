"""The real-model preset's path (a HF model directory, code tasks, LoRA, HumanEval+ and MBPP+
held out) runs end to end on CPU stand-ins: a tiny random model, the model sampling itself
(``--generation hf``) or through the engine hand-off (``hf-engine``), trimmed sizes. Its
garbage proposals are rejected and the loop goes on; the run directory keeps its contract."""

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


def trimmed_preset(model_dir: Path, generation: str) -> dict:
    """The preset as a GPU user runs it, but for the model, the engine and the sizes."""
    data = tomllib.loads(REAL_MODEL)
    data.update(iterations=1, workers=2)
    data["model"].update(path=str(model_dir), generation=generation)
    data["challenger"].update(proposals=3, max_new_tokens=32)
    data["solver"].update(tasks_per_iteration=2, samples=2, max_new_tokens=16)
    data["eval"].update(heldout_size=3, max_new_tokens=16)
    return data


@pytest.mark.parametrize("generation", ["hf", "hf-engine"])
def test_the_preset_runs_one_iteration_with_lora_and_evalplus_held_out(
    tmp_path: Path, random_model_dir: Path, generation: str
) -> None:
    data = trimmed_preset(random_model_dir, generation)
    assert data["model"]["lora"] and data["eval"]["heldout_sets"] == ["humanevalplus", "mbppplus"]
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
    assert summary["heldout_set"] == "humanevalplus"  # the primary set: the gate's
    assert set(summary["heldout_sets"]) == {"humanevalplus", "mbppplus"}
    assert summary["policies"]["final"]["n_tasks"] == 3
    assert summary["heldout_sets"]["mbppplus"]["final"]["n_tasks"] == 2  # Mbpp/2 left out
    assert "gate" in summary and summary["gate"]["candidate"] == "final"
    for label in ("cold_start", "iter_001", "final"):
        policy = run_dir / "policies" / label
        assert (policy / "config.json").is_file(), label  # merged: loads without PEFT
        assert (policy / "adapter" / "adapter_config.json").is_file(), label
