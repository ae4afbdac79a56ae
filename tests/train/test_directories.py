"""Directories written whole (closedloop.train.directories): the old one or the new one."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from closedloop.train.directories import replace_dir, restore_aside


def _dir(path: Path, text: str) -> Path:
    path.mkdir()
    (path / "model.safetensors").write_text(text)
    return path


def test_the_new_directory_takes_the_old_ones_place_and_nothing_is_left(tmp_path) -> None:
    final = _dir(tmp_path / "policy", "old")
    replace_dir(_dir(tmp_path / "policy.tmp", "new"), final)
    assert (final / "model.safetensors").read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["policy"]
    replace_dir(_dir(tmp_path / "other.tmp", "first"), tmp_path / "other")  # no old one
    assert (tmp_path / "other" / "model.safetensors").read_text() == "first"


def test_a_failed_second_rename_puts_the_old_directory_back(tmp_path, monkeypatch) -> None:
    final = _dir(tmp_path / "policy", "old")
    staged = _dir(tmp_path / "policy.tmp", "new")
    real, calls = os.rename, []

    def rename(src, dst):  # noqa: ANN001, ANN202
        calls.append(src)
        if len(calls) == 2:
            raise OSError("disk gone")
        return real(src, dst)

    monkeypatch.setattr(os, "rename", rename)
    with pytest.raises(OSError, match="disk gone"):
        replace_dir(staged, final)
    assert (final / "model.safetensors").read_text() == "old"


def test_after_a_crash_between_the_renames_the_old_directory_is_put_back(tmp_path) -> None:
    # the old directory was renamed aside and the process died before the new one moved in
    aside = _dir(tmp_path / ".iter_003.old-abc123", "old")
    # and one whose replacement did move in: only the removal was cut short
    _dir(tmp_path / "iter_002", "new")
    done = _dir(tmp_path / ".iter_002.old-def456", "older")
    assert restore_aside(tmp_path) == [tmp_path / "iter_003"]
    assert (tmp_path / "iter_003" / "model.safetensors").read_text() == "old"
    assert not aside.exists() and not done.exists()
    assert (tmp_path / "iter_002" / "model.safetensors").read_text() == "new"
