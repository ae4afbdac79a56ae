"""Typed outcomes of a verification: what a verdict is, never how it is computed."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from closedloop.sandbox.refusals import Refusals


class Outcome(StrEnum):
    """The outcome of verifying one solution (DESIGN.md's contract)."""

    PASS = "pass"  # every selected test passed
    FAIL = "fail"  # it ran, and at least one test got a wrong result
    ERROR = "error"  # the candidate raised, crashed, exited, or returned something not plain data
    TIMEOUT = "timeout"  # the wall clock or the CPU limit ran out
    INFRA_ERROR = "infra_error"  # the verifier's own fault: retried, reported, never a reward of 0
    INVALID = "invalid"  # the task or solution line is malformed


@dataclass(frozen=True)
class TestResult:
    """What happened on one test. ``expected`` is filled only for tests the caller may see."""

    __test__ = False

    index: int
    passed: bool
    input: str = ""
    expected: str | None = None
    got: str | None = None
    error: str | None = None  # exception type and message tail, or why the result was refused


@dataclass(frozen=True)
class Verdict:
    """The verdict on one solution. ``passed``/``total`` count tests (a checker counts as one)."""

    task_id: str
    outcome: Outcome
    passed: int
    total: int
    tests: tuple[TestResult, ...] = ()
    detail: str = ""  # one line: why it is not a pass
    stdout: str = ""
    stderr: str = ""
    elapsed_s: float = 0.0
    line: int | None = None  # the solution's line in its file, when read from one
    nondeterministic: bool = False
    warnings: tuple[str, ...] = ()  # isolation the kernel could not give (said loudly)
    extra: dict[str, Any] = field(default_factory=dict)
    # What the sandbox refused the candidate's job (denied system calls by name, limits hit),
    # counted outside its process: the monitors' hack-attempt counts (issue 17, family 6).
    refusals: Refusals = field(default_factory=Refusals)

    @property
    def reward(self) -> float | None:
        """1.0 for a pass, 0.0 for a wrong or broken solution, None for ``infra_error``/``invalid``."""
        if self.outcome in (Outcome.INFRA_ERROR, Outcome.INVALID):
            return None
        return 1.0 if self.outcome is Outcome.PASS else 0.0

    def to_json(self) -> dict[str, Any]:
        """The verdict as a JSON-ready dict (the verdict line of DESIGN.md)."""
        out: dict[str, Any] = {
            "task_id": self.task_id,
            "outcome": str(self.outcome),
            "passed": self.passed,
            "total": self.total,
            "detail": self.detail,
            "elapsed_s": round(self.elapsed_s, 4),
            "tests": [{k: v for k, v in t.__dict__.items() if v is not None} for t in self.tests],
        }
        if self.line is not None:
            out["line"] = self.line
        if self.stdout:
            out["stdout"] = self.stdout
        if self.stderr:
            out["stderr"] = self.stderr
        if self.nondeterministic:
            out["nondeterministic"] = True
        if self.warnings:
            out["warnings"] = list(self.warnings)
        if self.refusals:
            out["refusals"] = self.refusals.to_json()
        out.update(self.extra)
        return out
