"""Verdicts: run a solution against a task's tests in the sandbox and judge it here.

I/O tests: the candidate's process is given only the test *inputs*; each return value comes
back as literal text, is decoded in this (trusted) process by ``decode_plain`` and compared
with the expected output with ``plain_equal``. Expected outputs never leave this process.

Checker tasks: ``check(candidate)`` runs in a judge process on a different worker; each call
of its ``candidate`` proxy is relayed here, executed in the candidate's process, and its
result decoded here before the judge sees it. The candidate can read neither the judge's
memory nor its files, and the judge's verdict travels on a channel the candidate cannot write.

Exit codes, stdout and objects the candidate built are never trusted.

Whose fault: ``infra_error`` (reward None: the attempt is dropped, not scored) comes only from
conditions the candidate cannot cause: no lock-down confirmation as the first frame of the
result channel, which the job writes before any candidate code exists (``_load``); a worker
lost before its job started; the judge's process ending before it confirmed it was judging.
``invalid`` (reward None too) only from the task: inputs or expected outputs over the wire's
caps, a checker that does not load or passes over-sized arguments before the candidate ever
returned. Everything that reads, decodes or compares a candidate's value, or a frame the
candidate could have written, classes its failure as the candidate's (``error``/``fail``).

Cost: results are judged as they arrive, inside the job's deadline, and a value is parsed
only up to a token budget set by its expected output (``_expected``), so the verifier's
own process spends at most one bounded decode past the job's wall clock.
"""

from __future__ import annotations

import ast
import functools
import json
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any

from closedloop.sandbox import Limit, Refusals, SandboxLimits, WorkerLost
from closedloop.sandbox.pool import SandboxPool, Slot
from closedloop.sandbox.wire import (
    COMPARE_BUDGET,
    MAX_FRAME,
    TooManyTokens,
    WireError,
    decode_plain,
    frame_bytes,
    plain_equal,
    token_count,
)
from closedloop.sandbox.worker import JobChannel, JobStatus, Worker
from closedloop.tasks.format import Split, Task, TaskKind
from closedloop.verify.outcome import Outcome, TestResult, Verdict
from closedloop.verify.text import safe_text

_BATCH_BYTES = 32 << 10  # requests written ahead of results; stays under a pipe's buffer
_JUDGE_GRACE_S = 0.25  # how long past the candidate's deadline a judge may take to answer
_NOT_RUN = "not run: a call before it got no answer"
_JUDGE_START_S = 0.25  # a judge given less than this that ends unconfirmed: the candidate's


@dataclass(frozen=True)
class CallResult:
    """One call of a function in the sandbox: the literal text it returned, or why not."""

    ok: bool
    value: str | None = None
    error: str | None = None
    infra_error: bool = False
    """The sandbox failed, not the code: the call was not run, and may be retried."""
    refusals: Refusals = field(default_factory=Refusals)
    """What the sandbox refused or cut the job this call ran in, on the job's first call
    only (every later call of the job has none), so that adding up a run's results counts
    each job once."""


@dataclass(frozen=True)
class CallJob:
    """The arguments of one :meth:`Verifier.call`, for :meth:`Verifier.call_many`."""

    code: str
    entry_point: str
    inputs: Sequence[str]
    """Argument-tuple literals, one per call."""
    prompt: str = ""
    resume: bool = True
    """Calls after one that got no answer go on in fresh jobs (:meth:`Verifier.call`); False:
    they are not run, so the job costs one wall clock at most (code that may hang)."""


def program_text(task: Task, solution: str) -> str:
    """The program the candidate runs: the task's prompt, then the solution (unless the
    solution already repeats the prompt, as full-program completions do).

    A solution that opens with ``from __future__`` imports (after its docstring, if any),
    valid where it stands alone, has that opening moved above the prompt, blank lines left in
    its place: after the prompt it was a SyntaxError, and a correct full rewrite failed.
    """
    if task.prompt and not solution.lstrip().startswith(task.prompt.strip()[:200]):
        head = _future_head(solution)
        if head:
            return (
                solution[:head] + task.prompt + "\n" * solution[:head].count("\n") + solution[head:]
            )
        return task.prompt + solution
    return solution


def _future_head(solution: str) -> int:
    """Where the solution's opening docstring and ``from __future__`` statements end (an
    offset at a line's start), or 0 where it has none (or does not parse alone)."""
    if "__future__" not in solution:
        return 0
    try:
        body = ast.parse(solution).body
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return 0
    k = (
        1
        if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
        else 0
    )
    last = None
    while k < len(body) and isinstance(body[k], ast.ImportFrom) and body[k].module == "__future__":
        last = body[k]
        k += 1
    if last is None or last.end_lineno is None:
        return 0
    lines = solution.splitlines(keepends=True)
    return sum(len(line) for line in lines[: last.end_lineno])


class Verifier:
    """Owns a sandbox pool and turns (task, solution) pairs into :class:`Verdict`s.

    ``workers``: the pool's slots (default: one more than cores); ``retries``: how often a job
    whose worker was lost runs again before it is ``infra_error``; ``pool``: a pool to use
    instead of making one; ``prewarm_judges``: start each slot's judge worker (checker tasks)
    with the pool, or when a checker task first needs it (before the candidate's clock).

    Example::

        with Verifier(workers=2) as v:
            verdict = v.verify(task, "def f(xs):\\n    return sorted(xs)\\n")
            verdict.outcome  # Outcome.PASS
    """

    def __init__(
        self,
        workers: int | None = None,
        limits: SandboxLimits | None = None,
        retries: int = 1,
        pool: SandboxPool | None = None,
        prewarm_judges: bool = True,
    ):
        self.limits = limits or SandboxLimits()
        self.pool = pool or SandboxPool(workers, self.limits, prewarm_judges)
        self._own_pool = pool is None
        self.retries = retries
        self.infra_retries = 0

    # -- public API -------------------------------------------------------------------------

    def verify(
        self,
        task: Task,
        solution: str,
        split: Split = Split.PRIVATE,
        rerun: bool = False,
        line: int | None = None,
    ) -> Verdict:
        """Verify one solution. With ``rerun``, run it twice on different workers and flag a
        difference as non-determinism (the verdict then keeps the worse outcome)."""
        first, idx = self._with_retry(task, solution, split, None)
        first = replace(first, line=line)
        if not rerun or first.outcome in (Outcome.INVALID, Outcome.INFRA_ERROR):
            return first
        second, _ = self._with_retry(task, solution, split, idx)
        if _signature(first) == _signature(second):
            return first
        worse = first if first.outcome is not Outcome.PASS else replace(second, line=line)
        return replace(
            worse,
            nondeterministic=True,
            detail=(worse.detail + " (results differed between two runs)").strip(),
        )

    def verify_many(
        self,
        items: Iterable[tuple[Task, str]],
        split: Split = Split.PRIVATE,
        rerun: bool = False,
        on_done: Callable[[Verdict], None] | None = None,
    ) -> list[Verdict]:
        """Verify many solutions in parallel (one per slot); results in input order."""
        return list(self.iter_verify(items, split, rerun, on_done))

    def iter_verify(
        self,
        items: Iterable[tuple[Task, str]],
        split: Split = Split.PRIVATE,
        rerun: bool = False,
        on_done: Callable[[Verdict], None] | None = None,
    ) -> Iterator[Verdict]:
        """Like :meth:`verify_many`, yielding verdicts in input order as they become ready."""

        def one(item: tuple[Task, str]) -> Verdict:
            try:
                v = self.verify(item[0], item[1], split, rerun)
            except Exception as e:  # a verifier bug must not take the rest of the batch down
                v = Verdict(
                    item[0].id,
                    Outcome.INFRA_ERROR,
                    0,
                    0,
                    detail=f"verifier error: {type(e).__name__}: {str(e)[:300]}",
                )
            if on_done:
                on_done(v)
            return v

        with ThreadPoolExecutor(self.pool.size) as ex:
            yield from ex.map(one, items)

    def call(
        self,
        code: str,
        entry_point: str,
        inputs: list[str],
        prompt: str = "",
        resume: bool = True,
    ) -> list[CallResult]:
        """Run ``entry_point`` of ``code`` on each input (argument-tuple literal) in the sandbox.

        Used to compute expected outputs from a trusted example solution; never to judge.
        One job has one wall clock, and a call that times out or ends the process leaves the
        calls after it unanswered: those go on in a fresh job. A call lost that way is given
        one fresh job of its own first (the calls before it may have spent its time) and keeps
        its error only if it is lost again, so N inputs cost at most N jobs. With ``resume``
        False one job is all: the lost call keeps its error and the calls after it are not
        run (an error each). Raises :class:`WorkerLost` when the sandbox itself fails.
        """
        task = Task(
            id="call",
            kind=TaskKind.FUNCTION,
            instruction="",
            entry_point=entry_point,
            prompt=prompt,
        )
        program = program_text(task, code)
        results: list[CallResult] = []
        with self.pool.slot() as slot:
            while len(results) < len(inputs):
                got, lost = _call_job(slot, program, entry_point, inputs[len(results) :])
                if lost is None:
                    results += got
                elif not resume:
                    results += got[: lost + 1]
                    results += [CallResult(False, error=_NOT_RUN)] * (len(inputs) - len(results))
                elif lost > 0:  # the next job starts with the lost call
                    results += got[:lost]
                else:  # lost again, with a fresh job to itself: it keeps its error
                    results.append(got[0])
        return results

    def call_many(
        self,
        jobs: Iterable[CallJob],
        on_done: Callable[[list[CallResult]], None] | None = None,
    ) -> list[list[CallResult]]:
        """Run many :meth:`call` jobs in parallel (one per slot); results in job order.

        A job whose worker is lost is retried on a fresh one (``retries`` times). A job the
        sandbox could not run at all, or that hit a verifier bug, gets one result per input
        with ``infra_error`` set, saying why; the other jobs are unaffected. ``on_done`` is
        called with each job's results from the worker threads, as jobs finish.
        """

        def one(job: CallJob) -> list[CallResult]:
            results = self._call_with_retry(job)
            if on_done:
                on_done(results)
            return results

        with ThreadPoolExecutor(self.pool.size) as ex:
            return list(ex.map(one, jobs))

    def close(self) -> None:
        if self._own_pool:
            self.pool.close()

    def __enter__(self) -> Verifier:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _call_with_retry(self, job: CallJob) -> list[CallResult]:
        why = ""
        for _attempt in range(self.retries + 1):
            try:
                return self.call(
                    job.code, job.entry_point, list(job.inputs), job.prompt, job.resume
                )
            except WorkerLost as e:  # the worker was killed or replaced: retry on a fresh one
                why = f"sandbox worker lost: {e}"
                self.infra_retries += 1
            except Exception as e:  # a verifier bug must not take the rest of the batch down
                why = f"verifier error: {type(e).__name__}: {str(e)[:300]}"
                break
        return [CallResult(False, error=why, infra_error=True) for _ in job.inputs]

    # -- one verification -------------------------------------------------------------------

    def _with_retry(
        self, task: Task, solution: str, split: Split, avoid: int | None
    ) -> tuple[Verdict, int]:
        last = ""
        for _attempt in range(self.retries + 1):
            with self.pool.slot(avoid) as slot:
                try:
                    return self._run(task, solution, split, slot), slot.index
                except WorkerLost as e:  # the worker was killed or replaced: retry on a fresh one
                    last = str(e)
                    self.infra_retries += 1
                    slot.ensure_alive()
        return Verdict(
            task.id,
            Outcome.INFRA_ERROR,
            0,
            _test_count(task, split),
            detail=f"sandbox worker lost twice: {last}",
        ), -1

    def _run(self, task: Task, solution: str, split: Split, slot: Slot) -> Verdict:
        tests = task.tests(split)
        use_checker = _uses_checker(task, split)
        total = _test_count(task, split)
        if task.kind is TaskKind.ANSWER:
            return self._run_answer(task, solution, slot)
        if total == 0:
            return Verdict(task.id, Outcome.INVALID, 0, 0, detail=f"task has no {split} tests")
        problem = _task_problem(tests)
        if problem:
            return Verdict(task.id, Outcome.INVALID, 0, total, detail=problem)
        # a judge not started yet (pools without prewarmed judges) starts here, not on the
        # candidate's clock
        judge_worker = slot.judge if use_checker else None
        t0 = time.monotonic()
        ch = slot.candidate.begin("candidate")
        ch.byte_budget = _result_budget(tests)
        results: list[TestResult] = []
        judge_outcome: tuple[Outcome, str] | None = None
        judge_refusals = Refusals()
        tol = task.float_tolerance

        # what comparing this verdict's values may cost the host beyond each test's own share
        # (in proportion to its expected output), all tests together
        budget = [COMPARE_BUDGET]

        def judge(k: int, frame: dict[str, Any]) -> None:  # as each result arrives
            results.append(_judge_io(k, tests[k], frame, tol, budget))

        try:
            load = _load(ch, program_text(task, solution), task.entry_point)
            if "ready" in load:
                _run_calls(ch, [t.input for t in tests], judge)
                if judge_worker and not ch.eof and time.monotonic() < ch.deadline:
                    judge_outcome, judge_refusals = self._run_checker(task, ch, judge_worker)
        finally:
            status = slot.candidate.end(ch)
        if judge_refusals:
            status = replace(status, refusals=status.refusals + judge_refusals)
        elapsed = time.monotonic() - t0
        return _verdict(
            task, tests, results, load, judge_outcome, use_checker, status, elapsed, total
        )

    def _run_answer(self, task: Task, solution: str, slot: Slot) -> Verdict:
        """Answer tasks: the solution is the final answer, or a program that prints it (its
        last non-empty line of output is the answer). Compared here, never evaluated."""
        from closedloop.tasks.answer import score_answer

        t0 = time.monotonic()
        answer, status = solution, None
        if _prints(solution):
            ch = slot.candidate.begin("candidate")
            try:
                load = _load(ch, solution, "")
            finally:
                status = slot.candidate.end(ch)
            # a program may also end itself, its output flushed (``os._exit(0)``): exit code
            # 0, no signal and nothing said about loading is a program that ran to its end
            ended = (
                "load_error" not in load
                and status.exit_code == 0
                and status.signal is None
                and not status.timed_out
            )
            if "ready" not in load and not ended:
                outcome = Outcome.TIMEOUT if status.timed_out else Outcome.ERROR
                why = load.get("load_error") or _death(status, "before printing an answer")
                return Verdict(
                    task.id,
                    outcome,
                    0,
                    1,
                    detail=str(why),
                    stdout=status.stdout,
                    stderr=status.stderr,
                    elapsed_s=time.monotonic() - t0,
                    refusals=status.refusals,
                )
            lines = [x for x in status.stdout.splitlines() if x.strip()]
            answer = lines[-1] if lines else ""
        ok = score_answer(task, answer)
        common = {
            "elapsed_s": time.monotonic() - t0,
            "stdout": status.stdout if status else "",
            "stderr": status.stderr if status else "",
            "refusals": status.refusals if status else Refusals(),
        }
        test = TestResult(0, ok, "", task.answer, answer[:1000])
        if ok:
            return Verdict(task.id, Outcome.PASS, 1, 1, (test,), **common)
        return Verdict(
            task.id,
            Outcome.FAIL,
            0,
            1,
            (test,),
            detail=f"answer {answer[:200]!r} is not the gold answer",
            **common,
        )

    def _run_checker(
        self, task: Task, cand: JobChannel, judge_worker: Worker
    ) -> tuple[tuple[Outcome, str], Refusals]:
        """The checker's outcome, and what the sandbox cut the judge off at. The judge confirms
        ``judging`` before any checker code runs; its process ending after that is the
        candidate's fault (its values were in play): a limit hit (wall clock, CPU) is a
        timeout, any other death an error, and a judge still busy past the deadline is
        killed (by its worker at the candidate's deadline; by the host, which then replaces
        the worker, ``_JUDGE_GRACE_S`` after). Neither is ever ``infra_error``; nor is a judge
        that ends unconfirmed after the candidate left it under ``_JUDGE_START_S``."""
        left = cand.deadline - time.monotonic()
        judge = judge_worker.begin("judge", extra_fds=(cand.in_w, cand.out_r), wall_s=left)
        judge.deadline = cand.deadline + _JUDGE_GRACE_S
        judging, msg = False, None
        try:
            judge.send({"prelude": task.prompt, "checker": task.checker, "entry": task.entry_point})
            msg = judge.recv()
            if msg is not None and msg.get("judging") is True:
                judging = True
                msg = judge.recv()
            if msg is not None:
                outcome = _judge_verdict(msg)
            elif not judge.eof:
                outcome = (Outcome.TIMEOUT, "the checker did not finish in time")
            elif judging:
                outcome = (Outcome.ERROR, "the checker's process ended while judging")
            else:
                outcome = (Outcome.INFRA_ERROR, "the judge process ended before judging")
        except WireError as e:  # only trusted code writes there: a frame cut by the judge's death
            outcome = (
                (Outcome.ERROR, f"the checker's process ended while judging ({e})")
                if judging
                else (Outcome.INFRA_ERROR, f"judge channel: {e}")
            )
        if outcome[0] is Outcome.INFRA_ERROR and not judging and left < _JUDGE_START_S:
            # The judge's clock is what the candidate left of its own: one that used it up
            # (it can even confirm it loaded and exit at the last moment) starves the judge
            # before it confirms, and must not make that the sandbox's fault.
            outcome = (Outcome.TIMEOUT, "the candidate left the checker no time to run")
        cand.close_input()  # the checker was the job's last step: both processes end at once
        if outcome[0] is Outcome.TIMEOUT and msg is None:
            judge.close()
            judge_worker.kill()  # still running the checker: replaced before the slot's next job
            return outcome, Refusals({}, {Limit.WALL_CLOCK: 1})
        try:
            st = judge_worker.end(judge, grace_s=_JUDGE_GRACE_S)
        except WorkerLost:
            if outcome[0] is Outcome.INFRA_ERROR:
                raise
            return outcome, Refusals()
        if judging and msg is None and st.timed_out:  # its worker killed it at a limit
            cut = "the CPU limit" if Limit.CPU in st.refusals.limits else "the wall clock"
            outcome = (Outcome.TIMEOUT, f"the checker was stopped at {cut}")
        if outcome[0] is Outcome.INFRA_ERROR:
            why = st.stderr.strip().splitlines()[-1][:200] if st.stderr.strip() else ""
            why = why or (f"exit code {st.exit_code}" if st.exit_code else "")
            outcome = (outcome[0], outcome[1] + (": " + why if why else ""))
        return outcome, st.refusals


# -- helpers ----------------------------------------------------------------------------------


def _uses_checker(task: Task, split: Split) -> bool:
    """The checker judges the private side: it runs for ``private`` and ``all``."""
    return bool(task.checker) and split is not Split.PUBLIC


def _test_count(task: Task, split: Split) -> int:
    """Tests a verdict counts: the split's I/O tests, plus one for the checker."""
    return len(task.tests(split)) + (1 if _uses_checker(task, split) else 0)


def _prints(solution: str, max_chars: int = 10_000) -> bool:
    """Whether an answer-task solution is a program that prints its answer: Python that names
    ``print`` or ``pprint``, or an attribute ``print``, ``pprint``, ``write`` or
    ``writelines`` (``sys.stdout.write``, ``sys.stdout.buffer.write``, ``os.write``,
    ``builtins.print``, ``pprint.pprint``). This parses the candidate's text in the host, so
    it is kept cheap and bounded: a text without the ASCII word ``print`` or ``write`` is not
    such a program (no parse), nor is one over ``max_chars`` characters; either is scored as
    the final answer as it stands.
    Parsing costs up to ~6 us a character in the worst shapes (an f-string of many fields),
    30-60 ms at the cap; a 4 MiB text once cost 34 s of CPU and 3.7 GiB."""
    if len(solution) > max_chars or ("print" not in solution and "write" not in solution):
        return False
    import ast

    try:
        tree = ast.parse(solution)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    body = tree.body
    if len(body) == 1 and isinstance(body[0], ast.Expr):
        if isinstance(body[0].value, ast.Name | ast.Attribute):
            return False  # a name alone is an answer ("print", "sys.stdout.write"), not a program
    # a node naming a way to print, called or not (``w = sys.stdout.write``)
    return any(
        (isinstance(n, ast.Name) and n.id in _PRINTING_NAMES)
        or (isinstance(n, ast.Attribute) and n.attr in _PRINTING_ATTRIBUTES)
        for n in ast.walk(tree)
    )


_PRINTING_NAMES = frozenset({"print", "pprint"})
_PRINTING_ATTRIBUTES = frozenset({"print", "pprint", "write", "writelines"})


def _over_the_wire_cap(frame: dict[str, Any]) -> str | None:
    """Why ``frame`` cannot reach the sandbox (encoded, it is over the wire's ``MAX_FRAME``
    bytes), or None. Without this the job refuses the frame and exits, and the verdict said
    only "exited while loading"."""
    text = frame["code"]
    if len(text) * 6 + 256 <= MAX_FRAME:  # write_frame's JSON spends at most 6 bytes a char
        return None
    size = len(json.dumps(frame, ensure_ascii=False).encode("utf-8", "surrogatepass"))
    if size <= MAX_FRAME:
        return None
    return (
        f"the solution is {size:,} bytes as sent, over the sandbox's limit of "
        f"{MAX_FRAME:,} bytes ({MAX_FRAME >> 20} MiB) a solution may have"
    )


def _load(ch: JobChannel, code: str, entry: str) -> dict[str, Any]:
    """Send the program; ``{"ready": True}``, or why it did not load.

    The result channel's first frame is written by the job before it reads the program, so
    before any candidate code exists: ``{"locked": true}`` once lock-down is in force, or
    ``{"sandbox_error": ...}``. Only that frame may blame the sandbox (:class:`WorkerLost`,
    retried, ``infra_error`` at last); every frame after it may be the candidate's, and a
    malformed or unexpected one is a load error, the candidate's fault. The program is written
    before that frame is read (the job reads nothing before writing it), which saves a round
    trip and changes nothing of whose frame is whose.
    """
    frame = {"code": code, "entry": entry}
    too_big = _over_the_wire_cap(frame)
    sent = too_big is None and ch.send(frame)
    ch.recv_lock_down()
    if too_big is not None:
        return {"load_error": too_big}
    if not sent:
        return {"died": True}
    try:
        msg = ch.recv()
    except WireError as e:
        return {"load_error": f"malformed result channel: {e}"}
    if msg is None:
        return {"timeout": True} if not ch.eof else {"died": True}
    if msg.get("ready") is True:
        return {"ready": True}
    if "load_error" in msg:
        return {"load_error": safe_text(_text(msg["load_error"], 2000))}
    return {"load_error": "malformed result channel: unexpected first frame"}


def _text(x: Any, limit: int) -> str:
    """A frame field that should be text, cut to ``limit`` characters (the candidate may have
    written the frame: anything else is shown as what it is, never converted)."""
    return x[:limit] if type(x) is str else f"({type(x).__name__}, not text)"


def _call_job(
    slot: Slot, program: str, entry: str, inputs: list[str]
) -> tuple[list[CallResult], int | None]:
    """One job calling ``entry`` on each input: the results, and the index of the first call
    that got no answer (it timed out or ended the process; None when every call answered)."""
    ch = slot.candidate.begin("candidate")
    frames: list[dict[str, Any]] = []
    load_error = None
    try:
        load = _load(ch, program, entry)
        if "ready" not in load:
            load_error = load.get("load_error") or "the program did not load"
        else:
            _run_calls(ch, inputs, lambda _k, f: frames.append(f))
    finally:
        status = slot.candidate.end(ch)
    if load_error is not None:
        results, lost = [CallResult(False, error=load_error) for _ in inputs], None
    else:
        lost = next((k for k, f in enumerate(frames) if "missing" in f), None)
        results = [_call_result(f) for f in frames]
        if lost is not None and status.timed_out:  # the kill at the wall clock can beat ours
            results[lost] = CallResult(False, error="timeout")
    if results and status.refusals:  # the first result is kept whatever call() retries
        results[0] = replace(results[0], refusals=status.refusals)
    return results, lost


def _run_calls(
    ch: JobChannel, inputs: list[str], on_frame: Callable[[int, dict[str, Any]], None]
) -> None:
    """Call the entry point on each input, writing ahead in batches; ``on_frame(k, frame)``
    for each input in order, as its result arrives (``{"missing": why}`` for calls that got
    no answer), so that results are judged inside the job's deadline and none is kept."""
    # A batch's requests, header and JSON included, fit in the request pipe (``ch.room``):
    # the job has read every earlier request when its last result arrives, so writing a batch
    # never blocks. Counted as input characters, 3,000 one-character inputs were 60 KiB of
    # frames past a 64 KiB pipe's room once their results filled the other pipe: both ends
    # blocked, and a correct solution timed out.
    room = min(_BATCH_BYTES, ch.room)
    i = 0
    while i < len(inputs):
        j, batch = i, bytearray()
        while j < len(inputs):
            frame = frame_bytes({"i": j, "args": inputs[j]})
            if j > i and len(batch) + len(frame) > room:
                break
            batch += frame
            j += 1
        ch.send_bytes(batch)
        for k in range(i, j):
            try:
                msg = ch.recv()
            except WireError as e:
                ch.eof = True
                on_frame(k, {"unplain": f"malformed result channel: {e}"})
                continue
            if msg is None:
                why = "timeout" if not ch.eof else "the candidate process ended"
                for m in range(k, len(inputs)):
                    on_frame(m, {"missing": why})
                return
            if msg.get("i") != k:
                msg = {"unplain": "malformed result channel: results out of order"}
            elif "missing" in msg:  # the host's own mark for a lost call: never the candidate's
                msg = {"unplain": "malformed result channel: a reserved key"}
            on_frame(k, msg)
        i = j


def _judge_verdict(msg: dict[str, Any]) -> tuple[Outcome, str]:
    kind, detail = msg.get("verdict"), safe_text(_text(msg.get("detail", ""), 500))
    if kind == "pass":
        return Outcome.PASS, ""
    if kind == "fail":
        return Outcome.FAIL, detail
    if kind in ("error", "fault"):  # the candidate raised, or its side of the proxy failed
        return Outcome.ERROR, detail
    if kind == "judge_error":
        return Outcome.INVALID, "the task's checker does not load: " + detail
    if kind == "limit":
        return Outcome.INVALID, "the task's checker is over the wire's caps: " + detail
    return Outcome.INFRA_ERROR, "the judge sent an unknown verdict"


@functools.lru_cache(maxsize=8192)
def _result_budget(tests: Sequence[Any]) -> int:
    """Bytes a candidate's job may write on its result channel for I/O ``tests``: a frame at
    the wire's cap, and for each test 32 bytes per character of its expected output (a value
    equal to it prints at most that much longer: ``1`` as ``1.0000000000000002`` under a
    tolerance) plus 32 KiB (an exception's reply with its message, args and attributes).
    Past it the host reads no more (the remaining tests are the candidate's failures), so
    what one verdict costs the verifier's process is bounded by the task's own size."""
    return MAX_FRAME + sum(32 * len(t.output or "") + (32 << 10) for t in tests)


def _expected(text: str) -> tuple[Any, int]:
    """A decoded expected output, and the most tokens a value equal to it can be written
    with (4x its own, plus slack: ``token_count`` differs by under 2x between equal values).
    Cached: RL verifies many attempts at the same task."""
    return decode_plain(text), 4 * token_count(text) + 64


@functools.lru_cache(maxsize=8192)
def _literal_problem(text: str, what: str) -> str:
    """Why a task's literal (``what``: input or output) cannot cross the wire, or ""."""
    try:
        v = decode_plain(text)
    except WireError as e:
        return f"{what} {text[:60]!r}... cannot be used: {e}"
    if what == "input" and type(v) is not tuple:
        return f"input {text[:60]!r} is not a tuple of arguments"
    if what == "input" and len(text) * 6 + 64 > MAX_FRAME:  # JSON: up to 6 bytes a character
        size = len(json.dumps({"i": 0, "args": text}, ensure_ascii=False).encode())
        if size > MAX_FRAME:
            return f"input of {size:,} bytes as sent, over the wire's {MAX_FRAME:,}-byte cap"
    return ""


def _task_problem(tests: Sequence[Any]) -> str:
    """Why the task's tests cannot be run as they are (the task's fault, not the
    candidate's: over the wire's caps), or ""."""
    for i, t in enumerate(tests):
        problem = _literal_problem(t.input, "input") or _literal_problem(t.output, "output")
        if problem:
            return f"test {i}: {problem}"
    return ""


def _call_result(frame: dict[str, Any]) -> CallResult:
    if "value" in frame:
        try:
            decode_plain(frame["value"])
            return CallResult(True, value=frame["value"])
        except WireError as e:
            return CallResult(False, error=str(e))
    if "raised" in frame:
        return CallResult(False, error=safe_text(_text(frame.get("error"), 400)))
    return CallResult(
        False, error=safe_text(_text(frame.get("unplain") or frame.get("missing"), 400))
    )


def _judge_io(
    i: int, test: Any, frame: dict[str, Any], tol: float | None, budget: list[int]
) -> TestResult:
    """One I/O test's result. Every way a candidate's value can fail to be read or compared
    is the candidate's failure; a value with more tokens than any value equal to the
    expected output could have is unequal without being parsed. Comparing spends this test's
    own share of work (2 units a token an equal value may have), then ``budget``, the
    verdict's pool, which keeps what is left."""
    if "value" in frame:
        text = frame["value"]
        if type(text) is not str:
            return TestResult(i, False, test.input, test.output, None, "result refused: not text")
        expected, max_tokens = _expected(test.output)
        try:
            got = decode_plain(text, max_tokens=max_tokens)
        except TooManyTokens:  # unequal to the expected output without being parsed
            return TestResult(i, False, test.input, test.output, safe_text(text[:1000]))
        except Exception as e:  # WireError, or anything else: the value's fault
            return TestResult(
                i, False, test.input, test.output, None, safe_text(f"result refused: {e}")[:400]
            )
        pool = max(budget[0], 0)
        mine = [2 * max_tokens + pool]
        ok = plain_equal(got, expected, tol, mine)  # never raises: unequal if it cannot tell
        budget[0] = min(pool, mine[0])  # the pool less what this test spent past its share
        return TestResult(i, ok, test.input, test.output, safe_text(text[:1000]))
    if "raised" in frame:
        return TestResult(
            i, False, test.input, test.output, None, safe_text(_text(frame.get("error"), 400))
        )
    if "missing" in frame:
        return TestResult(
            i, False, test.input, test.output, None, f"no result ({_text(frame['missing'], 200)})"
        )
    return TestResult(
        i,
        False,
        test.input,
        test.output,
        None,
        "result refused: " + safe_text(_text(frame.get("unplain"), 400)),
    )


def _verdict(
    task: Task,
    tests: tuple[Any, ...],
    results: list[TestResult],
    load: dict[str, Any],
    judge: tuple[Outcome, str] | None,
    use_checker: bool,
    status: JobStatus,
    elapsed: float,
    total: int,
) -> Verdict:
    common = {"stdout": status.stdout, "stderr": status.stderr, "elapsed_s": elapsed}
    common["refusals"] = status.refusals  # what the sandbox refused the job (issue 17, family 6)
    timed_out = status.timed_out or load.get("timeout")
    if "ready" not in load:
        if timed_out:
            outcome, detail = Outcome.TIMEOUT, "timed out while loading the solution"
        elif "load_error" in load:
            outcome, detail = (
                Outcome.ERROR,
                "the solution does not load: " + str(load["load_error"]),
            )
        else:
            outcome, detail = Outcome.ERROR, _death(status, "while loading")
        return Verdict(task.id, outcome, 0, total, detail=detail, **common)
    passed = sum(r.passed for r in results)
    if judge is not None:
        passed += judge[0] is Outcome.PASS
    if passed == total:
        return Verdict(task.id, Outcome.PASS, passed, total, tuple(results), **common)
    bad = [r for r in results if not r.passed]
    if (
        timed_out
        or (judge and judge[0] is Outcome.TIMEOUT)
        or any(r.error == "no result (timeout)" for r in bad)
    ):
        outcome, detail = Outcome.TIMEOUT, f"timed out after {status.wall_s:.2f}s"
    elif use_checker and judge is None:
        outcome, detail = Outcome.ERROR, _death(status, "before the checker ran")
    elif bad and any(r.error for r in bad):
        first = next(r for r in bad if r.error)
        outcome = Outcome.ERROR
        detail = f"test {first.index}: {first.error}"
        if first.error and first.error.startswith("no result"):
            detail = f"test {first.index}: {_death(status, 'before returning')}"
    elif bad:
        first = bad[0]
        outcome, detail = (
            Outcome.FAIL,
            f"test {first.index}: input {first.input[:200]} expected {first.expected[:200] if first.expected else ''} got {(first.got or '')[:200]}",
        )
    else:
        assert judge is not None
        outcome, detail = judge
    return Verdict(task.id, outcome, passed, total, tuple(results), detail=detail, **common)


def _death(status: JobStatus, when: str) -> str:
    if Limit.MEMORY in status.refusals.limits:
        return f"the candidate process was killed at its memory limit {when}"
    if status.signal:
        return f"the candidate process was killed by signal {status.signal} {when}"
    return f"the candidate process exited (code {status.exit_code}) {when}"


def _signature(v: Verdict) -> tuple[Any, ...]:
    return (v.outcome, v.passed, tuple((t.passed, t.got) for t in v.tests))
