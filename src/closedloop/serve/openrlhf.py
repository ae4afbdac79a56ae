"""OpenRLHF's remote reward-model contract: ``POST /get_reward`` on the reward server.

OpenRLHF (``--reward.remote_url http://HOST:PORT/get_reward``) posts
``{"query": [...], "prompts": [...], "labels": [...]}`` and reads ``rewards``, ``scores`` and
``extra_logs`` from the JSON answer. Sources: ``openrlhf/utils/agent.py``,
``SingleTurnAgentExecutor._fetch_rewards_via_http`` (0.11.2 on PyPI; one query per request,
``query`` being ``tokenizer.decode(prompt_ids + response_ids, skip_special_tokens=False)``)
and ``openrlhf/utils/remote_rm_utils.py`` (before 0.10; a whole batch per request). Its own
``serve_rm.py`` answers ``{"rewards": r, "scores": r, "extra_logs": {...}}`` with lists.

Here ``labels`` are task ids of tasks the server holds (``closedloop serve --tasks``; the
dataset's label column, ``--data.label_key``), and the response is split out of each query:

1. the query holds its prompt whole, at its start or after a few characters (a BOS token the
   prompt's text lacks): the response is the rest;
2. otherwise (the prompt was cut to fit ``max_len``, or decoding changed an early character)
   the last :data:`PROMPT_TAIL` characters of the prompt are looked for in the query, and
   the response starts after their last occurrence (a later one than the prompt's end lies
   inside the response: then only the text after it is graded, the policy's own words
   either way); a prompt whose tail also occurs earlier in it (a repetitive or few-shot
   prompt) is refused, since its end cannot be told from the earlier copy (taking the first
   graded the prompt's own solution; the last, when decoding changed the prompt's final
   characters, did too);
3. otherwise the request is refused (422 naming the item): guessing could grade the prompt's
   own code.

Special tokens left at the end of the response (``<|im_end|>``, ``</s>``, ...; OpenRLHF
decodes with them) are dropped; the code is then taken as in ``/reward`` (the first fenced
block, else the whole text).

Departures forced by OpenRLHF's client: it turns ``rewards`` into a tensor, so a ``null``
reward would stop its training. An ``infra_error`` verdict (the verifier's fault; the server
already retried it once) is therefore answered 503 with ``Retry-After`` — OpenRLHF retries a
request 5 times, then leaves that sample without a reward, which is the truth — and never as a
reward of 0; an ``invalid`` verdict (a held task that cannot be verified) is a 422.
``extra_logs`` holds numbers only (OpenRLHF makes a tensor of each value): per query, 1.0 or
0.0 for each of ``pass``, ``fail``, ``error``, ``timeout``, and the fraction of tests passed.

Must never: take a task's tests from the request (labels name held tasks only), or turn an
``infra_error`` into a reward.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from closedloop.roles.prompts import extract_code
from closedloop.serve.limits import MAX_BATCH
from closedloop.verify import Outcome, Verdict

PROMPT_TAIL = 256
"""Characters of the prompt's end looked for in a query that does not start with the prompt."""

LOGGED_OUTCOMES = (Outcome.PASS, Outcome.FAIL, Outcome.ERROR, Outcome.TIMEOUT)
"""Outcomes given an indicator series in ``extra_logs``."""

_SPECIAL_AT_END = re.compile(r"(?:<\|[^<>|\s]{1,40}\|>|</s>|<eos>)\Z")
"""One special token (``<|im_end|>``, ``</s>``, ``<eos>``) ending where the search ends."""
_SPECIAL_MAX = 44
"""The longest special token :data:`_SPECIAL_AT_END` matches: ``<|`` + 40 + ``|>``."""


class GetRewardRequest(BaseModel):
    """The body OpenRLHF sends. Fields it may add later are ignored rather than refused (this
    route follows another project's contract)."""

    model_config = ConfigDict(extra="ignore")

    query: list[str] = Field(max_length=MAX_BATCH)
    """Prompt plus response, as the policy's tokenizer decoded them."""
    prompts: list[str] = Field(max_length=MAX_BATCH)
    labels: list[Any] = Field(max_length=MAX_BATCH)
    """The task id of each query (anything else is refused, naming the item)."""


class ContractError(ValueError):
    """The request does not fit the contract; the message names the item (a 422)."""


def response_text(query: str, prompt: str) -> str | None:
    """The response in ``query`` given its ``prompt`` (see the module docstring), or None when
    the prompt cannot be found in it."""
    whole = query.find(prompt) if prompt else 0
    if 0 <= whole <= _SPECIAL_MAX:  # the prompt whole, after at most a BOS token or two
        rest = query[whole + len(prompt) :]
    else:
        tail = prompt[-PROMPT_TAIL:]
        at = query.rfind(tail)
        if not tail or at < 0 or tail_recurs(prompt):
            return None  # a tail that recurs inside the prompt does not mark where it ends
        rest = query[at + len(tail) :]
    return strip_trailing_special(rest)


def tail_recurs(prompt: str) -> bool:
    """Whether the prompt's last :data:`PROMPT_TAIL` characters also occur earlier in it."""
    tail = prompt[-PROMPT_TAIL:]
    return bool(tail) and prompt.find(tail) < len(prompt) - len(tail)


def strip_trailing_special(text: str) -> str:
    """``text`` without the special tokens at its end and the whitespace around and between
    them; unchanged when it does not end in one (trailing whitespace alone is kept).

    The tokens are peeled off from the end, each looked for in the :data:`_SPECIAL_MAX`
    characters before it: linear in the text. (The regex this replaces scanned the whole
    trailing run again from every position: a response of 50 KB of spaces ending in ``x``
    took 10 s, on the event loop.)"""
    cut = len(text)
    while True:
        end = cut
        while end and text[end - 1].isspace():  # str.isspace: what a regex's \s matches
            end -= 1
        m = _SPECIAL_AT_END.search(text, max(0, end - _SPECIAL_MAX), end)
        if m is None:
            return text if cut == len(text) else text[:end]
        cut = m.start()


def split_request(req: GetRewardRequest) -> list[tuple[str, str]]:
    """``(task_id, code)`` for each query, in order; :class:`ContractError` names a bad item."""
    n = len(req.query)
    if len(req.prompts) != n or len(req.labels) != n:
        raise ContractError(
            f"query, prompts and labels must have one entry each per sample: got {n}, "
            f"{len(req.prompts)} and {len(req.labels)}"
        )
    out = []
    for i, (query, prompt, label) in enumerate(
        zip(req.query, req.prompts, req.labels, strict=True)
    ):
        if not isinstance(label, str):
            raise ContractError(
                f"labels[{i}]: {label!r} is not a task id (set OpenRLHF's --data.label_key to "
                "the dataset column holding task ids)"
            )
        response = response_text(query, prompt)
        if response is None and tail_recurs(prompt):
            raise ContractError(
                f"query[{i}]: the query holds its prompt (prompts[{i}]) neither whole nor with "
                f"an end that can be told from the rest: the prompt's last {PROMPT_TAIL} "
                "characters also occur earlier in it"
            )
        if response is None:
            raise ContractError(f"query[{i}]: its prompt (prompts[{i}]) is not found in it")
        out.append((label, extract_code(response)))
    return out


def problem(verdicts: Sequence[Verdict]) -> tuple[int, str] | None:
    """The status and one-line detail when a verdict cannot be given as a reward, else None."""
    for i, v in enumerate(verdicts):
        if v.outcome is Outcome.INFRA_ERROR:
            return 503, f"query[{i}]: the verifier failed ({v.detail}); retry"
        if v.outcome is Outcome.INVALID:
            return 422, f"labels[{i}]: task {v.task_id!r} cannot be verified: {v.detail}"
    return None


def answer(verdicts: Sequence[Verdict]) -> dict[str, Any]:
    """The JSON answer for verdicts that all carry a reward (see :func:`problem`)."""
    rewards = [1.0 if v.outcome is Outcome.PASS else 0.0 for v in verdicts]
    logs: dict[str, list[float]] = {
        str(o): [1.0 if v.outcome is o else 0.0 for v in verdicts] for o in LOGGED_OUTCOMES
    }
    logs["tests_passed_frac"] = [v.passed / v.total if v.total else 0.0 for v in verdicts]
    return {"rewards": rewards, "scores": list(rewards), "extra_logs": logs}
