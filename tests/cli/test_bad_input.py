"""Bad input to any command is one line, ``closedloop: error: ...`` naming the problem, exit
code 2, and nothing half-made left behind; arguments are checked before anything heavy loads.

Each case is one a new user hit (issue 18); every one of them ended in a traceback, ran on
silently, or left a directory behind before the checks in ``closedloop.cli.checks``.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from closedloop.cli import app

REPO = Path(__file__).resolve().parents[2]
TASKS = REPO / "examples" / "tasks.jsonl"
BINARY = bytes(range(256)) * 8  # not UTF-8, not gzip, not SQLite

runner = CliRunner()


def refused(*args: str | Path) -> str:
    """Run the real CLI; assert a one-line error and exit code 2; return the line."""
    r = runner.invoke(app, [str(a) for a in args])
    assert r.exception is None or isinstance(r.exception, SystemExit), repr(r.exception)
    assert r.exit_code == 2, (r.exit_code, r.output)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("closedloop: error: "), r.stderr
    return lines[0]


def _policy_dir(root: Path, config_bytes: bytes) -> Path:
    """A model directory with tokenizer and weight files whose config.json is ``config_bytes``."""
    d = root / "policy"
    d.mkdir()
    (d / "config.json").write_bytes(config_bytes)
    (d / "tokenizer.json").write_text("{}")
    (d / "model.safetensors").write_bytes(len(b"{}").to_bytes(8, "little") + b"{}")
    return d


BAD_CONFIGS = {
    "empty object": (b"{}", "model_type must be a non-empty string"),
    "not JSON": (b"garbage{", "not JSON"),
    "binary": (BINARY, "not UTF-8"),
    "a list": (b"[1, 2]", "expected a JSON object"),
    "model_type a number": (b'{"model_type": 5}', "model_type must be a non-empty string"),
    "size a string": (
        b'{"model_type": "llama", "hidden_size": "big"}',
        "hidden_size must be a positive integer",
    ),
}


@pytest.mark.parametrize("case", list(BAD_CONFIGS))
@pytest.mark.parametrize("command", ["eval", "gate", "run --model"])
def test_a_policy_whose_config_json_is_bad_is_named(tmp_path: Path, command: str, case: str):
    raw, why = BAD_CONFIGS[case]
    d = _policy_dir(tmp_path, raw)
    args = {
        "eval": ["eval", "--policy", d, "--tasks", TASKS],
        "gate": ["gate", "--candidate", d, "--baseline", d, "--tasks", TASKS],
        "run --model": ["run", "--model", d, "--run-dir", tmp_path / "run"],
    }[command]
    line = refused(*args)
    assert why in line and "config.json" in line
    assert not (tmp_path / "run").exists()


def test_a_model_directory_without_weights_or_tokenizer_is_named(tmp_path: Path):
    d = _policy_dir(tmp_path, b'{"model_type": "llama"}')
    (d / "model.safetensors").unlink()
    assert "no weights" in refused("eval", "--policy", d, "--tasks", TASKS)
    (d / "model.safetensors").write_bytes(b"")
    (d / "tokenizer.json").unlink()
    assert "no tokenizer" in refused("eval", "--policy", d, "--tasks", TASKS)


def _shipped_base_copy(root: Path, **config: object) -> Path:
    """The shipped base's directory copied with ``config`` written over its config.json."""
    from closedloop.policy.base_model import base_model_dir

    d = root / "policy"
    shutil.copytree(base_model_dir(), d, ignore=shutil.ignore_patterns("__*", "*.md"))
    obj = json.loads((d / "config.json").read_text())
    (d / "config.json").write_text(json.dumps({**obj, **config}))
    return d


WRONG_SIZES = {
    # 1,500 layers over a 4-layer checkpoint loaded with random layers and ran for minutes;
    # a 4 M-token vocabulary failed only after 17 s and 3.4 GB
    "layers": ({"num_hidden_layers": 1500}, "declares 1500 layers, the weights hold 4"),
    "vocabulary": ({"vocab_size": 4_000_000}, "declares vocab_size 4000000"),
}


@pytest.mark.parametrize("case", list(WRONG_SIZES))
@pytest.mark.parametrize("command", ["eval", "gate"])
def test_a_config_that_disagrees_with_its_weights_is_refused_before_loading(
    tmp_path: Path, command: str, case: str
):
    config, why = WRONG_SIZES[case]
    d = _shipped_base_copy(tmp_path, **config)
    models = ["--policy", d] if command == "eval" else ["--candidate", d, "--baseline", d]
    assert why in refused(command, *models, "--tasks", TASKS)


def test_the_header_check_passes_real_checkpoints_and_refuses_damaged_ones(tmp_path: Path):
    from closedloop.cli import checks

    d = _shipped_base_copy(tmp_path)
    checks.model_dir("--policy", d)  # the shipped base as it is
    (d / "config.json").write_text(
        json.dumps({**json.loads((d / "config.json").read_text()), "num_hidden_layers": 3})
    )
    checks.model_dir("--policy", d)  # fewer declared than held: extra blocks are ignored
    weights = d / "model.safetensors"
    data = weights.read_bytes()
    for damaged, why in [
        (data[:4], "no header"),
        ((10**12).to_bytes(8, "little") + data[8:], "no header"),
        (data[:100], "header cut short"),
        (data[:8] + b"\xff" + data[9:], "not JSON"),
    ]:
        weights.write_bytes(damaged)
        line = refused("eval", "--policy", d, "--tasks", TASKS)
        assert why in line and "model.safetensors" in line, line
    # a sharded checkpoint: its shards' headers are read, and a missing shard is named
    weights.write_bytes(data)
    weights.rename(d / "model-00001-of-00001.safetensors")
    index = d / "model.safetensors.index.json"
    index.write_text(json.dumps({"weight_map": {"a": "model-00001-of-00001.safetensors"}}))
    checks.model_dir("--policy", d)
    index.write_text(json.dumps({"weight_map": {"a": "model-00002-of-00002.safetensors"}}))
    assert "names a shard that is not in" in refused("eval", "--policy", d, "--tasks", TASKS)


@pytest.mark.parametrize(
    "option,value",
    [
        ("--max-new-tokens", "-5"),
        ("--timeout", "-1"),
        ("--temperature", "-0.5"),
        ("--samples", "0"),
    ],
)
@pytest.mark.parametrize("command", ["eval", "gate"])
def test_eval_and_gate_refuse_numbers_out_of_range(
    tmp_path: Path, command: str, option: str, value: str
):
    d = _policy_dir(tmp_path, b'{"model_type": "llama"}')
    models = ["--policy", d] if command == "eval" else ["--candidate", d, "--baseline", d]
    line = refused(command, *models, "--tasks", TASKS, option, value)
    assert option in line and value in line


def test_eval_refuses_a_bad_number_before_loading_torch(tmp_path: Path):
    # the case took 11 s of loading before its traceback
    d = _policy_dir(tmp_path, b'{"model_type": "llama"}')
    code = (
        "import sys\n"
        "from closedloop.cli import main\n"
        "try:\n"
        "    main()\n"
        "finally:\n"
        "    print('torch' in sys.modules, 'transformers' in sys.modules)\n"
    )
    args = ["eval", "--policy", str(d), "--tasks", str(TASKS), "--max-new-tokens", "-1"]
    r = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=120
    )
    assert r.returncode == 2 and "--max-new-tokens -1" in r.stderr
    assert r.stdout.split() == ["False", "False"]


@pytest.mark.parametrize("min_gain", ["-1", "1"])
def test_gate_refuses_a_min_gain_outside_0_to_1(tmp_path: Path, min_gain: str):
    d = _policy_dir(tmp_path, b'{"model_type": "llama"}')
    args = ["--candidate", d, "--baseline", d, "--tasks", TASKS, "--min-gain", min_gain]
    assert "--min-gain" in refused("gate", *args)


@pytest.mark.parametrize(
    "args,word",
    [
        (["--timeout", "-1"], "--timeout"),
        (["--workers", "0"], "--workers"),
        (["--port", "0"], "--port"),
    ],
)
def test_serve_refuses_bad_numbers(args: list[str], word: str):
    assert word in refused("serve", *args)


def test_serve_refuses_a_task_file_without_one_valid_task(tmp_path: Path):
    bad = tmp_path / "tasks.jsonl"
    bad.write_text('{"x": 1}\nnot json\n')
    assert "no valid task in it: 2 line(s) could not be read" in refused("serve", "--tasks", bad)


def test_verify_refuses_a_task_file_without_a_task_naming_the_likely_mistake(tmp_path: Path):
    # every solution came out `invalid` and the run exited 0: an empty file, a JSON array (task
    # files are JSONL), the two files given the other way round
    sols = tmp_path / "sols.jsonl"
    sols.write_text(json.dumps({"task_id": "a", "solution": "def f(x):\n    return x\n"}) + "\n")
    task = {"id": "a", "entry_point": "f", "private_tests": [{"input": "(1,)", "output": "1"}]}
    empty, array = tmp_path / "empty.jsonl", tmp_path / "tasks.json"
    empty.write_text("")
    array.write_text(json.dumps([task], indent=2))
    out = tmp_path / "verdicts.jsonl"
    cases = [(empty, "it holds no line"), (array, "JSON array"), (sols, "the solutions file?")]
    for tasks, why in cases:
        line = refused("verify", tasks, sols, "-o", out)
        assert f"tasks file {tasks}: no valid task in it" in line and why in line, line
    assert not out.exists()  # refused before the output was made


def test_verify_rerun_needs_a_second_worker():
    # on one worker the second run has the same hash seed: nothing is ever flagged
    line = refused(
        "verify", "examples/tasks.jsonl", "examples/solutions.jsonl", "--rerun", "--workers", "1"
    )
    assert "--workers 2 or more" in line


@pytest.mark.parametrize("damaged", ["summary.json", "metrics.jsonl", "config.toml"])
@pytest.mark.parametrize(
    "content", [BINARY, b'{"policies": 5', b"\xff\xfe{"], ids=["binary", "cut", "utf16"]
)
def test_report_names_a_damaged_run_file(tmp_path: Path, damaged: str, content: bytes):
    d = tmp_path / "run"
    d.mkdir()
    (d / "metrics.jsonl").write_text('{"iteration": 0, "heldout_pass@1": 0.1}\n')
    (d / "summary.json").write_text("{}")
    (d / "config.toml").write_text('name = "x"\n')
    (d / damaged).write_bytes(content)
    assert damaged in refused("report", d)
    assert not (d / "report.html").exists()


@pytest.mark.parametrize(
    "damaged,content,why",
    [
        ("summary.json", json.dumps({"policies": {"final": 5}}), "must be an object"),
        ("summary.json", "[1, 2]", "the top level must be an object, found list"),
        ("metrics.jsonl", '{"iteration": 0, "mean_reward": "high"}\n', "must be a number"),
        ("metrics.jsonl", '{"mean_reward": 0.5}\n', "no 'iteration'"),
    ],
    ids=["summary entry a number", "summary a list", "metric a string", "row without iteration"],
)
def test_report_names_a_run_file_of_the_wrong_shape(
    tmp_path: Path, damaged: str, content: str, why: str
):
    d = tmp_path / "run"
    d.mkdir()
    (d / "metrics.jsonl").write_text('{"iteration": 0, "heldout_pass@1": 0.1}\n')
    (d / damaged).write_text(content)
    line = refused("report", d)
    assert damaged in line and why in line, line
    assert not (d / "report.html").exists()


def test_run_names_a_binary_config_file(tmp_path: Path):
    cfg = tmp_path / "run.toml"
    cfg.write_bytes(BINARY)
    assert "not UTF-8" in refused("run", cfg, "--run-dir", tmp_path / "run")
    assert not (tmp_path / "run").exists()


def test_resume_names_a_garbage_store(tmp_path: Path):
    d = tmp_path / "run"
    d.mkdir()
    (d / "config.toml").write_text('name = "x"\n')
    (d / "run.sqlite").write_bytes(BINARY)
    assert "run.sqlite: not an SQLite database" in refused("run", "--resume", d)


def test_resume_names_a_binary_config(tmp_path: Path):
    d = tmp_path / "run"
    d.mkdir()
    (d / "config.toml").write_bytes(BINARY)
    assert "config.toml: not UTF-8" in refused("run", "--resume", d)


def test_run_refuses_a_missing_heldout_file_before_creating_the_run_dir(tmp_path: Path):
    cfg = tmp_path / "run.toml"
    cfg.write_text(f'[eval]\nheldout_files = ["{tmp_path / "nope.jsonl"}"]\n')
    line = refused("run", cfg, "--run-dir", tmp_path / "run")
    assert "eval.heldout_files" in line and "nope.jsonl" in line
    assert not (tmp_path / "run").exists()


def test_run_refuses_a_missing_model_before_creating_the_run_dir(tmp_path: Path):
    line = refused("run", "--model", tmp_path / "nope", "--run-dir", tmp_path / "run")
    assert "--model" in line and not (tmp_path / "run").exists()


def test_resume_refuses_a_new_seed(tmp_path: Path):
    # a resumed run keeps the seed it started with; a new one would break its streams
    assert "--seed" in refused("run", "--resume", tmp_path, "--seed", "1")


def test_resume_refuses_a_model_it_would_ignore(tmp_path: Path):
    # "--resume DIR --model M" ran on with the run's own model, exit 0, no word
    line = refused("run", "--resume", tmp_path, "--model", ".")
    assert "--model" in line and "cannot change" in line


def test_run_refuses_negative_iterations(tmp_path: Path):
    assert "--iterations" in refused("run", "--iterations", "-1", "--run-dir", tmp_path / "r")


def test_run_refuses_zero_threads(tmp_path: Path):
    assert "--threads 0" in refused("run", "--threads", "0", "--run-dir", tmp_path / "r")


@pytest.mark.parametrize(
    "args",
    [
        ["tasks", "import", "humaneval"],
        ["tasks", "import", "mbpp"],
        ["tasks", "import", "jsonl", str(TASKS)],
        ["tasks", "import", "reasoning-gym", "list_functions", "--size", "2"],
    ],
    ids=lambda a: a[2],
)
def test_import_into_a_missing_directory_is_named_before_importing(tmp_path: Path, args):
    out = tmp_path / "no" / "such" / "dir" / "out.jsonl"
    assert "no such directory" in refused(*args, "-o", out)


@pytest.mark.parametrize(
    "source,name,content,why",
    [
        ("mbpp", "mbpp.jsonl", BINARY, "not UTF-8"),
        ("mbpp", "mbpp.jsonl", b'{"task_id": 1}\n', "no code, test_list field"),
        ("mbpp", "mbpp.json", b"[1, 2]", "expected a JSON object"),
        ("evalplus", "plus.jsonl.gz", BINARY, "not a gzip file"),
        ("evalplus", "plus.jsonl", BINARY, "not UTF-8"),
        ("evalplus", "plus.jsonl.gz", gzip.compress(b'{"task_id": "x"}\n'), "no entry_point"),
        ("evalplus", "plus.jsonl", b"[not json\n", "line 1: not JSON"),
    ],
    ids=[
        "mbpp-binary",
        "mbpp-fields",
        "mbpp-array",
        "gz-binary",
        "plain-binary",
        "gz-fields",
        "plain-json",
    ],
)
def test_a_wrong_benchmark_file_is_named(tmp_path: Path, source, name, content, why):
    src = tmp_path / name
    src.write_bytes(content)
    out = tmp_path / "out.jsonl"
    line = refused("tasks", "import", source, src, "-o", out)
    assert why in line and name in line
    assert not out.exists()


def test_evalplus_import_refuses_zero_workers(tmp_path: Path):
    from closedloop.data import HUMANEVAL_PLUS_MINI

    line = refused(
        "tasks", "import", "evalplus", HUMANEVAL_PLUS_MINI, "-o", tmp_path / "o", "--workers", "0"
    )
    assert "--workers 0" in line


def test_validate_refuses_a_heldout_file_that_gives_no_task(tmp_path: Path):
    # it used to build an empty contamination guard and pass everything without a word
    held = tmp_path / "held.jsonl"
    held.write_bytes(BINARY)
    assert "--heldout" in refused("tasks", "validate", TASKS, "--heldout", held)


@pytest.mark.parametrize(
    "args", [["--workers", "0"], ["--min-mutation-score", "1.5"], ["--wall-s", "0"]]
)
def test_validate_refuses_bad_numbers(args: list[str]):
    assert args[0] in refused("tasks", "validate", TASKS, *args)


def test_verify_with_a_missing_task_file_creates_no_output(tmp_path: Path):
    out = tmp_path / "verdicts.jsonl"
    refused("verify", tmp_path / "nope.jsonl", TASKS, "-o", out)
    assert not out.exists()


def test_eval_and_gate_refuse_a_task_file_that_repeats_an_id(tmp_path: Path):
    # scores are kept by id: two tasks named "same", both solved, read as pass@1 = 0.5
    tasks = tmp_path / "t.jsonl"
    line = {"instruction": "x", "entry_point": "f", "id": "same"}
    tasks.write_text(
        "".join(
            json.dumps(dict(line, private_tests=[{"input": f"({i},)", "output": f"{i}"}])) + "\n"
            for i in (1, 2)
        )
    )
    policy = tmp_path / "p"
    policy.mkdir()
    want = "task id 'same' appears more than once"
    assert want in refused("eval", "--policy", policy, "--tasks", tasks)
    assert want in refused("gate", "--candidate", policy, "--baseline", policy, "--tasks", tasks)


@pytest.mark.parametrize("option", ["--run-dir", "--model"])
def test_run_refuses_a_path_that_is_not_utf8_before_creating_anything(tmp_path: Path, option):
    # TensorBoard's writer (a run directory) or config.toml (a model path) raised
    # UnicodeEncodeError after the run directory was made
    bad = Path(os.fsdecode(bytes(tmp_path) + b"/r\xffname"))
    args = ["--run-dir", tmp_path / "run"] if option == "--model" else []
    line = refused("run", "--preset", "quick", option, bad, *args)
    assert option in line and "not UTF-8" in line
    assert list(tmp_path.iterdir()) == []


def test_eval_gate_and_serve_refuse_a_task_file_with_a_malformed_line(tmp_path: Path):
    # the line was skipped with a warning and the gate promoted (exit 0) on the set that was
    # left: a held-out set that silently lost a task must not be scored as if whole
    tasks = tmp_path / "t.jsonl"
    good = {"id": "a", "instruction": "x", "entry_point": "f"}
    good["private_tests"] = [{"input": "(1,)", "output": "1"}]
    tasks.write_text(json.dumps(good) + "\n{not json\n")
    policy = tmp_path / "p"
    policy.mkdir()
    want = "t.jsonl line 2: not valid JSON"
    assert want in refused("eval", "--policy", policy, "--tasks", tasks)
    assert want in refused("gate", "--candidate", policy, "--baseline", policy, "--tasks", tasks)
    assert want in refused("serve", "--port", "18497", "--tasks", tasks)


@pytest.mark.parametrize("option, value", [("--samples", "100000000"), ("--turns", "9")])
def test_eval_bounds_samples_and_turns_before_loading_anything(tmp_path: Path, option, value):
    # 10**8 samples built every attempt up front and ran out of memory (and gate's crash
    # exited 1, its "reject"); 100,000 turns grew the context without end
    line = refused("eval", "--policy", tmp_path, "--tasks", TASKS, option, value)
    assert option in line and "must be at most" in line


@pytest.mark.parametrize("command", ["eval", "gate"])
def test_a_subnormal_temperature_is_refused(tmp_path: Path, command: str):
    # logits divided by 1e-320 overflow: eval crashed, and gate's crash exited 1, its "reject"
    d = _policy_dir(tmp_path, b'{"model_type": "llama"}')
    models = ["--policy", d] if command == "eval" else ["--candidate", d, "--baseline", d]
    line = refused(command, *models, "--tasks", TASKS, "--temperature", "1e-320", "--samples", "2")
    assert "--temperature" in line


@pytest.mark.parametrize("error", [RuntimeError("boom"), EOFError("short read")])
def test_an_unforeseen_error_exits_70_not_a_commands_own_code(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], error
):
    # gate exits 1 to reject: a crash must not read as a rejection; click turns an EOFError
    # (torch.load of an empty file) into "aborted", which read as a user's Ctrl-C
    import closedloop.monitor.report as report
    from closedloop.cli import EXIT_INTERNAL, main

    def broken(*args: object, **kwargs: object) -> None:
        raise error

    monkeypatch.setattr(report, "write_report", broken)
    monkeypatch.setattr(sys, "argv", ["closedloop", "report", str(tmp_path)])
    with pytest.raises(SystemExit) as e:
        main()
    assert e.value.code == EXIT_INTERNAL == 70
    assert "closedloop: internal error" in capsys.readouterr().err


def test_pretrain_refuses_paths_and_sizes_that_would_lose_work_or_never_end(tmp_path: Path):
    from closedloop.train.checkpoint import PREFIX, STATE_FILE

    work = tmp_path / "work"
    earlier = work / "checkpoints" / f"{PREFIX}000100"
    earlier.mkdir(parents=True)
    (earlier / STATE_FILE).write_bytes(b"state")
    # started again without --resume, it removed the earlier build's checkpoints first
    line = refused("pretrain", "--work-dir", work, "--out", tmp_path / "out", "--steps", "2")
    assert "holds checkpoints of an earlier build" in line and "--resume" in line
    assert (earlier / STATE_FILE).read_bytes() == b"state"
    a_file = tmp_path / "file"
    a_file.write_text("mine")
    assert "is a file" in refused("pretrain", "--work-dir", a_file)
    assert "is a file" in refused("pretrain", "--work-dir", tmp_path / "w2", "--out", a_file)
    assert "--lr" in refused("pretrain", "--work-dir", tmp_path / "w2", "--lr", "1e30")
    assert "--batch-size" in refused(
        "pretrain", "--work-dir", tmp_path / "w2", "--batch-size", "100000000"
    )
    no_weights = tmp_path / "base"
    no_weights.mkdir()
    (no_weights / "pretrain_config.json").write_text("{}")
    (no_weights / "config.json").write_text('{"model_type": "llama"}')
    (no_weights / "tokenizer.json").write_text("{}")
    assert "no weights" in refused(
        "pretrain", "--work-dir", tmp_path / "w2", "--init-from", no_weights
    )
    (no_weights / "pretrain_config.json").write_text("[1, 2]")
    assert "expected a JSON object" in refused(
        "pretrain", "--work-dir", tmp_path / "w2", "--init-from", no_weights
    )
    assert a_file.read_text() == "mine" and not (tmp_path / "w2").exists()


@pytest.mark.parametrize(
    "content", [b"", gzip.compress(b'{"id": "a"}\n'), BINARY], ids=["empty", "gzip", "binary"]
)
def test_tasks_validate_refuses_a_file_with_no_task_and_keeps_its_output(
    tmp_path: Path, content: bytes
):
    # it exited 0 and wrote an empty -o over what was there
    src = tmp_path / "tasks.jsonl"
    src.write_bytes(content)
    out = tmp_path / "accepted.jsonl"
    out.write_text("earlier\n")
    line = refused("tasks", "validate", src, "-o", out)
    assert "no task in it" in line and out.read_text() == "earlier\n"


def test_tasks_validate_refuses_repeated_ids_before_validating(tmp_path: Path):
    row = TASKS.read_text().splitlines()[0]
    src = tmp_path / "twice.jsonl"
    src.write_text(row + "\n" + row + "\n")
    assert "appears more than once" in refused(
        "tasks", "validate", src, "-o", tmp_path / "out.jsonl"
    )
    assert not (tmp_path / "out.jsonl").exists()


@pytest.mark.parametrize(
    "args",
    [
        ["tasks", "validate", "{src}", "-o", "{src}"],
        ["tasks", "validate", TASKS, "--heldout", "{src}", "-o", "{src}"],
        ["tasks", "import", "jsonl", "{src}", "-o", "{src}"],
    ],
)
def test_an_output_that_is_an_input_is_refused_and_the_input_kept(tmp_path: Path, args):
    # the output was written over an input: validate with every task rejected emptied it
    src = tmp_path / "t.jsonl"
    shutil.copy(TASKS, src)
    line = refused(*(str(a).format(src=src) for a in args))
    assert line.startswith(f"closedloop: error: -o {src}: is the ") and "file" in line
    assert src.read_bytes() == TASKS.read_bytes()


def test_an_import_size_past_what_memory_holds_is_refused(tmp_path: Path):
    line = refused(
        "tasks",
        "import",
        "reasoning-gym",
        "list_functions",
        "--size",
        "10" + "0" * 12,
        "-o",
        tmp_path / "t.jsonl",
    )
    assert "--size" in line and "must be at most 1000000" in line
    assert not (tmp_path / "t.jsonl").exists()
