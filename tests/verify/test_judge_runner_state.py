"""Nothing a checker leaves in the judge runner reaches the next job it serves.

A judge runner serves many jobs in one process (a fork per job cost a third of the
verifier's throughput), so what a checker leaves running there -- an alarm with a raising
handler, an interval timer, a watchdog, a thread -- met the next job: red team 21b made a
wrong solution pass (the alarm's exception came out of the call the next checker expected to
raise), killed the runner between jobs (the next job the sandbox's failure: a reward dodge)
and had an old thread write into the next job's candidate. Each job here runs on the same
runner as the one before it (one slot).
"""

from __future__ import annotations

import time

import pytest

from closedloop.sandbox import SandboxLimits
from closedloop.tasks.format import parse_task
from closedloop.verify import Outcome, Verifier

MUST_RAISE = parse_task(
    {
        "id": "must-raise",
        "entry_point": "f",
        "checker": (
            "def check(candidate):\n    assert candidate(3) == 6\n    try:\n"
            "        candidate(-1)\n    except Exception:\n        return\n"
            "    raise AssertionError('must raise on a negative input')\n"
        ),
    }
)
NEVER_RAISES = "import time\ndef f(x):\n    if x < 0:\n        time.sleep(1.0)\n    return 2 * x\n"
DOUBLES = parse_task(
    {
        "id": "doubles",
        "entry_point": "f",
        "checker": "def check(candidate):\n    for i in range(200):\n        assert candidate(i) == 2 * i\n",
    }
)
DOUBLE = "def f(x):\n    return 2 * x\n"
WRONG = "def f(x):\n    return 2 * x + 1\n"


def _leaves(setup: str) -> object:
    """A checker that sets something up, then fails on a wrong answer before undoing it."""
    body = "".join("    " + line + "\n" for line in setup.splitlines())
    return parse_task(
        {
            "id": f"leaves-{abs(hash(setup))}",
            "entry_point": "f",
            "checker": f"def check(candidate):\n{body}    assert candidate(1) == 2\n",
        }
    )


@pytest.fixture
def verifier():
    with Verifier(workers=1, limits=SandboxLimits(wall_s=3.0)) as v:
        yield v


RAISING_TIMER = _leaves(
    "import signal\n"
    "def _late(*_):\n    raise TimeoutError('checker time limit')\n"
    "signal.signal(signal.SIGALRM, _late)\n"
    "signal.setitimer(signal.ITIMER_REAL, 0.4)"
)


def test_an_alarm_a_failed_checker_left_cannot_pass_the_next_wrong_solution(verifier):
    assert verifier.verify(MUST_RAISE, NEVER_RAISES).outcome is Outcome.FAIL
    for _ in range(2):
        assert verifier.verify(RAISING_TIMER, WRONG).outcome is Outcome.FAIL  # timer left armed
        verdict = verifier.verify(MUST_RAISE, NEVER_RAISES)
        assert verdict.outcome is Outcome.FAIL, verdict


@pytest.mark.parametrize(
    "setup",
    [
        "import signal\nsignal.setitimer(signal.ITIMER_REAL, 0.2)",  # default action: ends it
        "import faulthandler\nfaulthandler.dump_traceback_later(0.2, exit=True)",
        "import threading\n"  # a soak test's thread, still calling when its job ends
        "def _spin():\n    for i in range(10**6):\n        try:\n            candidate(i)\n"
        "        except BaseException:\n            pass\n"
        "threading.Thread(target=_spin, daemon=True).start()",
    ],
)
def test_what_a_failed_checker_left_running_does_not_reach_the_next_job(verifier, setup):
    task = _leaves(setup)
    for _ in range(2):
        assert verifier.verify(task, WRONG).outcome in (Outcome.FAIL, Outcome.ERROR)
        time.sleep(0.4)  # the timer's time passes while the runner waits for its next job
        good = verifier.verify(DOUBLES, DOUBLE)
        assert good.outcome is Outcome.PASS, good
        bad = verifier.verify(DOUBLES, WRONG)
        assert bad.outcome is Outcome.FAIL, bad


@pytest.mark.parametrize(
    "setup, reads",
    [
        ("import math\nmath.pi = 3", "import math\n    assert math.pi > 3.1"),
        ("import builtins\nbuiltins.abs = lambda x: 0", "assert abs(-2) == 2"),
    ],
)
def test_a_module_a_failed_checker_rebound_is_as_it_was_for_the_next_job(verifier, setup, reads):
    # the runner's modules are one process's: a rebound name stayed for every later job
    task = parse_task(
        {
            "id": "reads",
            "entry_point": "f",
            "checker": f"def check(candidate):\n    {reads}\n    assert candidate(1) == 2\n",
        }
    )
    for _ in range(2):
        assert verifier.verify(_leaves(setup), WRONG).outcome is Outcome.FAIL
        verdict = verifier.verify(task, DOUBLE)
        assert verdict.outcome is Outcome.PASS, verdict
