"""Evaluations are stored per (policy, iteration, held-out set), and the final table shows the
extra sets beside the primary one."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from rich.console import Console

from closedloop.loop.config import ConfigError, config_from_dict
from closedloop.loop.console import table_view
from closedloop.loop.heldout import heldout_sets
from closedloop.loop.phases import HeldoutEval
from closedloop.loop.runner import by_set
from closedloop.loop.store import IterationRecord, RunStore, StoreError


def _record(iteration: int, evals: dict) -> IterationRecord:
    return IterationRecord(iteration, [], [], [], {}, evals, [])


def test_each_set_has_its_row_and_add_eval_replaces_rather_than_duplicates(tmp_path: Path):
    store = RunStore(tmp_path / "run.sqlite")
    try:
        store.commit_iteration(_record(0, {"cold_start": {"rg": (6, 0.5), "mbpp": (3, 1 / 3)}}))
        store.add_eval("final", 0, {"rg": (6, 0.25), "mbpp": (3, 0.0)})
        store.add_eval("final", 0, {"rg": (6, 0.75), "mbpp": (3, 1.0)})  # e.g. after a resume
        assert store.evals() == {
            "cold_start": {"rg": (6, 0.5, 0), "mbpp": (3, 1 / 3, 0)},
            "final": {"rg": (6, 0.75, 0), "mbpp": (3, 1.0, 0)},
        }
        assert store.db.execute("SELECT COUNT(*) FROM evals").fetchone()[0] == 4
        store.rollback_after(-1)
        assert store.evals() == {}
    finally:
        store.close()


def test_primary_set_keeps_the_plain_metric_name():
    ev = HeldoutEval({"rg": (6, 0.5), "mbpp": (3, 0.25)}, {}, {})
    assert ev.metrics("rg") == {"heldout_pass@1": 0.5, "heldout_pass@1/mbpp": 0.25}


def test_table_shows_an_extra_column_per_set():
    scores = {
        "cold_start": {"rg": (6, 0.5), "mbpp": (3, 0.0)},
        "final": {"rg": (6, 0.75), "mbpp": (3, 1.0)},
    }
    sets = by_set(scores)
    assert list(sets) == ["rg", "mbpp"] and sets["mbpp"]["final"] == (3, 1.0)
    console = Console(width=200, record=True)
    console.print(table_view(sets["rg"], {"mbpp": sets["mbpp"]}))
    lines = console.export_text().splitlines()
    assert any("mbpp pass@1" in x for x in lines)
    final = next(x for x in lines if "final" in x)
    assert "0.750" in final and "1.000 (n=3)" in final


def test_a_set_named_like_markup_keeps_its_name_in_the_table():
    # a held-out file "extra[x].jsonl" showed as "extra" ([x] read as a style)
    sets = by_set({"cold_start": {"rg": (6, 0.5), "extra[x]": (3, 0.0)}})
    console = Console(width=200, record=True)
    console.print(table_view(sets["rg"], {"extra[x]": sets["extra[x]"]}))
    assert "extra[x] pass@1" in console.export_text()


def test_a_store_from_before_per_set_evals_is_refused_with_a_clear_error(tmp_path: Path):
    path = tmp_path / "run.sqlite"
    db = sqlite3.connect(str(path))
    db.execute(
        "CREATE TABLE evals (policy TEXT NOT NULL, iteration INTEGER NOT NULL, n_tasks INTEGER,"
        " pass_at_1 REAL, PRIMARY KEY (policy, iteration))"
    )
    db.commit()
    db.close()
    with pytest.raises(StoreError, match="older closedloop.*start a new run"):
        RunStore(path)


def test_two_heldout_files_with_one_name_are_a_config_error(tmp_path: Path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    files = [str(tmp_path / d / "extra.jsonl") for d in ("a", "b")]
    for f in files:
        Path(f).write_text("")
    cfg = config_from_dict(
        {
            "domain": "code",
            "model": {"kind": "embedded"},
            "eval": {"heldout_size": 2, "heldout_files": files},
        }
    )
    with pytest.raises(ConfigError, match="extra.*already taken"):
        heldout_sets(cfg)
