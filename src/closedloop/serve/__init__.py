"""The reward server and the adapter for other trainers.

- :mod:`~closedloop.serve.app`: ``closedloop serve``, an HTTP server over the verifier. It can
  hold a task file, so a trainer sends only task ids and completions and the private tests
  never leave the server; ``/verify`` also takes tasks inline.
- :mod:`~closedloop.serve.auth`, :mod:`~closedloop.serve.limits`,
  :mod:`~closedloop.serve.metrics`: the bearer token, the body-size cap and bounded queue
  (413 / 503 with ``Retry-After``), and the Prometheus ``/metrics`` series.
- :mod:`~closedloop.serve.openrlhf`: OpenRLHF's remote reward-model route ``/get_reward``.
- :mod:`~closedloop.serve.redact`: what a verdict on a held task may show its caller.
- :mod:`~closedloop.serve.trl`: a reward function with TRL's signature
  (``(prompts, completions, **kwargs) -> list[float | None]``) backed by that server or by a
  verifier in the same process.
- :mod:`~closedloop.serve.verl`: veRL's ``compute_score`` (and ``compute_score_batch``).
- :mod:`~closedloop.serve.verifiers_rubric`: a ``verifiers`` ``Rubric``.
- :mod:`~closedloop.serve.scoring`: completions scored against task references (a task's JSON
  or a task id), shared by the veRL and ``verifiers`` adapters.
- :mod:`~closedloop.serve.client`: the adapters' HTTP client (batch splitting, retries, token).
- :mod:`~closedloop.serve.background`: a server on loopback in a thread (examples, tests).

docs/adapters.md says how each trainer uses them.

Must never: judge anything itself (verdicts come from :mod:`closedloop.verify`), fold an
``infra_error`` into a reward of 0 (it is ``null``), or import torch.
"""
