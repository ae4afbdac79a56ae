"""Code-as-Task validation: a task enters the pool only if its tests are shown to work.

Checks, in order; a task stops at the first it fails, and the reason is typed
(:class:`RejectReason`):

1. it parses (the public format), and is within size bounds (instruction, code, tests);
2. it is not contaminated (when a :class:`~closedloop.tasks.contamination.ContaminationGuard`
   is given);
3. function tasks have an example solution that passes every public and private test, within
   the time bound (a timeout is ``too_slow``, not ``example_fails``);
4. verdicts are identical across two independent runs (each sandbox job is a fresh process,
   so two runs differ in process and hash seed), and so are the example's outputs on the
   task's own inputs;
5. its outputs are not trivial: not the same value for every input, not the input itself
   (unless the instruction says so), and not oversized; and its private tests do not all
   expect one value (a constant would pass them: an example solution can compute its rule on
   the shown inputs alone and return one value for every other, the loop's drawn ones too;
   imported benchmark tasks are exempt, as from the failure cases below);
   and no trivial program (its first argument as it is, sorted or reversed; a constant)
   passes its private tests while failing its shown ones (``trivial_private``);
6. failure cases: challenger tasks need at least ``min_failure_cases``, imported benchmark
   tasks may have none, and every failure case must fail at least one test;
7. mutants of the example solution (``closedloop.tasks.mutate``) are killed at least at
   ``min_mutation_score``; the score is stored in ``metadata["mutation_score"]``.

Answer tasks only need to parse, carry a non-empty gold answer and stay within bounds.

Everything that runs code goes through the :class:`~closedloop.verify.Verifier`; this module
reads only verdicts and the literal texts of returned values (``ast.literal_eval``).
An ``infra_error`` from the verifier is reported as its own reason (``infra_error``): the
task was not judged, and may be retried.
"""

from __future__ import annotations

import ast
import dataclasses
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from closedloop.tasks.contamination import ContaminationGuard
from closedloop.tasks.format import Split, Task, TaskFormatError, TaskKind, parse_task
from closedloop.tasks.literals import canonical, value_key, value_text
from closedloop.tasks.mutate import generate_mutants
from closedloop.tasks.probes import task_inputs
from closedloop.verify import CallJob, CallResult
from closedloop.verify.outcome import Outcome, Verdict

if TYPE_CHECKING:
    from closedloop.verify import VerificationBackend


class RejectReason(StrEnum):
    """Why a task was not accepted."""

    UNPARSEABLE = "unparseable"
    TOO_LARGE = "too_large"
    CONTAMINATED = "contaminated"
    NO_EXAMPLE_SOLUTION = "no_example_solution"
    EXAMPLE_FAILS = "example_fails"
    TOO_SLOW = "too_slow"
    NONDETERMINISTIC = "nondeterministic"
    TRIVIAL_CONSTANT = "trivial_constant"
    TRIVIAL_IDENTITY = "trivial_identity"
    TRIVIAL_PRIVATE = "trivial_private"  # a trivial program passes the private tests alone
    TOO_FEW_FAILURE_CASES = "too_few_failure_cases"
    FAILURE_CASE_PASSES = "failure_case_passes"
    WEAK_TESTS = "weak_tests"  # mutation score below the minimum
    INFRA_ERROR = "infra_error"  # the verifier's own fault: not judged
    # Admission into the loop's pool, after validation (never returned by validate_task):
    DUPLICATE = "duplicate"  # the pool, or an earlier proposal of the iteration, has this task
    SAME_BEHAVIOUR = "same_behaviour"  # computes what a pool task does (challenger.novelty)


BENCHMARK_SOURCES = frozenset(
    {"humaneval", "mbpp", "humanevalplus", "mbppplus", "reasoning-gym", "seed"}
)
_IDENTITY_WORDS = ("identity", "unchanged", "return the input", "returns the input", "same list")


@dataclass(frozen=True)
class ValidationConfig:
    """Thresholds and bounds of Code-as-Task validation."""

    min_failure_cases: int = 3
    """Failure cases a task must carry, unless its source is in ``exempt_sources``."""
    exempt_sources: frozenset[str] = BENCHMARK_SOURCES
    """Sources whose tasks may come without failure cases (imported benchmarks)."""
    min_mutation_score: float = 0.5
    """Share of mutants the tests must kill; 0 disables the rejection (score still stored)."""
    max_mutants: int = 20
    """Mutants tried per task (a seeded sample when there are more sites)."""
    mutation_seed: int = 0
    """Seed of the mutant sample."""
    mutation: bool = True
    """Run mutation testing at all."""
    max_example_seconds: float = 5.0
    """Wall-clock bound on verifying the example solution."""
    max_instruction_chars: int = 8_000
    max_code_chars: int = 20_000
    """Bound on example solution, each failure case, and the checker."""
    max_tests: int = 1_000
    max_literal_chars: int = 20_000
    """Bound on each test input/output literal and each returned value."""
    max_probe_inputs: int = 50
    """Inputs (the task's own, first ones) run twice for the determinism and triviality checks."""

    def __post_init__(self) -> None:
        if not 0.0 <= self.min_mutation_score <= 1.0:
            raise ValueError(
                f"min_mutation_score={self.min_mutation_score}: must be in [0, 1]; "
                "use 0 to store scores without rejecting"
            )
        if self.min_failure_cases < 0 or self.max_mutants < 0:
            raise ValueError("min_failure_cases and max_mutants must be >= 0")


@dataclass(frozen=True)
class ValidationResult:
    """The decision on one task: ``reason`` is None when accepted. ``task`` (None only when
    it did not parse) carries the validation scores in its metadata."""

    task_id: str
    reason: RejectReason | None
    detail: str = ""
    task: Task | None = None
    mutation_score: float | None = None
    mutants_killed: int = 0
    mutants_total: int = 0

    @property
    def accepted(self) -> bool:
        """Whether the task passed every check."""
        return self.reason is None

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready summary (without the task)."""
        return {
            "task_id": self.task_id,
            "accepted": self.accepted,
            "reason": str(self.reason) if self.reason else None,
            "detail": self.detail,
            "mutation_score": self.mutation_score,
            "mutants_killed": self.mutants_killed,
            "mutants_total": self.mutants_total,
        }


@dataclass
class _State:
    task: Task
    reason: RejectReason | None = None
    detail: str = ""
    verdict: Verdict | None = None
    killed: int = 0
    total: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    def reject(self, reason: RejectReason, detail: str) -> None:
        self.reason, self.detail = reason, detail


def reason_counts(results: Sequence[ValidationResult]) -> Counter[str]:
    """Results per reason (``accepted`` for accepted ones)."""
    return Counter(str(r.reason) if r.reason else "accepted" for r in results)


def weak_tests(mutation_score: float | None, min_mutation_score: float) -> bool:
    """Whether a mutation score is below the minimum (rejected as ``weak_tests``). A task with
    no score, because no mutant could be made or judged, is not: it is accepted unscored."""
    return mutation_score is not None and mutation_score < min_mutation_score


def _size_problem(task: Task, cfg: ValidationConfig) -> str:
    if len(task.instruction) + len(task.prompt) > cfg.max_instruction_chars:
        return f"instruction+prompt longer than {cfg.max_instruction_chars} chars"
    for name, code in (("example_solution", task.example_solution), ("checker", task.checker)):
        if code and len(code) > cfg.max_code_chars:
            return f"{name} longer than {cfg.max_code_chars} chars"
    if any(len(f) > cfg.max_code_chars for f in task.failure_cases):
        return f"a failure case is longer than {cfg.max_code_chars} chars"
    tests = task.tests(Split.ALL)
    if len(tests) > cfg.max_tests:
        return f"{len(tests)} tests, more than {cfg.max_tests}"
    for t in tests:
        if len(t.input) > cfg.max_literal_chars or len(t.output) > cfg.max_literal_chars:
            return f"a test literal is longer than {cfg.max_literal_chars} chars"
    if task.answer is not None and len(task.answer) > cfg.max_literal_chars:
        return f"answer longer than {cfg.max_literal_chars} chars"
    return ""


def _decode(text: str | None) -> Any:
    try:
        return ("ok", ast.literal_eval(text)) if text is not None else ("none",)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return ("text", text)


def _trivial(
    st: _State, inputs: list[str], values: list[str | None], cfg: ValidationConfig
) -> None:
    big = next((v for v in values if v is not None and len(v) > cfg.max_literal_chars), None)
    if big is not None:
        st.reject(RejectReason.TOO_LARGE, f"a returned value is {len(big)} chars long")
        return
    if len({canonical(i) for i in inputs}) < 2:
        return
    if len(set(values)) == 1:
        st.reject(
            RejectReason.TRIVIAL_CONSTANT, f"returns {values[0]!r} for all {len(inputs)} inputs"
        )
        return
    args = [_decode(i) for i in inputs]
    if all(a[0] == "ok" and isinstance(a[1], tuple) and len(a[1]) == 1 for a in args):
        same = all(_decode(v) == ("ok", a[1][0]) for a, v in zip(args, values, strict=True))
        text = st.task.instruction.lower()
        if same and not any(w in text for w in _IDENTITY_WORDS):
            st.reject(RejectReason.TRIVIAL_IDENTITY, "returns its input unchanged on every input")


def _constant_private(task: Task) -> str | None:
    """The one value every private test expects, where there are two or more of them."""
    outputs = {value_key(t.output) for t in task.tests(Split.PRIVATE)}
    tests = len(task.tests(Split.PRIVATE))
    return next(iter(outputs)) if tests >= 2 and len(outputs) == 1 else None


_BASELINES = (
    "x",
    "sorted(x)",
    "sorted(x, reverse=True)",
    "x[::-1]",
    "[]",
    "0",
    "True",
    "False",
    "None",
    "''",
)
"""Programs of nothing (their first argument as it is, sorted, reversed; a constant) that no
task's private tests may be passed by unless its shown tests are too: an example that computes
its rule on the shown inputs alone and returns one of these elsewhere made that program earn
the reward, and its private tests all differ when it returns its input (red team 20)."""


def _baselines_job(task: Task) -> CallJob | None:
    """One job calling every baseline on each of the task's test inputs (None without any)."""
    inputs = [t.input for t in task.public_tests + task.private_tests]
    if not inputs or not task.public_tests:
        return None
    body = ", ".join(f"lambda: {expr}" for expr in _BASELINES)
    code = (
        "def __baselines(*args):\n"
        "    x = args[0] if args else None\n"
        "    out = []\n"
        f"    for make in ({body}):\n"
        "        try:\n"
        "            out.append(make())\n"
        "        except Exception:\n"
        "            out.append('<raised>')\n"
        "    return out\n"
    )
    return CallJob(code, "__baselines", inputs)


def _trivial_private(task: Task, results: Sequence[CallResult]) -> str | None:
    """The first baseline that returns every private test's output and not every public
    one's (outputs compared as ``value_key``), or None."""
    if any(not r.ok for r in results):
        return None
    try:
        rows = [ast.literal_eval(r.value or "") for r in results]
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None
    npub = len(task.public_tests)
    expected = [value_key(t.output) for t in task.public_tests + task.private_tests]
    for b, expr in enumerate(_BASELINES):
        try:
            got = [value_text(row[b]) for row in rows]
        except (IndexError, TypeError, RecursionError):
            return None
        same = [g == e for g, e in zip(got, expected, strict=True)]
        if all(same[npub:]) and not all(same[:npub]):
            return f"return {expr}"
    return None


def _outputs_job(task: Task, cfg: ValidationConfig) -> CallJob:
    """The example solution called on the task's own inputs."""
    inputs = task_inputs(task)[: cfg.max_probe_inputs]
    return CallJob(task.example_solution or "", task.entry_point, inputs, task.prompt)


def _check_outputs(
    st: _State,
    inputs: Sequence[str],
    runs: tuple[list[CallResult], list[CallResult]],
    cfg: ValidationConfig,
) -> None:
    """Reject ``st`` when two runs of its example returned different values, or trivial ones."""
    infra = next((r for run in runs for r in run if r.infra_error), None)
    if infra is not None:
        st.reject(RejectReason.INFRA_ERROR, infra.error or "")
        return
    # compare only where both runs returned a value: error texts and timeouts may differ
    differ = [
        k
        for k, (a, b) in enumerate(zip(*runs, strict=True))
        if a.ok and b.ok and canonical(a.value) != canonical(b.value)
    ]
    if differ:
        k = differ[0]
        st.reject(
            RejectReason.NONDETERMINISTIC,
            f"on {inputs[k][:80]}: {str(runs[0][k].value)[:60]} then {str(runs[1][k].value)[:60]}",
        )
        return
    ok = [(i, canonical(r.value)) for i, r in zip(inputs, runs[0], strict=True) if r.ok]
    _trivial(st, [i for i, _ in ok], [v for _, v in ok], cfg)


def _verify_all(verifier: VerificationBackend, jobs: list[tuple[Task, str]]) -> list[Verdict]:
    return verifier.verify_many(jobs, split=Split.ALL) if jobs else []


def validate_tasks(
    items: Sequence[Task | dict[str, Any]],
    verifier: VerificationBackend,
    config: ValidationConfig | None = None,
    guard: ContaminationGuard | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> list[ValidationResult]:
    """Validate tasks (or raw task objects, which are parsed first); one result per item, in order.

    ``progress(phase, done, total)`` is called as phases finish.
    """
    cfg = config or ValidationConfig()
    results: list[ValidationResult | None] = [None] * len(items)
    states: dict[int, _State] = {}
    for i, item in enumerate(items):
        if isinstance(item, Task):
            states[i] = _State(item)
            continue
        try:
            states[i] = _State(parse_task(item))
        except TaskFormatError as e:
            tid = item.get("id") if isinstance(item, dict) else None
            results[i] = ValidationResult(str(tid or f"#{i}"), RejectReason.UNPARSEABLE, str(e))

    def alive(code_only: bool = True) -> list[tuple[int, _State]]:
        return [
            (i, s)
            for i, s in states.items()
            if s.reason is None and (not code_only or s.task.kind is TaskKind.FUNCTION)
        ]

    def report(phase: str) -> None:
        if progress is not None:
            progress(phase, len(items) - len(alive(False)), len(items))

    # 1-2: cheap checks
    for _, st in alive(False):
        t = st.task
        if problem := _size_problem(t, cfg):
            st.reject(RejectReason.TOO_LARGE, problem)
        elif guard is not None and (hit := guard.check(t)) is not None:
            st.reject(
                RejectReason.CONTAMINATED,
                f"{hit.field} overlaps held-out {hit.heldout_id} ({hit.overlap:.0%})",
            )
        elif t.kind is TaskKind.ANSWER and not (t.answer or "").strip():
            st.reject(RejectReason.UNPARSEABLE, "empty gold answer")
        elif (
            t.kind is TaskKind.FUNCTION
            and t.source not in cfg.exempt_sources
            and (same := _constant_private(t)) is not None
        ):
            st.reject(
                RejectReason.TRIVIAL_CONSTANT,
                f"every private test expects {same[:80]}: a constant passes them",
            )
        elif t.kind is TaskKind.FUNCTION and not t.example_solution:
            st.reject(RejectReason.NO_EXAMPLE_SOLUTION, "a function task needs an example solution")
        elif t.kind is TaskKind.FUNCTION and t.source not in cfg.exempt_sources:
            if len(t.failure_cases) < cfg.min_failure_cases:
                st.reject(
                    RejectReason.TOO_FEW_FAILURE_CASES,
                    f"{len(t.failure_cases)} failure cases, need {cfg.min_failure_cases}",
                )
    report("checked")

    # 3-4: the example passes, in time, alike on two runs (on different workers)
    batch = alive()
    jobs = [(s.task, s.task.example_solution or "") for _, s in batch]
    verdicts = verifier.verify_many(jobs, split=Split.ALL, rerun=True) if jobs else []
    for (_, st), v in zip(batch, verdicts, strict=True):
        st.verdict = v
        if v.outcome is Outcome.INFRA_ERROR:
            st.reject(RejectReason.INFRA_ERROR, v.detail)
        elif v.nondeterministic:
            st.reject(RejectReason.NONDETERMINISTIC, v.detail)
        elif v.outcome is Outcome.TIMEOUT or v.elapsed_s > cfg.max_example_seconds:
            st.reject(RejectReason.TOO_SLOW, f"example took {v.elapsed_s:.1f}s ({v.outcome})")
        elif v.outcome is not Outcome.PASS:
            st.reject(RejectReason.EXAMPLE_FAILS, f"{v.outcome}: {v.passed}/{v.total} {v.detail}")
    report("example")

    # 4-5: outputs on the task's own inputs, twice: deterministic and not trivial
    calls = [(s, _outputs_job(s.task, cfg)) for _, s in alive()]
    calls = [(s, job) for s, job in calls if job.inputs]
    runs = verifier.call_many([job for _, job in calls for _ in range(2)])  # each job twice
    for (st, job), a, b in zip(calls, runs[0::2], runs[1::2], strict=True):
        _check_outputs(st, job.inputs, (a, b), cfg)
    report("outputs")

    # 5b: no trivial program passes the private tests while failing the shown ones
    batch = [
        (st, job)
        for _, st in alive()
        if st.task.source not in cfg.exempt_sources
        and st.task.private_tests
        and (job := _baselines_job(st.task)) is not None
    ]
    for (st, _), called in zip(batch, verifier.call_many([j for _, j in batch]), strict=True):
        if (name := _trivial_private(st.task, called)) is not None:
            st.reject(
                RejectReason.TRIVIAL_PRIVATE,
                f"`{name}` passes every private test but not the shown ones",
            )
    report("baselines")

    # 6: every failure case fails
    batch = [(s, k, f) for _, s in alive() for k, f in enumerate(s.task.failure_cases)]
    for (st, k, _), v in zip(
        batch, _verify_all(verifier, [(s.task, f) for s, _, f in batch]), strict=True
    ):
        if st.reason is not None:
            continue
        if v.outcome is Outcome.INFRA_ERROR:
            st.reject(RejectReason.INFRA_ERROR, v.detail)
        elif v.outcome is Outcome.PASS:
            st.reject(RejectReason.FAILURE_CASE_PASSES, f"failure_cases[{k}] passes every test")
    report("failure_cases")

    # 7: mutants
    if cfg.mutation and cfg.max_mutants > 0:
        batch = [
            (s, m)
            for _, s in alive()
            for m in generate_mutants(
                s.task.example_solution or "", cfg.max_mutants, cfg.mutation_seed
            )
        ]
        verdicts = _verify_all(verifier, [(s.task, m.source) for s, m in batch])
        for (st, _), v in zip(batch, verdicts, strict=True):
            if v.outcome in (Outcome.INFRA_ERROR, Outcome.INVALID):
                continue
            st.total += 1
            st.killed += v.outcome is not Outcome.PASS
        for _, st in alive():
            score = st.killed / st.total if st.total else None
            if weak_tests(score, cfg.min_mutation_score):
                st.reject(
                    RejectReason.WEAK_TESTS,
                    f"tests kill {st.killed}/{st.total} mutants, need {cfg.min_mutation_score:.0%}",
                )
    report("mutants")

    for i, st in states.items():
        score = st.killed / st.total if st.total else None
        meta = dict(st.task.metadata)
        if st.task.kind is TaskKind.FUNCTION:
            meta["mutation_score"] = score
            meta["validation"] = {
                "mutants_killed": st.killed,
                "mutants_total": st.total,
                "example_elapsed_s": round(st.verdict.elapsed_s, 4) if st.verdict else None,
                "reason": str(st.reason) if st.reason else None,
            }
        results[i] = ValidationResult(
            st.task.id,
            st.reason,
            st.detail,
            dataclasses.replace(st.task, metadata=meta),
            score,
            st.killed,
            st.total,
        )
    return [r for r in results if r is not None]
