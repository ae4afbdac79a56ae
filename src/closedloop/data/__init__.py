"""Third-party benchmark task sets shipped with closedloop, each beside its licence.

This part owns the files only: where they are and what they are. Reading them into tasks is
``closedloop.tasks.importers``' job, which takes any path, so a user's own copy works the
same. The tests and benchmarks read these copies, so a fresh clone needs nothing from outside
the repository. ``README.md`` in this folder gives each file's origin, licence and count.

Nothing here may be edited: they are other people's data, checked by their sha256 in
``tests/tasks/test_shipped_data.py``.
"""

from __future__ import annotations

from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent
"""The folder holding the shipped sets (inside the installed package)."""

MBPP = DATA_DIR / "mbpp" / "mbpp.jsonl"
"""MBPP, full (Austin et al. 2021): 974 tasks. Apache-2.0 / CC BY 4.0 (``mbpp/LICENSE``)."""

MBPP_SANITIZED = DATA_DIR / "mbpp" / "sanitized-mbpp.json"
"""MBPP's sanitized subset: 427 tasks. Same origin and licence as :data:`MBPP`."""

MBPP_PLUS = DATA_DIR / "evalplus" / "MbppPlus.jsonl.gz"
"""MBPP+ v0.2.0 (EvalPlus): 378 tasks. Apache-2.0 (``evalplus/LICENSE.mbppplus_release``)."""

HUMANEVAL_PLUS_MINI = DATA_DIR / "evalplus" / "HumanEvalPlus-Mini.jsonl.gz"
"""HumanEval+ Mini v0.1.10 (EvalPlus): 164 tasks. Apache-2.0, and MIT for the HumanEval it
builds on (``evalplus/LICENSE.humanevalplus_release``, ``evalplus/LICENSE.humaneval``)."""

__all__ = ["DATA_DIR", "HUMANEVAL_PLUS_MINI", "MBPP", "MBPP_PLUS", "MBPP_SANITIZED"]
