"""The contamination guard rejects copies of held-out tasks and keeps new ones."""

from __future__ import annotations

import time

import pytest

from closedloop.loop.config import RunConfig
from closedloop.loop.domain import grammar_task, seed_pool
from closedloop.loop.grammar import sample_tasks
from closedloop.loop.phrasing import INSTRUCTIONS
from closedloop.roles.challenger import TaskShape
from closedloop.sandbox import SandboxLimits
from closedloop.tasks.contamination import ContaminationField, ContaminationGuard
from closedloop.tasks.format import Task, parse_task
from closedloop.tasks.importers import import_humaneval
from closedloop.tasks.importers.reasoning_gym import import_reasoning_gym
from closedloop.verify import Verifier


@pytest.fixture(scope="module", name="guard")
def guard_fixture() -> ContaminationGuard:
    return ContaminationGuard(import_humaneval())


def test_copied_heldout_task_is_rejected_naming_the_source(guard) -> None:
    he = import_humaneval()[12]
    copy = parse_task({**he.to_json(), "id": "copy", "source": "challenger"})
    hit = guard.check(copy)
    assert hit is not None and hit.heldout_id == he.id and hit.overlap == 1.0


def test_copied_solution_with_new_wording_is_rejected(guard) -> None:
    he = import_humaneval()[30]
    task = parse_task(
        {
            "kind": "function",
            "instruction": "Write something original.",
            "entry_point": he.entry_point,
            "checker": "def check(candidate):\n    assert candidate([7]) == [7]\n",
            "example_solution": he.example_solution,
        }
    )
    hit = guard.check(task)
    assert hit is not None and hit.field in (
        ContaminationField.SOLUTION,
        ContaminationField.INSTRUCTION,
    )


def test_equal_io_pairs_are_contamination(guard) -> None:
    # HumanEval/0's checker asserts these exact pairs
    task = parse_task(
        {
            "kind": "function",
            "instruction": "Decide something about floats.",
            "entry_point": "f",
            "private_tests": [
                {"input": "([1.0, 2.0, 3.9, 4.0, 5.0, 2.2], 0.3)", "output": "True"},
                {"input": "([1.0, 2.0, 3.9, 4.0, 5.0, 2.2], 0.05)", "output": "False"},
            ],
        }
    )
    hit = guard.check(task)
    assert (
        hit is not None
        and hit.field is ContaminationField.IO_PAIRS
        and hit.heldout_id == "HumanEval/0"
    )


def test_io_pairs_written_as_tuples_or_beside_an_unused_argument_are_contamination() -> None:
    # a held-out task's inputs and rule with its lists written as tuples, or with an extra
    # argument the function ignores, were let through
    held = parse_task(
        {
            "id": "held/0",
            "entry_point": "f",
            "public_tests": [
                {"input": f"({xs!r},)", "output": repr(xs[::-1])}
                for xs in ([55, 30, 28, 14], [23, 13, 70], [21, 53, 95, 3])
            ],
        }
    )
    guard = ContaminationGuard([held])
    for shape in ("tuples", "extra argument"):
        tests = [
            {"input": f"({tuple(xs)!r},)", "output": repr(tuple(xs[::-1]))}
            if shape == "tuples"
            else {"input": f"({xs!r}, 0)", "output": repr(xs[::-1])}
            for xs in ([55, 30, 28, 14], [23, 13, 70], [21, 53, 95, 3])
        ]
        task = parse_task({"id": "p", "entry_point": "g", "private_tests": tests})
        hit = guard.check(task)
        assert hit is not None and hit.field is ContaminationField.IO_PAIRS, shape


@pytest.mark.parametrize(
    "written",
    ["numbers as floats", "1 as True", "a dict in another order", "as the tuple it wraps"],
)
def test_io_pairs_are_compared_as_values_whatever_their_spelling(written) -> None:
    # red team 19: a held-out pair written with 1.0 or True for 1, or a dict built in another
    # order, was another pair to the guard (its text differed), and a checker that wraps the
    # call (tuple(candidate(x)) == ...) indexed no pair at all
    checker = (
        "def check(candidate):\n"
        "    assert tuple(candidate([5, 3, 1], {'b': 2, 'a': 1})) == tuple([1, 3, 5])\n"
        "    assert abs(candidate([7, 1], {'a': 1}) - 7.5) < 1e-6\n"
        "    assert candidate([2], {}) is True\n"
        "    assert not candidate([4], {})\n"
    )
    held = parse_task({"id": "held/1", "entry_point": "g", "checker": checker})
    guard = ContaminationGuard([held])
    pairs = {
        "numbers as floats": [
            ("([5.0, 3, 1], {'b': 2, 'a': 1})", "[1, 3, 5.0]"),
            ("([7, 1.0], {'a': 1})", "7.5"),
        ],
        "1 as True": [("([2], {})", "1"), ("([4], {})", "0")],
        "a dict in another order": [
            ("([5, 3, 1], {'a': 1, 'b': 2})", "[1, 3, 5]"),
            ("([7, 1], {'a': True})", "7.5"),
        ],
        "as the tuple it wraps": [
            ("([5, 3, 1], {'b': 2, 'a': 1})", "(1, 3, 5)"),
            ("([2], {})", "True"),
        ],
    }[written]
    tests = [{"input": i, "output": o} for i, o in pairs]
    task = parse_task({"id": "p", "entry_point": "f", "private_tests": tests})
    hit = guard.check(task)
    assert hit is not None and hit.field is ContaminationField.IO_PAIRS, written
    other = [{"input": "([6, 3, 1], {'b': 2})", "output": "[1, 3, 6]"}]
    assert guard.check(parse_task({"id": "q", "entry_point": "f", "private_tests": other})) is None


def test_a_heldout_task_with_one_pair_is_matched_by_that_pair() -> None:
    # red team 19: the threshold took the checked task's pair count, not the held-out task's,
    # so HumanEval/34's single pair, copied beside three others, was let through
    held = parse_task(
        {
            "id": "held/2",
            "entry_point": "unique",
            "checker": "def check(candidate):\n"
            "    assert candidate([5, 3, 5, 2, 3, 3, 9, 0, 123]) == [0, 2, 3, 5, 9, 123]\n",
        }
    )
    guard = ContaminationGuard([held])
    tests = [{"input": "([5, 3, 5, 2, 3, 3, 9, 0, 123],)", "output": "[0, 2, 3, 5, 9, 123]"}]
    tests += [{"input": f"([{k}, {k}],)", "output": f"[{k}]"} for k in (1, 2, 3)]
    hit = guard.check(parse_task({"id": "p", "entry_point": "f", "private_tests": tests}))
    assert hit is not None and hit.heldout_id == "held/2" and hit.overlap == 0.25
    # red team 20: a short single pair is every task's (HumanEval/4's [1, 2, 3, 4] -> 1.0 is
    # every mean and minimum): it does not count alone
    short = parse_task(
        {
            "id": "held/3",
            "entry_point": "g",
            "public_tests": [{"input": "([1, 2, 3, 4],)", "output": "1.0"}],
        }
    )
    mins = [{"input": "([1, 2, 3, 4],)", "output": "1"}, {"input": "([5, 2],)", "output": "2"}]
    task = parse_task({"id": "m", "entry_point": "f", "private_tests": mins})
    assert ContaminationGuard([short]).check(task) is None


def test_new_task_is_kept(guard, make_task) -> None:
    report = guard.filter([make_task(instruction="Sort the list, keeping duplicates, ascending.")])
    assert len(report.kept) == 1 and not report.rejected


# -- a held-out set with a template: reasoning-gym list_functions, as the loop builds it --------

TEMPLATE_PREFIX = "following the same rule as these examples:\n"


@pytest.fixture(scope="module", name="rg_heldout")
def rg_heldout_fixture() -> list[Task]:
    return import_reasoning_gym("list_functions", size=200, seed=20250807)


@pytest.fixture(scope="module", name="rg_guard")
def rg_guard_fixture(rg_heldout) -> ContaminationGuard:
    return ContaminationGuard(rg_heldout)


def _obj(task: Task, **fields: object) -> dict:
    """``task`` as a raw task object (tests as lists), with overrides."""
    obj = task.to_json()
    obj["public_tests"], obj["private_tests"] = (
        list(obj["public_tests"]),
        list(obj["private_tests"]),
    )
    return {**obj, **fields}


def _grammar_task(seed: int, instruction: str, inline: bool = False) -> Task:
    (gt,) = sample_tasks(1, seed)
    return grammar_task(gt, f"own/{seed}", instruction, inline=inline)


def test_loop_seed_pool_is_not_contamination(rg_guard) -> None:
    # Before the template was discounted, 27 of these 200 were rejected on wording alone.
    report = rg_guard.filter(seed_pool(RunConfig(), 200))
    assert report.rejected == []


def test_every_corpus_phrasing_is_kept(rg_guard) -> None:
    phrasings = [*INSTRUCTIONS, TaskShape().default_instruction]
    tasks = [_grammar_task(90_001 + k, p) for k, p in enumerate(phrasings)]
    assert [rg_guard.check(t) for t in tasks] == [None] * len(tasks)


def test_heldout_template_wording_alone_is_kept(rg_guard, rg_heldout) -> None:
    template = rg_heldout[0].instruction.split(TEMPLATE_PREFIX)[0] + TEMPLATE_PREFIX
    assert rg_guard.check(_grammar_task(90_100, template)) is None


def test_verbatim_heldout_copy_is_rejected(rg_guard, rg_heldout) -> None:
    held = rg_heldout[17]
    hit = rg_guard.check(parse_task(_obj(held, id="copy", source="challenger")))
    assert hit is not None and hit.heldout_id == held.id and hit.overlap == 1.0


def test_copy_with_only_whitespace_and_case_changes_is_rejected(rg_guard, rg_heldout) -> None:
    held = rg_heldout[42]
    obj = _obj(held)
    respaced = [
        {"input": t["input"].replace(", ", ",  "), "output": t["output"].replace(" ", "")}
        for t in obj["public_tests"] + obj["private_tests"]
    ]
    copy = parse_task(
        {
            **obj,
            "id": "copy",
            "instruction": "  " + held.instruction.upper().replace(" ", "\n  "),
            "public_tests": respaced[:3],
            "private_tests": respaced[3:],
        }
    )
    hit = rg_guard.check(copy)
    assert hit is not None and hit.heldout_id == held.id and hit.overlap == 1.0


def test_two_reused_heldout_io_pairs_are_rejected(rg_guard, rg_heldout) -> None:
    held = rg_heldout[63]
    own = _grammar_task(90_200, INSTRUCTIONS[1])
    stolen = [{"input": t.input, "output": t.output} for t in held.public_tests[:2]]
    task = parse_task(_obj(own, id="mixed", private_tests=[*stolen, *_obj(own)["private_tests"]]))
    hit = rg_guard.check(task)
    assert (
        hit is not None and hit.field is ContaminationField.IO_PAIRS and hit.heldout_id == held.id
    )


def test_pasted_heldout_examples_in_instruction_are_rejected(rg_guard, rg_heldout) -> None:
    held = rg_heldout[101]
    examples = held.instruction.split(TEMPLATE_PREFIX)[1]
    own = _grammar_task(90_300, f"{INSTRUCTIONS[4]}\n{examples}")
    hit = rg_guard.check(own)
    assert (
        hit is not None
        and hit.field is ContaminationField.INSTRUCTION
        and hit.heldout_id == held.id
    )


# -- behaviour: the example solution run on held-out inputs (sandboxed) ------------------------


def _io_task(task_id: str, pairs: list[tuple[list[int], list[int]]], solution: str = "") -> Task:
    tests = [{"input": repr((i,)), "output": repr(o)} for i, o in pairs]
    return parse_task(
        {
            "id": task_id,
            "kind": "function",
            "instruction": "Write f(xs).",
            "entry_point": "f",
            "public_tests": tests[:2],
            "private_tests": tests[2:],
            "example_solution": solution or None,
            "source": "challenger" if solution else "heldout",
        }
    )


@pytest.fixture(scope="module", name="reverse_guard")
def reverse_guard_fixture() -> ContaminationGuard:
    lists = [[3, 1, 2], [5, 9, 9, 4], [7, 0], [8, 6, 1, 2, 5]]
    reverse = _io_task("held/reverse", [(x, x[::-1]) for x in lists])
    first = _io_task("held/first", [(x, x[:1]) for x in lists])
    return ContaminationGuard([reverse, first])


def test_solution_reproducing_heldout_outputs_on_other_inputs_is_rejected(
    reverse_guard, verifier
) -> None:
    solution = (
        "def f(xs):\n    out = []\n    for x in xs:\n        out.insert(0, x)\n    return out\n"
    )
    task = _io_task("own", [([4, 4, 1], [1, 4, 4]), ([2], [2]), ([10, 20], [20, 10])], solution)
    assert reverse_guard.check(task) is None  # no shared pair, no shared text
    hit = reverse_guard.behaviour_check(task, verifier)
    assert hit is not None and hit.field is ContaminationField.BEHAVIOUR
    assert hit.heldout_id == "held/reverse"


def test_solution_with_another_behaviour_passes_the_behaviour_check(
    reverse_guard, verifier
) -> None:
    task = _io_task(
        "own",
        [([4, 4, 1], [1, 4, 4]), ([2], [2]), ([2, 1], [1, 2])],
        "def f(xs):\n    return sorted(xs)\n",
    )
    assert reverse_guard.behaviour_check(task, verifier) is None


def test_solution_that_hangs_on_heldout_inputs_costs_one_wall_clock(reverse_guard) -> None:
    task = _io_task(
        "own",
        [([1], [1]), ([2], [2]), ([3], [3])],
        "def f(xs):\n    while len(xs) > 1:\n        pass\n    return xs\n",
    )
    with Verifier(workers=1, limits=SandboxLimits(wall_s=1.0)) as v:
        t0 = time.monotonic()
        hit = reverse_guard.behaviour_check(task, v)
        took = time.monotonic() - t0
    assert hit is None and took < 2.5  # one timeout for all held-out inputs, and no verdict


# -- held-out checkers in the forms people write (red team: each indexed no pair) -------------

_THIRDS = [(1, 1 / 3), (2, 2 / 3), (4, 4 / 3)]
"""The held-out reference: x / 3, on the inputs its checker names."""

_TABLE = ", ".join(f"({x}, {y:.6f})" for x, y in _THIRDS)

CHECKER_FORMS = {
    "rounded value": "assert abs(candidate({x}) - {y6}) < 1e-6",
    "arithmetic of literals": "assert abs(candidate({x}) - {x}/3) < 1e-9",
    "math.fabs": "assert math.fabs(candidate({x}) - {y6}) < 1e-6",
    "reversed comparison": "assert 1e-6 > abs(candidate({x}) - {y6})",
    "value minus call": "assert abs({y6} - candidate({x})) <= 1e-6",
    "round with digits": "assert round(candidate({x}), 2) == {y2}",
    "computed right side": "assert candidate({x}) == {x} / 3 * 1.0",
    "in a tuple": "assert candidate({x}) in ({x} / 3,)",
    "assertEqual": "self.assertEqual(candidate({x}), {x} / 3)",
    "assertAlmostEqual": "self.assertAlmostEqual(candidate({x}), {y6}, places=5)",
    "assertTrue": "self.assertTrue(candidate({x}) == {x} / 3)",
    "result bound first": "r = candidate({x})\n    assert abs(r - {y6}) < 1e-6",
    "np.allclose": "assert np.allclose(candidate({x}), {y6})",
    "math.isclose reversed": "assert math.isclose({y6}, candidate({x}), rel_tol=1e-5)",
    "pytest.approx": "assert candidate({x}) == pytest.approx({y6})",
    "str of the call": "assert str(candidate({x})) == {ys!r}",
    "all over a generator": "assert all(abs(candidate(x) - y) < 1e-6 for x, y in [{table}])",
}
"""One line per input (``{x}``; ``{y6}``/``{y2}``: the output rounded to 6/2 places)."""

TABLE_FORMS = {
    "for over a table": f"for x, y in [{_TABLE}]:\n        assert abs(candidate(x) - y) < 1e-6",
    "for over a dict": (
        "expected = {"
        + ", ".join(f"{x}: {y:.6f}" for x, y in _THIRDS)
        + "}\n    for x in expected:\n        assert abs(candidate(x) - expected[x]) < 1e-6"
    ),
    "zip of two lists": (
        f"inputs = {[x for x, _ in _THIRDS]}\n"
        f"    outputs = [{', '.join(f'{y:.6f}' for _, y in _THIRDS)}]\n"
        "    for x, y in zip(inputs, outputs):\n"
        "        assert math.isclose(candidate(x), y, abs_tol=1e-6)"
    ),
}


def _form_checker(form: str) -> str:
    if form in TABLE_FORMS:
        lines = TABLE_FORMS[form].split("\n    ")
    else:
        lines = [
            CHECKER_FORMS[form].format(x=x, y6=f"{y:.6f}", y2=f"{y:.2f}", ys=str(y), table=_TABLE)
            for x, y in _THIRDS
        ]
        lines = [line for text in lines for line in text.split("\n    ")]
    head = "import math\nimport unittest\n\nimport numpy as np\nimport pytest\n\n\n"
    if form.startswith("assert"):  # unittest's methods, in a TestCase the checker runs
        body = "".join(f"            {line}\n" for line in lines)
        return (
            f"{head}def check(candidate):\n    class T(unittest.TestCase):\n"
            f"        def test(self):\n{body}\n    T('test').test()\n"
        )
    return head + "def check(candidate):\n" + "".join(f"    {line}\n" for line in lines)


def _pairs_task(task_id: str, pairs: list[tuple[object, object]]) -> Task:
    tests = [{"input": f"({x!r},)", "output": repr(y)} for x, y in pairs]
    return parse_task(
        {"id": task_id, "instruction": "Do something.", "entry_point": "f", "private_tests": tests}
    )


@pytest.mark.parametrize("form", [*CHECKER_FORMS, *TABLE_FORMS])
def test_heldout_checker_forms_index_the_reference_pairs(form) -> None:
    held = parse_task({"id": "held/thirds", "entry_point": "third", "checker": _form_checker(form)})
    guard = ContaminationGuard([held])
    copy = _pairs_task("copy", _THIRDS)  # the exact values the reference computes
    hit = guard.check(copy)
    assert hit is not None and hit.field is ContaminationField.IO_PAIRS, form
    assert hit.heldout_id == "held/thirds"
    other = _pairs_task("other", [(x, y + 0.5) for x, y in _THIRDS])
    assert guard.check(other) is None, form
    halves = _pairs_task("halves", [(x, x / 2) for x, _ in _THIRDS])
    assert guard.check(halves) is None, form


def test_str_of_the_call_matches_the_value_or_the_string_it_spells() -> None:
    # str(candidate(x)) == '5.5' indexed the string '5.5': a training task with the
    # reference's 5.5 was not caught. Either is the function's output now.
    checker = (
        "def check(candidate):\n"
        "    assert str(candidate([1, 10])) == '5.5'\n"
        "    assert str(candidate([2, 4, 9])) == '5'\n"
        "    assert str(candidate([7])) == 'seven'\n"
    )
    guard = ContaminationGuard(
        [parse_task({"id": "held/s", "entry_point": "m", "checker": checker})]
    )
    for outputs in ((5.5, 5), ("5.5", "5"), (5.5, "seven")):
        inputs = [[1, 10], [2, 4, 9]] if outputs[1] != "seven" else [[1, 10], [7]]
        hit = guard.check(_pairs_task("t", list(zip(inputs, outputs, strict=True))))
        assert hit is not None and hit.heldout_id == "held/s", outputs
    assert guard.check(_pairs_task("t", [([1, 10], 5.0), ([2, 4, 9], 6)])) is None


def test_assert_is_and_assert_false_are_pairs() -> None:
    checker = (
        "import unittest\n\n\ndef check(candidate):\n"
        "    t = unittest.TestCase()\n"
        "    t.assertIs(candidate([3, 1, 2]), False)\n"
        "    t.assertTrue(candidate([1, 2, 3]))\n"
        "    t.assertFalse(candidate([2, 1]))\n"
    )
    guard = ContaminationGuard(
        [parse_task({"id": "held/b", "entry_point": "s", "checker": checker})]
    )
    copy = [([3, 1, 2], False), ([1, 2, 3], True), ([2, 1], False)]
    hit = guard.check(_pairs_task("c", copy))
    assert hit is not None and hit.heldout_id == "held/b"
    assert guard.check(_pairs_task("o", [(x, not y) for x, y in copy])) is None


def test_an_approximate_form_matches_near_outputs_but_no_other_integer() -> None:
    # the checker's own tolerance is the held-out ground truth: outputs within it match,
    # but an integer output matches only the integer nearest the held-out value
    checker = (
        "def check(candidate):\n"
        "    assert abs(candidate([1, 2]) - 10) < 5\n"
        "    assert abs(candidate([3, 4]) - 20) < 5\n"
    )
    guard = ContaminationGuard(
        [parse_task({"id": "held/n", "entry_point": "g", "checker": checker})]
    )
    for outputs, caught in (((10, 20), True), ((10.2, 19.5), True), ((11, 21), False)):
        task = _pairs_task("t", [([1, 2], outputs[0]), ([3, 4], outputs[1])])
        assert (guard.check(task) is not None) is caught, outputs
    # exact forms stay exact: 1/3 written out is not 0.333333
    exact = "def check(candidate):\n" + "".join(
        f"    assert candidate({x}) == {y:.6f}\n" for x, y in _THIRDS
    )
    guard = ContaminationGuard([parse_task({"id": "held/e", "entry_point": "g", "checker": exact})])
    assert guard.check(_pairs_task("t", _THIRDS)) is None


def test_humaneval_float_checkers_catch_the_reference_values(guard) -> None:
    # HumanEval/4 asserts abs(candidate(xs) - 2.0/3.0) < 1e-6, HumanEval/2 abs(candidate(1.33)
    # - 0.33) < 1e-6 where the reference's 1.33 % 1.0 is 0.33000000000000007
    mad = [([1.0, 2.0, 3.0], 2 / 3), ([1.0, 2.0, 3.0, 4.0, 5.0], 1.2)]
    hit = guard.check(_pairs_task("mad", mad))
    assert hit is not None and hit.heldout_id == "HumanEval/4"
    frac = [(3.5, 0.5), (1.33, 1.33 % 1.0), (123.456, 123.456 % 1.0)]
    hit = guard.check(_pairs_task("frac", frac))
    assert hit is not None and hit.heldout_id == "HumanEval/2"


def test_an_output_past_a_floats_range_is_near_nothing_and_crashes_nothing():
    # a proposal's example returned 10**400 where a held-out checker compares approximately:
    # the tolerance match took the float of it, OverflowError, and the loop stopped (red team 22)
    checker = (
        "def check(candidate):\n"
        "    assert abs(candidate([1, 2]) - 10) < 5\n    assert abs(candidate([3, 4]) - 20) < 5\n"
    )
    guard = ContaminationGuard(
        [parse_task({"id": "held/n", "entry_point": "g", "checker": checker})]
    )
    tests = [{"input": "([1, 2],)", "output": "1" + "0" * 400}, {"input": "([5],)", "output": "1"}]
    task = parse_task({"id": "t", "entry_point": "f", "private_tests": tests})
    assert guard.check(task) is None
