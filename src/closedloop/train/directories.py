"""Directories written whole: a model, a checkpoint or a run's policy either is the old one or
the new one, never half of either.

The writer fills a staging directory beside the target, then :func:`replace_dir` renames the
target aside, renames the staging directory into its place, and only then removes the old one.
Removing the old directory first (as the writers did before) left half of it, or nothing, when
a crash came during the removal. Stdlib only: the run directory's code imports it without torch.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

ASIDE = ".old-"
"""What an old directory is renamed to, after its own name and a dot: ``.NAME.old-XXXX``."""


def replace_dir(staged: Path, final: Path) -> None:
    """Put directory ``staged`` where ``final`` is (both on one file system). Between the two
    renames ``final`` is absent; a crash in that instant leaves the old directory whole as
    ``.NAME.old-*`` beside it, which :func:`restore_aside` puts back. If the second rename
    fails, the old directory is put back and the error raised."""
    if not final.exists():
        os.rename(staged, final)
        return
    old = Path(tempfile.mkdtemp(prefix=f".{final.name}{ASIDE}", dir=final.parent))
    old.rmdir()  # only the unique name is wanted: rename needs the target absent
    os.rename(final, old)
    try:
        os.rename(staged, final)
    except OSError:
        os.rename(old, final)
        raise
    shutil.rmtree(old, ignore_errors=True)


def restore_aside(parent: Path) -> list[Path]:
    """After a crash: put back each old directory :func:`replace_dir` left renamed aside in
    ``parent`` whose target is absent, and remove the others (their replacement is in place).
    Returns the directories put back."""
    restored = []
    if not parent.is_dir():
        return restored
    for entry in parent.iterdir():
        name = entry.name
        if not (name.startswith(".") and ASIDE in name and entry.is_dir()):
            continue
        final = parent / name[1 : name.rindex(ASIDE)]
        if final.exists():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            os.rename(entry, final)
            restored.append(final)
    return restored
