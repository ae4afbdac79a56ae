"""closedloop: the closed self-improvement loop for models whose tasks have checkable outcomes.

generate a task -> attempt it -> verify the attempt in a sandbox -> train on verified outcomes.
Each phase lives in its own sub-package (see DESIGN.md): ``sandbox``, ``verify``, ``tasks``,
``policy``, ``roles``, ``train``, ``loop``, ``monitor``, ``gate``, ``serve``, ``distributed``
(verification fanned out over a Ray cluster).

Importing ``closedloop`` imports nothing heavy: torch and transformers load only when a policy
or trainer is used.
"""

__version__ = "0.1.0"
