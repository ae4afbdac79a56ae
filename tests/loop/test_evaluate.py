"""``evaluate`` keeps each attempt's program beside its score, so per-task analyses (the
held-out benchmark's depth line) read the evaluation instead of repeating it."""

from __future__ import annotations

from closedloop.loop.evaluate import evaluate
from closedloop.loop.probe import probe_tasks
from closedloop.policy.base_model import base_model_dir
from closedloop.policy.hf import HFPolicy
from closedloop.tasks.format import Split


def test_each_tasks_programs_are_kept_and_agree_with_its_successes(verifier) -> None:
    policy = HFPolicy.from_pretrained(base_model_dir(), device="cpu")
    tasks = probe_tasks(verifier, ("reverse", "add3", "even"), 2)
    res = evaluate(policy, tasks, verifier, samples=2, temperature=1.0)
    assert sorted(res.programs) == sorted(t.id for t in tasks)
    assert all(len(programs) == 2 for programs in res.programs.values())
    # a task's successes are its programs that pass the private tests in the sandbox
    for t in tasks:
        verdicts = verifier.verify_many(
            [(t, code) for code in res.programs[t.id]], split=Split.PRIVATE
        )
        assert res.successes[t.id] == sum(v.outcome == "pass" for v in verdicts)


def test_two_tasks_with_one_id_are_refused_before_anything_runs(tmp_path) -> None:
    # successes were kept by id and divided by the number of tasks: two different tasks named
    # "same", both solved, read as pass@1 = 0.5
    import pytest

    from closedloop.tasks.format import parse_task

    def task(inp: str) -> object:
        test = {"input": f"({inp},)", "output": inp}
        return parse_task(
            {"id": "same", "instruction": "x", "entry_point": "f", "private_tests": [test]}
        )

    with pytest.raises(ValueError, match="task id 'same' appears more than once"):
        evaluate(None, [task("1"), task("2")], None)
