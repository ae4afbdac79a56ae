"""OpenRLHF's remote reward-model contract on the server (``POST /get_reward``), driven by
OpenRLHF's own client code over real HTTP on loopback.

Two clients:

- OpenRLHF 0.11.2's ``SingleTurnAgentExecutor._fetch_rewards_via_http``
  (openrlhf/utils/agent.py; one query per request, aiohttp), imported from the installed
  package when it is there (``pip install --no-deps openrlhf==0.11.2 aiohttp``: its full
  dependencies pull CUDA builds). Only that module and its logging helper are loaded: the
  package's ``openrlhf/utils/__init__.py`` imports DeepSpeed, which is not installed here.
- ``request_api_wrapper`` of openrlhf/utils/remote_rm_utils.py, the client before 0.10 (a
  whole batch per request), copied verbatim below from OpenRLHF commit
  591b148cc5a829c710078553cc490f178bb4a4af (the file's last version; 0.10 removed it).
"""

from __future__ import annotations

import asyncio
import importlib
import importlib.util
import sys
import time
import types
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import torch

from closedloop.serve.app import make_app
from closedloop.serve.openrlhf import problem, response_text
from closedloop.verify import Outcome, Verdict

from ._http import RIGHT, SORT, TOKEN, WRONG, running

CHAT = "<|im_start|>user\nSort the list. Start from:\n```python\ndef f(xs):\n    return xs\n```"
PROMPT = CHAT + "<|im_end|>\n<|im_start|>assistant\n"
FENCED_RIGHT = f"```python\n{RIGHT}```<|im_end|>"


# fmt: off
# -- verbatim from OpenRLHF 591b148cc5a829c710078553cc490f178bb4a4af,
#    openrlhf/utils/remote_rm_utils.py (logger calls kept as prints of the same text) --------
def request_api_wrapper(url, data, try_max_times=5):
    """Synchronous request API wrapper"""
    headers = {
        "Content-Type": "application/json",
    }
    for _ in range(try_max_times):
        try:
            response = requests.post(url=url, json=data, headers=headers, timeout=180)
            response.raise_for_status()  # Raise an HTTPError for bad responses
            response = response.json()
            return response
        except requests.RequestException as e:
            print(f"Request error, please check: {e}")
        except Exception as e:
            print(f"Unexpected error, please check: {e}")
        time.sleep(1)

    raise Exception(f"Request error for {try_max_times} times, returning None. Please check the API server.")


def remote_rm_fn(api_url, queries, prompts, labels):  # the body of its @ray.remote wrapper
    return request_api_wrapper(api_url, {"query": queries, "prompts": prompts, "labels": labels})


# -- end of the verbatim copy ------------------------------------------------------------------
# fmt: on


def _agent_module() -> types.ModuleType:
    """openrlhf.utils.agent from the installed package, without its package __init__."""
    spec = importlib.util.find_spec("openrlhf")
    if spec is None or importlib.util.find_spec("aiohttp") is None:
        pytest.skip("openrlhf is not installed: pip install --no-deps openrlhf==0.11.2 aiohttp")
    utils = types.ModuleType("openrlhf.utils")
    utils.__path__ = [str(Path(spec.submodule_search_locations[0]) / "utils")]
    saved = {k: sys.modules.get(k) for k in ("openrlhf.utils", "openrlhf.utils.agent")}
    sys.modules["openrlhf.utils"] = utils
    try:
        return importlib.import_module("openrlhf.utils.agent")
    finally:
        for k, v in saved.items():
            if v is None:
                sys.modules.pop(k, None)
            else:
                sys.modules[k] = v


@pytest.fixture(scope="module")
def url(verifier) -> Iterator[str]:
    with running(make_app(verifier, [SORT], token=TOKEN)) as u:
        yield u


def _authed(url: str) -> str:
    return url.replace("http://", f"http://rm:{TOKEN}@") + "/get_reward"


def test_openrlhf_0_11_client_gets_a_reward_per_query(url: str):
    agent = _agent_module()
    executor = agent.SingleTurnAgentExecutor(_authed(url))
    queries = [PROMPT + FENCED_RIGHT]
    (info,) = asyncio.run(executor._fetch_rewards_via_http(queries, [PROMPT], ["sort"]))
    assert info["rewards"] == [1.0] and info["scores"] == [1.0]
    assert info["extra_logs"]["pass"] == [1.0]


def test_openrlhf_0_11_output_turns_into_its_tensors(url: str):
    # what OpenRLHF does next with the answer (samples_generator._process_response_into_experience)
    agent = _agent_module()
    executor = agent.SingleTurnAgentExecutor(_authed(url))
    (info,) = asyncio.run(executor._fetch_rewards_via_http([PROMPT + WRONG], [PROMPT], ["sort"]))
    assert torch.tensor([info["rewards"]]).tolist() == [[0.0]]
    for key, value in info["extra_logs"].items():
        assert torch.tensor([value]).numel() == 1, key


def test_openrlhf_0_11_rollout_at_once_gets_every_reward_on_its_own_sample(url: str):
    # 0.11 sends a rollout as one request per sample, all at once: none lost or swapped
    agent = _agent_module()
    executor = agent.SingleTurnAgentExecutor(_authed(url))
    answers = [FENCED_RIGHT if i % 3 else WRONG for i in range(24)]

    async def rollout() -> list:
        return await asyncio.gather(
            *(executor._fetch_rewards_via_http([PROMPT + a], [PROMPT], ["sort"]) for a in answers)
        )

    got = [info["rewards"] for (info,) in asyncio.run(rollout())]
    assert got == [[1.0] if i % 3 else [0.0] for i in range(24)]


def test_pre_0_10_client_gets_a_whole_batch_in_order(url: str):
    queries = [PROMPT + FENCED_RIGHT, PROMPT + WRONG, PROMPT + RIGHT + "<|im_end|>"]
    got = remote_rm_fn(_authed(url), queries, [PROMPT] * 3, ["sort"] * 3)
    assert got["rewards"] == [1.0, 0.0, 1.0] and got["scores"] == got["rewards"]
    assert got["extra_logs"]["fail"] == [0.0, 1.0, 0.0]
    assert got["extra_logs"]["tests_passed_frac"] == [1.0, 0.0, 1.0]


def test_tests_passed_frac_counts_each_private_test(url: str):
    # sort has two private tests; dropping duplicates passes ([5, 4]) and fails ([2, 2, -1]):
    # the reward is all or nothing, the fraction is not
    half = "def f(xs):\n    return sorted(set(xs))\n"
    got = remote_rm_fn(_authed(url), [PROMPT + half, PROMPT + RIGHT], [PROMPT] * 2, ["sort"] * 2)
    assert got["rewards"] == [0.0, 1.0]
    assert got["extra_logs"]["tests_passed_frac"] == [0.5, 1.0]


def test_the_prompts_own_code_is_not_graded(url: str):
    # the prompt holds a fenced (wrong) stub; the response is right, unfenced: the stub must
    # not be taken for the answer, nor a fenced right answer in the prompt for a wrong reply
    got = remote_rm_fn(_authed(url), [PROMPT + RIGHT], [PROMPT], ["sort"])
    assert got["rewards"] == [1.0]
    tricky = PROMPT.replace("return xs", "return sorted(xs)")
    got = remote_rm_fn(_authed(url), [tricky + WRONG], [tricky], ["sort"])
    assert got["rewards"] == [0.0]


def test_an_unknown_label_is_422_naming_the_item(url: str):
    import httpx

    body = {"query": [PROMPT + RIGHT] * 2, "prompts": [PROMPT] * 2, "labels": ["sort", "nope"]}
    r = httpx.post(url + "/get_reward", json=body, headers={"Authorization": f"Bearer {TOKEN}"})
    assert r.status_code == 422 and r.json()["detail"].startswith("labels[1]: 'nope'")
    body["labels"] = ["sort", None]
    r = httpx.post(url + "/get_reward", json=body, headers={"Authorization": f"Bearer {TOKEN}"})
    assert r.status_code == 422 and "--data.label_key" in r.json()["detail"]


def test_the_response_is_what_follows_the_prompt():
    assert response_text(PROMPT + "abc<|im_end|>", PROMPT) == "abc"
    assert response_text("abc</s>", "") == "abc"
    # OpenRLHF cut the prompt's start to fit max_len: its end still marks the response
    long_prompt = "x" * 1000 + PROMPT
    assert response_text(long_prompt[600:] + "abc", long_prompt) == "abc"
    assert response_text("something else entirely", PROMPT) is None


def test_a_prompt_whose_end_recurs_inside_it_is_never_graded_as_the_response():
    # a few-shot prompt holding a correct solution, its last 256 characters also earlier in
    # it, and a query that does not start with the prompt (a BOS token in front): the first
    # occurrence of the tail split the prompt, and its solution earned "no idea" a reward 1.0
    shot = "Example:\n```python\ndef f(xs):\n    return sorted(xs)\n```\n" + "Sort it. " * 40
    prompt = shot + shot
    # the whole prompt after a BOS token marks its end; cut at its start, with a tail that
    # recurs, where it ends cannot be told, so the request is refused
    assert response_text("<s>" + prompt + "no idea", prompt) == "no idea"
    assert response_text(prompt[100:] + "no idea", prompt) is None
    # the last occurrence was no better: decoding dropped the prompt's final space, so its
    # end was gone and the earlier copy, before the example, was taken
    ask = "Write f, which sorts a list. " * 10 + "Answer: "
    prompt = ask + "```python\ndef f(xs):\n    return sorted(xs)\n```\n" + ask
    assert response_text("<s>" + prompt[:-1] + ". no idea", prompt) is None
    assert response_text(prompt + "no idea", prompt) == "no idea"  # it starts the query
    single = "x" * 300 + "Sort it."
    assert response_text("<s>" + single + "no idea", single) == "no idea"


def test_special_tokens_are_dropped_from_the_end_only():
    assert response_text(PROMPT + "42 <|im_end|>\n</s> <eos>\n", PROMPT) == "42"
    assert response_text(PROMPT + "42 \n", PROMPT) == "42 \n"  # no token: left as it is
    assert response_text(PROMPT + "<|im_end|> 42", PROMPT) == "<|im_end|> 42"
    assert response_text(PROMPT + "<|" + "x" * 41 + "|>", PROMPT) == "<|" + "x" * 41 + "|>"


@pytest.mark.parametrize("unit", [" ", "<|a|>", "\n<|im_end|>"])
def test_a_response_made_to_backtrack_is_split_in_linear_time(unit: str):
    # the trailing-token regex this replaced took 10 s on 50 KB of spaces ending in "x"
    # (quadratic: 20 KB, the first size here, already took 1.2 s)
    for size in (20_000, 200_000):
        padding = unit * (size // len(unit))
        token = unit != " "  # spaces are left as they are; special tokens dropped at the end
        for response, want in (
            (padding + "42x", padding + "42x"),  # ends in text: nothing to drop
            (padding, "" if token else padding),
            ("42" + padding, "42" if token else "42" + padding),
        ):
            t0 = time.perf_counter()
            got = response_text(PROMPT + response, PROMPT)
            took = time.perf_counter() - t0
            assert took < 0.25, f"{size} chars of {unit!r}: {took:.2f} s"
            assert got == want, (got[:40], want[:40])


def test_an_infra_error_is_a_503_to_retry_never_a_reward():
    infra = Verdict("sort", Outcome.INFRA_ERROR, 0, 2, detail="sandbox worker lost twice")
    ok = Verdict("sort", Outcome.PASS, 2, 2)
    status, detail = problem([ok, infra])
    assert status == 503 and detail.startswith("query[1]: the verifier failed")
    assert problem([ok]) is None
