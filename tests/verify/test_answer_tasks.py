"""Answer tasks: a final answer, or a program that prints it, compared in the parent."""

from __future__ import annotations

import time

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
        ("import os\nos._exit(0)\nprint(42)", Outcome.FAIL),  # its end, before any answer
        ("__import__('os').system('echo 42')\nprint(1)", Outcome.FAIL),
    ],
)
def test_answer_outcomes(verifier, solution, outcome):
    assert verifier.verify(TASK, solution).outcome is outcome


MAIN = "def main():\n    print(6 * 7)\n\n\nif __name__ == '__main__':\n"


@pytest.mark.parametrize(
    "solution,outcome",
    [
        # programs as people write them: run as a script is, where exiting 0 is an end
        (MAIN + "    main()\n", Outcome.PASS),
        ("import sys\n" + MAIN + "    sys.exit(main())\n", Outcome.PASS),
        ("import sys\nprint(6 * 7)\nsys.exit(0)\nprint(41)", Outcome.PASS),
        ("print(6 * 7)\nexit()", Outcome.PASS),
        ("print(6 * 7)\nquit(0)", Outcome.PASS),
        ("import sys\nsys.stdout.write('42\\n')", Outcome.PASS),
        ("from sys import stdout\nstdout.writelines(['4', '2'])", Outcome.PASS),
        # a thread never joined (the deep-recursion idiom), an exit function, an exit of
        # its own after a flush, the fast-output idioms, __file__: as a script they print 42
        (
            "import threading\ndef main():\n    print(sum(range(10**5)) * 0 + 42)\n"
            "threading.Thread(target=main).start()",
            Outcome.PASS,
        ),
        ("import atexit\natexit.register(lambda: print(42))", Outcome.PASS),
        ("import os, sys\nprint(42)\nsys.stdout.flush()\nos._exit(0)", Outcome.PASS),
        ("import sys\nsys.stdout.buffer.write(b'42\\n')", Outcome.PASS),
        ("import os\nos.write(1, b'42\\n')", Outcome.PASS),
        ("from pprint import pprint\npprint(42)", Outcome.PASS),
        ("import os\nprint(42 if os.path.basename(__file__) else 0)", Outcome.PASS),
        ("import os\nprint(42)\nos._exit(3)", Outcome.ERROR),
        # printed, then stdout replaced; a daemon thread printing on after the end
        ("import io, sys\nprint(42)\nsys.stdout = io.StringIO()", Outcome.PASS),
        (
            "import threading, time\ndef spam():\n    while True:\n        print('.')\n"
            "        time.sleep(0.001)\nthreading.Thread(target=spam, daemon=True).start()\n"
            "time.sleep(0.05)\nprint(42)",
            Outcome.PASS,
        ),
        # the harness's channel closed, then a crash: no clean end
        ("import os\nprint(42)\nos.close(4)\nraise RuntimeError", Outcome.ERROR),
        # exiting with a failure status is still an error, and so is a library that exits
        ("import sys\nprint(6 * 7)\nsys.exit(1)", Outcome.ERROR),
        ("print(6 * 7)\nexit('no answer')", Outcome.ERROR),
    ],
)
def test_a_program_runs_as_a_script(verifier, solution, outcome):
    v = verifier.verify(TASK, solution)
    assert v.outcome is outcome, v.detail


@pytest.mark.parametrize("answer", ["print", "pprint", "sys.stdout.write", "f.write"])
def test_an_answer_that_is_a_name_is_an_answer_not_a_program(verifier, answer):
    task = parse_task({"id": "n", "kind": "answer", "answer": answer})
    assert verifier.verify(task, answer).outcome is Outcome.PASS


def test_a_function_tasks_module_that_exits_at_import_is_still_an_error(verifier):
    task = parse_task(
        {
            "id": "f",
            "entry_point": "f",
            "instruction": "double",
            "private_tests": [{"input": "(2,)", "output": "4"}],
        }
    )
    v = verifier.verify(task, "import sys\ndef f(x):\n    return 2 * x\nsys.exit(0)\n")
    assert v.outcome is Outcome.ERROR and "SystemExit" in v.detail


def test_a_printing_program_runs_in_the_sandbox(verifier):
    leak = "import os\nprint(int(os.path.exists('/proc/self')) * 42)"
    assert verifier.verify(TASK, leak).outcome is Outcome.FAIL


def test_an_answer_programs_verdict_carries_what_the_sandbox_refused_it(verifier):
    # answer tasks go through their own path in the runner; probing the sandbox there must
    # count like anywhere else (the monitors read it from every verdict)
    probing = "import socket\ntry:\n    socket.socket()\nexcept OSError:\n    pass\nprint(42)"
    v = verifier.verify(TASK, probing)
    assert v.outcome is Outcome.PASS and v.refusals.denied.get("socket", 0) >= 1


LIST = parse_task({"id": "l", "kind": "answer", "answer": "[1, 2, 3]", "answer_match": "list"})
SET = parse_task({"id": "s", "kind": "answer", "answer": "{2, 3, 5}", "answer_match": "set"})
TOO_LARGE_FOR_A_FLOAT = {
    "numeric-quotient": (TASK, "1e300/1e-300"),
    "printed-quotient": (TASK, "print('1/1e-320')"),
    "list-item-400-digits": (LIST, "[1" + "0" * 400 + ", 2, 3]"),
    "set-item-400-digits": (SET, "{1" + "0" * 400 + "}"),
}


@pytest.mark.parametrize("name", sorted(TOO_LARGE_FOR_A_FLOAT))
def test_an_answer_too_large_for_a_float_fails_with_reward_zero(verifier, name):
    """The scorer's OverflowError made these ``infra_error`` (dropped unscored by the loop)
    through ``verify_many`` and an exception out of ``verify``: a reward dodge."""
    task, solution = TOO_LARGE_FOR_A_FLOAT[name]
    for verdict in (verifier.verify(task, solution), *verifier.verify_many([(task, solution)])):
        assert verdict.outcome is Outcome.FAIL and verdict.reward == 0.0, verdict


def test_a_huge_printing_looking_solution_costs_the_host_little(verifier):
    """Whether an answer is a printing program was decided by ``ast.parse`` of the whole text
    in the host: 4 MiB of ``a,b`` lines cost 34 s of CPU and 3.7 GiB. It is not parsed past
    a small cap (and never without the word ``print``), so it is scored as a final answer."""
    for solution in ("print(1)\n" + "a,b\n" * (1 << 20), "a,b\n" * (1 << 20)):
        t0 = time.process_time()
        verdict = verifier.verify(TASK, solution)
        assert time.process_time() - t0 < 0.5
        assert verdict.outcome is Outcome.FAIL and verdict.reward == 0.0
