"""The ``openai`` backend: any OpenAI-compatible HTTP endpoint, for generation and evaluation.

Speaks ``/v1/completions`` (prompts sent as rendered text) or ``/v1/chat/completions`` (prompts
sent as messages; the server applies its chat template). It holds no weights, so it cannot be
trained or saved (:meth:`OpenAIPolicy.save` raises).

What it cannot guarantee: token ids. The OpenAI API returns token *strings*; when a server
returns them as ``"token_id:<n>"`` (vLLM's ``return_tokens_as_token_ids``, pass it through
``extra_body``) they are parsed into ``Completion.token_ids``, otherwise ``token_ids`` is empty
and the completion cannot feed a GRPO update. Scoring given completions
(:meth:`completion_logprobs`) needs the completions endpoint with ``echo`` and ``logprobs``,
which OpenAI's own API no longer serves; vLLM and llama.cpp-style servers do.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from enum import StrEnum
from pathlib import Path
from typing import Any

import httpx

from closedloop.policy.base import (
    BackendName,
    Completion,
    FinishReason,
    PolicyError,
    Prompt,
    SamplingParams,
)

_TOKEN_ID = re.compile(r"^token_id:(\d+)$")


class Endpoint(StrEnum):
    """Which OpenAI route to call."""

    COMPLETIONS = "completions"  # /v1/completions: text in, text out
    CHAT = "chat"  # /v1/chat/completions: messages in, message out


class OpenAIPolicy:
    """A policy served over HTTP by an OpenAI-compatible server."""

    backend = BackendName.OPENAI

    def __init__(
        self,
        base_url: str,
        model: str,
        endpoint: Endpoint = Endpoint.COMPLETIONS,
        api_key: str | None = None,
        timeout_s: float = 120.0,
        extra_body: dict[str, Any] | None = None,
    ) -> None:
        """``base_url`` ends in ``/v1`` (e.g. ``http://127.0.0.1:8000/v1``)."""
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.endpoint = Endpoint(endpoint)
        self.extra_body = dict(extra_body or {})
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.Client(timeout=timeout_s, headers=headers)

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self._client.close()

    def _post(self, route: str, body: dict[str, Any]) -> dict[str, Any]:
        url = f"{self.base_url}/{route}"
        try:
            reply = self._client.post(url, json={**body, **self.extra_body})
        except httpx.HTTPError as exc:
            raise PolicyError(f"POST {url} failed: {exc}") from exc
        if reply.status_code != 200:
            raise PolicyError(f"POST {url} -> HTTP {reply.status_code}: {reply.text[:300]}")
        return reply.json()

    def _sampling_body(self, n: int, params: SamplingParams) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.model,
            "n": n,
            "max_tokens": params.max_new_tokens,
            "temperature": params.temperature,
            "top_p": params.top_p,
        }
        if params.top_k:
            body["top_k"] = params.top_k  # a common extension (vLLM), ignored by others
        if params.seed is not None:
            body["seed"] = params.seed
        return body

    def sample(
        self, prompts: Sequence[Prompt], n: int, params: SamplingParams
    ) -> list[list[Completion]]:
        """Sample ``n`` completions per prompt, one request per prompt."""
        if n < 1:
            raise ValueError(f"n={n}: must be >= 1")
        return [self._sample_one(p, n, params) for p in prompts]

    def sample_ids(
        self, prompts: Sequence[Sequence[int]], n: int, params: SamplingParams
    ) -> list[list[Completion]]:
        """Always raises: an OpenAI-compatible endpoint takes text, not this model's token ids."""
        raise PolicyError(
            f"the openai backend ({self.base_url}) cannot sample from token ids (the roles' "
            "multi-turn attempts need them); run the loop with the 'hf' backend"
        )

    def _sample_one(self, prompt: Prompt, n: int, params: SamplingParams) -> list[Completion]:
        body = self._sampling_body(n, params)
        if self.endpoint is Endpoint.CHAT:
            messages = [{"role": "user", "content": prompt}] if isinstance(prompt, str) else prompt
            body.update(messages=[dict(m) for m in messages], logprobs=True)
            reply = self._post("chat/completions", body)
        else:
            if not isinstance(prompt, str):
                raise PolicyError(
                    "the completions endpoint takes text prompts; render the conversation "
                    "first or use endpoint='chat'"
                )
            body.update(prompt=prompt, logprobs=1)
            reply = self._post("completions", body)
        choices = sorted(reply.get("choices", []), key=lambda c: c.get("index", 0))
        if len(choices) != n:
            raise PolicyError(f"asked for {n} completions, the server returned {len(choices)}")
        return [self._parse_choice(c) for c in choices]

    def _parse_choice(self, choice: dict[str, Any]) -> Completion:
        lp = choice.get("logprobs") or {}
        if self.endpoint is Endpoint.CHAT:
            text = (choice.get("message") or {}).get("content") or ""
            entries = lp.get("content") or []
            tokens = [e.get("token", "") for e in entries]
            logprobs = [float(e["logprob"]) for e in entries]
        else:
            text = choice.get("text", "")
            tokens = list(lp.get("tokens") or [])
            logprobs = [float(x) for x in lp.get("token_logprobs") or []]
        ids = [_TOKEN_ID.match(t) for t in tokens]
        token_ids = tuple(int(m.group(1)) for m in ids) if ids and all(ids) else ()
        reason = choice.get("finish_reason")
        return Completion(
            text=text,
            token_ids=token_ids,
            logprobs=tuple(logprobs),
            finish_reason=FinishReason.LENGTH if reason == "length" else FinishReason.STOP,
        )

    def completion_logprobs(
        self, prompts: Sequence[Prompt], completions: Sequence[str]
    ) -> list[list[float]]:
        """Per-token log-probs of each completion, scored by echoing prompt + completion.

        The completion's tokens are those whose text offset is at or past the prompt's end; a
        token straddling the boundary counts as the prompt's.
        """
        if self.endpoint is not Endpoint.COMPLETIONS:
            raise PolicyError("scoring needs the completions endpoint (echo + logprobs)")
        out: list[list[float]] = []
        for prompt, completion in zip(prompts, completions, strict=True):
            if not isinstance(prompt, str):
                raise PolicyError("the completions endpoint takes text prompts")
            body = {
                "model": self.model,
                "prompt": prompt + completion,
                "max_tokens": 0,
                "echo": True,
                "logprobs": 0,
                "temperature": 0,
            }
            reply = self._post("completions", body)
            lp = reply["choices"][0].get("logprobs") or {}
            offsets = lp.get("text_offset") or []
            values = lp.get("token_logprobs") or []
            end = len(prompt) + len(completion)
            out.append(
                [
                    float(v)
                    for off, v in zip(offsets, values, strict=False)
                    if len(prompt) <= off < end and v is not None
                ]
            )
        return out

    def save(self, out_dir: str | Path) -> Path:
        """Always raises: an HTTP endpoint holds no weights to write."""
        raise PolicyError(
            f"the openai backend ({self.base_url}) holds no weights; save the served model "
            "from wherever it is hosted"
        )
