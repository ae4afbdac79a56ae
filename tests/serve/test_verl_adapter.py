"""``closedloop.serve.verl`` through veRL's own reward managers, on batches built as veRL builds
them (a ``DataProto`` of token tensors decoded by a real tokenizer), in process and on a server."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from closedloop.serve import verl as cl_verl
from closedloop.serve.app import make_app
from closedloop.serve.background import background_server
from closedloop.serve.scoring import NoReward
from closedloop.tasks.format import load_tasks

verl = pytest.importorskip(
    "verl", reason="veRL is not installed (.ci/run installs verl==0.9.1 --no-deps and its deps)"
)
np = pytest.importorskip("numpy")
torch = pytest.importorskip("torch")

SLICE = Path(__file__).resolve().parents[2] / "examples" / "tasks" / "mbpp_slice.jsonl"


def _tasks(n: int = 3):
    tasks, bad = load_tasks(SLICE)
    assert not bad
    return tasks[:n]


def _wrong(task) -> str:
    return f"```python\ndef {task.entry_point}(*args):\n    return None\n```"


def _right(task) -> str:
    return f"Here it is:\n```python\n{task.example_solution}```\n"


@pytest.fixture(scope="module")
def tokenizer():
    from transformers import AutoTokenizer

    from closedloop.policy.base_model import base_model_dir

    return AutoTokenizer.from_pretrained(base_model_dir())


@pytest.fixture
def in_process(verifier):
    cl_verl.configure(verifier=verifier)
    yield
    cl_verl.configure()
    cl_verl.close()


def _batch(tok, prompts: list[str], responses: list[str], truths: list[object]):
    """A DataProto as veRL's rollout hands it to a reward manager: left-padded prompts,
    right-padded responses, one attention mask over both, and the dataset's non-tensor
    columns (``data_source``, ``reward_model.ground_truth``, ``extra_info``)."""
    from verl import DataProto

    pad = tok.pad_token_id
    p_ids = [tok.encode(p) for p in prompts]
    r_ids = [tok.encode(r) for r in responses]
    P, R = max(map(len, p_ids)), max(map(len, r_ids))
    prompts_t = torch.tensor([[pad] * (P - len(x)) + x for x in p_ids])
    resp_t = torch.tensor([x + [pad] * (R - len(x)) for x in r_ids])
    mask = torch.tensor(
        [
            [0] * (P - len(p)) + [1] * len(p) + [1] * len(r) + [0] * (R - len(r))
            for p, r in zip(p_ids, r_ids, strict=True)
        ]
    )
    n = len(prompts)
    return DataProto.from_dict(
        tensors={
            "prompts": prompts_t,
            "responses": resp_t,
            "input_ids": torch.cat([prompts_t, resp_t], dim=1),
            "attention_mask": mask,
        },
        non_tensors={
            "data_source": np.array(["closedloop/mbpp"] * n, dtype=object),
            "reward_model": np.array(
                [{"ground_truth": g, "style": "rule"} for g in truths], dtype=object
            ),
            "extra_info": np.array([{"index": i} for i in range(n)], dtype=object),
        },
    )


def _last_token_rewards(reward_tensor, batch) -> list[float]:
    P = batch.batch["prompts"].shape[-1]
    lengths = batch.batch["attention_mask"][:, P:].sum(-1)
    return [float(reward_tensor[i, int(n) - 1]) for i, n in enumerate(lengths)]


def _right_and_wrong(tasks):
    responses, truths = [], []
    for t in tasks:
        responses += [_right(t), _wrong(t)]
        truths += [json.dumps(t.to_json())] * 2
    return responses, truths


def test_the_naive_reward_manager_scores_a_batch_in_process(tokenizer, in_process):
    from verl.workers.reward_manager import NaiveRewardManager

    tasks = _tasks()
    responses, truths = _right_and_wrong(tasks)
    batch = _batch(tokenizer, [t.instruction for t in tasks for _ in (0, 1)], responses, truths)
    mgr = NaiveRewardManager(tokenizer, num_examine=0, compute_score=cl_verl.compute_score)
    out = mgr(batch, return_dict=True)
    assert _last_token_rewards(out["reward_tensor"], batch) == [1.0, 0.0] * 3
    assert float(out["reward_tensor"].sum()) == 3.0  # nothing but the last response token
    assert out["reward_extra_info"]["outcome"] == ["pass", "fail"] * 3
    assert out["reward_extra_info"]["passed"][0] == out["reward_extra_info"]["total"][0] > 0


def test_the_batch_reward_manager_scores_task_ids_on_a_server(tokenizer, verifier):
    from verl.workers.reward_manager import BatchRewardManager

    tasks = _tasks(4)
    responses, _ = _right_and_wrong(tasks)
    ids = [t.id for t in tasks for _ in (0, 1)]
    with background_server(make_app(verifier, _tasks(40))) as url:
        batch = _batch(tokenizer, ["p"] * len(ids), responses, ids)
        mgr = BatchRewardManager(tokenizer, 0, cl_verl.compute_score_batch, url=url)
        out = mgr(batch, return_dict=True)
        cl_verl.close()
    assert _last_token_rewards(out["reward_tensor"], batch) == [1.0, 0.0] * 4
    assert out["reward_extra_info"]["acc"] == [1.0, 0.0] * 4


def test_the_reward_loop_manager_scores_one_sample_at_a_time(tokenizer, in_process):
    from verl.experimental.reward_loop.reward_manager.naive import NaiveRewardManager

    tasks = _tasks(2)
    responses, truths = _right_and_wrong(tasks)
    batch = _batch(tokenizer, ["p"] * 4, responses, truths)
    mgr = NaiveRewardManager(config=None, tokenizer=tokenizer, compute_score=cl_verl.compute_score)

    async def run():
        return await asyncio.gather(*(mgr.run_single(batch[i : i + 1]) for i in range(len(batch))))

    results = mgr.loop.run_until_complete(run())  # the loop the manager took at init
    assert [r["reward_score"] for r in results] == [1.0, 0.0, 1.0, 0.0]
    assert [r["reward_extra_info"]["outcome"] for r in results] == ["pass", "fail"] * 2


def test_verl_loads_the_function_by_its_package_path_with_the_server_url(verifier):
    from omegaconf import OmegaConf
    from verl.trainer.ppo.reward import get_custom_reward_fn

    task = _tasks(1)[0]
    with background_server(make_app(verifier, [task])) as url:
        cfg = OmegaConf.create(
            {
                "reward": {
                    "custom_reward_function": {
                        "path": "pkg://closedloop.serve.verl",
                        "name": "compute_score",
                        "reward_kwargs": {"url": url},
                    }
                }
            }
        )
        fn = get_custom_reward_fn(cfg)
        got = fn(data_source="x", solution_str=_right(task), ground_truth=task.id, extra_info={})
        cl_verl.close()
    assert got["score"] == 1.0 and got["outcome"] == "pass"


def test_a_ground_truth_dict_back_from_parquet_is_read(in_process, tmp_path):
    pd = pytest.importorskip("pandas")
    task = _tasks(1)[0]
    pd.DataFrame({"reward_model": [{"ground_truth": task.to_json()}]}).to_parquet(
        tmp_path / "d.parquet"
    )
    gt = pd.read_parquet(tmp_path / "d.parquet")["reward_model"][0]["ground_truth"]
    got = cl_verl.compute_score("x", _right(task), gt)
    assert got["score"] == 1.0


def test_a_broken_task_raises_rather_than_scoring_zero(in_process):
    checker = "raise RuntimeError('x')\ndef check(candidate):\n    assert candidate() == 1\n"
    task = {"id": "broken", "entry_point": "f", "instruction": "x", "checker": checker}
    with pytest.raises(NoReward, match="'broken': invalid"):
        cl_verl.compute_score("x", "def f():\n    return 1\n", json.dumps(task))


def test_a_misspelt_keyword_is_refused(in_process):
    with pytest.raises(TypeError, match="'ulr'"):
        cl_verl.compute_score("x", "", "t", ulr="http://127.0.0.1:1")


def test_a_task_id_with_no_server_names_the_fix(in_process):
    with pytest.raises(KeyError, match="'mbpp/11': not among the tasks given.*url="):
        cl_verl.compute_score("x", "", "mbpp/11")
