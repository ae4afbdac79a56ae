"""Policy replicas on a real two-node Ray cluster on this machine (tests/distributed/conftest.py),
with a tiny HF model built from a config: one replica per node; the learner's own completions,
share by share, for a seed; the learner's weights after an update (and after Ray restarted a
replica from the model directory); a replica killed mid-batch costing nothing and doubling
nothing; a share past its deadline raising instead of coming back short; and a run of the loop
with ``policy_replicas = 2``."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import time
import tomllib
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from closedloop.policy.base import SamplingParams

ray = pytest.importorskip("ray", reason="Ray is not installed (pip install 'closedloop[ray]')")
torch = pytest.importorskip("torch")

from closedloop.distributed.replicas import ReplicaSet, ReplicasLost, ReplicatedPolicy  # noqa: E402
from closedloop.distributed.shares import Method, sample_in_shares  # noqa: E402
from closedloop.policy.hf import HFPolicy  # noqa: E402

PER_SHARE = 3
# Replicas here take none of Ray's CPU count (each node has one), so that the sets of several
# tests and the loop's own can be up at once; Ray gives them one torch thread all the same.
LIGHT = {"cpus_per_replica": 0, "start_timeout_s": 120}
PARAMS = SamplingParams(max_new_tokens=12, temperature=1.0, seed=7)


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread() -> Iterator[None]:
    """The learner samples its reference completions on one thread, as each replica does: on
    a busy 2-core machine torch's two threads are many times slower (docs/distributed.md)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory, tiny_embedded_config) -> Path:
    from closedloop.policy.embedded import build_embedded_policy

    out = tmp_path_factory.mktemp("replica-model") / "model"
    build_embedded_policy(["def f(xs):\n    return sorted(xs)\n"] * 8, out, tiny_embedded_config)
    return out


@pytest.fixture
def learner(model_dir: Path) -> HFPolicy:
    """A fresh learner from the model directory (tests change its weights)."""
    return HFPolicy.from_pretrained(model_dir, device="cpu")


@pytest.fixture(scope="module")
def replicas(cluster) -> Iterator[ReplicaSet]:
    with ReplicaSet(cluster.address, 2, per_share=PER_SHARE, timeout_s=60, **LIGHT) as rs:
        yield rs


def prompts(policy: HFPolicy, k: int = 10) -> list[list[int]]:
    return [policy.encode_prompt(f"sort the list, case {i}") for i in range(k)]


def tokens(groups: list[list[object]]) -> list[list[tuple[int, ...]]]:
    return [[c.token_ids for c in g] for g in groups]


def update(policy: HFPolicy) -> None:
    """One real optimizer step on the learner (what a trainer does between two batches)."""
    ids = torch.tensor([policy.encode_prompt("sort the list") + [policy.eos_id]])
    opt = torch.optim.SGD(policy.model.parameters(), lr=0.5)
    policy.model.train()
    policy.model(input_ids=ids, labels=ids).loss.backward()
    opt.step()
    policy.model.eval()


def replica_on(rs: ReplicaSet, node_id: str):
    return next(h for h, info in rs.actors if info.node_id == node_id)


def test_one_replica_on_each_node_sampling_what_the_learner_samples_share_by_share(
    cluster, replicas: ReplicaSet, learner: HFPolicy
):
    policy = ReplicatedPolicy(learner, replicas)
    ps = prompts(learner)
    got = policy.sample_ids(ps, 2, PARAMS)
    assert sorted(info.node_id for _, info in replicas.actors) == sorted(cluster.node_ids.values())
    assert all(info.device == "cpu" for _, info in replicas.actors)
    expected = sample_in_shares(learner, Method.SAMPLE_IDS, ps, 2, PARAMS, PER_SHARE)
    assert tokens(got) == tokens(expected)  # every prompt, in order, n each, the same draws
    worst = max(
        abs(a - b)
        for g, e in zip(got, expected, strict=True)
        for c, d in zip(g, e, strict=True)
        for a, b in zip(c.logprobs, d.logprobs, strict=True)
    )
    assert worst < 1e-4  # another process: rounding only
    assert replicas.stats.batches >= 4  # 10 prompts in shares of 3: both replicas had work
    # a batch that fits in one share is sampled as the learner samples it itself
    one = ps[:PER_SHARE]
    assert tokens(policy.sample_ids(one, 2, PARAMS)) == tokens(learner.sample_ids(one, 2, PARAMS))
    # text prompts go through the replicas' own sample()
    texts = ["sort the list", "reverse it"]
    assert tokens(policy.sample(texts, 1, PARAMS)) == tokens(learner.sample(texts, 1, PARAMS))


def test_the_learners_update_reaches_every_replica_before_the_next_batch(
    replicas: ReplicaSet, learner: HFPolicy
):
    policy = ReplicatedPolicy(learner, replicas)
    ps = prompts(learner)
    before = policy.sample_ids(ps, 1, PARAMS)
    version = replicas.version
    update(learner)
    after = policy.sample_ids(ps, 1, PARAMS)
    assert replicas.version == version + 1  # one sync, made by the batch after the update
    held = [ray.get(h.info.remote(), timeout=30).version for h, _ in replicas.actors]
    assert held == [version + 1] * 2
    assert tokens(after) != tokens(before)
    assert tokens(after) == tokens(
        sample_in_shares(learner, Method.SAMPLE_IDS, ps, 1, PARAMS, PER_SHARE)
    )
    policy.sample_ids(ps, 1, PARAMS)
    assert replicas.version == version + 1  # no update, no sync


def test_a_replica_ray_restarted_from_the_model_directory_pulls_the_current_weights(
    cluster, replicas: ReplicaSet, learner: HFPolicy
):
    policy = ReplicatedPolicy(learner, replicas)
    ps = prompts(learner)
    update(learner)
    policy.sample_ids(ps[:1], 1, PARAMS)  # synced
    current = replicas.version
    doomed = replica_on(replicas, cluster.node_ids["cl_node_1"])
    old_pid = ray.get(doomed.info.remote(), timeout=30).pid
    ray.kill(doomed, no_restart=False)  # Ray brings it back with the directory's weights
    deadline = time.monotonic() + 60
    while True:  # until a new process answers (the old one may answer a call or two first)
        try:
            restarted = ray.get(doomed.info.remote(), timeout=30)
            if restarted.pid != old_pid:
                break
        except ray.exceptions.RayActorError:
            pass
        assert time.monotonic() < deadline, "Ray did not restart the replica"
        time.sleep(0.5)
    assert restarted.version == 0  # stale: what it would sample with, unchecked
    got = policy.sample_ids(ps, 1, PARAMS)
    assert tokens(got) == tokens(
        sample_in_shares(learner, Method.SAMPLE_IDS, ps, 1, PARAMS, PER_SHARE)
    )
    assert ray.get(doomed.info.remote(), timeout=30).version == current
    assert replicas.version == current  # it pulled the version; nothing was synced again


@pytest.mark.parametrize("no_restart", [True, False], ids=["gone-for-good", "restarted"])
def test_killing_one_nodes_replica_mid_batch_loses_and_duplicates_nothing(
    cluster, learner: HFPolicy, no_restart: bool
):
    ps = prompts(learner, 12)
    params = SamplingParams(max_new_tokens=64, temperature=1.0, seed=3)
    expected = sample_in_shares(learner, Method.SAMPLE_IDS, ps, 2, params, 1)
    arrived: list[int] = []
    # one prompt a share, two shares a replica: whichever share ends first, the doomed
    # replica still holds one when the first arrives
    with ReplicaSet(cluster.address, 2, per_share=1, max_in_flight=2, **LIGHT) as rs:
        policy = ReplicatedPolicy(learner, rs)
        policy.sample_ids(ps[:2], 1, params)  # both replicas up before the clock starts
        doomed = replica_on(rs, cluster.node_ids["cl_node_1"])

        def on_share(index: int) -> None:
            arrived.append(index)
            if len(arrived) == 1:
                ray.kill(doomed, no_restart=no_restart)

        got = rs.generate(learner, Method.SAMPLE_IDS, ps, 2, params, on_share=on_share)
        stats = rs.stats
        if no_restart:  # what is left goes on sampling
            assert tokens(policy.sample_ids(ps[:3], 2, params)) == tokens(expected[:3])
    assert Counter(arrived) == Counter(range(12))  # every share once
    assert tokens(got) == tokens(expected)  # none lost, none doubled, the same draws
    assert stats.lost_batches >= 1 and stats.retried_jobs >= 1
    assert stats.duplicates == 0


def test_a_share_past_its_deadline_is_sampled_again_then_raises(cluster, learner: HFPolicy):
    ps = prompts(learner, 2)
    slow = SamplingParams(max_new_tokens=400, temperature=1.0, seed=1)
    with ReplicaSet(
        cluster.address, 2, per_share=1, max_in_flight=1, max_losses=1, timeout_s=60, **LIGHT
    ) as rs:
        policy = ReplicatedPolicy(learner, rs)
        policy.sample_ids(ps, 1, PARAMS)  # up, before the deadline shrinks
        rs.timeout_s = 0.05
        with pytest.raises(ReplicasLost, match="deadline"):  # never a batch short of a share
            policy.sample_ids(ps * 8, 4, slow)
        assert rs.stats.timed_out_batches >= 2  # its first replica, then the other one


def test_more_cpu_replicas_than_nodes_is_refused_before_anything_is_placed(cluster):
    from closedloop.distributed import ClusterUnavailable

    with pytest.raises(ClusterUnavailable, match="one per node, and the cluster has 2 nodes"):
        ReplicaSet(cluster.address, 3, **LIGHT)
    with pytest.raises(ClusterUnavailable, match="the cluster has 0 GPUs"):
        ReplicaSet(cluster.address, 1, "vllm", gpus_per_replica=1)


@pytest.mark.slow  # a whole (short) run of the loop
def test_the_loop_generates_on_two_replicas_given_in_its_config(cluster, tmp_path: Path):
    from closedloop.loop.config import config_from_dict, dump_config
    from closedloop.loop.presets import SHORT

    data = tomllib.loads(SHORT)
    data.update(iterations=1)
    data["distributed"] = {"ray_address": cluster.address, "policy_replicas": 2}
    cfg_path = tmp_path / "replicas.toml"
    cfg_path.write_text(dump_config(config_from_dict(data)))
    run_dir = tmp_path / "run"
    out = subprocess.run(
        [sys.executable, "-m", "closedloop.cli", "run", str(cfg_path), "--run-dir", str(run_dir)]
        + ["--threads", "1"],
        env=cluster.env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert "generation on 2 policy replicas (hf on cpu)" in out.stderr
    db = sqlite3.connect(str(run_dir / "run.sqlite"))
    try:
        (data_json,) = db.execute(
            "SELECT data FROM events WHERE kind = 'policy_replicas'"
        ).fetchone()
        attempts = db.execute("SELECT COUNT(*) FROM attempts").fetchone()[0]
    finally:
        db.close()
    work = json.loads(data_json)
    assert work["replicas"] == 2 and work["shares"] > 0
    assert work["syncs"] >= 1  # iteration 1's update reached the replicas before its evaluation
    assert work["lost_shares"] == 0 and work["duplicates_dropped"] == 0
    assert attempts > 0
