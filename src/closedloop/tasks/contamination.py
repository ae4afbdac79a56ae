"""The contamination guard: keep held-out ground truth out of what the loop trains on.

Given held-out task sets, a task is rejected when it overlaps any single held-out task beyond
a threshold in one of these fields:

- ``instruction``: normalised word n-grams of instruction + prompt;
- ``solution``: normalised token n-grams of the example solution (and failure cases are not
  looked at: a wrong program copied from a held-out set teaches nothing right);
- ``tests``: normalised token n-grams of the checker;
- ``io_pairs``: equal (input, output) pairs, compared as decoded literals, including the pairs
  written as ``assert candidate(...) == ...`` in checkers.

Normalisation: lower case, tokens are runs of word characters or single punctuation marks,
whitespace is ignored. Overlap is the share of the task's n-grams (or pairs) found in the one
held-out task it overlaps most; texts shorter than n tokens count as one n-gram.

Does not cover: paraphrases, renamed identifiers in code with reordered statements, or
held-out behaviour reached through different inputs. It is a guard against copying, not a
proof of novelty.
"""

from __future__ import annotations

import ast
import hashlib
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from closedloop.tasks.format import Task
from closedloop.tasks.probes import checker_calls


class ContaminationField(StrEnum):
    """Which part of a task overlapped a held-out task."""

    INSTRUCTION = "instruction"
    SOLUTION = "solution"
    TESTS = "tests"
    IO_PAIRS = "io_pairs"


@dataclass(frozen=True)
class ContaminationConfig:
    """Thresholds of the guard."""

    ngram: int = 8
    """n of the normalised token n-grams."""
    text_threshold: float = 0.5
    """Reject when this share of a field's n-grams appears in one held-out task."""
    io_threshold: float = 0.5
    """Reject when this share of a task's I/O pairs equals pairs of one held-out task ..."""
    min_io_pairs: int = 2
    """... and at least this many pairs (or all of them, if the task has fewer) match."""


@dataclass(frozen=True)
class ContaminationHit:
    """Why a task was rejected: the field, the held-out task it overlaps, and how much."""

    task_id: str
    field: ContaminationField
    heldout_id: str
    overlap: float


@dataclass
class ContaminationReport:
    """The outcome of filtering a batch: tasks kept, and a hit per rejected task."""

    kept: list[Task] = field(default_factory=list)
    rejected: list[ContaminationHit] = field(default_factory=list)

    def counts(self) -> Counter[ContaminationField]:
        """Rejections per field."""
        return Counter(h.field for h in self.rejected)


_TOKEN = re.compile(r"\w+|[^\w\s]")


def ngrams(text: str, n: int) -> set[int]:
    """Hashed normalised token n-grams of ``text`` (one gram for short texts, none for empty)."""
    tokens = _TOKEN.findall(text.lower())
    if not tokens:
        return set()
    spans = [tokens[i : i + n] for i in range(max(1, len(tokens) - n + 1))]
    return {
        int.from_bytes(hashlib.blake2b(" ".join(s).encode(), digest_size=8).digest(), "big")
        for s in spans
    }


def _norm_literal(text: str) -> str:
    try:
        return repr(ast.literal_eval(text))
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return text.strip()


def io_pairs(task: Task) -> set[tuple[str, str]]:
    """The task's (input, output) pairs as normalised literal texts, checker asserts included."""
    pairs = {
        (_norm_literal(t.input), _norm_literal(t.output))
        for t in task.public_tests + task.private_tests
    }
    if task.checker:
        names = ("candidate", task.entry_point) if task.entry_point else ("candidate",)
        for c in checker_calls(task.checker, names):
            if c.output is not None:
                pairs.add((_norm_literal(c.input), _norm_literal(c.output)))
    return pairs


def _texts(task: Task) -> dict[ContaminationField, str]:
    return {
        ContaminationField.INSTRUCTION: f"{task.instruction}\n{task.prompt}",
        ContaminationField.SOLUTION: task.example_solution or "",
        ContaminationField.TESTS: task.checker or "",
    }


class ContaminationGuard:
    """An index of held-out tasks; :meth:`check` says whether a task overlaps one of them."""

    def __init__(self, heldout: Iterable[Task], config: ContaminationConfig | None = None) -> None:
        self.config = config or ContaminationConfig()
        self._grams: dict[ContaminationField, dict[int, set[str]]] = defaultdict(
            lambda: defaultdict(set)
        )
        self._pairs: dict[tuple[str, str], set[str]] = defaultdict(set)
        self.size = 0
        for task in heldout:
            self.size += 1
            for fld, text in _texts(task).items():
                for g in ngrams(text, self.config.ngram):
                    self._grams[fld][g].add(task.id)
            for p in io_pairs(task):
                self._pairs[p].add(task.id)

    def check(self, task: Task) -> ContaminationHit | None:
        """The largest overlap beyond its threshold, or None when the task is clean."""
        cfg = self.config
        hits: list[ContaminationHit] = []
        for fld, text in _texts(task).items():
            grams = ngrams(text, cfg.ngram)
            best = _best(grams, self._grams.get(fld, {}))
            if best and best[1] / len(grams) >= cfg.text_threshold:
                hits.append(ContaminationHit(task.id, fld, best[0], best[1] / len(grams)))
        pairs = io_pairs(task)
        best = _best(pairs, self._pairs)
        if best:
            share = best[1] / len(pairs)
            if share >= cfg.io_threshold and best[1] >= min(cfg.min_io_pairs, len(pairs)):
                hits.append(ContaminationHit(task.id, ContaminationField.IO_PAIRS, best[0], share))
        return max(hits, key=lambda h: h.overlap) if hits else None

    def filter(self, tasks: Sequence[Task]) -> ContaminationReport:
        """Split ``tasks`` into kept ones and a hit per rejected one."""
        report = ContaminationReport()
        for t in tasks:
            hit = self.check(t)
            if hit is None:
                report.kept.append(t)
            else:
                report.rejected.append(hit)
        return report


def _best(items: Iterable, index: dict) -> tuple[str, int] | None:
    counts: Counter[str] = Counter()
    for item in items:
        counts.update(index.get(item, ()))
    if not counts:
        return None
    heldout_id, n = min(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return heldout_id, n
