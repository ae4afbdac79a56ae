"""Answer tasks: a final answer, or a program that prints it, compared in the parent."""

from __future__ import annotations

import pytest

from closedloop.tasks.format import parse_task
from closedloop.verify import Outcome

TASK = parse_task({"id": "a", "kind": "answer", "answer": "42", "answer_match": "numeric"})


@pytest.mark.parametrize(
    "solution,outcome",
    [
        ("42", Outcome.PASS),
        (" 42.0 ", Outcome.PASS),
        ("41", Outcome.FAIL),
        ("print(6 * 7)", Outcome.PASS),
        ("print('thinking...')\nprint(6 * 7)", Outcome.PASS),
        ("print(41)", Outcome.FAIL),
        ("import os\nos._exit(0)\nprint(42)", Outcome.ERROR),
        ("__import__('os').system('echo 42')\nprint(1)", Outcome.FAIL),
    ],
)
def test_answer_outcomes(verifier, solution, outcome):
    assert verifier.verify(TASK, solution).outcome is outcome


def test_a_printing_program_runs_in_the_sandbox(verifier):
    leak = "import os\nprint(int(os.path.exists('/proc/self')) * 42)"
    assert verifier.verify(TASK, leak).outcome is Outcome.FAIL


def test_an_answer_programs_verdict_carries_what_the_sandbox_refused_it(verifier):
    # answer tasks go through their own path in the runner; probing the sandbox there must
    # count like anywhere else (the monitors read it from every verdict)
    probing = "import socket\ntry:\n    socket.socket()\nexcept OSError:\n    pass\nprint(42)"
    v = verifier.verify(TASK, probing)
    assert v.outcome is Outcome.PASS and v.refusals.denied.get("socket", 0) >= 1
