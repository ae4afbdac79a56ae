"""The HTML report: what it says about a run, that it escapes what it shows, and that a real
browser renders its plots."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from closedloop.monitor.report import ReportError, build_report, write_report


def _run_dir(root: Path, finished: bool = True) -> Path:
    rows = [
        {
            "iteration": 0,
            "heldout_pass@1": 0.05,
            "heldout_distinct_programs": 40.0,
            "heldout_top_program_share": 0.18,
        },
        {
            "iteration": 1,
            "proposed": 16,
            "accepted": 8,
            "reject_no_solution": 8.0,
            "mean_reward": 0.4,
            "challenger_reward": -0.2,
            "kl_policy": 0.01,
            "t_generate": 2.0,
            "t_attempt": 4.0,
            "t_train": 6.0,
            "t_eval": 0.0,
            "proposal_top_cluster_share": 0.2,
            "audit_agreement": 0.3,
            "alarm_reward_hacking": 1.0,
        },
        {
            "iteration": 2,
            "proposed": 16,
            "accepted": 5,
            "reject_same_behaviour": 11.0,
            "mean_reward": 0.5,
            "challenger_reward": -0.3,
            "kl_policy": 0.02,
            "t_generate": 2.0,
            "t_attempt": 4.0,
            "t_train": 6.0,
            "t_eval": 5.0,
            "heldout_pass@1": 0.02,
            "heldout_distinct_programs": 12.0,
            "heldout_top_program_share": 0.6,
            "alarm_collapse": 1.0,
        },
    ]
    d = root / "run"
    d.mkdir()
    (d / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (d / "config.toml").write_text('name = "emb<b>edded"\niterations = 2\n')
    if finished:
        policies = {
            "cold_start": {"n_tasks": 200, "pass@1": 0.05},
            "final": {"n_tasks": 200, "pass@1": 0.02},
            "control": {"n_tasks": 200, "pass@1": 0.04},
        }
        summary = {
            "heldout_set": "rg",
            "iterations": 2,
            "policies": policies,
            "heldout_sets": {"rg": policies},
            "alarms": [
                {"kind": "reward_hacking", "iteration": 1, "message": "audit <script>x</script>"},
                {"kind": "collapse", "iteration": 2, "message": "12 distinct programs"},
            ],
            "stopped_early": True,
            "gate": {
                "candidate": "final",
                "baseline": "cold_start",
                "n_tasks": 200,
                "wins": 2,
                "losses": 8,
                "p_value": 0.989,
                "alpha": 0.05,
                "decision": "reject",
                "reason": "2 tasks won, 8 lost",
            },
        }
        (d / "summary.json").write_text(json.dumps(summary))
    return d


def test_report_shows_table_gate_alarms_and_one_plot_per_figure(tmp_path: Path):
    text = build_report(_run_dir(tmp_path))
    # held-out, training signal, variety, proposals, time, KL
    assert text.count("<svg") == 6 and "<?xml" not in text
    assert "0.040 <small>(n=200)</small>" in text  # the control's row
    assert 'class="reject"' in text and "won 2, lost 8" in text
    assert "reward_hacking</b> after iteration 1" in text and "stopped early" in text
    # what the run wrote is shown, never executed
    assert "<script>" not in text and "&lt;script&gt;" in text and "emb&lt;b&gt;edded" in text


def _svg_text_report(run_dir: Path) -> str:
    """The report with its plots' text kept as SVG text elements (not glyph paths)."""
    import matplotlib

    with matplotlib.rc_context({"svg.fonttype": "none"}):
        return build_report(run_dir)


def test_iteration_ticks_are_whole_numbers(tmp_path: Path):
    text = _svg_text_report(_run_dir(tmp_path))
    ticks = re.findall(r'<g id="xtick_\d+">.*?<text[^>]*>([^<]*)</text>', text, re.S)
    assert len(ticks) >= 12  # six plots, two or more iterations each
    assert all(re.fullmatch(r"[−-]?\d+", t) for t in ticks), sorted(set(ticks))


def test_alarm_labels_are_horizontal_readable_and_name_the_alarm(tmp_path: Path):
    text = _svg_text_report(_run_dir(tmp_path))
    for label in ("alarm: reward hacking (1)", "alarm: collapse (2)"):
        found = re.findall(
            rf'<text style="font-size: (\d+)px[^>]*rotate\((-?\d+)[^>]*>{re.escape(label)}<', text
        )
        assert len(found) == 6, label  # on every plot
        assert all(int(size) >= 8 and int(angle) == 0 for size, angle in found)


def test_an_alarm_over_consecutive_iterations_is_one_span_with_one_label():
    from closedloop.monitor.report import _alarm_spans

    alarms = {3: ["collapse"], 4: ["collapse"], 5: ["collapse"], 7: ["collapse", "saturation"]}
    assert _alarm_spans(alarms) == [(3, 5, "collapse"), (7, 7, "collapse, saturation")]


def test_a_run_that_sampled_its_evaluations_gets_the_saturation_plot(tmp_path: Path):
    d = _run_dir(tmp_path)
    rows = [json.loads(x) for x in (d / "metrics.jsonl").read_text().splitlines()]
    for row, conf, corr in ((rows[0], 0.4, 0.5), (rows[2], 0.8, 0.1)):
        row.update({"heldout_confidence": conf, "heldout_confidence_correctness": corr})
    (d / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    text = build_report(d)
    assert text.count("<svg") == 7 and "confidence vs correctness" in text


def test_an_unfinished_run_still_gets_its_plots(tmp_path: Path):
    text = build_report(_run_dir(tmp_path, finished=False))
    assert "has not finished" in text and text.count("<svg") == 6
    assert "collapse</b> after iteration 2" in text  # read from metrics.jsonl


def test_names_that_look_like_maths_or_hold_lone_surrogates_are_shown_as_written(
    tmp_path: Path,
):
    # matplotlib read "$...$" in a legend as mathematics (a malformed one ended the report in
    # a ParseFatalException), and a lone surrogate (a JSON escape) ended it in a
    # UnicodeEncodeError, leaving report.html.tmp behind
    d = _run_dir(tmp_path)
    rows = [json.loads(x) for x in (d / "metrics.jsonl").read_text().splitlines()]
    rows[0]["heldout_pass@1/cost$\\x$"] = 0.1
    rows[1]["reject_$x^$"] = 1.0
    rows[2]["reject_x\ud800"] = 2.0
    (d / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    summary = json.loads((d / "summary.json").read_text())
    summary["alarms"][1]["message"] = "x\ud800y"
    (d / "summary.json").write_text(json.dumps(summary))
    out = write_report(d)
    text = out.read_text(encoding="utf-8")
    assert "cost$\\x$" in text and "$x^$" in text and "x\ufffdy" in text
    assert sorted(p.name for p in d.iterdir() if p.name.startswith("report")) == ["report.html"]


def test_what_is_not_a_run_is_named(tmp_path: Path):
    with pytest.raises(ReportError, match="no metrics.jsonl"):
        build_report(tmp_path)
    d = _run_dir(tmp_path)
    (d / "metrics.jsonl").write_text('{"iteration": 0}\n{"iteration": 1,\n')
    with pytest.raises(ReportError, match=r"metrics.jsonl:2: not JSON"):
        build_report(d)


WRONG_SUMMARIES = {
    "a list": ([1, 2], "the top level must be an object, found list"),
    "policies a number": ({"policies": 5}, "'policies' must be an object, found int"),
    "an entry without pass@1": (
        {"policies": {"final": {"n_tasks": 3}}},
        "'policies.final' has no 'pass@1'",
    ),
    "pass@1 a string": (
        {"heldout_sets": {"rg": {"final": {"n_tasks": 3, "pass@1": "high"}}}},
        "'heldout_sets.rg.final.pass@1' must be a number, found str",
    ),
    "alarms an object": ({"alarms": {"kind": "collapse"}}, "'alarms' must be a list"),
    "an alarm without its iteration": (
        {"alarms": [{"kind": "collapse", "message": ""}]},
        "'alarms[0]' has no 'iteration'",
    ),
    "a gate without its decision": ({"gate": {"candidate": "final"}}, "'gate' has no 'decision'"),
}


@pytest.mark.parametrize("summary,why", WRONG_SUMMARIES.values(), ids=list(WRONG_SUMMARIES))
def test_a_summary_of_the_wrong_shape_is_named_with_what_is_wrong(
    tmp_path: Path, summary: object, why: str
):
    d = _run_dir(tmp_path)
    (d / "summary.json").write_text(json.dumps(summary))
    with pytest.raises(ReportError, match=re.escape(f"{d / 'summary.json'}: {why}")):
        build_report(d)


WRONG_ROWS = {
    "a list": ("[0, 1]", "not a metrics row (no 'iteration')"),
    "no iteration": ('{"mean_reward": 0.5}', "not a metrics row (no 'iteration')"),
    "iteration a string": ('{"iteration": "1"}', "'iteration' must be a whole number >= 0"),
    "a metric a string": ('{"iteration": 1, "mean_reward": "x"}', "'mean_reward' must be a number"),
}


@pytest.mark.parametrize("line,why", WRONG_ROWS.values(), ids=list(WRONG_ROWS))
def test_a_metrics_row_of_the_wrong_shape_is_named_with_its_line(
    tmp_path: Path, line: str, why: str
):
    d = _run_dir(tmp_path)
    with (d / "metrics.jsonl").open("a") as fh:
        fh.write(line + "\n")
    with pytest.raises(ReportError, match=re.escape(f"{d / 'metrics.jsonl'}:4: {why}")):
        build_report(d)


def test_a_config_that_is_not_toml_is_named(tmp_path: Path):
    d = _run_dir(tmp_path)
    (d / "config.toml").write_text("name = \n")
    with pytest.raises(ReportError, match=re.escape(f"{d / 'config.toml'}: not TOML")):
        build_report(d)


def test_keys_the_report_does_not_read_are_not_checked(tmp_path: Path):
    d = _run_dir(tmp_path)
    summary = json.loads((d / "summary.json").read_text())
    summary.update(heldout_files=5, probe=[1])
    summary["alarms"][0]["figures"] = "anything"
    (d / "summary.json").write_text(json.dumps(summary))
    assert "won 2, lost 8" in build_report(d)


def _chromium() -> str:
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        if os.environ.get("CI"):
            pytest.fail("CI must install Chromium (.ci/run does) to render the report")
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    return exe


def test_a_real_browser_renders_the_report(tmp_path: Path):
    exe = _chromium()
    path = write_report(_run_dir(tmp_path))
    flags = [
        exe,
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        f"--user-data-dir={tmp_path / 'p'}",
    ]
    dom = subprocess.run(
        [*flags, "--dump-dom", path.as_uri()], capture_output=True, text=True, timeout=120
    )
    assert dom.returncode == 0, dom.stderr[-2000:]
    # the browser parsed the page into six inline SVG plots with their drawn paths
    assert dom.stdout.count("<svg") == 6 and dom.stdout.count("<path") > 50
    assert "closedloop run emb&lt;b&gt;edded" in dom.stdout
    shot = tmp_path / "report.png"
    res = subprocess.run(
        [
            *flags,
            "--hide-scrollbars",
            "--window-size=1400,2000",
            f"--screenshot={shot}",
            path.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert res.returncode == 0 and shot.stat().st_size > 50_000, res.stderr[-2000:]


def test_report_writes_over_a_report_and_nothing_else(tmp_path: Path):
    # `report RUN -o RUN/run.sqlite` once replaced the run's store with HTML, and the fixed
    # temporary name deleted a user's own `NAME.tmp`
    from typer.testing import CliRunner

    from closedloop.cli import app

    d = _run_dir(tmp_path)
    store = tmp_path / "store.sqlite"
    store.write_bytes(b"SQLite format 3\x00" + bytes(100))
    r = CliRunner().invoke(app, ["report", str(d), "-o", str(store)])
    assert r.exit_code == 2 and "is not an HTML report" in r.stderr
    assert store.read_bytes() == b"SQLite format 3\x00" + bytes(100)
    old = tmp_path / "old.html"
    old.write_text("<!DOCTYPE html><html>an earlier report</html>")
    mine = tmp_path / "old.html.tmp"
    mine.write_text("the user's own file")
    r = CliRunner().invoke(app, ["report", str(d), "-o", str(old)])
    assert r.exit_code == 0, r.output
    assert "closedloop report" in old.read_text() and mine.read_text() == "the user's own file"
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_the_report_is_readable_as_the_umask_allows(tmp_path: Path):
    # written through mkstemp (0600) and renamed, a report made to share was the owner's only
    d = _run_dir(tmp_path)
    old = os.umask(0o027)
    try:
        mode = write_report(d).stat().st_mode & 0o777
    finally:
        os.umask(old)
    assert mode == 0o640


def test_an_unfinished_last_line_is_left_out_with_a_warning(tmp_path: Path):
    # a run being written, or one stopped mid-append, left a partial last row: the whole
    # report was refused ("metrics.jsonl:7: not JSON")
    d = _run_dir(tmp_path)
    metrics = d / "metrics.jsonl"
    whole = metrics.read_text()
    n = len(whole.splitlines())
    from closedloop.monitor.run_files import read_run

    before = read_run(d).rows
    metrics.write_text(whole + '{"iteration": 9, "mean_rew')
    said: list[str] = []
    assert "<svg" in build_report(d, said.append) and read_run(d).rows == before
    assert said == [f"{metrics}:{n + 1}: an unfinished last line, left out"]
    # a broken line that is not the last, or a last one that ends its line, is still refused
    metrics.write_text(whole + '{"iteration": 9, "mean_rew\n')
    with pytest.raises(ReportError, match=f"metrics.jsonl:{n + 1}: not JSON"):
        build_report(d)


def test_the_iterations_a_metrics_file_records_skip_what_no_int_is(tmp_path: Path):
    # {"iteration": 1e999} is infinity to json: int() of it made run --resume a traceback
    from closedloop.monitor.metrics import metric_iterations

    f = tmp_path / "metrics.jsonl"
    f.write_text(
        '{"iteration": 0}\n{"iteration": 1e999}\n{"iteration": NaN}\n{"iteration": 2.0}\n'
        '{"iteration": true}\nnot json\n{"iteration": 3}\n'
    )
    assert metric_iterations(f) == [0, 2, 3]
