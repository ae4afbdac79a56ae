"""Argument checks the commands run before they load or create anything.

Every command answers bad input with one line, ``closedloop: error: <what> <why>``, and exit
code 2 (:data:`EXIT_USAGE`), before it loads a model, starts a sandbox or creates a file:
a typo costs no waiting and leaves nothing half-made behind. The checks look at what the
arguments are (a number's range, a file's existence, encoding and shape); whether a model's
weights load is only known by loading them, which the commands do next, inside a handler
that also answers in one line.

Must never: import torch or transformers (``closedloop verify`` and ``--help`` start fast),
or write anything.
"""

from __future__ import annotations

import json
import math
import re
import sqlite3
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

import typer

from closedloop.sandbox.limits import MAX_SLOTS, MAX_WALL_S

EXIT_USAGE = 2
"""Exit code for bad input (as click uses for usage errors)."""

SQLITE_MAGIC = b"SQLite format 3\x00"
"""The first 16 bytes of every SQLite database file."""

# config.json fields that size a model: when present they must be positive integers
_SHAPE_FIELDS = (
    "vocab_size",
    "hidden_size",
    "intermediate_size",
    "num_hidden_layers",
    "num_attention_heads",
    "num_key_value_heads",
    "max_position_embeddings",
)
_TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "vocab.json", "tokenizer.model")
_WEIGHT_FILES = (
    "model.safetensors",
    "model.safetensors.index.json",
    "pytorch_model.bin",
    "pytorch_model.bin.index.json",
)


def fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    """Print ``closedloop: error: message`` on standard error and exit with ``code``."""
    from closedloop.verify.text import terminal_text  # a message may quote a file's text

    typer.echo(f"closedloop: error: {terminal_text(message, keep='')}", err=True)
    raise typer.Exit(code)


# -- numbers ------------------------------------------------------------------------------


def _not_finite(value: float) -> bool:
    # an int is finite however large (math.isfinite would overflow converting it)
    return isinstance(value, float) and not math.isfinite(value)


def at_least(
    option: str, value: float | None, minimum: float, maximum: float | None = None
) -> None:
    """``value`` (when given) is a finite number at least ``minimum`` (and at most
    ``maximum``)."""
    if value is None:
        return
    if _not_finite(value):
        fail(f"{option} {value}: must be a finite number")
    if not value >= minimum:
        fail(f"{option} {value}: must be at least {minimum}")
    if maximum is not None and value > maximum:
        fail(f"{option} {value}: must be at most {maximum}")


def positive(option: str, value: float | None) -> None:
    """``value`` (when given) is a finite number above 0 (a NaN or infinity is not)."""
    if value is None:
        return
    if _not_finite(value):
        fail(f"{option} {value}: must be a finite number above 0")
    if not value > 0:
        fail(f"{option} {value}: must be above 0")


def seconds(option: str, value: float | None) -> None:
    """``value`` (when given) is a wall-clock limit: above 0 and at most a day."""
    positive(option, value)
    if value is not None and value > MAX_WALL_S:
        fail(f"{option} {value}: must be at most {MAX_WALL_S:g} seconds (a day)")


def workers(option: str, value: int | None) -> None:
    """``value`` (when given) is a number of sandbox slots: 1 to :data:`MAX_SLOTS`."""
    at_least(option, value, 1, MAX_SLOTS)


def seed(option: str, value: int | None) -> None:
    """``value`` (when given) is a seed torch takes: a 64-bit signed integer (the run
    config's own bound, :data:`closedloop.loop.config.SEED_RANGE`)."""
    from closedloop.loop.config import SEED_RANGE  # pydantic only, no torch: see pretrain_cmd

    if value is not None and not SEED_RANGE[0] <= value <= SEED_RANGE[1]:
        fail(f"{option} {value}: must be a 64-bit integer (-2**63 to 2**63 - 1)")


def finite(option: str, value: float | None) -> None:
    """``value`` (when given) is a finite number (no NaN or infinity)."""
    if value is not None and _not_finite(value):
        fail(f"{option} {value}: must be a finite number")


def fraction(option: str, value: float, *, open_low: bool = False, open_high: bool = False) -> None:
    """``value`` lies in [0, 1] (``open_low``: above 0; ``open_high``: below 1)."""
    low_ok = value > 0 if open_low else value >= 0
    high_ok = value < 1 if open_high else value <= 1
    if not (low_ok and high_ok):
        span = f"{'(' if open_low else '['}0, 1{')' if open_high else ']'}"
        fail(f"{option} {value}: must be in {span}")


# -- files --------------------------------------------------------------------------------
def utf8_path(option: str, path: Path) -> None:
    """``path`` can be written as UTF-8 (a run's files record it, and TensorBoard's writer
    refuses one holding bytes that are not UTF-8)."""
    try:
        str(path).encode("utf-8")
    except UnicodeEncodeError as e:
        shown = str(path).encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
        fail(f"{option} {shown}: not UTF-8 (byte {e.start}); choose a name in UTF-8")


def input_file(option: str, path: Path) -> None:
    """``path`` is an existing, readable regular file."""
    if not path.exists():
        fail(f"{option} {path}: no such file")
    if not path.is_file():
        fail(f"{option} {path}: not a file")
    try:
        with open(path, "rb"):
            pass
    except OSError as e:
        fail(f"{option} {path}: cannot read ({e.strerror})")


def text_file(option: str, path: Path) -> str:
    """The text of ``path``, which must be a readable UTF-8 file."""
    input_file(option, path)
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        fail(f"{option} {path}: not UTF-8 text (byte {e.start}); is it the right file?")
    except OSError as e:
        fail(f"{option} {path}: cannot read ({e.strerror})")


def toml_file(option: str, path: Path) -> dict[str, Any]:
    """The table of a TOML file."""
    text = text_file(option, path)
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        fail(f"{option} {path}: not valid TOML ({e})")


def json_object_file(option: str, path: Path) -> dict[str, Any]:
    """The object of a JSON file whose top level must be an object."""
    text = text_file(option, path)
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as e:
        fail(f"{option} {path}: not JSON ({e.msg} at line {e.lineno})")
    if not isinstance(obj, dict):
        fail(f"{option} {path}: expected a JSON object, found {type(obj).__name__}")
    return obj


def output_file(option: str, path: Path, inputs: Sequence[tuple[str, Path]] = ()) -> None:
    """``path`` can be written: its folder exists, it is not itself a folder, and it is none of
    the command's ``inputs`` ((what it is, path) pairs; a link or another spelling of one
    counts): the
    output is opened for writing before the inputs are read, so ``-o`` naming an input
    emptied it."""
    if path.is_dir():
        fail(f"{option} {path}: is a directory; give a file name")
    parent = path.parent
    if not parent.is_dir():
        fail(f"{option} {path}: no such directory {parent} (create it first)")
    for name, given in inputs:
        if _same_file(path, given):
            fail(f"{option} {path}: is the {name} file; give another file name")


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.samefile(b)
    except OSError:  # one of them does not exist (yet): compare where they would be
        return a.resolve() == b.resolve()


def _json_array_of_objects(path: Path, limit: int = 64 << 20) -> bool:
    """Whether ``path`` is one JSON array of objects (tasks pretty-printed as a list)."""
    import json

    try:
        if path.stat().st_size > limit:
            return False
        value = json.loads(path.read_bytes())
    except (OSError, ValueError, RecursionError):
        return False
    return isinstance(value, list) and bool(value) and all(isinstance(x, dict) for x in value)


def no_task(option: str, path: Path, bad: list[Any]) -> str:
    """The error for a task file with no task in it, naming the likely mistake: a JSON array
    (task files are JSONL), or the solutions file given in its place."""
    if _json_array_of_objects(path):
        why = "it holds a JSON array; a task file is JSONL, one task object per line"
    elif bad and "'task_id'" in bad[0].reason and "'solution'" in bad[0].reason:
        why = "its lines are solutions ({task_id, solution}): is it the solutions file?"
    elif not bad:
        why = "it holds no line"
    else:
        why = f"{len(bad)} line(s) could not be read; first: {bad[0].reason}"
    return f"{option} {path}: no valid task in it: {why}"


def task_file(option: str, path: Path, unique: bool = True) -> list[Any]:
    """The tasks of ``path``: at least one, no malformed line (a set that silently lost a
    line would be scored, gated or served as if whole) and, with ``unique``, no id given
    twice (scores are kept by id; a contamination guard's set needs no such rule)."""
    from closedloop.tasks.format import load_tasks, require_unique_ids

    input_file(option, path)
    try:
        tasks, bad = load_tasks(path)
    except OSError as e:
        fail(f"{option} {path}: {e.strerror}")
    if not tasks:
        fail(no_task(option, path, bad))
    if bad:
        more = f" (and {len(bad) - 1} more)" if len(bad) > 1 else ""
        fail(f"{option} {bad[0].reason}{more}; mend or remove the line")
    if unique:
        try:
            require_unique_ids(tasks)
        except ValueError as e:
            fail(f"{option} {path}: {e}")
    return tasks


def sqlite_file(option: str, path: Path) -> None:
    """``path``, when it exists and is not empty, is an SQLite database that opens."""
    if not path.exists() or path.stat().st_size == 0:
        return
    with open(path, "rb") as fh:
        head = fh.read(len(SQLITE_MAGIC))
    if head != SQLITE_MAGIC:
        fail(f"{option} {path}: not an SQLite database (damaged?); start a new run")
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            db.execute("SELECT name FROM sqlite_master").fetchall()
        finally:
            db.close()
    except sqlite3.DatabaseError as e:
        fail(f"{option} {path}: damaged SQLite database ({e}); start a new run")


# -- model directories --------------------------------------------------------------------
def model_dir(option: str, path: Path) -> None:
    """``path`` looks like a loadable Hugging Face causal-LM directory: a ``config.json``
    object with a ``model_type`` and positive integer sizes, tokenizer files and weights, and,
    for safetensors weights, a config whose layer count and vocabulary the weights' headers
    hold (read without loading a tensor). Whether the weights load is known only by loading
    them."""
    if not path.is_dir():
        fail(f"{option} {path}: not a directory (a Hugging Face model directory)")
    config = path / "config.json"
    if not config.is_file():
        fail(f"{option} {path}: not a Hugging Face model directory (no config.json)")
    obj = json_object_file(option, config)
    model_type = obj.get("model_type")
    if not isinstance(model_type, str) or not model_type:
        fail(f"{option} {config}: model_type must be a non-empty string, got {model_type!r}")
    for key in _SHAPE_FIELDS:
        v = obj.get(key)
        if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v < 1):
            fail(f"{option} {config}: {key} must be a positive integer, got {v!r}")
    if not any((path / f).is_file() for f in _TOKENIZER_FILES):
        fail(f"{option} {path}: no tokenizer (none of {', '.join(_TOKENIZER_FILES)})")
    if not any((path / f).is_file() for f in _WEIGHT_FILES):
        fail(f"{option} {path}: no weights (none of {', '.join(_WEIGHT_FILES)})")
    shapes = _safetensors_shapes(option, path)
    if shapes is not None:
        _config_matches_weights(option, path, obj, shapes)


# Largest safetensors header read (the format's own limit is 100 MB).
_MAX_HEADER = 100_000_000
# A block's index in a parameter name: model.layers.3.mlp..., transformer.h.3.attn...
_LAYER_INDEX = re.compile(r"^(.*?)\.(?:layers|h|blocks)\.(\d+)\.")


def _header(option: str, file: Path) -> dict[str, Any]:
    """The JSON header of a safetensors file: tensor names to dtype, shape and offsets."""
    try:
        with open(file, "rb") as f:
            head = f.read(8)
            n = int.from_bytes(head, "little") if len(head) == 8 else -1
            if not 0 < n <= _MAX_HEADER:
                fail(f"{option} {file}: not a safetensors file (no header)")
            raw = f.read(n)
    except OSError as e:
        fail(f"{option} {file}: cannot read ({e.strerror})")
    if len(raw) < n:
        fail(f"{option} {file}: not a safetensors file (header cut short: {len(raw)} of {n} bytes)")
    try:
        obj = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        fail(f"{option} {file}: not a safetensors file (its header is not JSON)")
    if not isinstance(obj, dict):
        fail(f"{option} {file}: not a safetensors file (its header is not a JSON object)")
    return obj


def _safetensors_shapes(option: str, path: Path) -> dict[str, list[int]] | None:
    """Every tensor's shape from the safetensors headers (a single file or the shards an index
    names), read without loading a weight; ``None`` when the weights are not safetensors."""
    single, index = path / "model.safetensors", path / "model.safetensors.index.json"
    if single.is_file():
        files = [single]
    elif index.is_file():
        weight_map = json_object_file(option, index).get("weight_map")
        if not isinstance(weight_map, dict) or not all(
            isinstance(v, str) for v in weight_map.values()
        ):
            fail(f"{option} {index}: weight_map must be an object of tensor names to file names")
        files = []
        for name in dict.fromkeys(weight_map.values()):
            shard = path / name
            if "/" in name or not shard.is_file():
                fail(f"{option} {index}: names a shard that is not in {path}: {name!r}")
            files.append(shard)
    else:
        return None
    shapes: dict[str, list[int]] = {}
    for file in files:
        for name, entry in _header(option, file).items():
            if name == "__metadata__":
                continue
            shape = entry.get("shape") if isinstance(entry, dict) else None
            if not isinstance(shape, list) or not all(
                isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape
            ):
                fail(f"{option} {file}: tensor {name!r} has no valid shape in the header")
            shapes[name] = shape
    return shapes


def _config_matches_weights(
    option: str, path: Path, config: dict[str, Any], shapes: dict[str, list[int]]
) -> None:
    """The sizes config.json declares are the ones the weights hold. Transformers builds the
    model from config.json and fills what the weights lack with random values: a config that
    declares 1,500 layers over a 4-layer checkpoint loads (with a warning) and runs for
    minutes, one with a 4 M-token vocabulary fails only after allocating gigabytes."""
    layers = config.get("num_hidden_layers", config.get("n_layer"))
    blocks: dict[str, set[int]] = {}
    for name in shapes:
        m = _LAYER_INDEX.match(name)
        if m:
            blocks.setdefault(m.group(1), set()).add(int(m.group(2)))
    # Several stacks (a vision tower beside the text model): the config sizes one of them.
    # Only more layers than any stack holds is refused: checkpoints may carry extra blocks the
    # config does not count (multi-token-prediction layers), and those are ignored, not made up.
    deepest = max((max(ix) + 1 for ix in blocks.values()), default=0)
    if isinstance(layers, int) and deepest and layers > deepest:
        fail(
            f"{option} {path}: config.json declares {layers} layers, the weights hold {deepest} "
            "(the rest would be random)"
        )
    embeddings = [
        s
        for n, s in shapes.items()
        if n.endswith(("embed_tokens.weight", ".wte.weight")) and len(s) == 2
    ]
    vocab = config.get("vocab_size")
    if isinstance(vocab, int) and embeddings and all(s[0] != vocab for s in embeddings):
        held = " or ".join(str(s[0]) for s in embeddings)
        fail(
            f"{option} {path}: config.json declares vocab_size {vocab}, "
            f"the weights' embedding has {held} rows"
        )
