"""A verifier wrapper that measures how long the sandbox was busy (the loop's ``t_verify``).

Owns timing only: every call is passed through unchanged. Must never change a verdict.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

from closedloop.verify.backend import VerificationBackend


class TimedVerifier:
    """A :class:`~closedloop.verify.VerificationBackend` that adds up the wall time during
    which any of its calls runs (for the time profile; calls made at once from several
    threads count once)."""

    def __init__(self, inner: VerificationBackend) -> None:
        self.inner = inner
        self.seconds = 0.0
        self._lock = threading.Lock()
        self._active = 0
        self._since = 0.0

    def _begin(self) -> None:
        with self._lock:
            if self._active == 0:
                self._since = time.monotonic()
            self._active += 1

    def _end(self) -> None:
        with self._lock:
            self._active -= 1
            if self._active == 0:
                self.seconds += time.monotonic() - self._since

    def _timed(self, name: str, *args: Any, **kwargs: Any) -> Any:
        self._begin()
        try:
            return getattr(self.inner, name)(*args, **kwargs)
        finally:
            self._end()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)  # pool, limits, ...: the wrapped verifier's

    # Dunders are looked up on the type, never through __getattr__: without these a
    # TimedVerifier would not be the VerificationBackend it wraps.
    def __enter__(self) -> TimedVerifier:
        return self

    def __exit__(self, *exc: object) -> None:
        self.inner.close()

    def verify(self, *args: Any, **kwargs: Any) -> Any:
        """``Verifier.verify``, timed."""
        return self._timed("verify", *args, **kwargs)

    def verify_many(self, *args: Any, **kwargs: Any) -> Any:
        """``Verifier.verify_many``, timed."""
        return self._timed("verify_many", *args, **kwargs)

    def iter_verify(self, *args: Any, **kwargs: Any) -> Iterator[Any]:
        """``Verifier.iter_verify``, timed from the first verdict asked for until the stream
        ends or is closed: the sandbox goes on with the batch while the caller handles a
        verdict, so that time counts too."""
        self._begin()
        try:
            yield from self.inner.iter_verify(*args, **kwargs)
        finally:
            self._end()

    def call(self, *args: Any, **kwargs: Any) -> Any:
        """``Verifier.call``, timed."""
        return self._timed("call", *args, **kwargs)

    def call_many(self, *args: Any, **kwargs: Any) -> Any:
        """``Verifier.call_many``, timed."""
        return self._timed("call_many", *args, **kwargs)
