"""What HTTP costs, and whether the server holds up: the reward server against the verifier
in-process, side by side in one run, then the server under attack.

1. Throughput. The 164 HumanEval reference solutions on one verifier pool: in-process with
   ``Verifier.verify_many``, and through ``closedloop serve``'s app (token auth on, default
   limits) on a loopback port with ``POST /verify`` (the server holds the tasks; each request
   carries ``--batch`` solutions, ``--clients`` requests in flight at once). Rounds alternate,
   so load from other work on a shared machine falls on both alike. Every HTTP request's
   latency is recorded (p50/p95), and every answer is checked: one verdict per solution sent,
   in order, for the right task (nothing lost, nothing duplicated), and the server's own
   ``closedloop_verdicts_total`` must grow by exactly the number sent.
2. Overload. ``--burst`` requests at once against a queue of ``--queue`` solutions: the
   requests refused with 503 are retried after their ``Retry-After``; every solution must
   come back exactly once.
3. Attacks. Every attack of tests/verify/test_exploits.py in one request, while health probes
   run every 0.1 s: the server must answer every probe, and no attack may pass.

Bounded: ``--reps`` rounds and ``--max-seconds`` overall (a round is not started past it).

Run:  python benchmarks/serve_throughput.py [--reps 3] [--batch 16] [--clients 2]
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from prometheus_client.parser import text_string_to_metric_families
from rich.console import Console
from rich.table import Table

from closedloop.sandbox import SandboxLimits
from closedloop.serve.app import make_app
from closedloop.serve.limits import ServeLimits
from closedloop.tasks.importers.humaneval import import_humaneval
from closedloop.verify import Outcome, Verifier

TOKEN = "benchmark-token-0123456789abcdef"
ROOT = Path(__file__).resolve().parents[1]


class Served:
    """An app on a loopback port in a thread of this process."""

    def __init__(self, app: Any):
        import socket

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.srv = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        )
        self.thread = threading.Thread(target=self.srv.run, daemon=True)
        self.thread.start()
        while not self.srv.started:
            time.sleep(0.02)

    def stop(self) -> None:
        self.srv.should_exit = True
        self.thread.join(timeout=60)


def _verdict_count(client: httpx.Client, url: str) -> float:
    text = client.get(url + "/metrics").text
    return sum(
        s.value
        for fam in text_string_to_metric_families(text)
        for s in fam.samples
        if s.name == "closedloop_verdicts_total"
    )


def _pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(q * (len(xs) - 1)))]


def throughput(args: argparse.Namespace, v: Verifier, tasks: list, table: Table) -> dict:
    solutions = [t.example_solution or "" for t in tasks]  # prompt + canonical solution
    pairs = list(zip(tasks, solutions, strict=True))
    batches = [
        [{"task_id": t.id, "solution": s} for t, s in pairs[i : i + args.batch]]
        for i in range(0, len(pairs), args.batch)
    ]
    served = Served(make_app(v, tasks, token=TOKEN))
    client = httpx.Client(timeout=600, headers={"Authorization": f"Bearer {TOKEN}"})
    url = served.url + "/verify"
    latencies: list[float] = []
    wrong = {"lost_or_duplicated": 0, "misplaced": 0}

    def post(batch: list[dict[str, str]]) -> int:
        t = time.perf_counter()
        r = client.post(url, json={"solutions": batch})
        latencies.append(time.perf_counter() - t)
        r.raise_for_status()
        verdicts = r.json()["verdicts"]
        if len(verdicts) != len(batch):
            wrong["lost_or_duplicated"] += abs(len(verdicts) - len(batch))
        wrong["misplaced"] += sum(
            1 for x, b in zip(verdicts, batch, strict=False) if x["task_id"] != b["task_id"]
        )
        return sum(1 for x in verdicts if x["outcome"] == "pass")

    v.verify_many(pairs[:8])  # warm both paths before timing
    post(batches[0])
    latencies.clear()
    counted_before = _verdict_count(client, served.url)
    seconds = {"lib": 0.0, "http": 0.0}
    passed = {"lib": 0, "http": 0}
    reps = 0
    deadline = time.monotonic() + args.max_seconds
    while reps < args.reps and time.monotonic() < deadline:
        t = time.perf_counter()
        passed["lib"] += sum(1 for x in v.verify_many(pairs) if x.outcome is Outcome.PASS)
        seconds["lib"] += time.perf_counter() - t
        t = time.perf_counter()
        with ThreadPoolExecutor(args.clients) as ex:
            passed["http"] += sum(ex.map(post, batches))
        seconds["http"] += time.perf_counter() - t
        reps += 1
    counted = _verdict_count(client, served.url) - counted_before
    served.stop()
    n = len(pairs) * reps
    table.add_row("in-process verify_many", f"{passed['lib']}/{n}", f"{n / seconds['lib']:.1f}", "")
    table.add_row(
        f"HTTP /verify ({args.batch}/request, {args.clients} clients, token auth)",
        f"{passed['http']}/{n}",
        f"{n / seconds['http']:.1f}",
        f"p50 {_pct(latencies, 0.5) * 1000:.0f} ms, p95 {_pct(latencies, 0.95) * 1000:.0f} ms"
        f" ({len(latencies)} requests)",
    )
    return {
        "ratio": seconds["lib"] / seconds["http"],
        "sent": n,
        "counted": int(counted),
        **wrong,
    }


def overload(args: argparse.Namespace, v: Verifier, tasks: list, table: Table) -> dict:
    """``--burst`` requests of ``--batch`` at once against a queue of ``--queue``."""
    served = Served(make_app(v, tasks, limits=ServeLimits(queue_items=args.queue)))
    client = httpx.Client(timeout=600, limits=httpx.Limits(max_connections=args.burst))
    picks = [tasks[i % len(tasks)] for i in range(args.burst * args.batch)]
    bodies = [
        [{"task_id": t.id, "solution": t.example_solution or ""} for t in picks[i : i + args.batch]]
        for i in range(0, len(picks), args.batch)
    ]
    refused = [0]
    back: list[str] = []
    lock = threading.Lock()
    t0 = time.perf_counter()

    def post(batch: list[dict[str, str]]) -> None:
        while True:
            r = client.post(served.url + "/verify", json={"solutions": batch})
            if r.status_code == 503:
                with lock:
                    refused[0] += 1
                time.sleep(float(r.headers.get("retry-after", "1")))
                continue
            r.raise_for_status()
            with lock:
                back.extend(x["task_id"] for x in r.json()["verdicts"])
            return

    with ThreadPoolExecutor(args.burst) as ex:
        list(ex.map(post, bodies))
    elapsed = time.perf_counter() - t0
    served.stop()
    sent = [t.id for t in picks]
    exact = sorted(back) == sorted(sent)
    table.add_row(
        f"burst: {args.burst} requests of {args.batch} at once, queue {args.queue}",
        f"{len(back)}/{len(sent)} back, {'exactly once' if exact else 'LOST OR DUPLICATED'}",
        f"{len(sent) / elapsed:.1f}",
        f"{refused[0]} answers 503 + Retry-After, retried",
    )
    return {"burst_exact": exact, "refused": refused[0]}


def attacks(table: Table) -> dict:
    """Every exploit of tests/verify/test_exploits.py in one request, with health probes."""
    spec = importlib.util.spec_from_file_location(
        "exploit_rows", ROOT / "tests" / "verify" / "test_exploits.py"
    )
    rows = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(rows)
    names = sorted(rows.ATTACKS)
    inline = [t.to_json() for t in {id(t): t for t, _ in rows.ATTACKS.values()}.values()]
    sols = [{"task_id": rows.ATTACKS[n][0].id, "solution": rows.ATTACKS[n][1]} for n in names]
    with Verifier(workers=2, limits=SandboxLimits(wall_s=1.5)) as v:
        served = Served(make_app(v))
        got: list[httpx.Response] = []
        body = {"tasks": inline, "solutions": sols, "split": "all"}
        th = threading.Thread(
            target=lambda: got.append(httpx.post(served.url + "/verify", json=body, timeout=600))
        )
        t0 = time.perf_counter()
        th.start()
        probes: list[float] = []
        while th.is_alive():
            t = time.perf_counter()
            ok = httpx.get(served.url + "/health", timeout=5).status_code == 200
            probes.append(time.perf_counter() - t if ok else float("inf"))
            time.sleep(0.1)
        elapsed = time.perf_counter() - t0
        served.stop()
    outcomes = [x["outcome"] for x in got[0].json()["verdicts"]]
    passed = sum(1 for o in outcomes if o in ("pass", "infra_error"))
    table.add_row(
        f"{len(names)} exploits in one request, health probed every 0.1 s",
        f"{passed} passed or infra_error",
        f"{len(names) / elapsed:.1f}",
        f"{sum(p < float('inf') for p in probes)}/{len(probes)} probes answered,"
        f" slowest {max(probes) * 1000:.0f} ms",
    )
    return {"attacks_passed": passed, "probes_failed": sum(p == float("inf") for p in probes)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--batch", type=int, default=16, help="solutions per HTTP request")
    ap.add_argument("--clients", type=int, default=2, help="requests in flight at once")
    ap.add_argument(
        "--slots", type=int, default=None, help="sandbox slots (default: one more than cores)"
    )
    ap.add_argument("--burst", type=int, default=32, help="requests at once in the overload run")
    ap.add_argument("--queue", type=int, default=64, help="queue size in the overload run")
    ap.add_argument("--max-seconds", type=float, default=300.0, help="bound on the timed rounds")
    args = ap.parse_args()
    tasks = import_humaneval()
    table = Table(title=f"reward server on loopback, {os.cpu_count()} cores, load {_load()}")
    for col in ("path", "verdicts", "solutions/s", "latency / notes"):
        table.add_column(col)
    with Verifier(workers=args.slots) as v:
        facts = throughput(args, v, tasks, table)
        facts |= overload(args, v, tasks, table)
        slots = v.pool.size
    facts |= attacks(table)
    table.caption = f"{slots} sandbox slots; load average after: {_load()}"
    Console(width=130).print(table)
    print(f"HTTP / in-process throughput: {facts['ratio']:.2f}")
    print(
        f"verdicts sent {facts['sent']}, counted by the server {facts['counted']}, "
        f"lost or duplicated {facts['lost_or_duplicated']}, misplaced {facts['misplaced']}"
    )


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


if __name__ == "__main__":
    main()
