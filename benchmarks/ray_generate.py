"""Generation throughput on Ray-placed policy replicas, 1 replica and 2, against this process.

The loop's own model shape (the embedded preset: ``EmbeddedConfig()``'s defaults, random
weights, so most completions run to ``--tokens``; tokens/s counts the tokens each path sampled),
a batch of ``--prompts`` prompts x ``--n``
completions, ``--reps`` rounds; each round runs the three paths one after the other, so that
load from other work on a shared machine falls on all of them alike:

1. here: the learner's own ``sample_ids`` on the whole batch, in this process;
2. here, by shares: the same shares the replicas sample, one after the other, in this process
   (:func:`~closedloop.distributed.shares.sample_in_shares`: what Ray adds, without Ray);
3. 1 replica: a :class:`~closedloop.distributed.replicas.ReplicaSet` of one replica;
4. 2 replicas: one replica on each node.

Every replica asks Ray for one CPU, so Ray gives it one torch thread; this process uses
``--threads`` (1, as the presets do on a shared machine: torch's default of one thread per
core is many times slower here when the cores are busy with other work). Both nodes are one
:class:`~closedloop.distributed.local_cluster.LocalCluster` on this machine (two CPUs each in
Ray's count, so that both sets fit at once): every path runs on the same cores, and two
replicas can only help as far as one torch process leaves cores idle. Also measured: one
weight sync (the learner's state dict to both replicas through Ray's object store).

Run:  python benchmarks/ray_generate.py [--reps 3] [--prompts 32] [--n 4] [--tokens 48]
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
import warnings

import ray
import torch
from rich.console import Console
from rich.table import Table

from closedloop.distributed.local_cluster import LocalCluster
from closedloop.distributed.replicas import ReplicaSet, ReplicatedPolicy
from closedloop.distributed.shares import Method, sample_in_shares
from closedloop.policy.base import SamplingParams
from closedloop.policy.embedded import EmbeddedConfig, build_embedded_policy


class _InShares:
    """The learner sampling a batch share by share, as the replicas do, in this process."""

    def __init__(self, learner: object, per_share: int) -> None:
        self.learner, self.per_share = learner, per_share

    def sample_ids(self, prompts: list[list[int]], n: int, params: SamplingParams) -> list:
        return sample_in_shares(self.learner, Method.SAMPLE_IDS, prompts, n, params, self.per_share)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--prompts", type=int, default=32)
    ap.add_argument("--n", type=int, default=4)
    ap.add_argument("--tokens", type=int, default=48)
    ap.add_argument("--per-share", type=int, default=8, help="prompts per share")
    ap.add_argument("--threads", type=int, default=1, help="torch threads in this process")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    console = Console(stderr=True)
    corpus = [f"def f(xs):\n    return [x + {i} for x in xs]\n" for i in range(200)]
    with tempfile.TemporaryDirectory() as tmp:
        learner = build_embedded_policy(corpus, tmp + "/model", EmbeddedConfig())
    prompts = [learner.encode_prompt(f"Solve task {i}: sort the list") for i in range(args.prompts)]
    params = SamplingParams(max_new_tokens=args.tokens, temperature=1.0, seed=0)
    names = ("here", "here, by shares", "1 replica", "2 replicas")
    seconds = dict.fromkeys(names, 0.0)
    tokens = dict.fromkeys(names, 0)  # counted: sampling stops at EOS, and paths differ
    load_before = os.getloadavg()
    t = time.perf_counter()
    with LocalCluster(cpus=(2, 2)) as cluster:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            ray.init(address=cluster.address, log_to_driver=False, include_dashboard=False)
        try:
            with (
                ReplicaSet(cluster.address, 1, per_share=args.per_share) as one,
                ReplicaSet(cluster.address, 2, per_share=args.per_share) as two,
            ):
                paths = {
                    names[0]: learner,
                    names[1]: _InShares(learner, args.per_share),
                    names[2]: ReplicatedPolicy(learner, one),
                    names[3]: ReplicatedPolicy(learner, two),
                }
                for policy in paths.values():  # warm-up: places the replicas, first calls
                    policy.sample_ids(prompts[:2], 1, params)
                console.print(f"cluster and replicas started in {time.perf_counter() - t:.1f}s")
                for rep in range(args.reps):
                    for name, policy in paths.items():
                        t = time.perf_counter()
                        groups = policy.sample_ids(prompts, args.n, params)
                        seconds[name] += time.perf_counter() - t
                        assert [len(g) for g in groups] == [args.n] * args.prompts
                        tokens[name] += sum(len(c.token_ids) for g in groups for c in g)
                    console.print(f"round {rep + 1}/{args.reps} done")
                with torch.no_grad():  # an update, then the sync it causes
                    for p in learner.model.parameters():
                        p.mul_(1.0)
                paths[names[3]].sample_ids(prompts[:1], 1, params)
                sync = two.sync_stats
                lost = two.stats.lost_batches + one.stats.lost_batches
        finally:
            ray.shutdown()
    load_after = os.getloadavg()
    table = Table(
        title=f"{args.prompts} prompts x {args.n} completions x up to {args.tokens} tokens"
    )
    for col in ("path", "seconds", "tokens/s", "vs here"):
        table.add_column(col)
    base = seconds[names[0]]
    for name in names:
        rate = tokens[name] / seconds[name]
        table.add_row(name, f"{seconds[name]:.2f}", f"{rate:.0f}", f"{base / seconds[name]:.2f}x")
    console.print(table)
    console.print(
        f"weight sync: {sync.megabytes:.1f} MB to 2 replicas in {sync.seconds:.2f}s; "
        f"lost shares: {lost}; torch threads here: {torch.get_num_threads()}"
    )
    console.print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; "
        f"1-min load average {load_before[0]:.1f} before, {load_after[0]:.1f} after"
    )


if __name__ == "__main__":
    main()
