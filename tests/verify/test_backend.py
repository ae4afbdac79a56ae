"""``VerificationBackend``: the local ``Verifier``, the loop's timing wrapper and ``RayVerifier``
all have its shape, its signatures are theirs, and the verify path imports neither Ray nor
torch to get it."""

from __future__ import annotations

import inspect
import subprocess
import sys
import time
from typing import Any

import pytest

from closedloop.verify import VerificationBackend, Verifier
from closedloop.verify.timed import TimedVerifier

_METHODS = [
    name
    for name, member in vars(VerificationBackend).items()
    if callable(member) and (not name.startswith("_") or name in ("__enter__", "__exit__"))
]


def _params(method: Any) -> list[tuple[str, Any, Any]]:
    """Each parameter's name, kind and default (annotations differ in spelling, not meaning)."""
    return [(p.name, p.kind, p.default) for p in inspect.signature(method).parameters.values()]


def test_the_protocol_lists_every_method_callers_use():
    assert set(_METHODS) == {
        "verify",
        "verify_many",
        "iter_verify",
        "call",
        "call_many",
        "close",
        "__enter__",
        "__exit__",
    }


def test_the_local_verifier_and_its_timing_wrapper_are_backends():
    with Verifier(workers=1) as v:
        assert isinstance(v, VerificationBackend)
        timed = TimedVerifier(v)
        assert isinstance(timed, VerificationBackend)
        with timed as t:
            assert t is timed and t.pool.size == 1


def test_an_object_missing_a_method_is_not_a_backend():
    class OnlyVerify:
        limits = pool = None
        infra_retries = 0

        def verify(self, *a: object) -> None: ...

    assert not isinstance(OnlyVerify(), VerificationBackend)


@pytest.mark.parametrize("method", _METHODS)
def test_the_local_verifier_has_the_protocols_signatures(method: str):
    assert _params(getattr(Verifier, method)) == _params(getattr(VerificationBackend, method))


@pytest.mark.parametrize("method", _METHODS)
def test_the_ray_verifier_has_the_protocols_signatures(method: str):
    pytest.importorskip("ray", reason="Ray is not installed (pip install 'closedloop[ray]')")
    from closedloop.distributed.verifier import RayVerifier

    assert _params(getattr(RayVerifier, method)) == _params(getattr(VerificationBackend, method))


def test_importing_the_protocol_imports_neither_ray_nor_torch():
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys\n"
            "from closedloop.verify import VerificationBackend\n"
            "import closedloop.distributed\n"
            "print(sorted(m for m in ('ray', 'torch', 'transformers') if m in sys.modules))",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_a_pool_without_prewarmed_judges_starts_one_when_a_checker_first_needs_it() -> None:
    from closedloop.tasks.format import parse_task
    from closedloop.verify import Outcome, Verifier

    io_task = parse_task(
        {
            "kind": "function",
            "instruction": "Sort.",
            "entry_point": "f",
            "public_tests": [{"input": "([2, 1],)", "output": "[1, 2]"}],
            "private_tests": [{"input": "([3, 1],)", "output": "[1, 3]"}],
        }
    )
    checker = parse_task(
        {
            "kind": "function",
            "instruction": "Double x.",
            "entry_point": "f",
            "checker": "def check(candidate):\n    assert candidate(2) == 4\n",
        }
    )
    with Verifier(workers=1, prewarm_judges=False) as v:
        (slot,) = v.pool._slots
        assert v.verify(io_task, "def f(xs):\n    return sorted(xs)\n").outcome is Outcome.PASS
        assert slot._judge is None  # an I/O task needs no judge
        assert v.verify(checker, "def f(x):\n    return 2 * x\n").outcome is Outcome.PASS
        assert v.verify(checker, "def f(x):\n    return x\n").outcome is Outcome.FAIL
        assert slot._judge is not None


def test_a_judge_started_when_first_needed_does_not_use_up_the_candidates_time(
    monkeypatch,
) -> None:
    # a judge is a process to start (~70 ms, far more on a loaded machine): started after the
    # candidate's clock, it ate the candidate's time, and a correct solution timed out
    import closedloop.sandbox.pool as pool_module
    from closedloop.sandbox import SandboxLimits, Worker
    from closedloop.tasks.format import parse_task
    from closedloop.verify import Outcome, Verifier

    def slow_judge(limits, judge: bool = False, cpu=None):  # noqa: ANN001, ANN202
        if judge:
            time.sleep(1.5)  # longer than the whole job's wall clock
        return Worker(limits, judge=judge, cpu=cpu)

    monkeypatch.setattr(pool_module, "Worker", slow_judge)
    checker = parse_task(
        {
            "kind": "function",
            "instruction": "Double x.",
            "entry_point": "f",
            "checker": "def check(candidate):\n    assert candidate(2) == 4\n",
        }
    )
    with Verifier(workers=1, limits=SandboxLimits(wall_s=1.0), prewarm_judges=False) as v:
        verdict = v.verify(checker, "def f(x):\n    return 2 * x\n")
    assert verdict.outcome is Outcome.PASS, verdict.detail
