"""veRL's reward-function contract, backed by the verifier.

veRL loads a user reward function by path and calls it once per sample (its ``naive`` reward
manager, and the reward loop of veRL >= 0.6) or once per batch (its ``batch`` manager)::

    custom_reward_function.path=pkg://closedloop.serve.verl
    custom_reward_function.name=compute_score          # or compute_score_batch with
    reward_model.reward_manager=naive                  #    reward_model.reward_manager=batch
    +custom_reward_function.reward_kwargs.url=http://127.0.0.1:8000   # optional: a server

Each row's ``reward_model.ground_truth`` is a task in closedloop's JSON format (a JSON string is
safest: a dict survives parquet with its lists turned into arrays, which is handled too), or the
id of a task held by the server. The answer is veRL's dict form: ``score`` (1.0 pass, 0.0
otherwise) plus ``acc`` (the same), ``outcome``, ``passed`` and ``total``, which veRL logs.

Where the verification runs: on a ``closedloop serve`` server when a URL is given (the
``url=`` keyword, which veRL's ``reward_kwargs`` passes; else :func:`configure`; else the
``CLOSEDLOOP_SERVE_URL`` environment variable, which reaches veRL's Ray workers where a
``configure`` call in the driver does not), otherwise in a sandbox pool this process starts on
first use (:func:`close` stops it; it is also stopped at exit).

Must never: score ``infra_error`` or ``invalid`` as 0 (veRL needs a number, so these raise
:class:`~closedloop.serve.scoring.NoReward` and stop the step, loudly, instead of training
against what may be a right answer); read anything but the arguments veRL documents.
"""

from __future__ import annotations

import atexit
import os
import threading
from collections.abc import Sequence
from typing import Any

from closedloop.serve.client import RetryPolicy
from closedloop.serve.scoring import Score, Scorer, TaskRef
from closedloop.verify import VerificationBackend

URL_ENV = "CLOSEDLOOP_SERVE_URL"
"""The environment variable naming the server when no ``url=`` or :func:`configure` does."""

VERL_KWARGS = frozenset({"reward_router_address", "reward_model_tokenizer"})
"""Keywords veRL's reward loop adds when a reward model runs beside the function (ignored)."""

_lock = threading.Lock()
_scorers: dict[str | None, Scorer] = {}
_settings: dict[str, Any] = {}


def configure(
    url: str | None = None,
    *,
    token: str | None = None,
    workers: int | None = None,
    wall_s: float = 10.0,
    retry: RetryPolicy | None = None,
    verifier: VerificationBackend | None = None,
) -> None:
    """Set where :func:`compute_score` verifies in this process: on the server at ``url`` (with
    ``token``, retried per ``retry``), or (``url=None``) with ``verifier`` (the caller's, left
    open) or a local pool of ``workers`` slots, ``wall_s`` seconds per verification. Closes the
    scorers made under earlier settings."""
    close()
    with _lock:
        _settings.clear()
        _settings.update(
            url=url, token=token, workers=workers, wall_s=wall_s, retry=retry, verifier=verifier
        )


def close() -> None:
    """Stop the local sandbox pool and close server connections (a later call starts anew)."""
    with _lock:
        scorers = list(_scorers.values())
        _scorers.clear()
    for s in scorers:
        s.close()


def _scorer(url: str | None) -> Scorer:
    with _lock:
        if url is None:
            url = _settings["url"] if "url" in _settings else (os.environ.get(URL_ENV) or None)
        s = _scorers.get(url)
        if s is None:
            if not _scorers:
                atexit.register(close)  # once per start: close() empties the dict
            s = Scorer(
                url=url,
                token=_settings.get("token"),
                workers=_settings.get("workers"),
                wall_s=_settings.get("wall_s", 10.0),
                retry=_settings.get("retry"),
                verifier=None if url is not None else _settings.get("verifier"),
            )
            _scorers[url] = s
        return s


def _check_kwargs(kwargs: dict[str, Any]) -> None:
    unknown = set(kwargs) - VERL_KWARGS
    if unknown:
        raise TypeError(
            f"closedloop.serve.verl: unknown keyword(s) {sorted(unknown)}; reward_kwargs may set "
            "url only"
        )


def _as_dict(s: Score) -> dict[str, Any]:
    score = s.reward  # raises NoReward for infra_error / invalid
    return {
        "score": score,
        "acc": score,
        "outcome": str(s.outcome),
        "passed": s.passed,
        "total": s.total,
    }


def compute_score(
    data_source: str,
    solution_str: str,
    ground_truth: TaskRef,
    extra_info: dict[str, Any] | None = None,
    *,
    url: str | None = None,
    **kwargs: Any,
) -> dict[str, Any]:
    """veRL's per-sample reward function: ``solution_str`` verified on the task
    ``ground_truth`` (JSON task or task id). ``data_source`` and ``extra_info`` are not used
    (the task says everything). Returns ``{"score", "acc", "outcome", "passed", "total"}``."""
    _check_kwargs(kwargs)
    (s,) = _scorer(url).score_many([ground_truth], [solution_str])
    return _as_dict(s)


def compute_score_batch(
    data_sources: Sequence[str],
    solution_strs: Sequence[str],
    ground_truths: Sequence[TaskRef],
    extra_infos: Sequence[dict[str, Any] | None] | None = None,
    *,
    url: str | None = None,
    **kwargs: Any,
) -> list[dict[str, Any]]:
    """veRL's batch reward function (``reward_model.reward_manager=batch``): the whole batch
    verified in parallel, one dict as :func:`compute_score` gives per sample."""
    _check_kwargs(kwargs)
    return [_as_dict(s) for s in _scorer(url).score_many(list(ground_truths), list(solution_strs))]
