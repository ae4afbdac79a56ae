"""The loop: the orchestrator of a run, its phases, its store, its domains.

Where each thing lives:

- :mod:`~closedloop.loop.runner` -- the run's life cycle (create or resume, cold start,
  iterations, final, control, gate, summary);
- :mod:`~closedloop.loop.iteration` -- one iteration, top to bottom: generate -> attempt ->
  verify -> train -> evaluate, each a function of :mod:`~closedloop.loop.phases` returning a
  typed result;
- :mod:`~closedloop.loop.rundir` -- the run directory's layout; :mod:`~closedloop.loop.store`
  -- ``run.sqlite`` (the iteration's rows and the task pool, committed in one transaction);
- :mod:`~closedloop.loop.baselines` -- the cold start and the compute-matched control (both SFT
  on the same corpus); :mod:`~closedloop.loop.early_stop` -- what an alarm stops;
  :mod:`~closedloop.loop.console` -- what a run prints;
- :mod:`~closedloop.loop.heldout` -- the held-out sets, materialised into the run directory;
  :mod:`~closedloop.loop.evaluate` -- pass@k; :mod:`~closedloop.loop.hindsight` -- relabels;
- :mod:`~closedloop.loop.config` and :mod:`~closedloop.loop.presets` -- the run config;
  :mod:`~closedloop.loop.policy_setup` -- the ``hf`` kind's policy from ``[model]`` (dtype,
  device, LoRA, generation engine) and the start-up check of its engine;
  :mod:`~closedloop.loop.domain` and :mod:`~closedloop.loop.grammar` -- the list-functions
  grammar of the cold-start corpus and the seed pool.

The pool and its curriculum are :mod:`closedloop.tasks.pool` and
:mod:`closedloop.tasks.curriculum` (one task store for every part).

Must never: train on a held-out task (held-out sets build the contamination guard every
proposal passes through, and are only ever evaluated), or write a reward the verifier did not
decide (``infra_error`` stays a missing reward, never a 0).
"""
