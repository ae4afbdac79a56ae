"""Text a candidate wrote, made safe to store and to print.

A candidate controls the messages of its exceptions, its output and the text of its values,
and JSON escapes let a line carry any code point: lone surrogates (which UTF-8 cannot encode:
a file write, SQLite and most JSON writers refuse them) and the line separators U+2028,
U+2029 and U+0085 (which ``str.splitlines`` and JavaScript split on, so one verdict line
would read as two). This module owns turning such text into text every writer and reader
accepts. It never drops or reorders what is printable.
"""

from __future__ import annotations

import functools
import json
from typing import Any

_SEPARATORS = {0x2028: "\\u2028", 0x2029: "\\u2029", 0x85: "\\u0085"}


def safe_text(s: str) -> str:
    """``s`` with every lone surrogate replaced by U+FFFD (a surrogate pair becomes the
    character it spells); unchanged, and not copied, when it has none."""
    try:
        s.encode("utf-8")
        return s
    except UnicodeEncodeError:
        return s.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


# C0 and C1 controls (ESC starts the sequences that move the cursor, clear the screen, set the
# title or write hyperlinks), DEL, and the bidirectional overrides that reorder what a reader
# sees ("Trojan source"): each is shown as its escape instead.
_CONTROLS = {c: f"\\x{c:02x}" for c in [*range(0x20), 0x7F, *range(0x80, 0xA0)]}
_CONTROLS.update({c: f"\\u{c:04x}" for c in [*range(0x202A, 0x202F), *range(0x2066, 0x206A)]})


def terminal_text(s: str, keep: str = "\n\t") -> str:
    r"""``s`` made :func:`safe_text` with every control character but those in ``keep`` shown
    as its escape (``\x1b``), for printing text a task file or a candidate wrote to a
    terminal: it can neither drive the terminal nor hide what follows it.

    >>> terminal_text("ok\x1b[2J\tdone", keep="")
    'ok\\x1b[2J\\x09done'
    """
    return safe_text(s).translate(_control_table(keep))


@functools.cache
def _control_table(keep: str) -> dict[int, str]:
    return {k: v for k, v in _CONTROLS.items() if chr(k) not in keep}


def json_line(obj: Any) -> str:
    """One JSON line (no newline) for ``obj`` that every UTF-8 writer and line-splitting
    reader takes as one line: strings made :func:`safe_text`, line separators escaped."""
    text = safe_text(json.dumps(obj, ensure_ascii=False))
    # A separator can only sit inside a JSON string, where its escape means the same.
    return text.translate(_SEPARATORS)


def safe_json(obj: Any) -> Any:
    """``obj`` (JSON-ready data) with every string made :func:`safe_text`."""
    if isinstance(obj, str):
        return safe_text(obj)
    if isinstance(obj, dict):
        return {safe_text(str(k)): safe_json(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [safe_json(v) for v in obj]
    return obj
