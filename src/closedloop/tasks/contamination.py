"""The contamination guard: keep held-out ground truth out of what the loop trains on.

Given held-out task sets, a task is rejected when it overlaps any single held-out task beyond
a threshold in one of these fields:

- ``instruction``: normalised word n-grams of instruction + prompt;
- ``solution``: normalised token n-grams of the example solution (and failure cases are not
  looked at: a wrong program copied from a held-out set teaches nothing right);
- ``tests``: normalised token n-grams of the checker;
- ``io_pairs``: equal (input, output) pairs, compared as decoded literals, including the pairs
  a checker asserts (``tasks.checker_reading.checker_calls``: ``candidate(x) == y``, ``in (y,)``,
  ``assertEqual``, ``r = candidate(x); assert r == y``, tables unrolled, ``y`` folded from
  literals like ``2.0/3.0``); ``min_io_pairs`` pairs of one held-out task (all of the
  task's, if it has fewer) are enough, whatever their share. A held-out pair from an
  approximate form (``abs(candidate(x) - y) < eps``, ``isclose``, ``allclose``,
  ``round(candidate(x), 2) == y``, ``assertAlmostEqual``, ``pytest.approx``) is matched by
  an output within the checker's own tolerance of ``y`` (the exact value a reference
  computes, where the checker wrote it rounded), number by number in a list, but an integer
  output only by the integer nearest ``y``; every other pair matches only an equal one.
  ``str(candidate(x)) == '5.5'`` is matched by 5.5 or ``'5.5'``.

Normalisation: lower case, tokens are runs of word characters or single punctuation marks,
whitespace is ignored. Overlap is the share of the task's n-grams (or pairs) found in the one
held-out task it overlaps most; a text field is rejected at ``text_threshold``; texts shorter
than n tokens count as one n-gram.

Template text is not evidence. An n-gram (or I/O pair) found in many held-out tasks
(``boilerplate_share`` of the set, and at least ``boilerplate_min_tasks``) is the set's
template, e.g. the sentence every reasoning-gym ``list_functions`` task opens with, or
``def check(candidate):``. Such items are dropped from the index and from the checked task
before the share is taken, so a task that merely shares the template's wording is kept, while
one that copies what is specific to a held-out task (its examples, its code, its pairs) is
still rejected. A task made of template text alone is never rejected on that field.

Behaviour (optional, needs the sandbox): :meth:`ContaminationGuard.behaviour_filter` runs a
task's example solution on every held-out input and rejects it when it reproduces all of one
held-out task's outputs (``io_pairs`` only catches equal inputs). It is a separate call because
the guard itself never runs code. It rejects rediscovered rules, not only copies: 17 of the
default seed pool's 200 grammar tasks reproduce a task of the 600-task primary held-out set
(reverse, sort, length, ...; ``benchmarks/contamination_seeds.py --behaviour``), which is why
the loop does not call it: a rule learnt from other examples is not a copy.

Does not cover: paraphrases, renamed identifiers in code with reordered statements, content
that several held-out tasks share (it counts as template once ``boilerplate_share`` of them
have it), or, without the behaviour check, held-out behaviour reached through different
inputs; the behaviour check misses a solution that agrees with a held-out rule only off the
held-out inputs, or that detects the check. Checker pairs the guard cannot read without
running code are not indexed: inputs or outputs computed by code (random inputs, a helper
the checker defines, values built by comprehensions, ``math.sqrt(2)``; HumanEval/32, 38 and
50 yield no pair at all), calls with keyword arguments, comparisons of part of a result
(``candidate(x)[0] == y``, ``len(candidate(x)) == n``), expected values wrapped in
``set``/``sorted`` where the function returns another order, forms outside the listed ones
(``if candidate(x) != y: raise``, a checker's own assertion helper), and loops or values
past the reader's work bounds. Training tasks' approximate pairs are matched by their
written value only (the tolerance is the held-out checker's). A held-out set smaller than
``boilerplate_min_tasks`` has no template, so its fixed wording still counts as content there.
It is a guard against copying, not a proof of novelty.
"""

from __future__ import annotations

import ast
import hashlib
import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from closedloop.tasks.checker_reading import checker_calls
from closedloop.tasks.format import Task, TaskKind
from closedloop.tasks.literals import value_text

if TYPE_CHECKING:
    from closedloop.verify import VerificationBackend


class ContaminationField(StrEnum):
    """Which part of a task overlapped a held-out task."""

    INSTRUCTION = "instruction"
    SOLUTION = "solution"
    TESTS = "tests"
    IO_PAIRS = "io_pairs"
    BEHAVIOUR = "behaviour"
    """The example solution reproduces a held-out task's outputs on its inputs."""


@dataclass(frozen=True)
class ContaminationConfig:
    """Thresholds of the guard."""

    ngram: int = 8
    """n of the normalised token n-grams."""
    text_threshold: float = 0.5
    """Reject when this share of a field's non-template n-grams appears in one held-out task."""
    min_io_pairs: int = 2
    """Reject when this many of a task's I/O pairs (all, if it has fewer) equal non-template
    pairs of one held-out task, whatever their share: each is held-out ground truth."""
    boilerplate_share: float = 0.05
    """An n-gram or pair found in at least this share of the held-out tasks is template ..."""
    boilerplate_min_tasks: int = 2
    """... provided it is found in at least this many of them."""

    def __post_init__(self) -> None:
        if not 0.0 <= self.boilerplate_share <= 1.0:
            raise ValueError(
                f"boilerplate_share: {self.boilerplate_share} must be in [0, 1] "
                "(a share of the held-out tasks)"
            )
        if self.boilerplate_min_tasks < 2:
            raise ValueError(
                f"boilerplate_min_tasks: {self.boilerplate_min_tasks} must be at least 2 "
                "(text in one held-out task is that task's content, never template)"
            )


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


def tokens(text: str) -> list[str]:
    """Normalised tokens: lower case, runs of word characters or single punctuation marks."""
    return _TOKEN.findall(text.lower())


def ngram_texts(text: str, n: int) -> list[str]:
    """The normalised token n-grams of ``text`` as texts (one for short texts, none for empty)."""
    toks = tokens(text)
    if not toks:
        return []
    return [" ".join(toks[i : i + n]) for i in range(max(1, len(toks) - n + 1))]


def ngrams(text: str, n: int) -> set[int]:
    """Hashed normalised token n-grams of ``text`` (one gram for short texts, none for empty)."""
    return {
        int.from_bytes(hashlib.blake2b(s.encode(), digest_size=8).digest(), "big")
        for s in ngram_texts(text, n)
    }


_MAX_LITERAL = 100_000


def _key(v: Any) -> str:
    """A decoded literal's text as the guard compares it: tuples as lists (``((55, 30),)``
    copies ``([55, 30],)`` as surely), numbers as numbers (``1``, ``1.0`` and ``True``
    alike), sets and dicts in sorted order (a held-out pair written with floats, or a dict
    built in another order, is the same pair)."""
    try:
        return value_text(v, tuples_as_lists=True)
    except RecursionError:  # too deep to be worth comparing: matches nothing
        return f"<too deep: {id(v)}>"


def _normalised(text: str) -> tuple[str, Any]:
    """``text`` as a normalised literal (``_key``), and its value (None where it was not
    decoded: too long to be worth it, or not a literal; then compared as text)."""
    if len(text) <= _MAX_LITERAL:
        try:
            value = ast.literal_eval(text)
            return _key(value), value
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            pass
    return text.strip(), None


def _norm_literal(text: str) -> str:
    return _normalised(text)[0]


@dataclass(frozen=True)
class _Slot:
    """What a task says one input returns: normalised output texts (any one of them:
    ``f(x) in (a, b)``), and for an approximate checker form the value it is near,
    ``(value, abs, rel)``."""

    input: str
    outputs: tuple[str, ...]
    near: tuple[Any, float, float] | None = None


def _slots(task: Task) -> list[_Slot]:
    """The task's (input, output) statements as normalised literal texts (tuples as lists),
    checker asserts included; where a call takes several arguments, each argument alone with
    the output too, so that an unused extra argument does not hide a held-out pair. Equal
    statements are one."""
    slots: dict[tuple[str, tuple[str, ...]], _Slot] = {}
    for t in task.public_tests + task.private_tests:
        (inp, args), out = _normalised(t.input), _norm_literal(t.output)
        slots.setdefault((inp, (out,)), _Slot(inp, (out,)))
        if type(args) is tuple and len(args) > 1:
            for a in args:
                one = _key([a])
                slots.setdefault((one, (out,)), _Slot(one, (out,)))
    if task.checker:
        names = ("candidate", task.entry_point) if task.entry_point else ("candidate",)
        for c in checker_calls(task.checker, names):
            if c.output is None:
                continue
            inp = _norm_literal(c.input)
            outs = tuple(dict.fromkeys(_norm_literal(o) for o in (c.output, *c.alternatives)))
            near = None
            if c.tolerance is not None:
                value = _decoded(outs[0])
                if value is not _UNDECODED and _numeric(value):
                    near = (value, *c.tolerance)
            slot = slots.setdefault((inp, outs), _Slot(inp, outs, near))
            if near is not None and slot.near is None:
                slots[inp, outs] = _Slot(inp, outs, near)
    return list(slots.values())


def io_pairs(task: Task) -> set[tuple[str, str]]:
    """The task's (input, output) pairs as normalised literal texts (tuples as lists),
    checker asserts included (every value a checker accepts for an input); where a call
    takes several arguments, each argument alone with the output too, so that an unused
    extra argument does not hide a held-out pair."""
    return {(s.input, o) for s in _slots(task) for o in s.outputs}


_UNDECODED = object()


def _decoded(text: str) -> Any:
    """A normalised literal text's value (``_UNDECODED`` if it is none)."""
    if len(text) > _MAX_LITERAL:
        return _UNDECODED
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return _UNDECODED


def _numeric(v: Any, depth: int = 0) -> bool:
    """A number, or a list of them (nested): what an approximate form compares."""
    if isinstance(v, list) and depth < 8:
        return all(_numeric(x, depth + 1) for x in v)
    return isinstance(v, int | float) and not isinstance(v, bool)


def _near(v: Any, y: Any, absolute: float, relative: float, depth: int = 0) -> bool:
    """Whether output ``v`` is within the tolerance of ``y`` (number by number in lists).
    An integer is near only the integer nearest ``y``, so an approximate form never makes
    one integer output match another."""
    if isinstance(v, list) and isinstance(y, list) and depth < 8:
        return len(v) == len(y) and all(
            _near(a, b, absolute, relative, depth + 1) for a, b in zip(v, y, strict=True)
        )
    if not (_numeric(v, 8) and _numeric(y, 8)):
        return False
    try:  # an integer past a float's range (10**400 from a proposal) is near nothing
        if not (math.isfinite(v) and math.isfinite(y)):
            return False
        d = abs(v - y)
        return d <= absolute + relative * abs(y) and (not isinstance(v, int) or d < 0.5 or v == y)
    except OverflowError:
        return False


def _holds(slot: _Slot, output: str) -> bool:
    """Whether the normalised ``output`` is one ``slot`` says its input returns."""
    if output in slot.outputs:
        return True
    if slot.near is None:
        return False
    value = _decoded(output)
    return value is not _UNDECODED and _near(value, *slot.near)


_TEXT_FIELDS = (
    ContaminationField.INSTRUCTION,
    ContaminationField.SOLUTION,
    ContaminationField.TESTS,
)


def _texts(task: Task) -> dict[ContaminationField, str]:
    """The text fields compared by n-grams (keys in :data:`_TEXT_FIELDS` order)."""
    return {
        ContaminationField.INSTRUCTION: f"{task.instruction}\n{task.prompt}",
        ContaminationField.SOLUTION: task.example_solution or "",
        ContaminationField.TESTS: task.checker or "",
    }


_PairKey = tuple[str, str]

_SPECIFIC_PAIR_CHARS = 24
"""A held-out task with fewer than ``min_io_pairs`` pairs is matched by all of them, and only
by pairs whose texts together run this long (HumanEval/34's one pair is 47 characters)."""


class ContaminationGuard:
    """An index of held-out tasks; :meth:`check` says whether a task overlaps one of them."""

    def __init__(self, heldout: Iterable[Task], config: ContaminationConfig | None = None) -> None:
        self.config = cfg = config or ContaminationConfig()
        tasks = list(heldout)
        self.size = len(tasks)
        grams = [{f: ngrams(s, cfg.ngram) for f, s in _texts(t).items()} for t in tasks]
        slots = [_slots(t) for t in tasks]
        pairs = [{(s.input, o) for s in ss for o in s.outputs} for ss in slots]
        cut = max(cfg.boilerplate_min_tasks, math.ceil(cfg.boilerplate_share * self.size))
        self.template: dict[ContaminationField, frozenset[int]] = {
            f: _common((g[f] for g in grams), cut) for f in _TEXT_FIELDS
        }
        """Per text field, the hashed n-grams that are the held-out set's template."""
        self.template_pairs: frozenset[_PairKey] = _common(pairs, cut)
        """I/O pairs common to many held-out tasks (e.g. empty in, empty out)."""
        self._grams: dict[ContaminationField, dict[int, set[str]]] = defaultdict(
            lambda: defaultdict(set)
        )
        self._pairs: dict[_PairKey, set[tuple[str, int]]] = defaultdict(set)
        """Each held-out pair: the held-out tasks stating it, and which of their slots."""
        self._approx: dict[str, list[tuple[str, int, _Slot]]] = defaultdict(list)
        """Per input, the held-out slots of approximate checker forms: matched by an output
        near their value, not only an equal one."""
        self._pair_counts: dict[str, int] = {}
        """Each held-out task's own slots (template pairs aside): a task with fewer than
        ``min_io_pairs`` is matched by all of them."""
        self._behaviour: dict[str, list[_Slot]] = {}
        for task, tg, ts in zip(tasks, grams, slots, strict=True):
            for fld, gs in tg.items():
                for g in gs - self.template[fld]:
                    self._grams[fld][g].add(task.id)
            # a slot any of whose outputs is template text says nothing specific
            own = [s for s in ts if not any((s.input, o) in self.template_pairs for o in s.outputs)]
            if len(own) < cfg.min_io_pairs:
                # matched by all of them, so only pairs specific enough to be a copy count:
                # HumanEval/4's one pair, [1, 2, 3, 4] -> 1.0, is every mean and minimum
                own = [
                    s
                    for s in own
                    if len(s.input) + min(map(len, s.outputs)) >= _SPECIFIC_PAIR_CHARS
                ]
            for k, s in enumerate(own):
                for o in s.outputs:
                    self._pairs[s.input, o].add((task.id, k))
                if s.near is not None:
                    self._approx[s.input].append((task.id, k, s))
            self._pair_counts[task.id] = len(own)
            calls = sorted((s for s in ts if _is_args(s.input)), key=lambda s: (s.input, s.outputs))
            if len(calls) >= cfg.min_io_pairs:
                self._behaviour[task.id] = calls

    def check(self, task: Task) -> ContaminationHit | None:
        """The largest overlap beyond its threshold, or None when the task is clean."""
        cfg = self.config
        hits: list[ContaminationHit] = []
        for fld, text in _texts(task).items():
            grams = ngrams(text, cfg.ngram) - self.template[fld]
            best = _best(grams, self._grams.get(fld, {}))
            if best and best[1] / len(grams) >= cfg.text_threshold:
                hits.append(ContaminationHit(task.id, fld, best[0], best[1] / len(grams)))
        pairs = io_pairs(task) - self.template_pairs
        held: dict[str, set[int]] = defaultdict(set)
        for p in pairs:
            for heldout_id, k in self._pairs.get(p, ()):
                held[heldout_id].add(k)
            for heldout_id, k, slot in self._approx.get(p[0], ()):
                if _holds(slot, p[1]):
                    held[heldout_id].add(k)
        counts = {heldout_id: len(ks) for heldout_id, ks in held.items()}
        copied = [
            (-n, heldout_id)
            for heldout_id, n in counts.items()
            if n >= min(cfg.min_io_pairs, self._pair_counts[heldout_id])
        ]
        if copied:
            n, heldout_id = min(copied)
            hits.append(
                ContaminationHit(task.id, ContaminationField.IO_PAIRS, heldout_id, -n / len(pairs))
            )
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

    def behaviour_filter(
        self, tasks: Sequence[Task], verifier: VerificationBackend
    ) -> list[ContaminationHit | None]:
        """Per task, a ``behaviour`` hit when its example solution, run in the sandbox on the
        inputs of every held-out task with at least ``min_io_pairs`` pairs, reproduces all of
        one such task's outputs; None otherwise (also for tasks without an example solution,
        and when the run fails or times out: the check then says nothing). One sandbox job
        per task, in parallel over the verifier's workers."""
        from closedloop.verify import CallJob

        inputs = sorted({s.input for ss in self._behaviour.values() for s in ss})
        runnable = [
            k
            for k, t in enumerate(tasks)
            if t.kind is TaskKind.FUNCTION and t.example_solution and t.entry_point.isidentifier()
        ]
        out: list[ContaminationHit | None] = [None] * len(tasks)
        if not inputs or not runnable:
            return out
        arg = f"([{', '.join(inputs)}],)"
        jobs = [
            CallJob(
                code=(tasks[k].example_solution or "") + _harness(tasks[k].entry_point),
                entry_point=_HARNESS_ENTRY,
                inputs=[arg],
                prompt=tasks[k].prompt,
            )
            for k in runnable
        ]
        for k, results in zip(runnable, verifier.call_many(jobs), strict=True):
            got = _outputs(results[0].value if results[0].ok else None, len(inputs))
            if got is not None:
                out[k] = self._behaviour_hit(tasks[k].id, dict(zip(inputs, got, strict=True)))
        return out

    def behaviour_check(self, task: Task, verifier: VerificationBackend) -> ContaminationHit | None:
        """:meth:`behaviour_filter` for one task."""
        return self.behaviour_filter([task], verifier)[0]

    def _behaviour_hit(self, task_id: str, got: dict[str, str | None]) -> ContaminationHit | None:
        same = sorted(
            h
            for h, ss in self._behaviour.items()
            if all(o is not None and _holds(s, o) for s in ss for o in [got[s.input]])
        )
        return (
            ContaminationHit(task_id, ContaminationField.BEHAVIOUR, same[0], 1.0) if same else None
        )


_HARNESS_ENTRY = "_closedloop_heldout_outputs"


def _harness(entry: str) -> str:
    """Code appended to a solution: call ``entry`` on each argument tuple, returning the
    ``repr`` of each result (None where the call raised), so one sandbox call covers all
    inputs and a hang costs one wall clock, not one per input."""
    return (
        f"\n\n\ndef {_HARNESS_ENTRY}(args_list):\n"
        "    out = []\n"
        "    for args in args_list:\n"
        "        try:\n"
        f"            out.append(repr({entry}(*args)))\n"
        "        except Exception:\n"
        "            out.append(None)\n"
        "    return out\n"
    )


def _is_args(text: str) -> bool:
    """Whether a normalised input text is an argument-tuple literal (the harness's input)."""
    try:
        return isinstance(ast.literal_eval(text), tuple | list)  # tuples are normalised to lists
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return False


def _outputs(value: str | None, n: int) -> list[str | None] | None:
    """The harness's reply as normalised output literals, or None if it is not a list of
    ``n`` strings-or-None (the solution tampered with it, or the run failed)."""
    if value is None:
        return None
    try:
        reply = ast.literal_eval(value)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None
    if not isinstance(reply, list) or len(reply) != n:
        return None
    if not all(r is None or isinstance(r, str) for r in reply):
        return None
    return [None if r is None else _norm_literal(r) for r in reply]


def _common(sets: Iterable[Iterable], cut: int) -> frozenset:
    """Items found in at least ``cut`` of ``sets``."""
    df: Counter = Counter()
    for s in sets:
        df.update(s)
    return frozenset(x for x, c in df.items() if c >= cut)


def _best(items: Iterable, index: dict) -> tuple[str, int] | None:
    counts: Counter[str] = Counter()
    for item in items:
        counts.update(index.get(item, ()))
    if not counts:
        return None
    heldout_id, n = min(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return heldout_id, n
