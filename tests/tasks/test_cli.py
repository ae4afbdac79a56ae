"""``closedloop tasks``: import and validate from the command line."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from closedloop.cli.tasks_cmd import tasks_app
from closedloop.tasks.format import load_tasks, write_tasks

runner = CliRunner()


def test_import_humaneval_writes_164_tasks(tmp_path) -> None:
    out = tmp_path / "he.jsonl"
    r = runner.invoke(tasks_app, ["import", "humaneval", "-o", str(out)])
    assert r.exit_code == 0, r.output
    assert len(load_tasks(out)[0]) == 164


def test_import_mbpp_and_reasoning_gym(tmp_path, data_dir) -> None:
    r = runner.invoke(
        tasks_app,
        ["import", "mbpp", str(data_dir / "mbpp" / "mbpp.jsonl"), "-o", str(tmp_path / "m.jsonl")],
    )
    assert r.exit_code == 0 and len(load_tasks(tmp_path / "m.jsonl")[0]) == 974
    args = [
        "import",
        "reasoning-gym",
        "list_functions",
        "--size",
        "7",
        "--seed",
        "2",
        "-o",
        str(tmp_path / "lf.jsonl"),
    ]
    assert runner.invoke(tasks_app, args).exit_code == 0
    assert len(load_tasks(tmp_path / "lf.jsonl")[0]) == 7


def test_missing_file_is_a_one_line_error_with_exit_code_2(tmp_path) -> None:
    for args in (
        ["import", "mbpp", str(tmp_path / "nope.jsonl")],
        ["validate", str(tmp_path / "nope.jsonl")],
    ):
        r = runner.invoke(tasks_app, [*args, "-o", str(tmp_path / "o.jsonl")])
        assert r.exit_code == 2
        assert "no such file" in r.output and len(r.output.strip().splitlines()) == 1
        assert r.output.startswith("closedloop: error: ")


def test_unknown_reasoning_gym_dataset_exits_2(tmp_path) -> None:
    r = runner.invoke(
        tasks_app, ["import", "reasoning-gym", "nope", "-o", str(tmp_path / "o.jsonl")]
    )
    assert r.exit_code == 2 and "no dataset" in r.output


def test_validate_prints_reasons_and_writes_accepted_tasks(tmp_path, make_task) -> None:
    good = make_task(id="good")
    bad = make_task(id="bad", example_solution="def f(xs):\n    return xs\n")
    src = tmp_path / "t.jsonl"
    write_tasks([good, bad], src)
    with open(src, "a") as fh:
        fh.write("{not json\n")
    out = tmp_path / "ok.jsonl"
    r = runner.invoke(
        tasks_app, ["validate", str(src), "-o", str(out), "--max-mutants", "6", "--details"]
    )
    assert r.exit_code == 0, r.output
    for word in ("accepted", "example_fails", "unparseable"):
        assert word in r.output
    (kept,) = [json.loads(line) for line in out.read_text().splitlines()]
    assert kept["id"] == "good" and kept["metadata"]["mutation_score"] is not None


def test_import_mbpp_without_a_path_reads_the_shipped_copy(tmp_path) -> None:
    out = tmp_path / "m.jsonl"
    r = runner.invoke(tasks_app, ["import", "mbpp", "-o", str(out)])
    assert r.exit_code == 0, r.output
    assert len(load_tasks(out)[0]) == 974


def test_the_example_task_file_passes_its_own_validator(tmp_path) -> None:
    examples = Path(__file__).resolve().parents[2] / "examples" / "tasks.jsonl"
    out = tmp_path / "ok.jsonl"
    r = runner.invoke(tasks_app, ["validate", str(examples), "-o", str(out), "--details"])
    assert r.exit_code == 0, r.output
    assert len(load_tasks(out)[0]) == len(load_tasks(examples)[0]) == 3
