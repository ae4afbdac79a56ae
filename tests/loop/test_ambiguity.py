"""A challenger's task whose shown examples two simplest rules fit, answering a hidden test
differently, is refused: a solver reading the examples right may fail it, and a coin flip
between the readings earned the challenger its highest learnability reward."""

from __future__ import annotations

from closedloop.loop.config import config_from_dict
from closedloop.loop.domain import rival_rules
from closedloop.loop.grammar_search import rival_fits
from closedloop.loop.phases import generate
from closedloop.roles.challenger import ProposalRejection
from closedloop.tasks.contamination import ContaminationGuard
from closedloop.tasks.format import parse_task

SHOWN = [[3, 37, 50, 49, 71, 69, 8, 26], [50, 92, 23, 12, 71], [29, 51, 22, 2, 43, 69]]


def above(c: int, xs: list[int]) -> list[int]:
    return [x for x in xs if x > c]


def test_two_thresholds_the_examples_allow_are_rivals_when_a_hidden_list_tells_them_apart():
    ins = [*SHOWN, [17, 40]]
    pair = rival_fits(ins, [above(15, xs) for xs in ins], n_fit=3)
    assert pair is not None
    codes = {p.code.splitlines()[1].strip() for p in pair}
    assert any("x > 15" in c for c in codes) and len(codes) == 2
    # a hidden list both readings answer alike: nothing to tell
    ins = [*SHOWN, [5, 90]]
    assert rival_fits(ins, [above(15, xs) for xs in ins], n_fit=3) is None


def test_examples_that_settle_the_rule_have_no_rival_nor_do_rules_outside_the_grammar():
    ins = [[1, 2], [5, 3], [3, 1], [9, 8, 7]]
    assert rival_fits(ins, [xs[::-1] for xs in ins], n_fit=3) is None
    ins = [[1, 2], [5, 3], [4, 4, 1], [6]]
    assert rival_fits(ins, [[sum(xs) * 7 + 3] for xs in ins], n_fit=3) is None


def test_a_list_task_is_checked_on_its_own_tests_and_other_tasks_are_not():
    def task(outs: list[str], ins: list[str]) -> object:
        tests = [{"input": i, "output": o} for i, o in zip(ins, outs, strict=True)]
        return parse_task(
            {"id": "t", "entry_point": "f", "public_tests": tests[:3], "private_tests": tests[3:]}
        )

    ins = [*SHOWN, [17, 40]]
    why = rival_rules(task([repr(above(15, xs)) for xs in ins], [repr((xs,)) for xs in ins]), 3)
    assert why is not None and "x > 15" in why and "hidden test" in why
    strings = task(["'a'", "'b'", "'c'", "'d'"], ["('a',)", "('b',)", "('c',)", "('d',)"])
    assert rival_rules(strings, 3) is None


PROPOSAL = """Instruction: keep some of the numbers
Inputs:
f([3, 37, 50, 49, 71, 69, 8, 26])
f([50, 92, 23, 12, 71])
f([29, 51, 22, 2, 43, 69])
f([17, 40, 5])
Solution:
def f(xs):
    return [x for x in xs if x > 15]
Wrong:
def f(xs):
    return xs
Wrong:
def f(xs):
    return []
Wrong:
def f(xs):
    return sorted(xs)
"""


def test_the_generate_phase_refuses_an_ambiguous_proposal_unless_told_not_to(verifier, scripted):
    for refuse, want in ((True, ProposalRejection.AMBIGUOUS), (False, None)):
        cfg = config_from_dict(
            {"challenger": {"proposals": 1, "max_mutants": 0, "refuse_ambiguous": refuse}}
        )
        gen = generate(scripted(PROPOSAL), cfg, verifier, ContaminationGuard([]), set(), 1)
        [row] = gen.proposals
        assert row.reason == want, row
        assert len(gen.accepted) == (0 if refuse else 1)
