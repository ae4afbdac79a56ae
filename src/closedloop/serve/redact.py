"""What a verdict on a task the server holds may show its caller.

A held task's private tests (``closedloop serve --tasks``) never leave the server: not their
inputs, not their expected outputs, not an answer task's gold answer, and not what the
candidate made of them. The candidate is the caller's own code: on a private input it can
print that input, return it, or raise it in an exception message, so its stdout and stderr,
its value (``got``) and its error on a private test are withheld too, and a ``detail`` that
quotes any of these is replaced by one that names the test and what went wrong. What stays:
the outcome, the counts, pass or fail per test, and everything about public tests (the
solver's feedback). Tasks the caller sent inline are its own, and their verdicts are shown
whole.

A held task that cannot be verified (``invalid``) or a verifier failure (``infra_error``) is
reported with a generic detail; the real one goes to the server's log (``closedloop.serve``),
where its operator reads it.

Must never: return a held task's private test, gold answer, or text the candidate produced
while it ran on one.
"""

from __future__ import annotations

import logging
import re
from dataclasses import replace
from typing import Any

from closedloop.sandbox import Refusals
from closedloop.tasks.format import Split, Task, TaskKind
from closedloop.verify import Outcome, TestResult, Verdict
from closedloop.verify.text import safe_json

log = logging.getLogger("closedloop.serve")

_TEST_DETAIL = re.compile(r"test (\d+): ")
"""How the verifier's detail names the test it is about (its index in the split's tests)."""

_DEATH = ((re.compile(r"exited \(code -?\d+\)"), "exited"), (re.compile(r"signal \d+"), "a signal"))
"""An exit code or a signal in a death's detail: a candidate that chose one from a private
input (``os._exit(byte)``) read the input back one byte a query."""
_SAFE_DETAILS = (
    "the solution does not load",  # at load time the candidate has seen no input
    "the candidate process ",  # how it died: the sandbox's words (numbers taken out)
    "timed out",
    "the checker did not finish",
    "the checker was stopped",
    "the candidate left the checker",
)
"""Details the verifier writes itself, quoting nothing a private test holds."""


def redact_held(v: Verdict, task: Task, split: Split) -> Verdict:
    """``v`` (a verdict on the held ``task`` over ``split``) as its caller may see it."""
    if v.outcome is Outcome.INVALID and v.detail.startswith("task has no "):
        return v  # "task has no public tests": the split was empty, nothing ran
    if v.outcome in (Outcome.INVALID, Outcome.INFRA_ERROR):
        log.warning("closedloop serve: task %r: %s: %s", task.id, v.outcome, v.detail)
        return replace(v, tests=(), detail="the server's log says why", stdout="", stderr="")
    if task.kind is TaskKind.ANSWER:  # the gold answer is private; the rest is the caller's
        return replace(v, tests=tuple(replace(t, expected=None) for t in v.tests))
    if split is Split.PUBLIC:
        return v
    first_private = len(task.public_tests) if split is Split.ALL else 0
    tests = tuple(
        t if t.index < first_private else TestResult(t.index, t.passed, input="") for t in v.tests
    )
    # what the sandbox refused or cut is counted from the job that ran the private tests: a
    # candidate made as many denied calls as a private argument's value, and read it back
    return replace(
        v,
        tests=tests,
        detail=_detail(v, first_private),
        stdout="",
        stderr="",
        refusals=Refusals(),
        extra={},
    )


def _detail(v: Verdict, first_private: int) -> str:
    m = _TEST_DETAIL.match(v.detail)
    if m is not None:
        k = int(m.group(1))
        if k < first_private:  # a public test: its feedback is the solver's
            return v.detail
        what = "wrong result" if v.outcome is Outcome.FAIL else "error"
        return f"test {k} (private): {what}"
    if v.detail.startswith("the candidate process "):
        detail = v.detail
        for number, words in _DEATH:
            detail = number.sub(words, detail)
        return detail
    if not v.detail or v.outcome is Outcome.TIMEOUT or v.detail.startswith(_SAFE_DETAILS):
        return v.detail
    # the checker's own words, which may quote a private input or what the candidate made of it
    return f"the task's checker (private): {'failed' if v.outcome is Outcome.FAIL else 'error'}"


def verdict_json(v: Verdict, held: bool, split: Split = Split.PRIVATE) -> dict[str, Any]:
    """``v`` as a JSON-ready dict whose strings every UTF-8 writer takes (a lone surrogate the
    candidate sent or printed becomes U+FFFD); a test withheld by :func:`redact_held` shows
    only its index and whether it passed. On a held task whose private tests ran (``split``
    not public) ``elapsed_s`` is left out: a candidate that slept in proportion to a private
    input read it back from it in one query (the caller's own clock on the round trip stays,
    blurred by the queue, the other jobs and the sandbox's start-up)."""
    out = v.to_json()
    if held:
        out["tests"] = [
            {k: x for k, x in t.items() if (k, x) != ("input", "")} for t in out["tests"]
        ]
        if split is not Split.PUBLIC:
            out.pop("elapsed_s", None)
    return safe_json(out)
