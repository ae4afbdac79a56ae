"""Task files with lines JSON cannot hold, numeric options out of range, and run files with
numbers no plot can place: every command answers in one line (or warns and goes on), never
with a traceback, and leaves no half-written file (red team 3, e_cli_crashes.sh)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from closedloop.cli import app

REPO = Path(__file__).resolve().parents[2]
TASKS = REPO / "examples" / "tasks.jsonl"

OK = {"id": "ok1", "entry_point": "f", "instruction": "id",
      "private_tests": [{"input": "(1,)", "output": "1"}]}  # fmt: skip
SOLUTION = "def f(x):\n    return x\n"
BAD_LINES = {
    "deep": ("[" * 100_000 + "]" * 100_000, "nested deeper than 100 levels"),
    "bigint": (
        '{"id": "big", "metadata": {"n": ' + "1" * 5000 + "}}",
        "a number of more than 4,300 digits",
    ),
}

runner = CliRunner()


def invoke(*args: str | Path):
    r = runner.invoke(app, [str(a) for a in args])
    assert r.exception is None or isinstance(r.exception, SystemExit), repr(r.exception)
    assert "Traceback" not in r.stderr, r.stderr
    return r


def refused(*args: str | Path) -> str:
    """Assert a one-line error and exit code 2; return the line."""
    r = invoke(*args)
    assert r.exit_code == 2, (r.exit_code, r.output)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("closedloop: error: "), r.stderr
    return lines[0]


def _write(path: Path, *lines: str) -> Path:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def _surrogate(with_id: bool) -> str:
    task = {"entry_point": "f", "instruction": "x \ud800 y", "example_solution": SOLUTION,
            "source": "mbpp", "private_tests": [{"input": "(1,)", "output": "1"}]}  # fmt: skip
    return json.dumps(task | ({"id": "sur"} if with_id else {}))


# -- item 1: bad lines are bad lines, in every command that reads task files ---------------
@pytest.mark.parametrize("case", ["deep", "bigint", "surrogate"])
def test_verify_reports_a_bad_task_line_and_verifies_the_rest(tmp_path, case):
    line, why = BAD_LINES.get(case, (_surrogate(with_id=False), None))
    tasks = _write(tmp_path / "t.jsonl", json.dumps(OK), line)
    sols = _write(tmp_path / "s.jsonl", json.dumps({"task_id": "ok1", "solution": SOLUTION}))
    out = tmp_path / "v.jsonl"
    r = invoke("verify", tasks, sols, "-q", "--workers", "1", "-o", out)
    assert r.exit_code == 0, r.output
    (verdict,) = [json.loads(v) for v in out.read_text().splitlines()]
    assert verdict["outcome"] == "pass"
    if why:
        assert f"warning: t.jsonl line 2: not usable JSON ({why})" in r.stderr


@pytest.mark.parametrize("case", ["deep", "bigint"])
def test_validate_counts_a_bad_line_as_unparseable(tmp_path, case):
    line, why = BAD_LINES[case]
    good = TASKS.read_text().splitlines()[0]
    tasks = _write(tmp_path / "t.jsonl", line, good)
    r = invoke("tasks", "validate", tasks, "--workers", "1", "--details")
    assert r.exit_code == 0, r.output
    assert "unparseable" in r.stdout and f"t.jsonl line 1: not usable JSON ({why})" in r.stdout
    # a file whose every line is bad is no task file: refused, as every command refuses it
    assert why in refused("tasks", "validate", _write(tmp_path / "bad.jsonl", line))


@pytest.mark.parametrize("case", ["deep", "bigint"])
def test_serve_names_a_task_file_whose_only_line_is_bad(tmp_path, case):
    line, why = BAD_LINES[case]
    tasks = _write(tmp_path / "t.jsonl", line)
    assert why in refused("serve", "--port", "18499", "--tasks", tasks)


def test_import_jsonl_takes_a_task_without_id_holding_a_lone_surrogate(tmp_path):
    src = _write(tmp_path / "t.jsonl", json.dumps(OK), _surrogate(with_id=False))
    out = tmp_path / "o.jsonl"
    r = invoke("tasks", "import", "jsonl", src, "-o", out)
    assert r.exit_code == 0, r.output
    back = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert back[1]["instruction"] == "x \ud800 y" and len(back[1]["id"]) == 16


@pytest.mark.parametrize("case", ["deep", "bigint"])
def test_import_jsonl_names_a_bad_line_and_writes_nothing(tmp_path, case):
    line, why = BAD_LINES[case]
    src = _write(tmp_path / "t.jsonl", json.dumps(OK), line)
    out = tmp_path / "o.jsonl"
    assert f"t.jsonl line 2: not usable JSON ({why})" in refused(
        "tasks", "import", "jsonl", src, "-o", out
    )
    assert not out.exists()


# -- item 4: validate -o writes every accepted task, whatever its text ----------------------
def test_validate_writes_every_accepted_task_with_a_lone_surrogate(tmp_path):
    ok = OK | {"example_solution": SOLUTION, "source": "mbpp"}
    src = _write(tmp_path / "t.jsonl", json.dumps(ok), _surrogate(with_id=True))
    out = tmp_path / "acc.jsonl"
    r = invoke(
        "tasks", "validate", src, "--workers", "1", "--max-mutants", "0", "-o", out, "--details"
    )
    assert r.exit_code == 0, r.output
    kept = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [t["id"] for t in kept] == ["ok1", "sur"]
    assert kept[1]["instruction"] == "x \ud800 y"  # escaped in the file, not altered
    assert {p.name for p in tmp_path.iterdir()} == {"t.jsonl", "acc.jsonl"}  # no temp file


# -- item 3: numeric options ------------------------------------------------------------------
# Each command also gets an argument that fails right after the number checks (a missing task
# file or model), so that a number let through ends the command at once, never starts a
# server, a loop or a pool of 100,000 sandboxes.
SERVE = ["serve", "--tasks", "missing.jsonl"]
VERIFY = ["verify", "missing.jsonl", "missing.jsonl"]
PRETRAIN = ["pretrain", "--init-from", "missing"]
EVAL = ["eval", "--policy", "missing", "--tasks", TASKS]
GATE = ["gate", "--candidate", "missing", "--baseline", "missing", "--tasks", TASKS]
NUMBERS = {
    "serve --max-body-mb 1e-9": (
        [*SERVE, "--max-body-mb", "1e-9"],
        "--max-body-mb 1e-09: must be at least 0.001",
    ),
    "serve --max-body-mb inf": (
        [*SERVE, "--max-body-mb", "inf"],
        "--max-body-mb inf: must be a finite number",
    ),
    "serve --max-body-mb nan": (
        [*SERVE, "--max-body-mb", "nan"],
        "--max-body-mb nan: must be a finite number",
    ),
    "serve --max-body-mb 1e6": (
        [*SERVE, "--max-body-mb", "1e6"],
        "--max-body-mb 1000000.0: must be at most 4096",
    ),
    "serve --timeout inf": ([*SERVE, "--timeout", "inf"], "--timeout inf: must be a finite"),
    "serve --workers 100000": ([*SERVE, "--workers", "100000"], "must be at most 1024"),
    "verify --timeout inf": ([*VERIFY, "--timeout", "inf"], "--timeout inf: must be a finite"),
    "verify --timeout nan": ([*VERIFY, "--timeout", "nan"], "--timeout nan: must be a finite"),
    "verify --timeout 1e9": ([*VERIFY, "--timeout", "1e9"], "must be at most 86400 seconds"),
    "verify --timeout 0": ([*VERIFY, "--timeout", "0"], "--timeout 0.0: must be above 0"),
    "verify --workers 5000": ([*VERIFY, "--workers", "5000"], "must be at most 1024"),
    "validate --wall-s inf": (["--wall-s", "inf"], "--wall-s inf: must be a finite"),
    "validate --wall-s -1": (["--wall-s", "-1"], "--wall-s -1.0: must be above 0"),
    "validate --min-mutation-score nan": (
        ["--min-mutation-score", "nan"],
        "--min-mutation-score nan: must be in [0, 1]",
    ),
    "eval --timeout inf": ([*EVAL, "--timeout", "inf"], "--timeout inf: must be a finite"),
    "eval --temperature inf": ([*EVAL, "--temperature", "inf"], "--temperature inf: must be"),
    "gate --alpha nan": ([*GATE, "--alpha", "nan"], "--alpha nan: must be in (0, 1)"),
    "gate --timeout nan": ([*GATE, "--timeout", "nan"], "--timeout nan: must be a finite"),
    "run --seed 2**64": (
        ["run", "--seed", str(2**64), "--model", "missing", "--run-dir", "r"],
        f"--seed {2**64}: must be a 64-bit integer",
    ),
    # --heads 0 was a ZeroDivisionError
    "pretrain --heads 0": ([*PRETRAIN, "--heads", "0"], "--heads 0: must be at least 1"),
    "pretrain --lr inf": ([*PRETRAIN, "--lr", "inf"], "--lr inf: must be a finite number"),
    "pretrain --stop-at nan": ([*PRETRAIN, "--stop-at", "nan"], "--stop-at nan: must be a"),
    "pretrain --max-minutes inf": ([*PRETRAIN, "--max-minutes", "inf"], "--max-minutes inf"),
    "pretrain --warmup -1": ([*PRETRAIN, "--warmup", "-1"], "--warmup -1: must be at least 0"),
    "pretrain --workers 0": ([*PRETRAIN, "--workers", "0"], "--workers 0: must be at least 1"),
}


@pytest.mark.parametrize("case", list(NUMBERS))
def test_a_number_out_of_range_is_one_line_exit_2(tmp_path, monkeypatch, case):
    args, why = NUMBERS[case]
    if case.startswith("validate"):  # validate checks its file first: one that holds no task
        tasks = tmp_path / "in" / "t.jsonl"
        tasks.parent.mkdir()
        tasks.write_text("{not json\n")
        args = ["tasks", "validate", tasks, *args]
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)  # nothing a check let through may write into the tree
    line = refused(*args)
    assert why in line, line
    assert list(cwd.iterdir()) == []


# -- item 5: the report -----------------------------------------------------------------------
def _run_dir(tmp_path: Path, metrics: str) -> Path:
    d = tmp_path / "run"
    d.mkdir()
    (d / "metrics.jsonl").write_text(metrics)
    return d


def test_report_names_the_line_and_key_of_a_number_past_the_digit_limit(tmp_path):
    d = _run_dir(tmp_path, '{"iteration": 0}\n{"iteration": 1' + "1" * 5000 + "}\n")
    line = refused("report", d)
    assert "metrics.jsonl:2: 'iteration' is a number of more than 4,300 digits" in line
    assert not (d / "report.html").exists()
    (d / "summary.json").write_text('{"policies": {"final": {"pass@1": 1' + "0" * 5000 + "}}}")
    (d / "metrics.jsonl").write_text('{"iteration": 0}\n')
    assert "summary.json: 'policies.final.pass@1' is a number of more" in refused("report", d)


def test_report_leaves_unplottable_values_out_with_a_warning(tmp_path):
    d = _run_dir(
        tmp_path,
        '{"iteration": 0, "heldout_pass@1": 1e308, "mean_reward": 0.5}\n'
        '{"iteration": 1, "heldout_pass@1": -1e308, "mean_reward": Infinity}\n'
        '{"iteration": 2, "heldout_pass@1": 0.25, "mean_reward": 0.75}\n',
    )
    r = invoke("report", d)
    assert r.exit_code == 0, r.output
    warnings = r.stderr.strip().splitlines()
    assert len(warnings) == 3 and all(w.startswith("closedloop: warning: ") for w in warnings)
    assert "iteration 1: 'heldout_pass@1' = -1e+308 cannot be plotted" in warnings[1]
    assert "iteration 1: 'mean_reward' = inf cannot be plotted" in warnings[2]
    html = (d / "report.html").read_text()
    assert html.count("<svg") == 2 and "Left out of the plots" in html  # both plots drawn


def test_report_writes_a_summary_number_too_large_for_a_float(tmp_path):
    d = _run_dir(tmp_path, '{"iteration": 0, "heldout_pass@1": 0.1}\n')
    big = 10**400  # within the digit limit, past a float
    (d / "summary.json").write_text(
        json.dumps({"policies": {"final": {"pass@1": big, "n_tasks": 3}}})
    )
    r = invoke("report", d)
    assert r.exit_code == 0, r.output
    assert "a 401-digit number" in (d / "report.html").read_text()
