"""The loop: the orchestrator, the curriculum, the run store, the list-functions grammar.

Owns: the run configuration (:mod:`~closedloop.loop.config`), the run directory and its
phases (:mod:`~closedloop.loop.runner`, :mod:`~closedloop.loop.phases`), the SQLite run store
and resume (:mod:`~closedloop.loop.store`), the curriculum (:mod:`~closedloop.loop.curriculum`),
held-out evaluation (:mod:`~closedloop.loop.evaluate`), the domains and the grammar of the
cold-start corpus (:mod:`~closedloop.loop.domain`, :mod:`~closedloop.loop.grammar`).

Must never: train on a held-out task (held-out sets build the contamination guard every
proposal passes through, and are only ever evaluated), or write a reward the verifier did not
decide (``infra_error`` stays a missing reward, never a 0).
"""
