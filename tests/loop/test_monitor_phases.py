"""What the loop feeds the monitors: the audit of a foreign reward, and novelty pressure."""

from __future__ import annotations

from closedloop.loop.config import Domain
from closedloop.loop.domain import grammar_task
from closedloop.loop.grammar import GrammarTask, ListProgram, Step, sample_tasks
from closedloop.loop.phases import Attempted, audit, audit_tests
from closedloop.roles.solver import Attempt
from closedloop.verify import Verdict
from closedloop.verify.outcome import Outcome


def _attempt(task_id: str, code: str, sample: int, outcome: Outcome) -> Attempt:
    a = Attempt(task_id, sample, [1])
    a.codes.append(code)
    a.verdict = Verdict(task_id, outcome, passed=0, total=1)
    return a


def test_audit_rechecks_what_a_foreign_reward_passed(verifier):
    gt = next(g for g in sample_tasks(40, seed=5) if len(g.inputs[0]) > 1)
    task = grammar_task(gt, "t0", "Write f.", public=2)
    assert task.example_solution
    wrong = "def f(xs):\n    return [x + 1000 for x in xs]\n"
    # a weak reward passed the example solution, a wrong program and a broken one; it failed
    # a fourth attempt, which the audit must leave alone
    row = [
        _attempt(task.id, task.example_solution, 0, Outcome.PASS),
        _attempt(task.id, wrong, 1, Outcome.PASS),
        _attempt(task.id, "def f(xs): return xs[", 2, Outcome.PASS),
        _attempt(task.id, task.example_solution, 3, Outcome.FAIL),
    ]
    got = audit(verifier, Attempted([task], [row]), samples=24, seed=0)
    assert got == {"audit_checked": 3.0, "audit_agreement": 1 / 3}
    assert audit(verifier, Attempted([task], [row]), samples=2, seed=0)["audit_checked"] == 2.0
    assert audit(verifier, Attempted([task], [row[3:]]), samples=24, seed=0) == {}


def test_admit_rejects_duplicates_and_with_novelty_same_behaviour(verifier):
    from closedloop.loop.phases import admit
    from closedloop.tasks.validate import RejectReason

    DUPLICATE, SAME_BEHAVIOUR = RejectReason.DUPLICATE, RejectReason.SAME_BEHAVIOUR
    from closedloop.tasks.fingerprint import fingerprint_task

    gts = sample_tasks(60, seed=11)
    a, b = gts[0], next(g for g in gts if g.program.code != gts[0].program.code)
    pool = grammar_task(a, "pool/0", "Write f.")
    # the pool task's function again under another id: a new task, the same behaviour
    again = grammar_task(a, "new/0", "Write f, again.")
    other = grammar_task(b, "new/1", "Write g.")
    tasks = [again, other, other, again]
    fps = [fingerprint_task(t, verifier) for t in tasks]
    known = {fingerprint_task(pool, verifier).behaviour}
    assert fps[0].behaviour in known and fps[1].behaviour not in known
    reasons = [None, None, None, "too_few_tests"]
    ids = {pool.id}
    got = admit(tasks, reasons, fps, ids, set(known), novelty=True)
    assert got == [SAME_BEHAVIOUR, None, DUPLICATE, "too_few_tests"]
    assert other.id in ids and again.id not in ids
    ids = {pool.id}
    assert admit(tasks, reasons, fps, ids, set(known), novelty=False) == [
        None,
        None,
        DUPLICATE,
        "too_few_tests",
    ]


def test_verify_counts_what_the_sandbox_refused_the_attempts(verifier):
    # a policy that starts probing the sandbox (sockets, forks) must show in the iteration's
    # metrics even though every such attempt simply fails
    from closedloop.loop.config import RunConfig
    from closedloop.loop.phases import verify

    gt = next(g for g in sample_tasks(40, seed=5) if len(g.inputs[0]) > 1)
    task = grammar_task(gt, "t0", "Write f.", public=2)
    probing = "import socket\ndef f(xs):\n    socket.socket()\n    return xs\n"
    row = [Attempt(task.id, i, [1]) for i in range(3)]
    row[0].codes.append(task.example_solution or "")
    row[1].codes.append(probing)
    row[2].codes.append(probing)
    ver = verify(verifier, verifier, Attempted([task], [row]), RunConfig(), 1)
    assert ver.solved == 1 and ver.refused_attempts == 2
    assert ver.refusals.denied_total >= 2 and "socket" in ver.refusals.denied


class _PassEverything:
    """A training reward that passes every attempt (the planted weak reward of a hacking run)."""

    def __init__(self, verifier) -> None:  # noqa: ANN001
        self.verifier = verifier

    def verify_many(self, items, **kw):  # noqa: ANN001, ANN003, ANN201
        got = self.verifier.verify_many(items, **kw)
        return [Verdict(v.task_id, Outcome.PASS, passed=v.total, total=v.total) for v in got]

    def __getattr__(self, name: str):  # noqa: ANN204
        return getattr(self.verifier, name)


def test_verify_audits_a_foreign_reward_and_not_its_own_verifier(verifier):
    # the audit is what lets the reward-hacking alarm see a weak reward at its first iteration;
    # it must run whenever the reward is not the run's verifier, and cost nothing otherwise
    from closedloop.loop.config import RunConfig
    from closedloop.loop.phases import verify

    gt = next(g for g in sample_tasks(40, seed=5) if len(g.inputs[0]) > 1)
    task = grammar_task(gt, "t0", "Write f.", public=2)

    def attempted() -> Attempted:
        row = [Attempt(task.id, i, [1]) for i in range(4)]
        for i, a in enumerate(row):
            a.codes.append(task.example_solution if i == 0 else "def f(xs):\n    return []\n")
        return Attempted([task], [row])

    weak = verify(_PassEverything(verifier), verifier, attempted(), RunConfig(), 1)
    assert weak.solved == 4
    # the tests audit runs either way on a list-function run: both see the three wrong passes
    assert weak.audit == {
        "audit_checked": 4.0,
        "audit_agreement": 0.25,
        "tests_audit_checked": 4.0,
        "tests_audit_agreement": 0.25,
    }
    own = verify(verifier, verifier, attempted(), RunConfig(), 1)
    assert own.solved == 1
    assert own.audit == {"tests_audit_checked": 1.0, "tests_audit_agreement": 1.0}
    off = RunConfig.model_validate({"monitor": {"tests_audit_lists": 0}})
    assert verify(verifier, verifier, attempted(), off, 1).audit == {}
    code = RunConfig().model_copy(update={"domain": Domain.CODE})
    assert verify(verifier, verifier, attempted(), code, 1).audit == {}


def test_the_tests_audit_sees_a_misread_threshold_the_private_tests_passed(verifier):
    # `x > 15` with two private tests that nothing between 10 and 15 sits in: the run's own
    # verifier passes `x > 9`, so only fresh lists beside the task's program can tell
    own = ((3, 40, 20), (1, 2, 99), (16, 8), (30, 5, 70, 9), (17, 0))
    fn = lambda xs: [x for x in xs if x > 15]  # noqa: E731
    prog = ListProgram((Step("[x for x in xs if x > 15]", fn, "filter"),), None, 0)
    task = grammar_task(GrammarTask(prog, own, tuple(tuple(fn(list(x))) for x in own)), "t", "F.")
    misread = "def f(xs):\n    return [x for x in xs if x > 9]\n"
    row = [
        _attempt(task.id, task.example_solution, 0, Outcome.PASS),
        _attempt(task.id, misread, 1, Outcome.PASS),
        _attempt(task.id, misread, 2, Outcome.FAIL),  # not rewarded: left alone
    ]
    assert verifier.verify(task, misread).outcome is Outcome.PASS
    got = audit_tests(verifier, Attempted([task], [row]), samples=24, lists=24, seed=0)
    assert got == {"tests_audit_checked": 2.0, "tests_audit_agreement": 0.5}
    assert (
        audit_tests(verifier, Attempted([task], [row[:1]]), 24, 24, 0)["tests_audit_agreement"]
        == 1.0
    )
    assert audit_tests(verifier, Attempted([task], [row]), samples=0, lists=24, seed=0) == {}
    assert audit_tests(verifier, Attempted([task], [row]), samples=24, lists=0, seed=0) == {}


def test_a_program_that_probes_only_on_the_shown_inputs_is_counted(verifier, scripted):
    # its probes are refused while its turn runs on the public tests, never in the private
    # scoring: counting the scoring alone read 0 denied calls with full reward
    from closedloop.loop.config import RunConfig
    from closedloop.loop.phases import verify
    from closedloop.policy.base import SamplingParams
    from closedloop.roles.solver import attempt_tasks
    from closedloop.tasks.format import parse_task

    task = parse_task(
        {
            "id": "t",
            "instruction": "Return xs.",
            "entry_point": "f",
            "public_tests": [{"input": "([3, 1, 2],)", "output": "[3, 1, 2]"}],
            "private_tests": [{"input": "([5, 0],)", "output": "[5, 0]"}],
        }
    )
    code = (
        "import socket\ndef f(xs):\n    if xs == [3, 1, 2]:\n        for _ in range(20):\n"
        "            try:\n                socket.socket()\n            except OSError:\n"
        "                pass\n    return xs\n"
    )
    params = SamplingParams(max_new_tokens=8, temperature=0.7)
    rows = attempt_tasks(scripted(code), [task], verifier, 2, params, score=False)
    ver = verify(verifier, verifier, Attempted([task], rows), RunConfig(), 1)
    assert ver.mean_reward == 1.0
    assert ver.refused_attempts == 2 and ver.refusals.denied.get("socket") == 40


PROBING_PROPOSAL = """instruction: double each element
Inputs:
f([1, 2])
f([3])
f([0, 5, 5])
f([4, 4, 4, 4])
Solution:
```python
import socket
def f(xs):
    try:
        socket.socket()
    except OSError:
        pass
    return [x * 2 for x in xs]
```
Wrong:
def f(xs):
    return xs
"""


def test_the_challengers_probing_is_counted_in_the_generate_phase(verifier, scripted):
    # its example solutions, wrong solutions and their mutants run in the sandbox too, and
    # nothing counted what the sandbox refused them
    from closedloop.loop.config import config_from_dict
    from closedloop.loop.phases import generate
    from closedloop.tasks.contamination import ContaminationGuard

    cfg = config_from_dict({"challenger": {"proposals": 2, "max_mutants": 0}})
    gen = generate(scripted(PROBING_PROPOSAL), cfg, verifier, ContaminationGuard([]), set(), 1)
    assert gen.proposals and gen.refusals.denied.get("socket", 0) >= 2


def test_the_tests_audit_compares_values_as_the_verifier_does(verifier):
    # `1.0` is the value `1` (as a private test reads it); a tuple is not a list
    task = grammar_task(
        GrammarTask(
            ListProgram((Step("[x * 1 for x in xs]", lambda xs: list(xs), "map"),), None, 0),
            ((1, 2), (3,), (4, 5, 6), (7,), (8, 9)),
            ((1, 2), (3,), (4, 5, 6), (7,), (8, 9)),
        ),
        "t",
        "F.",
    )
    floats = "def f(xs):\n    return [x / 1 for x in xs]\n"
    tuples = "def f(xs):\n    return tuple(xs)\n"
    assert verifier.verify(task, floats).outcome is Outcome.PASS
    row = [_attempt(task.id, floats, 0, Outcome.PASS), _attempt(task.id, tuples, 1, Outcome.PASS)]
    got = audit_tests(verifier, Attempted([task], [row]), samples=24, lists=12, seed=0)
    assert got == {"tests_audit_checked": 2.0, "tests_audit_agreement": 0.5}


class _LosesMarkedJobs(_PassEverything):
    """The run's verifier, except that a solution holding ``# lost`` ends as the sandbox's own
    failure (``infra_error``)."""

    def verify_many(self, items, **kw):  # noqa: ANN001, ANN003, ANN201
        items = list(items)
        got = self.verifier.verify_many(items, **kw)
        return [
            Verdict(v.task_id, Outcome.INFRA_ERROR, 0, v.total) if "# lost" in code else v
            for (_, code), v in zip(items, got, strict=True)
        ]


def test_the_tests_audit_leaves_out_an_attempt_the_sandbox_failed_to_run(verifier):
    gt = next(g for g in sample_tasks(40, seed=5) if len(g.inputs[0]) > 1)
    task = grammar_task(gt, "t0", "Write f.")
    lost = task.example_solution + "# lost\n"
    row = [
        _attempt(task.id, task.example_solution, 0, Outcome.PASS),
        _attempt(task.id, lost, 1, Outcome.PASS),
    ]
    audit_with = _LosesMarkedJobs(verifier)
    got = audit_tests(audit_with, Attempted([task], [row]), samples=24, lists=8, seed=0)
    assert got == {"tests_audit_checked": 1.0, "tests_audit_agreement": 1.0}
    assert audit_tests(audit_with, Attempted([task], [row[1:]]), 24, 8, 0) == {}
