"""One process runs a run at a time: two ``--resume`` of one run both trained its next
iteration, and the second was told its healthy store was damaged."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from closedloop.loop.config import RunConfig
from closedloop.loop.rundir import RunDir, RunDirError, lock_run_dir
from closedloop.loop.runner import LoopRunner


def test_a_run_directory_is_locked_while_a_process_runs_it(tmp_path: Path):
    fd = lock_run_dir(tmp_path)
    try:
        with pytest.raises(RunDirError, match="another closedloop process is running this run"):
            lock_run_dir(tmp_path)
        # the runner takes the lock before it opens the store or loads a model
        with pytest.raises(RunDirError, match="another closedloop process"):
            LoopRunner(RunConfig(), RunDir(tmp_path)).run()
        assert list(tmp_path.iterdir()) == []
    finally:
        os.close(fd)
    os.close(lock_run_dir(tmp_path))  # released: the next one takes it


def test_the_lock_goes_with_the_process_however_it_ends(tmp_path: Path):
    code = textwrap.dedent(f"""
        import os
        from closedloop.loop.rundir import lock_run_dir
        lock_run_dir({str(tmp_path)!r})
        os._exit(9)
    """)
    r = subprocess.run([sys.executable, "-c", code], timeout=60)
    assert r.returncode == 9
    os.close(lock_run_dir(tmp_path))


def test_the_cli_refuses_a_second_run_of_a_run_in_one_line(tmp_path: Path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.toml").write_text('name = "x"\n')
    (run / "run.sqlite").write_bytes(b"")
    fd = lock_run_dir(run)
    try:
        r = subprocess.run(
            [sys.executable, "-m", "closedloop.cli", "run", "--resume", str(run)],
            capture_output=True,
            text=True,
            timeout=300,
        )
    finally:
        os.close(fd)
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 2, r.stderr
    assert lines[-1].startswith("closedloop: error: ") and "another closedloop process" in lines[-1]


def test_a_refused_resume_changes_nothing_in_the_run(tmp_path: Path):
    # the lock was taken in run(), after --iterations had rewritten the running run's config
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.toml").write_text("iterations = 4\n")
    fd = lock_run_dir(run)
    try:
        with pytest.raises(RunDirError, match="another closedloop process"):
            LoopRunner.resume(run).extend_to(9)
    finally:
        os.close(fd)
    assert (run / "config.toml").read_text() == "iterations = 4\n"
    runner = LoopRunner.resume(run)  # free again: it takes the lock and keeps it
    with pytest.raises(RunDirError):
        lock_run_dir(run)
    runner.close()  # a runner resumed and not run lets go when closed (or collected)
    again = LoopRunner.resume(run)
    del again
    os.close(lock_run_dir(run))
