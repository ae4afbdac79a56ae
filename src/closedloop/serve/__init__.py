"""The reward server and the adapter for other trainers.

- :mod:`~closedloop.serve.app`: ``closedloop serve``, an HTTP server over the verifier. It can
  hold a task file, so a trainer sends only task ids and completions and the private tests
  never leave the server; ``/verify`` also takes tasks inline.
- :mod:`~closedloop.serve.auth`, :mod:`~closedloop.serve.limits`,
  :mod:`~closedloop.serve.metrics`: the bearer token, the body-size cap and bounded queue
  (413 / 503 with ``Retry-After``), and the Prometheus ``/metrics`` series.
- :mod:`~closedloop.serve.openrlhf`: OpenRLHF's remote reward-model route ``/get_reward``.
- :mod:`~closedloop.serve.trl`: a reward function with TRL's signature
  (``(prompts, completions, **kwargs) -> list[float | None]``) backed by that server or by a
  verifier in the same process.

Must never: judge anything itself (verdicts come from :mod:`closedloop.verify`), fold an
``infra_error`` into a reward of 0 (it is ``null``), or import torch.
"""
