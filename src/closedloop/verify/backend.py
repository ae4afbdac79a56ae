"""``VerificationBackend``: the shape every verifier has, whichever machines it runs on.

Owns the contract only. :class:`closedloop.verify.Verifier` (this machine's sandbox pool) and
``closedloop.distributed.RayVerifier`` (one pool per Ray node) both satisfy it, and every place
that accepts either (the loop, ``serve``, the CLI, ``make_verifier``) is typed with it, so a
third backend needs to match this one definition and nothing else.

Must never: import Ray, torch or transformers (the verify path stays light); hold behaviour.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from closedloop.tasks.format import Split, Task

if TYPE_CHECKING:
    from closedloop.sandbox import SandboxLimits
    from closedloop.verify.outcome import Verdict
    from closedloop.verify.runner import CallJob, CallResult


class PoolSize(Protocol):
    """What callers read of a backend's pool: how many jobs it runs at once."""

    @property
    def size(self) -> int: ...


@runtime_checkable
class VerificationBackend(Protocol):
    """Turns (task, solution) pairs into verdicts and runs trusted code in the sandbox.

    Contract (what :class:`~closedloop.verify.Verifier` does and every backend must keep):

    - ``verify`` / ``verify_many`` / ``iter_verify``: one :class:`Verdict` per input, in
      input order; ``on_done`` once per verdict as each is ready, from any thread. A job
      the backend could not run is an ``infra_error`` verdict (reward ``None``), never a
      raised exception and never a ``fail``. ``rerun`` runs each solution twice and flags a
      difference as non-determinism.
    - ``call`` runs ``entry_point`` of ``code`` on each argument-tuple literal and returns the
      literal results (to compute expected outputs from a trusted solution, never to judge);
      it raises :class:`closedloop.sandbox.WorkerLost` when the sandbox itself failed.
      ``call_many`` never raises for one job: a job that could not run gets one result per
      input with ``infra_error`` set.
    - ``pool.size``: how many jobs run at once (callers size their queues by it);
      ``limits``: the sandbox limits of every job; ``infra_retries``: jobs run again after
      the sandbox (or a node) was lost.
    - A context manager; ``close`` stops whatever the backend started and may be called
      twice.

    ``isinstance(x, VerificationBackend)`` checks only that these members exist, not their
    signatures (a ``runtime_checkable`` Protocol's limit).
    """

    limits: SandboxLimits

    @property
    def pool(self) -> PoolSize: ...

    @property
    def infra_retries(self) -> int: ...

    def verify(
        self,
        task: Task,
        solution: str,
        split: Split = Split.PRIVATE,
        rerun: bool = False,
        line: int | None = None,
    ) -> Verdict: ...

    def verify_many(
        self,
        items: Iterable[tuple[Task, str]],
        split: Split = Split.PRIVATE,
        rerun: bool = False,
        on_done: Callable[[Verdict], None] | None = None,
    ) -> list[Verdict]: ...

    def iter_verify(
        self,
        items: Iterable[tuple[Task, str]],
        split: Split = Split.PRIVATE,
        rerun: bool = False,
        on_done: Callable[[Verdict], None] | None = None,
    ) -> Iterator[Verdict]: ...

    def call(
        self,
        code: str,
        entry_point: str,
        inputs: list[str],
        prompt: str = "",
        resume: bool = True,
    ) -> list[CallResult]: ...

    def call_many(
        self,
        jobs: Iterable[CallJob],
        on_done: Callable[[list[CallResult]], None] | None = None,
    ) -> list[list[CallResult]]: ...

    def close(self) -> None: ...

    def __enter__(self) -> VerificationBackend: ...

    def __exit__(self, *exc: object) -> None: ...
