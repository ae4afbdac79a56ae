"""The TRL reward function against a real server on loopback: batch splitting, retries while
the server is down or busy, the bearer token, and the in-process pool it closes."""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

import pytest
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.responses import JSONResponse

from closedloop.serve.app import make_app
from closedloop.serve.background import background_server, free_port
from closedloop.serve.client import RetryPolicy, RewardServerUnavailable
from closedloop.serve.trl import local_reward, verifier_reward
from closedloop.tasks.format import load_tasks

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
RIGHT = "```python\ndef f(xs):\n    return sorted(xs)\n```"
WRONG = "def f(xs):\n    return xs\n"
FAST = RetryPolicy(attempts=50, first_delay_s=0.1, max_delay_s=0.3, deadline_s=30.0)


def _tasks():
    tasks, bad = load_tasks(EXAMPLES / "tasks.jsonl")
    assert not bad
    return tasks


class _Recorder(BaseHTTPMiddleware):
    """Records each request's item count and headers; answers the first ``busy`` requests 503
    (Retry-After) and any body over ``max_items`` items 413, as a loaded or capped server."""

    def __init__(self, app, busy: int = 0, max_items: int | None = None):
        super().__init__(app)
        self.busy, self.max_items = busy, max_items
        self.sizes: list[int] = []
        self.headers: list[dict[str, str]] = []

    async def dispatch(self, request, call_next):
        import json

        body = json.loads(await request.body() or b"{}")
        n = len(body.get("items", []))
        self.headers.append(dict(request.headers))
        if self.busy > 0:
            self.busy -= 1
            return JSONResponse({"detail": "busy"}, status_code=503, headers={"retry-after": "0.1"})
        if self.max_items is not None and n > self.max_items:
            return JSONResponse({"detail": "too large"}, status_code=413)
        self.sizes.append(n)
        return await call_next(request)


def _app(verifier, **kw):
    app = make_app(verifier, _tasks())
    rec: dict[str, _Recorder] = {}

    class Bound(_Recorder):
        def __init__(self, inner):
            super().__init__(inner, **kw)
            rec["r"] = self

    app.add_middleware(Bound)
    return app, rec


def test_a_batch_past_the_cap_is_split_and_answered_in_order(verifier):
    app, rec = _app(verifier)
    with background_server(app) as url, verifier_reward(url=url, max_batch=3) as reward:
        texts = [RIGHT, WRONG] * 4  # 8 items, at most 3 a request
        assert reward(["p"] * 8, texts, task_id=["sort-list"] * 8) == [1.0, 0.0] * 4
    assert rec["r"].sizes == [3, 3, 2]


def test_tasks_given_that_the_server_also_holds_are_scored(verifier):
    # the README's set-up: the server started on the task file the trainer also reads. Sent
    # under their own ids, the server refused every batch (an inline task may not take a held
    # task's id); a task of the same id and other content is scored as given, not as held
    app, rec = _app(verifier)
    given = _tasks()
    with background_server(app) as url, verifier_reward(given, url=url) as reward:
        texts = [RIGHT, WRONG, RIGHT]
        assert reward(["p"] * 3, texts, task_id=["sort-list"] * 3) == [1.0, 0.0, 1.0]
    sort = next(t for t in given if t.id == "sort-list")
    reverse = json.loads(json.dumps(sort.to_json()))
    reverse["public_tests"] = reverse["private_tests"] = [
        {"input": "([3, 1, 2],)", "output": "[3, 2, 1]"}
    ]
    from closedloop.tasks.format import parse_task

    with background_server(app) as url:
        with verifier_reward([parse_task(reverse)], url=url) as reward:
            assert reward(["p"] * 2, [RIGHT, WRONG], task_id=["sort-list"] * 2) == [0.0, 0.0]


def test_a_chunk_the_server_calls_too_large_is_halved(verifier):
    app, rec = _app(verifier, max_items=2)
    with background_server(app) as url, verifier_reward(url=url) as reward:
        texts = [RIGHT, WRONG, RIGHT, RIGHT, WRONG]
        assert reward(["p"] * 5, texts, task_id=["sort-list"] * 5) == [1.0, 0.0, 1.0, 1.0, 0.0]
    assert rec["r"].sizes == [2, 1, 2]  # 5 is refused -> 2 + 3; 3 is refused -> 1 + 2


def test_a_busy_server_is_retried_after_its_retry_after(verifier):
    app, rec = _app(verifier, busy=2)
    with background_server(app) as url, verifier_reward(url=url, retry=FAST) as reward:
        assert reward(["p"], [RIGHT], task_id=["sort-list"]) == [1.0]
        assert reward.client.retries == 2


def test_the_bearer_token_is_sent(verifier):
    app, rec = _app(verifier)
    with background_server(app) as url, verifier_reward(url=url, token="s3cret") as reward:
        reward(["p"], [RIGHT], task_id=["sort-list"])
    assert rec["r"].headers[-1]["authorization"] == "Bearer s3cret"


def test_a_server_that_starts_late_is_waited_for(verifier):
    port = free_port()
    started = threading.Event()

    def late():
        time.sleep(1.5)
        with background_server(make_app(verifier, _tasks()), port=port):
            started.set()
            time.sleep(20)  # the daemon thread dies with the test process if still here

    threading.Thread(target=late, daemon=True).start()
    with verifier_reward(url=f"http://127.0.0.1:{port}", retry=FAST) as reward:
        t0 = time.monotonic()
        assert reward(["p"] * 2, [RIGHT, WRONG], task_id=["sort-list"] * 2) == [1.0, 0.0]
        # the server answers before background_server hands it back: started may come a
        # moment after the answer
        assert reward.client.retries >= 1 and started.wait(10)
        assert time.monotonic() - t0 < 15


def test_a_server_that_never_comes_is_a_clear_error_in_bounded_time():
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    policy = RetryPolicy(attempts=5, first_delay_s=0.1, max_delay_s=0.4, deadline_s=2.0)
    reward = verifier_reward(url=url, retry=policy)
    t0 = time.monotonic()
    with pytest.raises(RewardServerUnavailable, match=r"no answer after \d attempt\(s\)") as e:
        reward(["p"], [RIGHT], task_id=["sort-list"])
    assert time.monotonic() - t0 < 4.0
    assert url in str(e.value) and "ConnectError" in str(e.value)


def test_a_refused_request_is_not_retried(verifier):
    app, rec = _app(verifier)
    with background_server(app) as url, verifier_reward(url=url, retry=FAST) as reward:
        with pytest.raises(RuntimeError, match="422.*'nope'"):
            reward(["p"], [RIGHT], task_id=["nope"])
        assert reward.client.retries == 0 and len(rec["r"].headers) == 1


def test_local_reward_stops_its_sandbox_pool_on_leaving(descendants):
    before = set(descendants(os.getpid()))
    with local_reward(_tasks(), workers=1) as reward:
        assert reward(["p"] * 2, [RIGHT, WRONG], task_id=["sort-list"] * 2) == [1.0, 0.0]
        assert set(descendants(os.getpid())) - before  # the pool's processes are running
    deadline = time.monotonic() + 10
    while set(descendants(os.getpid())) - before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not set(descendants(os.getpid())) - before
    with pytest.raises(RuntimeError, match="closed"):
        reward(["p"], [RIGHT], task_id=["sort-list"])


def test_a_callers_verifier_is_left_open(verifier):
    with verifier_reward(_tasks(), verifier=verifier) as reward:
        assert reward(["p"], [RIGHT], task_id=["sort-list"]) == [1.0]
    assert verifier_reward(_tasks(), verifier=verifier)(["p"], [WRONG], task_id=["sort-list"]) == [
        0.0
    ]


def test_the_tasks_may_be_a_task_files_path_and_anything_else_is_named(verifier, tmp_path):
    # a path passed as the tasks failed with "'str' object has no attribute 'id'"
    for path in (EXAMPLES / "tasks.jsonl", str(EXAMPLES / "tasks.jsonl")):
        with verifier_reward(path, verifier=verifier) as reward:
            assert reward(["p"] * 2, [RIGHT, WRONG], task_id=["sort-list"] * 2) == [1.0, 0.0]
    with pytest.raises(TypeError, match="Task objects or a task file's path, got a str"):
        verifier_reward(["sort-list"], verifier=verifier)
    damaged = tmp_path / "tasks.jsonl"
    damaged.write_text((EXAMPLES / "tasks.jsonl").read_text() + "not json\n")
    with pytest.raises(ValueError, match="tasks.jsonl line 4: not valid JSON"):
        verifier_reward(damaged, verifier=verifier)


def test_trl_names_the_reward_and_calls_it_as_grpo_does(verifier):
    from trl.trainer.utils import get_callable_name

    reward = verifier_reward(_tasks(), verifier=verifier)
    assert get_callable_name(reward) == "closedloop_reward"
    conv = [[{"role": "assistant", "content": RIGHT}], [{"role": "assistant", "content": WRONG}]]
    out = reward(
        prompts=["p", "p"], completions=conv, completion_ids=[[1], [2]], task_id=["sort-list"] * 2
    )
    assert out == [1.0, 0.0]


def test_grpo_trainer_takes_a_step_on_the_local_reward(tmp_path: Path):
    """TRL's own trainer, one GRPO step of the shipped 4 MB Llama on 2 MBPP tasks: the reward
    is called with the dataset's task_id column and logged under its name."""
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import GRPOConfig, GRPOTrainer

    from closedloop.policy import list_llama  # noqa: F401 - registers the shipped base's architecture
    from closedloop.policy.base_model import base_model_dir

    tasks, _ = load_tasks(EXAMPLES / "tasks" / "mbpp_slice.jsonl")
    tasks = tasks[:2]
    ds = Dataset.from_list([{"prompt": t.instruction, "task_id": t.id} for t in tasks])
    cfg = GRPOConfig(
        output_dir=str(tmp_path),
        per_device_train_batch_size=4,
        num_generations=4,
        max_completion_length=16,
        max_steps=1,
        logging_steps=1,
        report_to=[],
        use_cpu=True,
        save_strategy="no",
        bf16=False,
    )
    with local_reward(tasks, workers=1) as reward:
        trainer = GRPOTrainer(
            model=AutoModelForCausalLM.from_pretrained(base_model_dir()),
            reward_funcs=reward,
            args=cfg,
            train_dataset=ds,
            processing_class=AutoTokenizer.from_pretrained(base_model_dir()),
        )
        trainer.train()
    logged = trainer.state.log_history[0]
    # 16 tokens of a 4 MB model solve no MBPP task: every reward is a real 0.0, none missing
    assert logged["rewards/closedloop_reward/mean"] == 0.0
    assert logged["frac_reward_zero_std"] == 1.0
