"""Monitors: metrics, detectors, early stopping and the report.

This module currently holds the metrics log the loop writes (``metrics.jsonl`` and
TensorBoard event files) and the per-iteration summary line (:mod:`~closedloop.monitor.metrics`),
and program variety, the collapse figure of held-out evaluations (:mod:`~closedloop.monitor.variety`).

Must never: change what the loop trains on, or read held-out tasks' tests (it sees only what
the loop computed: scores, and the programs the policy wrote).
"""
