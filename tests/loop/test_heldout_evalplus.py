"""HumanEval+ and MBPP+ as held-out sets by name (``eval.heldout_sets``): built from the shipped
EvalPlus files with expected outputs from the sandbox, reference solutions passing, written
into the run directory primary first."""

from __future__ import annotations

from pathlib import Path

from closedloop.loop.config import HeldoutSetName, config_from_dict
from closedloop.loop.heldout import evalplus_set, load, materialise
from closedloop.verify.outcome import Outcome


def test_humanevalplus_is_the_whole_mini_set_with_its_extra_tests(verifier) -> None:
    tasks, source = evalplus_set(HeldoutSetName.HUMANEVAL_PLUS, 400, verifier)
    assert len(tasks) == 164 and "left out" not in source
    assert tasks[0].id == "HumanEval/0" and tasks[-1].id == "HumanEval/163"
    assert all(t.source == "humanevalplus" for t in tasks)
    assert min(len(t.private_tests) for t in tasks[:10]) >= 5  # base inputs plus EvalPlus's


def test_reference_solutions_pass_and_a_wrong_one_fails(verifier) -> None:
    he, _ = evalplus_set(HeldoutSetName.HUMANEVAL_PLUS, 4, verifier)
    mbpp, source = evalplus_set(HeldoutSetName.MBPP_PLUS, 5, verifier)
    # Mbpp/2 returns tuple(set(a) & set(b)): its order follows the sandbox's hash seed
    # EvalPlus compares Mbpp/7 as a set too: any order of the words passes there, not here
    assert [t.id for t in mbpp] == ["Mbpp/3", "Mbpp/4", "Mbpp/6"]
    assert "2 compared as sets by EvalPlus: Mbpp/2, Mbpp/7" in source
    for task in he + mbpp:
        assert verifier.verify(task, task.example_solution).outcome is Outcome.PASS, task.id
        wrong = f"def {task.entry_point}(*args):\n    return None\n"
        assert verifier.verify(task, wrong).outcome is Outcome.FAIL, task.id


def test_named_sets_are_written_into_the_run_primary_first(tmp_path: Path) -> None:
    cfg = config_from_dict(
        {
            "domain": "code",
            "model": {"kind": "embedded"},
            "workers": 2,
            "eval": {"heldout_sets": ["mbppplus", "humanevalplus"], "heldout_size": 3},
        }
    )
    written = materialise(cfg, tmp_path)
    assert list(written) == ["mbppplus", "humanevalplus"]  # the first named is the primary
    assert [len(s.tasks) for s in written.values()] == [2, 3]  # Mbpp/2 left out
    assert written["mbppplus"].tasks[0].id == "Mbpp/3"  # Mbpp/2 is left out (see above)
    again = load(tmp_path)
    assert {n: s.sha256 for n, s in again.items()} == {n: s.sha256 for n, s in written.items()}
