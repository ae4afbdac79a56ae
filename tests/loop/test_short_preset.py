"""The whole loop runs in CI on the short preset; a SIGKILL mid-run resumes to the same rows.

The preset runs with one extra held-out file (``eval.heldout_files``), so the same runs also
check that every held-out set is evaluated and stored, and that a resume duplicates none of
their rows.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import sqlite3
import time
from pathlib import Path

import pytest

from closedloop.loop.presets import SHORT

from .conftest import cli, cli_popen, row_counts

pytestmark = pytest.mark.slow  # whole runs of the loop: `pytest -m "not slow"` leaves them out
EXTRA_SET = "extra_grammar"
EXTRA_TASKS = 3


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from closedloop.loop.domain import grammar_task
    from closedloop.loop.grammar import sample_tasks
    from closedloop.tasks.format import write_tasks

    root = tmp_path_factory.mktemp("cfg")
    # Seed far from the run's own draws (corpus seed 0, pool 7919, eval test 11).
    gts = sample_tasks(EXTRA_TASKS, seed=424_242)
    extra = root / f"{EXTRA_SET}.jsonl"
    write_tasks([grammar_task(g, f"extra/{i}", "Write f.") for i, g in enumerate(gts)], extra)
    p = root / "short.toml"
    assert "[eval]\n" in SHORT  # the extra file joins the preset's own [eval] table
    p.write_text(SHORT.replace("[eval]\n", f"[eval]\nheldout_files = [{str(extra)!r}]\n"))
    return p


@pytest.fixture(scope="module")
def reference(config: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    run_dir = tmp_path_factory.mktemp("runs") / "ref"
    res = cli("run", str(config), "--run-dir", str(run_dir))
    assert res.returncode == 0, res.stderr[-3000:]
    (run_dir.parent / "stderr.txt").write_text(res.stderr)
    return run_dir


def test_a_log_file_says_what_is_running_as_each_phase_starts(reference: Path):
    # on a console that is no terminal rich shows its bars only when they end: the cold
    # start's evaluation (minutes on the main job) printed nothing while it ran
    err = (reference.parent / "stderr.txt").read_text().splitlines()
    starts = [x for x in err if x.endswith(" ...")]
    assert starts[:3] == [
        "  cold start: build ...",
        "  cold start: SFT ...",
        "  cold start: held-out eval ...",
    ]
    assert "  iter 1: generate ..." in starts


def test_each_iteration_prints_one_whole_summary_line(reference: Path):
    # captured output is an 80-column console: the line must not wrap there
    err = (reference.parent / "stderr.txt").read_text()
    lines = [x for x in err.splitlines() if x.startswith("iter ")]
    assert len(lines) == 2 and all(re.search(r"\| KL \S+ \| [\d.]+s$", x) for x in lines), lines
    # after the table, the greedy-program variety of the cold start and the final policy
    assert re.search(r"^greedy programs on rg_list_functions: cold start \d+ distinct", err, re.M)
    assert re.search(
        r"^gate: final vs cold start on rg_list_functions: won \d+, lost \d+ of 6", err, re.M
    )


def test_short_preset_writes_the_run_directory_contract(reference: Path):
    for label in ("cold_start", "iter_001", "iter_002", "final", "control"):
        assert (reference / "policies" / label / "config.json").is_file(), label
    summary = json.loads((reference / "summary.json").read_text())
    assert summary["heldout_set"] == "rg_list_functions" and summary["iterations"] == 2
    for label in ("cold_start", "control", "final"):
        entry = summary["policies"][label]
        assert entry["n_tasks"] == 6 and 0.0 <= entry["pass@1"] <= 1.0
    lines = (reference / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(x)["iteration"] for x in lines] == [0, 1, 2]
    for line in lines:  # each held-out evaluation logs the variety of its greedy programs
        m = json.loads(line)
        assert ("heldout_distinct_programs" in m) == ("heldout_pass@1" in m)
        if "heldout_pass@1" in m:
            assert 1 <= m["heldout_distinct_programs"] <= 6
            assert 1 / 6 <= m["heldout_top_program_share"] <= 1
    for line in lines[1:]:  # each iteration logs its attempt groups' outcome shares
        m = json.loads(line)
        assert 0 <= m["solved_group_share"] <= 1 and 0 <= m["learnable_share"] <= 1
        assert m["solved_group_share"] + m["learnable_share"] <= 1
    assert summary["stopped_early"] is False and isinstance(summary["alarms"], list)
    gate = summary["gate"]  # the final policy against the cold start, task by task
    assert (gate["candidate"], gate["baseline"], gate["n_tasks"]) == ("final", "cold_start", 6)
    assert gate["decision"] in ("promote", "reject") and gate["wins"] + gate["losses"] <= 6
    assert gate["candidate_score"] == summary["policies"]["final"]["pass@1"]
    assert gate["baseline_score"] == summary["policies"]["cold_start"]["pass@1"]
    counts = row_counts(reference)
    assert (
        counts["proposals"] == 2 * 3
        and counts["attempts"] == 2 * 3 * 2
        and counts["iterations"] == 3
    )
    assert (reference / "config.toml").is_file() and any((reference / "tb").iterdir())
    report = (reference / "report.html").read_text()  # written by the run as it finishes
    assert report.count("<svg") >= 4 and "control" in report


def test_report_command_writes_where_asked_and_names_a_non_run(reference: Path, tmp_path: Path):
    out = tmp_path / "r.html"
    res = cli("report", str(reference), "-o", str(out))
    assert res.returncode == 0 and res.stdout.strip() == str(out), res.stderr[-2000:]
    assert out.read_text().count("<svg") >= 4
    res = cli("report", str(tmp_path))
    assert res.returncode == 2 and "no metrics.jsonl" in res.stderr


def test_every_heldout_set_is_evaluated_and_stored(reference: Path):
    summary = json.loads((reference / "summary.json").read_text())
    sets = summary["heldout_sets"]
    assert list(sets) == ["rg_list_functions", EXTRA_SET]
    assert sets["rg_list_functions"] == summary["policies"]  # the primary set, unchanged
    for label in ("cold_start", "control", "final"):
        entry = sets[EXTRA_SET][label]
        assert entry["n_tasks"] == EXTRA_TASKS and 0.0 <= entry["pass@1"] <= 1.0
    db = sqlite3.connect(str(reference / "run.sqlite"))
    try:
        rows = db.execute("SELECT heldout, policy, iteration, n_tasks FROM evals").fetchall()
    finally:
        db.close()
    # cold start, iteration 2 (the last; eval.every is 3), final and control, once per set
    keys = {("cold_start", 0), ("iter_002", 2), ("final", 2), ("control", 2)}
    assert sorted(rows) == sorted(
        [("rg_list_functions", lbl, it, 6) for lbl, it in keys]
        + [(EXTRA_SET, lbl, it, EXTRA_TASKS) for lbl, it in keys]
    )
    metrics = [json.loads(x) for x in (reference / "metrics.jsonl").read_text().splitlines()]
    extra_key = f"heldout_pass@1/{EXTRA_SET}"
    assert [extra_key in m for m in metrics] == [True, False, True]
    assert [("heldout_pass@1" in m) for m in metrics] == [True, False, True]
    assert metrics[2][extra_key] == sets[EXTRA_SET]["final"]["pass@1"]


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
    # The resumed run continued the same algorithm (the optimizer's moments restored, the KL
    # reference still the cold start, every phase seeded by its iteration): iteration 2, trained
    # after the resume, ends with the weights of the run that was never interrupted.
    for label in ("iter_001", "iter_002", "final"):
        assert _weights(run_dir, label) == _weights(reference, label), label


def _snapshot(run_dir: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(run_dir)): p.read_bytes()
        for p in sorted(run_dir.rglob("*"))
        if p.is_file() and not p.name.startswith("run.sqlite")  # the store and its -wal, -shm
    }


@pytest.mark.parametrize("damage", ["empty", "deleted", "older"])
def test_resume_from_a_lost_store_is_refused_and_deletes_nothing(
    reference: Path, tmp_path: Path, damage: str
):
    # An empty or missing run.sqlite once read as "nothing committed": the resume deleted
    # every policy and emptied metrics.jsonl, then ran the whole run again over them.
    run_dir = tmp_path / "run"
    shutil.copytree(reference, run_dir)
    store = run_dir / "run.sqlite"
    if damage == "empty":
        store.write_bytes(b"")
    elif damage == "deleted":
        store.unlink()
    else:  # a copy taken after the cold start, put back over the finished run's
        with sqlite3.connect(store) as db:
            db.execute("DELETE FROM iterations WHERE iteration > 0")
    before = _snapshot(run_dir)
    res = cli("run", "--resume", str(run_dir))
    assert res.returncode == 2, res.stderr[-2000:]
    last = res.stderr.strip().splitlines()[-1]
    assert "the store was lost or replaced" in last and "nothing was changed" in last, last
    after = _snapshot(run_dir)
    assert after.keys() == before.keys()
    assert [k for k in before if before[k] != after[k]] == []
    assert store.exists() == (damage != "deleted")
    if damage == "empty":  # opening it would have written a schema into it
        assert store.stat().st_size == 0


@pytest.mark.parametrize(
    "damage, why",
    [
        ("weights", "iter_002: cannot be loaded (OSError: "),
        ("trainer_state", "trainer_state.pt: cannot be loaded (RuntimeError: "),
        ("half_weights", "iter_002: cannot be loaded (SafetensorError: "),
    ],
)
def test_resume_names_a_damaged_policy_in_one_line_and_changes_nothing(
    reference: Path, tmp_path: Path, damage: str, why: str
):
    run_dir = tmp_path / "run"
    shutil.copytree(reference, run_dir)
    last = run_dir / "policies" / "iter_002"
    if damage == "weights":
        (last / "model.safetensors").unlink()
    elif damage == "half_weights":  # a copy cut short: safetensors' own error, not an OSError
        weights = last / "model.safetensors"
        weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    else:
        state = last / "trainer_state.pt"
        state.write_bytes(state.read_bytes()[:100])
    before = _snapshot(run_dir)
    res = cli("run", "--resume", str(run_dir))
    assert res.returncode == 2, res.stderr[-2000:]
    assert "Traceback" not in res.stderr
    assert why in res.stderr.strip().splitlines()[-1]
    after = _snapshot(run_dir)
    assert [k for k in before if before[k] != after.get(k)] == []


def test_resume_with_more_iterations_extends_the_run(reference: Path, tmp_path: Path):
    # "--resume DIR --iterations 3" on a finished 2-iteration run once ended at 2, exit 0
    import tomllib

    run_dir = tmp_path / "run"
    shutil.copytree(reference, run_dir)
    fewer = cli("run", "--resume", str(run_dir), "--iterations", "1")
    assert fewer.returncode == 2 and "can extend a run, not shorten it" in fewer.stderr
    res = cli("run", "--resume", str(run_dir), "--iterations", "3")
    assert res.returncode == 0, res.stderr[-3000:]
    lines = (run_dir / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(x)["iteration"] for x in lines] == [0, 1, 2, 3]
    assert tomllib.loads((run_dir / "config.toml").read_text())["iterations"] == 3
    assert json.loads((run_dir / "summary.json").read_text())["iterations"] == 3
    # iterations 1 and 2 are the ones the run had: nothing before the extension changed
    for label in ("iter_001", "iter_002"):
        assert _weights(run_dir, label) == _weights(reference, label), label
    # and the control is matched to all three iterations' updates (it was kept, matched to
    # two, and the extended final model compared with it): this run's updates had no signal,
    # so the test says the control it kept was matched to other steps, and it is made again
    from closedloop.loop.runner import CONTROL_EVAL_EVENT, CONTROL_STEPS
    from closedloop.loop.store import RunStore

    def made(d: Path) -> list[object]:
        return [
            e.get(CONTROL_STEPS) for _, e in RunStore(d / "run.sqlite").events(CONTROL_EVAL_EVENT)
        ]

    steps = sum(json.loads(x).get("optimizer_steps", 0) for x in lines)
    assert made(run_dir) == [steps]  # the same steps after the extension: kept
    RunStore(run_dir / "run.sqlite").add_event(3, CONTROL_EVAL_EVENT, {CONTROL_STEPS: steps + 5})
    res = cli("run", "--resume", str(run_dir), "--iterations", "4")
    assert res.returncode == 0, res.stderr[-3000:]
    steps = sum(
        json.loads(x).get("optimizer_steps", 0)
        for x in (run_dir / "metrics.jsonl").read_text().splitlines()
    )
    assert made(run_dir) == [steps, steps + 5, steps]


def _weights(run_dir: Path, label: str) -> dict[str, bytes]:
    from safetensors.torch import load_file

    tensors = load_file(str(run_dir / "policies" / label / "model.safetensors"))
    return {k: v.numpy().tobytes() for k, v in tensors.items()}


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
    assert 1 <= out["distinct_programs"] <= 8 and 1 / 8 <= out["top_program_share"] <= 1


def test_gate_rejects_a_policy_against_itself_and_names_bad_input(reference: Path, tmp_path: Path):
    from closedloop.loop.domain import grammar_task
    from closedloop.loop.grammar import sample_tasks
    from closedloop.tasks.format import write_tasks

    tasks = [grammar_task(g, f"g{i}", "Write f.") for i, g in enumerate(sample_tasks(4, seed=11))]
    path = tmp_path / "tasks.jsonl"
    write_tasks(tasks, path)
    final = str(reference / "policies" / "final")
    args = ["gate", "--candidate", final, "--tasks", str(path), "--max-new-tokens", "16"]
    res = cli(*args, "--baseline", final, "--json")
    # greedy twice: the same programs, so every task is a tie and nothing supports promotion
    assert res.returncode == 1, res.stderr[-2000:]
    out = json.loads(res.stdout)
    assert out["decision"] == "reject" and out["n_tasks"] == 4
    assert (out["wins"], out["losses"], out["p_value"]) == (0, 0, 1.0)
    assert out["candidate_score"] == out["baseline_score"]
    res = cli(*args, "--baseline", str(tmp_path / "nowhere"))
    assert res.returncode == 2 and "--baseline" in res.stderr and "nowhere" in res.stderr


def _forced_alarm(config: Path, tmp_path: Path, action: str, every: int) -> Path:
    """The preset for 3 iterations, evaluated every ``every``, acting on alarms with ``action``.
    A variety ratio of 10 raises the collapse alarm at the first evaluation after the cold start
    whatever the model writes (at most 6 programs on 6 tasks, at least one at the cold start)."""
    cfg = tmp_path / f"{action}.toml"
    text = config.read_text().replace("iterations = 2", "iterations = 3")
    text = text.replace("[eval]\n", f"[eval]\nevery = {every}\n")
    cfg.write_text(text + f'[monitor]\non_alarm = "{action}"\ncollapse_min_variety_ratio = 10.0\n')
    return cfg


def test_an_alarm_with_on_alarm_stop_ends_self_play_and_resume_keeps_it_ended(
    config: Path, tmp_path: Path
):
    run_dir = tmp_path / "stopped"
    res = cli(
        "run", str(_forced_alarm(config, tmp_path, "stop", every=1)), "--run-dir", str(run_dir)
    )
    assert res.returncode == 0, res.stderr[-3000:]
    assert "ALARM collapse after iteration 1" in res.stderr
    assert "alarms: collapse after iteration 1" in res.stderr  # the run's last line
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["stopped_early"] is True and summary["iterations"] == 1
    assert [(a["kind"], a["iteration"]) for a in summary["alarms"]] == [("collapse", 1)]
    assert {"final", "control"} <= set(summary["policies"])
    rows = [json.loads(x) for x in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert [r["iteration"] for r in rows] == [0, 1] and rows[1]["alarm_collapse"] == 1.0
    res = cli("run", "--resume", str(run_dir))
    assert res.returncode == 0, res.stderr[-3000:]
    assert "stopped early after iteration 1" in res.stderr
    assert row_counts(run_dir)["iterations"] == 2


def test_rollback_makes_the_last_policy_evaluated_before_the_alarm_final(
    config: Path, tmp_path: Path
):
    # every = 2: iteration 1 is not evaluated, iteration 2 raises the (forced) collapse alarm,
    # so the newest policy evaluated before it is the cold start
    run_dir = tmp_path / "rolled"
    cfg = _forced_alarm(config, tmp_path, "rollback", every=2)
    res = cli("run", str(cfg), "--run-dir", str(run_dir))
    assert res.returncode == 0, res.stderr[-3000:]
    err = " ".join(res.stderr.split())
    assert "self-play stops after iteration 2; the final policy is cold_start" in err
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["rolled_back_to"] == "cold_start" and summary["iterations"] == 2
    pol = summary["policies"]
    assert pol["final"] == pol["cold_start"] and summary["gate"] is None
    from safetensors.torch import load_file

    cold, final = (
        load_file(run_dir / "policies" / p / "model.safetensors") for p in ("cold_start", "final")
    )
    assert sorted(cold) == sorted(final) and all((cold[k] == final[k]).all() for k in cold)
    # the control is matched to the final policy's updates: none
    assert "control: held-out eval 0 steps" in err
