"""pass@k matches the closed form; the grammar's code and semantics agree (checked through the
sandbox). The curriculum's tests live beside it, in tests/tasks/test_curriculum.py."""

from __future__ import annotations

from math import comb

from closedloop.loop.evaluate import pass_at_k
from closedloop.loop.grammar import sample_tasks


def test_pass_at_k_matches_the_binomial_form():
    for n, c, k in [(10, 3, 1), (10, 3, 5), (20, 0, 5), (5, 5, 2)]:
        assert abs(pass_at_k(n, c, k) - (1 - comb(n - c, k) / comb(n, k))) < 1e-12


def test_grammar_code_and_semantics_agree_in_the_sandbox(verifier):
    for gt in sample_tasks(15, seed=3):
        inputs = [repr((list(x),)) for x in gt.inputs]
        res = verifier.call(gt.program.code, "f", inputs)
        assert [r.value for r in res] == [repr(list(o)) for o in gt.outputs], gt.program.code
