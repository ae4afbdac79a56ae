"""Held-out sets are written into the run directory once and read back from there unchanged."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from closedloop.loop.config import ConfigError, RunConfig, config_from_dict
from closedloop.loop.heldout import (
    HeldoutError,
    HeldoutMissing,
    heldout_dir,
    load,
    load_or_materialise,
    materialise,
    rg_list_functions,
    summary_entries,
)
from closedloop.tasks.format import write_tasks

from .conftest import cli

EXTRA = {
    "id": "extra/0",
    "kind": "function",
    "instruction": "Write f(xs) returning xs reversed.",
    "entry_point": "f",
    "public_tests": [{"input": "([1, 2],)", "output": "[2, 1]"}],
    "private_tests": [{"input": "([3, 4, 5],)", "output": "[5, 4, 3]"}],
}


def _cfg(tmp_path: Path, size: int = 8) -> RunConfig:
    extra = tmp_path / "extra.jsonl"
    extra.write_text(json.dumps(EXTRA) + "\n")
    return config_from_dict(
        {"eval": {"heldout_size": size, "heldout_seeds": [20250807], "heldout_files": [str(extra)]}}
    )


def test_loaded_sets_equal_the_materialised_ones_in_order(tmp_path: Path):
    written = materialise(_cfg(tmp_path), tmp_path / "run")
    back = load(tmp_path / "run")
    assert list(back) == ["rg_list_functions", "extra"]
    assert back == written
    assert len(back["rg_list_functions"].tasks) == 8
    assert back["rg_list_functions"].source == "reasoning-gym list_functions seed 20250807 size 8"


def test_each_hash_is_the_sha256_of_the_file_bytes(tmp_path: Path):
    sets = materialise(_cfg(tmp_path), tmp_path / "run")
    for name, entry in summary_entries(sets).items():
        data = (heldout_dir(tmp_path / "run") / f"{name}.jsonl").read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry["sha256"]
        assert entry["n_tasks"] == len(sets[name].tasks)


def test_a_run_reads_its_own_files_not_the_config_files(tmp_path: Path):
    cfg = _cfg(tmp_path)
    materialise(cfg, tmp_path / "run")
    (tmp_path / "extra.jsonl").write_text("")  # the original file changes after the run began
    assert len(load(tmp_path / "run")["extra"].tasks) == 1


def test_an_edited_heldout_file_is_refused_naming_the_file(tmp_path: Path):
    materialise(_cfg(tmp_path), tmp_path / "run")
    path = heldout_dir(tmp_path / "run") / "rg_list_functions.jsonl"
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(lines[:-1]))  # drop one task
    with pytest.raises(HeldoutError, match=r"rg_list_functions\.jsonl: changed since the run"):
        load(tmp_path / "run")


def test_a_deleted_heldout_file_is_refused_naming_the_file(tmp_path: Path):
    materialise(_cfg(tmp_path), tmp_path / "run")
    (heldout_dir(tmp_path / "run") / "extra.jsonl").unlink()
    with pytest.raises(HeldoutError, match=r"extra\.jsonl: cannot read"):
        load(tmp_path / "run")


@pytest.mark.parametrize(
    "key, value, why",
    [
        ("file", 5, r"sets\[0\]\.file must be str, got 5"),
        ("file", "../../etc/passwd", r"sets\[0\]\.file must name a file beside the index"),
        ("n_tasks", "8", r"sets\[0\]\.n_tasks must be int"),
        ("sha256", None, r"sets\[0\]\.sha256 must be str"),
    ],
)
def test_an_index_entry_of_the_wrong_type_is_refused_naming_it(
    tmp_path: Path, key: str, value: object, why: str
):
    # "file": 5 once ended a resume in a TypeError traceback (Path / int)
    materialise(_cfg(tmp_path), tmp_path / "run")
    index = heldout_dir(tmp_path / "run") / "index.json"
    obj = json.loads(index.read_text())
    obj["sets"][0][key] = value
    index.write_text(json.dumps(obj))
    with pytest.raises(HeldoutError, match=r"index\.json: " + why):
        load(tmp_path / "run")


def test_a_run_without_heldout_files_is_materialised_once_and_flagged(tmp_path: Path):
    cfg = _cfg(tmp_path)
    with pytest.raises(HeldoutMissing):
        load(tmp_path)
    first, written = load_or_materialise(cfg, tmp_path)
    second, written_again = load_or_materialise(cfg, tmp_path)
    assert (written, written_again) == (True, False)
    assert second == first


def test_materialising_twice_is_refused(tmp_path: Path):
    cfg = _cfg(tmp_path)
    materialise(cfg, tmp_path)
    with pytest.raises(HeldoutError, match="already written"):
        materialise(cfg, tmp_path)


def test_a_heldout_file_named_like_the_primary_set_is_a_config_error(tmp_path: Path):
    clash = tmp_path / "rg_list_functions.jsonl"
    write_tasks([], clash)
    cfg = config_from_dict({"eval": {"heldout_size": 2, "heldout_files": [str(clash)]}})
    with pytest.raises(ConfigError, match="already taken"):
        materialise(cfg, tmp_path / "run")
    assert not (heldout_dir(tmp_path / "run") / "index.json").exists()


def test_the_primary_set_builder_takes_several_seeds(tmp_path: Path):
    tasks, source = rg_list_functions(4, [20250807, 30250807])
    assert len(tasks) == 8 and len({t.id for t in tasks}) == 8
    assert source == "reasoning-gym list_functions seeds 20250807, 30250807 size 4"


def test_eval_on_a_run_directory_refuses_an_edited_heldout_file(tmp_path: Path):
    materialise(_cfg(tmp_path, size=3), tmp_path / "run")
    path = heldout_dir(tmp_path / "run") / "rg_list_functions.jsonl"
    path.write_text(path.read_text().replace("Write", "Write quickly", 1))
    policy = tmp_path / "policy"
    policy.mkdir()
    (policy / "config.json").write_text("{}")  # passes the directory check; never loaded
    out = cli("eval", "--policy", str(policy), "--tasks", str(tmp_path / "run"), timeout=120)
    assert out.returncode == 2
    assert "rg_list_functions.jsonl: changed since the run was created" in out.stderr
