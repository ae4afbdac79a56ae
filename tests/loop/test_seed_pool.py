"""The seed pool: grammar tasks that start self-play, and the identity share beside them."""

from __future__ import annotations

from closedloop.loop.config import RunConfig
from closedloop.loop.domain import seed_pool
from closedloop.verify.outcome import Outcome

IDENTITY = "def f(xs):\n    return xs\n"


def test_the_identity_share_adds_identity_tasks_and_keeps_the_rest_of_the_pool(verifier) -> None:
    plain = seed_pool(RunConfig.model_validate({"seed": 3}), 40)
    mixed = seed_pool(
        RunConfig.model_validate({"seed": 3, "cold_start": {"identity_share": 0.1}}), 40
    )
    assert len(mixed) == 40
    # the grammar's draws never give the identity: without the share the pool holds none
    assert not any(t.example_solution == IDENTITY for t in plain)
    ids = [t for t in mixed if t.example_solution == IDENTITY]
    assert len(ids) == 4
    # the other 36 are the plain pool's first 36, so a run without the share is unchanged
    assert [(t.instruction, t.example_solution) for t in mixed[:36]] == [
        (t.instruction, t.example_solution) for t in plain[:36]
    ]
    for t in ids:
        assert all(c.input.removeprefix("(").removesuffix(",)") == c.output for c in t.public_tests)
    assert len({t.public_tests[0].input for t in ids}) == 4
    verdicts = verifier.verify_many([(t, IDENTITY) for t in ids])
    assert all(v.outcome is Outcome.PASS for v in verdicts)
    # and the private tests tell the identity from a near miss
    wrong = verifier.verify_many([(t, "def f(xs):\n    return [x - 1 for x in xs]\n") for t in ids])
    assert not any(v.outcome is Outcome.PASS for v in wrong)
