"""What HTTP costs: the reward server against the verifier in-process, side by side in one run.

Both verify the 164 HumanEval reference solutions on one verifier pool: in-process with
``Verifier.verify_many``, and through ``closedloop serve``'s app on a loopback port with
``POST /verify`` (the server holds the tasks; each request carries ``--batch`` solutions,
``--clients`` requests in flight at once). Rounds alternate, so load from other work on a
shared machine falls on both alike.

Run:  python benchmarks/serve_throughput.py [--reps 3] [--batch 16] [--clients 2]
Prints solutions/second for each and the ratio (HTTP / in-process).
"""

from __future__ import annotations

import argparse
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import uvicorn
from rich.console import Console
from rich.table import Table

from closedloop.serve.app import make_app
from closedloop.tasks.importers.humaneval import import_humaneval
from closedloop.verify import Outcome, Verifier


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--batch", type=int, default=16, help="solutions per HTTP request")
    ap.add_argument("--clients", type=int, default=2, help="requests in flight at once")
    ap.add_argument("--slots", type=int, default=None, help="sandbox slots (default: per core)")
    args = ap.parse_args()
    tasks = import_humaneval()
    solutions = [t.example_solution or "" for t in tasks]  # prompt + canonical solution
    pairs = list(zip(tasks, solutions, strict=True))
    batches = [
        [{"task_id": t.id, "solution": s} for t, s in pairs[i : i + args.batch]]
        for i in range(0, len(pairs), args.batch)
    ]
    with Verifier(workers=args.slots) as v:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        srv = uvicorn.Server(
            uvicorn.Config(make_app(v, tasks), host="127.0.0.1", port=port, log_level="warning")
        )
        threading.Thread(target=srv.run, daemon=True).start()
        while not srv.started:
            time.sleep(0.05)
        url = f"http://127.0.0.1:{port}/verify"
        client = httpx.Client(timeout=600)

        def post(batch: list[dict[str, str]]) -> int:
            r = client.post(url, json={"solutions": batch})
            r.raise_for_status()
            return sum(1 for x in r.json()["verdicts"] if x["outcome"] == "pass")

        v.verify_many(pairs[:8])  # warm both paths before timing
        post(batches[0])
        seconds = {"lib": 0.0, "http": 0.0}
        passed = {"lib": 0, "http": 0}
        for _ in range(args.reps):
            t = time.perf_counter()
            passed["lib"] += sum(1 for x in v.verify_many(pairs) if x.outcome is Outcome.PASS)
            seconds["lib"] += time.perf_counter() - t
            t = time.perf_counter()
            with ThreadPoolExecutor(args.clients) as ex:
                passed["http"] += sum(ex.map(post, batches))
            seconds["http"] += time.perf_counter() - t
        srv.should_exit = True
    n = len(pairs) * args.reps
    table = Table(title=f"HumanEval reference solutions x {args.reps}, {v.pool.size} slots")
    for col in ("path", "passed", "solutions/s"):
        table.add_column(col)
    table.add_row("in-process verify_many", f"{passed['lib']}/{n}", f"{n / seconds['lib']:.1f}")
    table.add_row(
        f"HTTP /verify ({args.batch} per request, {args.clients} clients)",
        f"{passed['http']}/{n}",
        f"{n / seconds['http']:.1f}",
    )
    Console().print(table)
    print(f"HTTP / in-process throughput: {seconds['lib'] / seconds['http']:.2f}")


if __name__ == "__main__":
    main()
