"""`closedloop verify` as a user runs it: a real process, real files."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"


def _cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "closedloop.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO,
    )


def test_examples_give_the_expected_outcomes(tmp_path):
    out = tmp_path / "v.jsonl"
    r = _cli(
        "verify",
        str(EXAMPLES / "tasks.jsonl"),
        str(EXAMPLES / "solutions.jsonl"),
        "-o",
        str(out),
        "--timeout",
        "2",
    )
    assert r.returncode == 0, r.stderr
    verdicts = [json.loads(line) for line in out.read_text().splitlines()]
    assert [v["outcome"] for v in verdicts] == [
        "pass",
        "fail",
        "fail",
        "error",
        "pass",
        "fail",
        "timeout",
        "pass",
        "fail",
        "invalid",
        "invalid",
    ]
    assert [v["line"] for v in verdicts] == list(range(1, 12))
    assert "unknown task_id 'no-such-task'" in verdicts[9]["detail"]
    assert "solutions.jsonl line 11: not valid JSON" in verdicts[10]["detail"]
    # the summary table, row by row (its counts were never read: any count passed)
    assert "11 solutions in" in r.stderr
    for outcome, n in (("pass", 3), ("fail", 4), ("error", 1), ("timeout", 1), ("invalid", 2)):
        assert re.search(rf"\b{outcome}\s*│\s*{n}\s*│", r.stderr), (outcome, r.stderr)
    assert "infra_error" not in r.stderr  # no row for an outcome nothing had


def test_missing_file_is_one_line_and_exit_2(tmp_path):
    r = _cli("verify", str(tmp_path / "nope.jsonl"), str(EXAMPLES / "solutions.jsonl"))
    assert r.returncode == 2
    assert r.stderr.strip().splitlines() == [
        f"closedloop: error: tasks file not found: {tmp_path / 'nope.jsonl'}"
    ]
    r = _cli("verify", str(EXAMPLES / "tasks.jsonl"), str(tmp_path))
    assert r.returncode == 2 and "not a file" in r.stderr


@pytest.mark.parametrize("which", ["tasks", "solutions", "a link to the solutions"])
def test_an_output_that_is_an_input_is_refused_and_the_input_kept(tmp_path, which):
    # -o was opened for writing before the inputs were read: naming an input emptied it
    tasks, sols = tmp_path / "t.jsonl", tmp_path / "s.jsonl"
    tasks.write_bytes((EXAMPLES / "tasks.jsonl").read_bytes())
    sols.write_bytes((EXAMPLES / "solutions.jsonl").read_bytes())
    before = {p: p.read_bytes() for p in (tasks, sols)}
    out = {"tasks": tasks, "solutions": sols}.get(which)
    if out is None:
        out = tmp_path / "link.jsonl"
        out.symlink_to(sols)
    r = _cli("verify", str(tasks), str(sols), "-o", str(out))
    assert r.returncode == 2
    name = "tasks" if which == "tasks" else "solutions"
    assert r.stderr.strip().splitlines() == [
        f"closedloop: error: -o {out}: is the {name} file; give another file name"
    ]
    assert {p: p.read_bytes() for p in (tasks, sols)} == before


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full")
def test_a_full_disk_is_one_line_naming_the_verdicts_file():
    r = _cli(
        "verify",
        str(EXAMPLES / "tasks.jsonl"),
        str(EXAMPLES / "solutions.jsonl"),
        "-o",
        "/dev/full",
        "-q",
    )
    assert r.returncode == 1, r.stderr
    assert r.stderr.strip().splitlines() == [
        "closedloop: error: cannot write verdicts to /dev/full: No space left on device; "
        "the 0 written before are kept"
    ]


def test_a_byte_order_mark_is_read_past_and_unread_lines_are_not_called_unknown(tmp_path):
    tasks, sols, out = tmp_path / "t.jsonl", tmp_path / "s.jsonl", tmp_path / "v.jsonl"
    # an editor's byte-order mark: line 1 was refused, and its solutions "not in t.jsonl"
    tasks.write_bytes(b"\xef\xbb\xbf" + (EXAMPLES / "tasks.jsonl").read_bytes())
    first = json.loads((EXAMPLES / "tasks.jsonl").read_text().splitlines()[0])["id"]
    lines = [
        json.dumps({"task_id": first, "solution": "def f(xs):\n    return sorted(xs)\n"}),
        "[1, 2]",
        json.dumps({"task_id": "gone", "solution": "x = 1"}),
    ]
    sols.write_text("\n".join(lines) + "\n")
    r = _cli("verify", str(tasks), str(sols), "-o", str(out), "-q")
    assert r.returncode == 0 and "BOM" not in r.stderr, r.stderr
    verdicts = [json.loads(line) for line in out.read_text().splitlines()]
    assert verdicts[0]["task_id"] == first and verdicts[0]["outcome"] != "invalid"
    assert verdicts[1]["detail"] == "s.jsonl line 2: a solution must be a JSON object"
    assert verdicts[2]["detail"] == "s.jsonl line 3: unknown task_id 'gone' (not in t.jsonl)"
    # a task line that cannot be read names no id: an id missing may be on it
    tasks.write_text(tasks.read_text(encoding="utf-8-sig") + "{not json\n")
    r = _cli("verify", str(tasks), str(sols), "-o", str(out), "-q")
    assert json.loads(out.read_text().splitlines()[2])["detail"] == (
        "s.jsonl line 3: unknown task_id 'gone' (not among the tasks read from t.jsonl; 1 "
        "line(s) of it could not be read)"
    )


def test_malformed_task_line_names_line_and_field(tmp_path):
    tasks = tmp_path / "t.jsonl"
    tasks.write_text(
        json.dumps(
            {"id": "a", "entry_point": "f", "private_tests": [{"input": "(1,)", "output": "1"}]}
        )
        + "\n"
        + json.dumps(
            {
                "id": "b",
                "entry_point": "not an identifier",
                "private_tests": [{"input": "(1,)", "output": "1"}],
            }
        )
        + "\n"
    )
    sols = tmp_path / "s.jsonl"
    sols.write_text(
        "".join(
            json.dumps({"task_id": t, "solution": "def f(x):\n    return x\n"}) + "\n" for t in "ab"
        )
    )
    r = _cli("verify", str(tasks), str(sols), "-q")
    assert r.returncode == 0
    a, b = (json.loads(x) for x in r.stdout.splitlines())
    assert a["outcome"] == "pass"
    assert b["outcome"] == "invalid" and "t.jsonl line 2: entry_point" in b["detail"]


def test_interrupted_run_keeps_the_verdicts_it_wrote(tmp_path):
    tasks = tmp_path / "t.jsonl"
    tasks.write_text(
        json.dumps(
            {"id": "slow", "entry_point": "f", "private_tests": [{"input": "(1,)", "output": "1"}]}
        )
        + "\n"
    )
    sols = tmp_path / "s.jsonl"
    quick = "def f(x):\n    return x\n"
    slow = "import time\ndef f(x):\n    time.sleep(0.5)\n    return x\n"
    sols.write_text(
        "".join(
            json.dumps({"task_id": "slow", "solution": s}) + "\n" for s in [quick] * 4 + [slow] * 40
        )
    )
    out = tmp_path / "v.jsonl"
    p = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "closedloop.cli",
            "verify",
            str(tasks),
            str(sols),
            "-o",
            str(out),
            "--workers",
            "1",
            "-q",
        ],
        cwd=REPO,
        stderr=subprocess.PIPE,
        text=True,
        # as at a terminal: a suite started in the background (`cmd &`) inherits SIGINT
        # ignored, and the CLI would then run to the end (exit 0) instead of being interrupted
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and (
        not out.exists() or len(out.read_text().splitlines()) < 6
    ):
        time.sleep(0.1)
    p.send_signal(signal.SIGINT)
    _, err = p.communicate(timeout=30)
    assert p.returncode == 130, err
    lines = out.read_text().splitlines()
    assert 6 <= len(lines) < 44
    assert all(json.loads(x)["outcome"] == "pass" for x in lines)  # every written line is whole
    assert "interrupted" in err


def test_cli_start_up_does_not_import_torch():
    code = (
        "import sys, closedloop.cli; print('torch' in sys.modules or 'transformers' in sys.modules)"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert r.stdout.strip() == "False", r.stderr


@pytest.mark.skipif(not os.path.exists("/proc/self/ns/user"), reason="needs user namespaces")
def test_verifier_path_never_imports_torch(tmp_path):
    code = (
        "import sys\nfrom closedloop.verify import Verifier\nfrom closedloop.tasks.format import parse_task\n"
        "t = parse_task({'entry_point': 'f', 'private_tests': [{'input': '(1,)', 'output': '1'}]})\n"
        "with Verifier(workers=1) as v:\n    assert v.verify(t, 'def f(x):\\n    return x\\n').outcome == 'pass'\n"
        "print(sorted(m for m in ('torch', 'transformers', 'trl', 'peft') if m in sys.modules))"
    )
    r = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=60
    )
    assert r.stdout.strip() == "[]", r.stderr


def test_the_readme_verify_demo_runs_in_seconds_as_written():
    # the demo's infinite loop used to wait out the 10 s default wall clock
    readme = (REPO / "README.md").read_text()
    (command,) = set(re.findall(r"`(closedloop verify examples/tasks\.jsonl [^`]*)`", readme))
    t0 = time.monotonic()
    r = _cli(*command.split()[1:])
    elapsed = time.monotonic() - t0
    assert r.returncode == 0, r.stderr
    assert [json.loads(x)["outcome"] for x in r.stdout.splitlines()].count("timeout") == 1
    assert elapsed < 8, elapsed


def _task(tid: str, example: str) -> str:
    return json.dumps(
        {
            "id": tid,
            "instruction": "x",
            "entry_point": "f",
            "public_tests": [{"input": "(1,)", "output": "1"}],
            "private_tests": [{"input": "(2,)", "output": "2"}, {"input": "(3,)", "output": "3"}],
            "example_solution": example,
        }
    )


ESCAPES = "\x1b]0;TITLE\x07\x1b[2J\x1b[31mFAKE: all accepted\x1b[0m"


def test_a_repeated_id_that_looks_like_markup_is_warned_about_not_parsed(tmp_path):
    # rich read "dup[/]" as a closing tag: MarkupError, and an empty verdict file
    tasks, sols, out = tmp_path / "t.jsonl", tmp_path / "s.jsonl", tmp_path / "v.jsonl"
    line = _task("dup[/]", "def f(x):\n    return x\n")
    tasks.write_text(line + "\n" + line + "\n")
    sols.write_text(json.dumps({"task_id": "dup[/]", "solution": "def f(x):\n    return x\n"}))
    r = _cli("verify", str(tasks), str(sols), "-o", str(out), "-q")
    assert r.returncode == 0, r.stderr
    assert "'dup[/]' appears twice" in r.stderr
    assert json.loads(out.read_text())["outcome"] == "pass"


def test_validate_details_show_terminal_escapes_instead_of_sending_them(tmp_path):
    # a task id or an example solution's exception message could clear the screen and print
    # "FAKE: all accepted" in colour on the user's terminal
    tasks = tmp_path / "t.jsonl"
    raising = f"def f(x):\n    raise ValueError({ESCAPES!r})\n"
    tasks.write_text(
        _task("raises", raising) + "\n" + _task("id" + ESCAPES, "def f(x):\n    return 0\n") + "\n"
    )
    r = _cli(
        "tasks", "validate", str(tasks), "--details", "--wall-s", "3",
        "--min-failure-cases", "0", "--max-mutants", "0",
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "\x1b" not in r.stdout and "\x07" not in r.stdout
    details = [x for x in r.stdout.splitlines() if "\texample_fails\t" in x]
    assert len(details) == 2 and all(x.count("\t") == 2 for x in details)
    assert any(x.startswith("id\\x1b]0;TITLE\\x07\\x1b[2J") for x in details)
    assert any("ValueError: \\x1b]0;TITLE" in x for x in details)


@pytest.mark.parametrize(
    "args, words",
    [
        (["verify", "a.jsonl", "b.jsonl", "--timeout", "abc"], "Invalid value for '--timeout'"),
        (["tasks", "import", "nosuch"], "No such command 'nosuch'"),
        (["verify", "a.jsonl", "b.jsonl", "--no-such-option"], "No such option"),
    ],
)
def test_a_usage_error_is_one_line_and_exit_2(args, words):
    # typer drew a box of several lines around these, unlike every other bad input
    r = _cli(*args)
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("closedloop: error: ") and words in lines[0]


def test_an_invalid_config_is_one_line_naming_every_problem(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("iterationz = 3\n[solver]\nsamples = -1\n")
    r = _cli("run", str(bad))
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "iterationz: unknown key" in lines[0]
    assert "solver.samples" in lines[0]


def _spied_verify(tmp_path, monkeypatch, solutions: list[dict], tasks: Path, rerun=False):
    """run_verify in this process with the real verifier, recording what it asked for."""
    import io

    import closedloop.distributed as distributed
    from closedloop.cli.verify_cmd import run_verify
    from closedloop.verify.backend import Split

    asked = []
    real = distributed.make_verifier

    def spy(workers, limits, ray_address="", retries=1, prewarm_judges=True):
        asked.append((workers, prewarm_judges))
        v = real(workers, limits, ray_address, retries, prewarm_judges)
        asked.append([s._judge is not None for s in v.pool._slots])
        return v

    monkeypatch.setattr(distributed, "make_verifier", spy)
    sols = tmp_path / "s.jsonl"
    sols.write_text("".join(json.dumps(s) + "\n" for s in solutions))
    counts = run_verify(tasks, sols, io.StringIO(), Split.PRIVATE, None, 5.0, rerun, quiet=True)
    return asked, counts


def test_a_short_run_starts_no_more_slots_than_jobs_and_judges_only_for_checkers(
    tmp_path, monkeypatch
):
    # start-up is most of a short run: one solution needs one slot, not cores + 1, and I/O
    # tasks need no judge (three processes, ~70 ms of CPU each, started for nothing before)
    from closedloop.sandbox.pool import default_size

    tasks = EXAMPLES / "tasks.jsonl"
    right = {"task_id": "sort-list", "solution": "def f(xs):\n    return sorted(xs)\n"}
    asked, counts = _spied_verify(tmp_path, monkeypatch, [right], tasks)
    assert asked == [(1, False), [False]] and counts["pass"] == 1
    asked, _ = _spied_verify(tmp_path, monkeypatch, [right], tasks, rerun=True)
    assert asked[0] == (min(2, default_size()), False)  # the rerun goes to another worker
    many = [right] * (default_size() + 2)
    asked, counts = _spied_verify(tmp_path, monkeypatch, many, tasks)
    assert asked[0] == (default_size(), False) and counts["pass"] == len(many)
    # a checker task in the file: judges start with the pool
    checker = {
        "id": "double",
        "kind": "function",
        "instruction": "Double x.",
        "entry_point": "f",
        "checker": "def check(candidate):\n    assert candidate(2) == 4\n",
    }
    both = tmp_path / "tasks.jsonl"
    both.write_text(tasks.read_text() + json.dumps(checker) + "\n")
    sol = {"task_id": "double", "solution": "def f(x):\n    return 2 * x\n"}
    asked, counts = _spied_verify(tmp_path, monkeypatch, [right, sol], both)
    assert asked == [(2, True), [True, True]] and counts["pass"] == 2
