"""verify: verdicts.

Owns calling the candidate with test inputs and comparing the returned plain data in the
trusted parent; running checker code (``check(candidate)``) in a separate judge process whose
``candidate`` is a proxy into the sandbox; typed outcomes with per-test detail; ``VerificationBackend``, the Protocol every verifier
(this machine's ``Verifier``, ``closedloop.distributed.RayVerifier``) satisfies.

Must never: trust an exit code, stdout, or an object the candidate built; ``eval`` model text;
import torch, transformers or Ray.
"""

from closedloop.verify.backend import VerificationBackend
from closedloop.verify.outcome import Outcome, TestResult, Verdict
from closedloop.verify.runner import CallJob, CallResult, Verifier, program_text

__all__ = [
    "CallJob",
    "CallResult",
    "Outcome",
    "TestResult",
    "VerificationBackend",
    "Verdict",
    "Verifier",
    "program_text",
]
