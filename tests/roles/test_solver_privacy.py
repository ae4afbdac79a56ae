"""The solver never sees a private test; feedback tokens are never trained on."""

from __future__ import annotations

from closedloop.policy.base import SamplingParams
from closedloop.roles.prompts import solver_prompt
from closedloop.roles.solver import attempt_tasks
from closedloop.tasks.format import parse_task

SECRET_IN, SECRET_OUT = 918273, 645372


def _task():
    return parse_task(
        {
            "kind": "function",
            "instruction": "Return the list sorted.",
            "entry_point": "f",
            "public_tests": [
                {"input": "([3, 1, 2],)", "output": "[1, 2, 3]"},
                {"input": "([5, 4],)", "output": "[4, 5]"},
            ],
            "private_tests": [{"input": f"([{SECRET_IN}, 7],)", "output": f"[7, {SECRET_OUT}]"}],
            "example_solution": "def f(xs):\n    return sorted(xs)\n",
        }
    )


def test_private_inputs_never_reach_a_solver_prompt(tiny_policy, verifier):
    task = _task()
    assert str(SECRET_IN) not in solver_prompt(task)
    params = SamplingParams(max_new_tokens=12, temperature=1.0, seed=0)
    attempts = attempt_tasks(tiny_policy, [task], verifier, n=3, params=params, turns=3)[0]
    assert any(a.feedback for a in attempts), "garbage code must fail public tests and get feedback"
    for a in attempts:
        seen = tiny_policy.tokenizer.decode(a.seen_ids())
        for secret in (str(SECRET_IN), str(SECRET_OUT)):
            assert secret not in seen
            assert all(secret not in f for f in a.feedback)
        assert a.verdict is not None and a.verdict.total == 1  # scored on the private test only


def test_feedback_tokens_are_masked_out_of_training(tiny_policy, verifier):
    params = SamplingParams(max_new_tokens=8, temperature=1.0, seed=1)
    a = attempt_tasks(tiny_policy, [_task()], verifier, n=1, params=params, turns=2)[0][0]
    traj = a.trajectory("g", 0)
    masked = [t for t, m in zip(traj.completion_ids, traj.loss_mask, strict=True) if m == 0]
    if a.feedback:
        text = tiny_policy.tokenizer.decode(masked)
        assert "failed these tests" in text
        assert sum(traj.loss_mask) == len(traj.completion_ids) - len(masked) > 0
    else:  # the random model passed the public tests at once: nothing to mask
        assert not masked
