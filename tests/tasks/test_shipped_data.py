"""The benchmark sets ship inside the package, unmodified and licensed, and nothing in the
tests or benchmarks reads data from outside the repository (a fresh clone runs every test)."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

from closedloop import data

REPO = Path(__file__).resolve().parents[2]

# file -> (sha256 as shipped, the licence files that must sit beside it)
SHIPPED = {
    data.MBPP: (
        "0b5e07b5b40fedd01c57b7c9177b79f8b2eebd72c304c928605d91a7237d2f33",
        ["LICENSE"],
    ),
    data.MBPP_SANITIZED: (
        "ca95deaa9a01ef0a6f439f88bcf0dd3db3563d22f22aad6cae04ebb9a8d8c8e9",
        ["LICENSE"],
    ),
    data.MBPP_PLUS: (
        "af43697e8791c4c149bdfd6b489d8b5412507551ac20e28a439f650b8225db63",
        ["LICENSE.mbppplus_release"],
    ),
    data.HUMANEVAL_PLUS_MINI: (
        "91486741f1627101021fbe50523df08eebb5b0bf5e804b633dcd5ca3c14dbd2f",
        ["LICENSE.humanevalplus_release", "LICENSE.humaneval"],
    ),
}


@pytest.mark.parametrize("path", list(SHIPPED), ids=lambda p: p.name)
def test_each_shipped_set_is_the_file_its_origin_note_names(path: Path) -> None:
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    assert digest == SHIPPED[path][0]
    note = (data.DATA_DIR / "README.md").read_text()
    assert f"{digest}  {path.relative_to(data.DATA_DIR)}" in note


@pytest.mark.parametrize("path", list(SHIPPED), ids=lambda p: p.name)
def test_each_shipped_set_has_its_licence_beside_it(path: Path) -> None:
    for name in SHIPPED[path][1]:
        assert (path.parent / name).stat().st_size > 1000, name


def test_no_test_or_benchmark_reads_data_from_outside_the_repository() -> None:
    # the old layout read a data folder beside the clone, and skipped when it was absent
    outside = re.compile(r"""["']shared["']\s*/|\.\./shared""")
    offenders = [
        f"{p.relative_to(REPO)}:{i}"
        for folder in ("tests", "benchmarks", "src")
        for p in sorted((REPO / folder).rglob("*.py"))
        for i, line in enumerate(p.read_text().splitlines(), 1)
        if outside.search(line)
    ]
    assert offenders == []
