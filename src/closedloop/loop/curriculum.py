"""Moved: the curriculum is :mod:`closedloop.tasks.curriculum` (one curriculum, used by the
task pool and the loop). This re-export keeps ``phases.choose_tasks`` working until the loop
calls :meth:`closedloop.loop.store.RunStore.pick_tasks`; delete the module then."""

from closedloop.tasks.curriculum import difficulty, pick_tasks

__all__ = ["difficulty", "pick_tasks"]
