"""Monitors: metrics, detectors, early stopping and the report.

- :mod:`~closedloop.monitor.names`: every metric key, once (``Metric``, and the helpers that
  build ``heldout_pass@1/<set>``, ``reject_<reason>``, ``train_<figure>``, ``alarm_<kind>``);
  the loop writes and everything else reads rows through them;
- :mod:`~closedloop.monitor.metrics`: the metrics log the loop writes (``metrics.jsonl`` and
  TensorBoard event files; it refuses a key ``names`` does not define) and the per-iteration
  summary line;
- :mod:`~closedloop.monitor.variety`: the figures collapse is judged on -- the variety of the
  policy's greedy programs on a task set, how one iteration's proposals cluster -- and the
  outcome mix of attempt groups;
- :mod:`~closedloop.monitor.detectors`: alarms for reward hacking, collapse, saturation and
  regression, read from the metrics history, with their ``Thresholds`` (the run config's
  ``[monitor]`` section extends them). The loop records them (run store events, ``alarm_<kind>``
  metrics, ``summary.json``) and, with ``monitor.on_alarm = "stop"``, stops self-play.

Must never: change what the loop trains on, or read held-out tasks' tests (it sees only what
the loop computed: scores, the programs the policy wrote, fingerprints of proposals).
"""
