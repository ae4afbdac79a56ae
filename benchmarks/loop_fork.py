"""Fork a finished run after its cold start, with config overrides, so update variants start
from one cold start (the table of update variants in docs/loop.md comes from such forks).

    python benchmarks/loop_fork.py SRC_RUN DST_RUN train.hindsight=false control=false
    closedloop run --resume DST_RUN

Copies ``policies/cold_start/``, ``heldout/`` and ``run.sqlite`` (through SQLite's backup API, so
iterations still in a killed run's write-ahead log come along), rolls the store back to iteration 0 (the
cold start's rows, its held-out scores and metrics stay), and writes ``config.toml`` = SRC's
config with the overrides (values are TOML literals: ``false``, ``0.3``, ``"grpo"``). The
cold start is not rerun on resume: its weights and scores are the source run's.
"""

from __future__ import annotations

import argparse
import shutil
import sqlite3
import tomllib
from pathlib import Path
from typing import Any

from closedloop.loop.config import dump_config, load_config
from closedloop.loop.store import RunStore


def fork(src: Path, dst: Path, overrides: dict[str, Any]) -> None:
    """Copy ``src``'s cold start into the new run directory ``dst`` with ``overrides``."""
    cfg = load_config(src / "config.toml", overrides)
    dst.mkdir(parents=True)  # refuses an existing directory, like closedloop run
    (dst / "policies").mkdir()
    shutil.copytree(src / "policies" / "cold_start", dst / "policies" / "cold_start")
    if (src / "heldout").is_dir():
        shutil.copytree(src / "heldout", dst / "heldout")
    with (
        sqlite3.connect(str(src / "run.sqlite")) as a,
        sqlite3.connect(str(dst / "run.sqlite")) as b,
    ):
        a.backup(b)
    (dst / "config.toml").write_text(dump_config(cfg), encoding="utf-8")
    store = RunStore(dst / "run.sqlite")
    try:
        store.rollback_after(0)
    finally:
        store.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("src", type=Path)
    ap.add_argument("dst", type=Path)
    ap.add_argument("overrides", nargs="*", help="dotted.key=TOML_VALUE")
    args = ap.parse_args()
    overrides = {}
    for item in args.overrides:
        key, sep, value = item.partition("=")
        if not sep:
            ap.error(f"override {item!r}: expected dotted.key=value")
        overrides[key] = tomllib.loads(f"v = {value}")["v"]
    fork(args.src, args.dst, overrides)
    print(f"forked {args.src} -> {args.dst} after its cold start, overrides {overrides}")


if __name__ == "__main__":
    main()
