"""A verifier wrapper that adds up what the sandbox refused the code it ran (the loop's count
of the challenger's probing: its example solutions, wrong solutions and their mutants run in
the generate phase).

Owns counting only: every call is passed through unchanged. Must never change a verdict.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from closedloop.sandbox import Refusals
from closedloop.verify.backend import VerificationBackend


class RefusalTally:
    """A :class:`~closedloop.verify.VerificationBackend` that sums the refusals of every
    verdict and call result it hands back (``refusals``). Safe to share between threads.

    Example::

        tally = RefusalTally(verifier)
        tally.call_many(jobs)
        tally.refusals.denied_total  # system calls the sandbox denied those jobs
    """

    def __init__(self, inner: VerificationBackend) -> None:
        self.inner = inner
        self.refusals = Refusals()
        self._lock = threading.Lock()

    def _add(self, found: Iterable[Refusals]) -> None:
        found = [r for r in found if r]
        if found:
            with self._lock:
                self.refusals = sum(found, self.refusals)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)  # pool, limits, ...: the wrapped verifier's

    def __enter__(self) -> RefusalTally:
        return self

    def __exit__(self, *exc: object) -> None:
        self.inner.close()

    def _counted(self, name: str, refusals_of: Callable[[Any], Iterable[Refusals]]) -> Any:
        def call(*args: Any, **kwargs: Any) -> Any:
            out = getattr(self.inner, name)(*args, **kwargs)
            self._add(refusals_of(out))
            return out

        return call

    def verify(self, *args: Any, **kwargs: Any) -> Any:
        """``Verifier.verify``, counted."""
        return self._counted("verify", lambda v: [v.refusals])(*args, **kwargs)

    def verify_many(self, *args: Any, **kwargs: Any) -> Any:
        """``Verifier.verify_many``, counted."""
        return self._counted("verify_many", lambda vs: (v.refusals for v in vs))(*args, **kwargs)

    def iter_verify(self, *args: Any, **kwargs: Any) -> Iterator[Any]:
        """``Verifier.iter_verify``, counted as each verdict arrives."""
        for v in self.inner.iter_verify(*args, **kwargs):
            self._add([v.refusals])
            yield v

    def call(self, *args: Any, **kwargs: Any) -> Any:
        """``Verifier.call``, counted (a job's refusals ride on its first result)."""
        return self._counted("call", lambda rs: (r.refusals for r in rs))(*args, **kwargs)

    def call_many(self, *args: Any, **kwargs: Any) -> Any:
        """``Verifier.call_many``, counted."""
        count = self._counted("call_many", lambda jobs: (r.refusals for j in jobs for r in j))
        return count(*args, **kwargs)
