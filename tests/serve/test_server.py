"""The reward server over real HTTP on loopback, and the TRL adapter against it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn

from closedloop.serve.app import make_app
from closedloop.serve.trl import verifier_reward
from closedloop.tasks.format import load_tasks

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
RIGHT = "Here it is:\n```python\ndef f(xs):\n    return sorted(xs)\n```\n"
HARDCODED = "def f(xs):\n    if xs == [3, 1, 2]:\n        return [1, 2, 3]\n    return xs\n"
ALWAYS_EQUAL = (
    "class Eq(list):\n    def __eq__(self, o):\n        return True\ndef f(xs):\n    return Eq()\n"
)
EXITS = "import os\nos._exit(0)\n"


def _tasks():
    tasks, bad = load_tasks(EXAMPLES / "tasks.jsonl")
    assert not bad
    return tasks


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(verifier) -> Iterator[str]:
    """A server holding the example tasks, in this process, on a loopback port."""
    port = _free_port()
    cfg = uvicorn.Config(
        make_app(verifier, _tasks()), host="127.0.0.1", port=port, log_level="warning"
    )
    srv = uvicorn.Server(cfg)
    th = threading.Thread(target=srv.run, daemon=True)
    th.start()
    deadline = time.monotonic() + 30
    while not srv.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert srv.started, "the server did not start"
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    th.join(timeout=10)


def test_health_counts_the_tasks_held(server: str):
    assert httpx.get(server + "/health").json() == {"status": "ok", "tasks": 3}


def test_reward_passes_only_a_right_program(server: str):
    items = [
        {"task_id": "sort-list", "completion": c} for c in (RIGHT, HARDCODED, ALWAYS_EQUAL, EXITS)
    ]
    r = httpx.post(server + "/reward", json={"items": items}, timeout=60)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["rewards"] == [1.0, 0.0, 0.0, 0.0]
    assert body["outcomes"][0] == "pass" and "pass" not in body["outcomes"][1:]
    # what comes back is rewards and outcomes: no test of the task, private or public
    assert "[-1, 2, 2]" not in r.text and "[4, 5]" not in r.text


def test_bad_requests_are_named(server: str):
    r = httpx.post(
        server + "/reward",
        json={
            "items": [
                {"task_id": "sort-list", "completion": RIGHT},
                {"task_id": "nope", "completion": ""},
            ]
        },
    )
    assert r.status_code == 422 and "items[1].task_id: 'nope'" in r.json()["detail"]
    r = httpx.post(server + "/reward", json={"items": [], "tasks": [{"kind": "function"}]})
    assert r.status_code == 422 and r.json()["detail"].startswith("tasks[0]: ")
    # the tests of a task the server holds cannot be replaced by a request
    weak = {
        "id": "sort-list",
        "entry_point": "f",
        "instruction": "x",
        "private_tests": [{"input": "([1],)", "output": "[1]"}],
    }
    r = httpx.post(server + "/reward", json={"items": [], "tasks": [weak]})
    assert r.status_code == 422 and "'sort-list' is a task the server holds" in r.json()["detail"]
    r = httpx.post(server + "/reward", json={"items": [], "extra": 1})
    assert r.status_code == 422  # unknown fields are refused, not ignored
    r = httpx.post(
        server + "/reward", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert r.status_code == 422


def test_verify_takes_inline_tasks_and_a_split(server: str):
    task = {
        "id": "double",
        "entry_point": "g",
        "instruction": "Double it.",
        "public_tests": [{"input": "(2,)", "output": "4"}],
        "private_tests": [{"input": "(5,)", "output": "10"}, {"input": "(0,)", "output": "0"}],
    }
    sols = [{"task_id": "double", "solution": "def g(x):\n    return 4\n"}]
    pub = httpx.post(
        server + "/verify", json={"tasks": [task], "solutions": sols, "split": "public"}
    )
    priv = httpx.post(server + "/verify", json={"tasks": [task], "solutions": sols})
    (vp,), (vq,) = pub.json()["verdicts"], priv.json()["verdicts"]
    assert (vp["outcome"], vp["passed"], vp["total"]) == ("pass", 1, 1)
    assert (vq["outcome"], vq["passed"], vq["total"]) == ("fail", 0, 2)


def test_trl_reward_function_through_the_server_and_in_process(server: str, verifier):
    ids = ["sort-list", "sort-list", "sort-list"]
    conversational = [
        [{"role": "assistant", "content": RIGHT}],
        [{"role": "assistant", "content": HARDCODED}],
    ]
    remote = verifier_reward(url=server)
    assert remote(["p"] * 2, conversational, task_id=ids[:2]) == [1.0, 0.0]
    local = verifier_reward(_tasks(), verifier=verifier)
    assert local(["p"] * 3, [RIGHT, EXITS, ALWAYS_EQUAL], task_id=ids) == [1.0, 0.0, 0.0]
    with pytest.raises(ValueError, match="'task_id' column"):
        local(["p"], [RIGHT])
    with pytest.raises(ValueError, match="exactly one"):
        verifier_reward(_tasks())


def test_the_serve_command_answers_over_http(tmp_path: Path):
    port = _free_port()
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    cmd = [sys.executable, "-m", "closedloop.cli", "serve", "--port", str(port), "--tasks"]
    proc = subprocess.Popen([*cmd, str(EXAMPLES / "tasks.jsonl")], env=env, stderr=subprocess.PIPE)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(url + "/health").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        r = httpx.post(
            url + "/reward",
            json={"items": [{"task_id": "sort-list", "completion": RIGHT}]},
            timeout=60,
        )
        assert r.json()["rewards"] == [1.0]
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    bad = subprocess.run(
        [*cmd, str(tmp_path / "none.jsonl")], capture_output=True, text=True, timeout=60
    )
    assert bad.returncode == 2 and "none.jsonl" in bad.stderr
