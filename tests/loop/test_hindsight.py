"""Hindsight relabeling: failed programs become verified examples, uninformative ones do not."""

from __future__ import annotations

from closedloop.loop.domain import grammar_task
from closedloop.loop.grammar import sample_tasks
from closedloop.loop.hindsight import relabel_attempts, relabel_outputs
from closedloop.roles.prompts import solver_prompt
from closedloop.roles.solver import Attempt
from closedloop.verify import Verdict
from closedloop.verify.outcome import Outcome


def _task(inline: bool = False):
    gt = next(g for g in sample_tasks(40, seed=5) if len(g.inputs[0]) > 1)
    return grammar_task(gt, "t0", "Write f.", public=2, inline=inline)


def _failed(task, code: str, sample: int = 0) -> Attempt:
    a = Attempt(task.id, sample, [1])
    a.codes.append(code)
    a.verdict = Verdict(task.id, Outcome.FAIL, passed=0, total=1)
    return a


def test_a_failed_program_solves_its_relabeled_task(verifier):
    task = _task()
    code = "def f(xs):\n    return [x + 1000 for x in xs][::-1]\n"
    wrong = _failed(task, code)
    crash = _failed(task, "def f(xs):\n    return xs[99]\n", 1)
    constant = _failed(task, "def f(xs):\n    return [7]\n", 2)
    same_again = _failed(task, code, 3)
    out = relabel_attempts(verifier, [task], [[wrong, crash, constant, same_again]])
    assert len(out) == 1  # the crash and the constant carry nothing; the repeat is dropped
    r = out[0]
    assert r.code == code and r.task.id == "t0#hindsight"
    for t in list(r.task.public_tests) + list(r.task.private_tests):
        xs = eval(t.input)[0]
        assert eval(t.output) == [x + 1000 for x in xs][::-1]
    # the relabel is a task like any other: the program passes it in the sandbox
    assert verifier.verify(r.task, code).outcome is Outcome.PASS
    assert verifier.verify(task, code).outcome is not Outcome.PASS
    assert "1000" not in solver_prompt(task) and "Examples:" in r.prompt


def test_inline_examples_are_rewritten_too():
    task = _task(inline=True)
    outs = [repr([len(eval(t.input)[0]) * 11]) for t in task.public_tests + task.private_tests]
    fresh = relabel_outputs(task, outs)
    assert fresh is not None
    prompt = solver_prompt(fresh)
    for old, new in zip(task.public_tests, fresh.public_tests, strict=True):
        assert f"== {new.output}" in fresh.instruction  # inline lines carry the new outputs
        assert f"== {eval(old.output)!r}" not in prompt
    assert "Examples:" not in prompt  # every example is already inline: shown once


def test_outputs_that_are_not_int_lists_or_equal_the_task_are_refused():
    task = _task()
    tests = task.public_tests + task.private_tests
    assert relabel_outputs(task, [t.output for t in tests]) is None  # a success, not a relabel
    assert relabel_outputs(task, ["'text'"] * len(tests)) is None
    assert relabel_outputs(task, ["[1.5]"] + ["[1]"] * (len(tests) - 1)) is None
    assert relabel_outputs(task, [repr(eval(t.input)[0]) for t in tests]) is None  # identity
    long = [repr(list(range(i, i + 21))) for i in range(len(tests))]
    assert relabel_outputs(task, long) is None  # longer than any prompt should show
    assert relabel_outputs(task, [repr(list(range(i, i + 20))) for i in range(len(tests))])


def _lookup_program(task, answered: int) -> str:
    """A program that returns the task's expected output on its first ``answered`` public
    inputs and something else (reversed, plus 1000) on every other input."""
    table = {tuple(eval(t.input)[0]): eval(t.output) for t in task.public_tests[:answered]}
    return (
        f"def f(xs):\n    table = {table!r}\n    if tuple(xs) in table:\n"
        "        return list(table[tuple(xs)])\n    return [x + 1000 for x in xs][::-1]\n"
    )


def test_a_program_that_reproduces_every_shown_example_is_not_relabeled(verifier):
    # it fails only a private test: its relabel would show the very prompt GRPO just scored 0
    task = _task()
    code = _lookup_program(task, answered=len(task.public_tests))
    assert verifier.verify(task, code).outcome is Outcome.FAIL
    assert relabel_attempts(verifier, [task], [[_failed(task, code)]]) == []


def test_a_program_that_differs_on_a_shown_example_is_relabeled_on_a_new_prompt(verifier):
    task = _task()
    code = _lookup_program(task, answered=len(task.public_tests) - 1)
    out = relabel_attempts(verifier, [task], [[_failed(task, code)]])
    assert len(out) == 1 and out[0].prompt != solver_prompt(task)
    assert verifier.verify(out[0].task, code).outcome is Outcome.PASS


def test_a_relabel_that_is_a_held_out_task_is_dropped(verifier):
    # A pool task sharing a held-out task's inputs (not its outputs, so the guard let it in)
    # and a failed attempt computing the held-out rule relabelled into the held-out task itself
    # -- its examples shown, its private answer the target -- and joined the supervised step
    import ast

    from closedloop.loop.config import RunConfig
    from closedloop.loop.heldout import rg_list_functions
    from closedloop.loop.phases import Attempted, relabel
    from closedloop.tasks.contamination import ContaminationGuard
    from closedloop.tasks.format import parse_task

    held, _ = rg_list_functions(40, [20250807])
    h = next(t for t in held if t.id == "rg/list_functions/20250807/4")  # the rule: reverse
    xs = [ast.literal_eval(c.input)[0] for c in [*h.public_tests, *h.private_tests]]
    tests = [{"input": repr((x,)), "output": repr(sorted(x))} for x in xs]
    pool = parse_task(
        {
            "id": "pool",
            "entry_point": "f",
            "instruction": "Write f.",
            "public_tests": tests[:-1],
            "private_tests": tests[-1:],
        }
    )
    guard = ContaminationGuard(held)
    assert guard.check(pool) is None  # the held-out task's inputs, not its pairs
    reverse = "def f(xs):\n    return xs[::-1]\n"
    assert verifier.verify(h, reverse).outcome is Outcome.PASS
    attempted = Attempted([pool], [[_failed(pool, reverse)]])
    cfg = RunConfig()
    cfg.train.hindsight = True
    unguarded = relabel(cfg, verifier, attempted)
    assert len(unguarded) == 1 and guard.check(unguarded[0].task) is not None
    assert relabel(cfg, verifier, attempted, guard) == []


def test_a_relabel_keeps_no_instruction_that_states_the_old_rule(verifier):
    # red team 19: a relabel kept its task's instruction, so SFT paired "sorted in descending
    # order" over ascending examples with sorted(xs); and examples written inline without
    # spaces kept their old outputs beside the new ones. Only the grammar's instructions,
    # which name no rule, are kept (rewritten inline)
    from closedloop.roles.challenger import TaskShape
    from closedloop.tasks.format import parse_task

    def task(instruction: str):
        tests = [
            {"input": repr((xs,)), "output": repr(sorted(xs, reverse=True))}
            for xs in ([3, 1, 2], [5, 0, 7], [9, 4, 6], [8, 2, 5])
        ]
        return parse_task(
            {
                "id": "t1",
                "instruction": instruction,
                "entry_point": "f",
                "public_tests": tests[:3],
                "private_tests": tests[3:],
                "source": "seed",
            }
        )

    wrong = "def f(xs):\n    return sorted(xs)\n"
    for instruction in (
        "Return the list sorted in descending order.",
        "Sort, e.g. f([3,1,2])==[3,2,1] and f([5,0,7])==[7,5,0].",
    ):
        (r,) = relabel_attempts(
            verifier, [task(instruction)], [[_failed(task(instruction), wrong)]]
        )
        assert r.task.instruction == TaskShape().default_instruction  # entry point f
        assert "descending" not in r.prompt and "[3, 2, 1]" not in r.prompt
        assert "f([3, 1, 2]) == [1, 2, 3]" in r.prompt
    grammar = _task(inline=True)
    (r,) = relabel_attempts(
        verifier, [grammar], [[_failed(grammar, "def f(xs):\n    return [len(xs) * 11]\n")]]
    )
    assert r.task.instruction.startswith("Write f.")  # the grammar's own, rewritten inline
