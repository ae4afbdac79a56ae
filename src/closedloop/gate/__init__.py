"""The gate: may a trained candidate policy replace its baseline?

The gate compares the two on the same held-out tasks, task by task, and promotes the
candidate only when it wins more tasks than it loses by more than chance allows (a one-sided
exact sign test on the tasks where their scores differ; with one greedy attempt per task that
is the exact McNemar test). A paired test, because both policies attempt every task: task
difficulty cancels, and a gain of a few tasks in two hundred can be told from noise only this
way. See :mod:`~closedloop.gate.decision`; ``closedloop gate`` runs it on two policy
directories.

Must never: train, choose or filter the tasks after seeing scores, or look at anything but the
per-task scores it is given.
"""

from closedloop.gate.decision import Decision, GateResult, decide, sign_test_p

__all__ = ["Decision", "GateResult", "decide", "sign_test_p"]
