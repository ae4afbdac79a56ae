"""A verifier wrapper that adds up what the sandbox refused the code it ran (the loop's count
of the challenger's probing: its example solutions, wrong solutions and their mutants run in
the generate phase).

Owns counting only: every call is passed through unchanged. Must never change a verdict.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
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

    def verify(self, *args: Any, **kwargs: Any) -> Any:
        """``Verifier.verify``, counted."""
        v = self.inner.verify(*args, **kwargs)
        self._add([v.refusals])
        return v

    def verify_many(self, *args: Any, **kwargs: Any) -> Any:
        """``Verifier.verify_many``, counted."""
        out = self.inner.verify_many(*args, **kwargs)
        self._add(v.refusals for v in out)
        return out

    def iter_verify(self, *args: Any, **kwargs: Any) -> Iterator[Any]:
        """``Verifier.iter_verify``, counted as each verdict arrives."""
        for v in self.inner.iter_verify(*args, **kwargs):
            self._add([v.refusals])
            yield v

    def call(self, *args: Any, **kwargs: Any) -> Any:
        """``Verifier.call``, counted (a job's refusals ride on its first result)."""
        out = self.inner.call(*args, **kwargs)
        self._add(r.refusals for r in out)
        return out

    def call_many(self, *args: Any, **kwargs: Any) -> Any:
        """``Verifier.call_many``, counted."""
        out = self.inner.call_many(*args, **kwargs)
        self._add(r.refusals for job in out for r in job)
        return out
