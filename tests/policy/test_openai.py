"""The openai backend against a real HTTP server on loopback speaking the OpenAI wire format.

The fake server is deterministic: a completion is the prompt's last characters reversed, one
token per character, reported as ``token_id:<ord>``; each token's log-prob is -0.5.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from closedloop.policy import FinishReason, PolicyError, SamplingParams, load_policy
from closedloop.policy.openai_backend import Endpoint, OpenAIPolicy


def fake_text(prompt: str, max_tokens: int) -> tuple[str, str]:
    text = prompt[::-1][:max_tokens]
    return text, "length" if len(prompt) > max_tokens else "stop"


class Handler(BaseHTTPRequestHandler):
    requests: list[tuple[str, dict, str | None]] = []

    def log_message(self, *args: object) -> None:  # keep test output quiet
        pass

    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        Handler.requests.append((self.path, body, self.headers.get("Authorization")))
        if self.path == "/v1/completions":
            reply = self.completions(body)
        elif self.path == "/v1/chat/completions":
            reply = self.chat(body)
        else:
            self.send_error(404)
            return
        data = json.dumps(reply).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def completions(self, body: dict) -> dict:
        prompt = body["prompt"]
        if body.get("echo"):
            logprobs = [None] + [-(i % 3 + 1.0) for i in range(1, len(prompt))]
            lp = {
                "tokens": list(prompt),
                "token_logprobs": logprobs,
                "text_offset": list(range(len(prompt))),
            }
            return {
                "choices": [{"index": 0, "text": prompt, "logprobs": lp, "finish_reason": "length"}]
            }
        text, reason = fake_text(prompt, body["max_tokens"])
        lp = {
            "tokens": [f"token_id:{ord(ch)}" for ch in text],
            "token_logprobs": [-0.5] * len(text),
        }
        choices = [
            {"index": i, "text": text, "logprobs": lp, "finish_reason": reason}
            for i in range(body["n"])
        ]
        return {"choices": choices[::-1]}  # out of order on purpose

    def chat(self, body: dict) -> dict:
        text, reason = fake_text(body["messages"][-1]["content"], body["max_tokens"])
        content = [{"token": ch, "logprob": -0.5} for ch in text]
        choice = {
            "message": {"role": "assistant", "content": text},
            "logprobs": {"content": content},
            "finish_reason": reason,
        }
        return {"choices": [{"index": i, **choice} for i in range(body["n"])]}


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()
    server.server_close()


def test_completions_endpoint_samples_n_with_ids_and_logprobs(base_url: str) -> None:
    policy = load_policy("openai", base_url=base_url, model="m", api_key="k")
    groups = policy.sample(["abc", "hello world"], 2, SamplingParams(max_new_tokens=5, seed=3))
    assert [[c.text for c in g] for g in groups] == [["cba", "cba"], ["dlrow", "dlrow"]]
    first = groups[0][0]
    assert first.token_ids == tuple(ord(c) for c in "cba") and first.logprobs == (-0.5,) * 3
    assert (
        first.finish_reason is FinishReason.STOP
        and groups[1][0].finish_reason is FinishReason.LENGTH
    )
    path, body, auth = Handler.requests[-1]
    assert path == "/v1/completions" and body["n"] == 2 and body["seed"] == 3 and auth == "Bearer k"


def test_chat_endpoint_sends_messages(base_url: str) -> None:
    policy = OpenAIPolicy(base_url, "m", endpoint=Endpoint.CHAT)
    groups = policy.sample(
        [[{"role": "user", "content": "xy"}]], 3, SamplingParams(max_new_tokens=4)
    )
    assert [c.text for c in groups[0]] == ["yx"] * 3 and groups[0][0].token_ids == ()
    assert Handler.requests[-1][1]["messages"] == [{"role": "user", "content": "xy"}]


def test_scoring_returns_only_the_completion_tokens(base_url: str) -> None:
    policy = OpenAIPolicy(base_url, "m")
    scores = policy.completion_logprobs(["ab"], ["cde"])
    assert scores == [[-(2 % 3 + 1.0), -(3 % 3 + 1.0), -(4 % 3 + 1.0)]]


def test_openai_policy_cannot_be_saved(base_url: str, tmp_path) -> None:
    with pytest.raises(PolicyError, match="no weights"):
        OpenAIPolicy(base_url, "m").save(tmp_path)


def test_server_errors_become_policy_errors(base_url: str) -> None:
    policy = OpenAIPolicy(base_url.replace("/v1", "/nope"), "m")
    with pytest.raises(PolicyError, match="404"):
        policy.sample(["a"], 1, SamplingParams())


def test_openai_policy_refuses_token_id_prompts(base_url: str) -> None:
    with pytest.raises(PolicyError, match="token ids"):
        OpenAIPolicy(base_url, "m").sample_ids([[1, 2, 3]], 1, SamplingParams())
