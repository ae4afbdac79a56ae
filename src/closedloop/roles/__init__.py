"""Roles: the challenger and the solver, both played by one policy with different prompts.

Owns: the solver prompt (instruction and *public* tests only) and the multi-turn attempt, in
which code is run on the public tests and per-test feedback is appended, with feedback tokens
masked out of training (:mod:`~closedloop.roles.solver`); the challenger prompt, the robust
parser of its proposals, the building of a task from a proposal and the learnability reward
(:mod:`~closedloop.roles.challenger`). Both sample through the ``Policy`` protocol
(``policy.sample_ids``: token-id prompts, so a turn continues exactly what was sampled).

Must never:

- put a private test (input or output) into anything the solver sees: prompts and feedback are
  built from ``Split.PUBLIC`` only, and the final attempt is scored on ``Split.PRIVATE`` by the
  verifier, whose private-test details are never rendered;
- take an expected output from model text: outputs of a proposed task come only from running
  its example solution in the sandbox (``Verifier.call``);
- decide a verdict (that is ``verify``'s job) or train (``train``'s job).
"""
