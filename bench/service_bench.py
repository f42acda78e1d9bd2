"""Benchmark the service: runs per minute by worker count, API latency, SSE delivery.

Three figures, with the scripted instant model (``tests.browser.models:scripted``), so
that they measure the factory's own overhead (Postgres, the checkpointer, the audit
log, the git workspace) and not a model:

- runs completed per minute by 1, 2 and 4 ``devfactory worker`` processes (``--workers``),
  each time on ``--runs`` fresh mvp runs queued at once (the ratio 4/1 is the figure that
  matters);
- ``GET /runs/{id}`` p50/p95 and requests per second under each of ``--clients`` (50 and
  200) concurrent clients of one `devfactory serve` process; ``GET /runs``,
  ``GET /pending`` and ``GET /health`` (the floor: it reads nothing) under the first;
- SSE delivery: from an event's insert in the feed to a client holding it, p50/p95.

Usage: python -m bench.service_bench [--runs 24] [--workers 1 2 4] [--clients 50 200]
[--requests 1000] [--out F]. The figures are printed and written to ``--out`` as JSON.

Not a test: the numbers depend on the machine and on what else runs on it.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import httpx
import psutil

from devfactory.factory.facade import Factory
from devfactory.factory.intake import StartRequest
from devfactory.settings import Settings
from devfactory.users import UserStore

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
REQUIREMENT = "A command-line tool that counts the words in a text file, number {n}"


def quantile(values: list[float], q: float) -> float:
    """Return the ``q`` quantile of ``values`` (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def environment(data: Path) -> dict[str, str]:
    """Return the service processes' environment: scripted models, no code run, no memory."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEVFACTORY_")}
    env.update(
        DEVFACTORY_DATA_DIR=str(data),
        DEVFACTORY_MODELS_FACTORY="tests.browser.models:scripted",
        DEVFACTORY_MEMORY_ENABLED="false",
        DEVFACTORY_RUN_CODE="false",
        DEVFACTORY_REVIEW_REQUIRED="false",
        DEVFACTORY_FACT_MEMORY="false",
        DEVFACTORY_WORKER_POLL_S="0.5",
        OLLAMA_HOST="http://127.0.0.1:9",
        PYTHONPATH=str(ROOT),
    )
    return env


def runs_per_minute(
    factory: Factory,
    env: dict[str, str],
    workers: int,
    runs: int,
    watch: Callable[[list[int]], None] | None = None,
) -> float:
    """Start ``workers`` workers, queue ``runs`` runs once they wait, time them to the end.

    The clock starts when the runs are queued, not when the processes start: a
    worker is a long-lived process, and its start-up is not the factory's throughput.
    ``watch``, if given, is called with the workers' pids at each look at the runs.
    """
    outs = Path(env["DEVFACTORY_DATA_DIR"]) / "out"
    procs = [
        subprocess.Popen(
            [str(BIN / "devfactory"), "worker", "--no-watchdog"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(workers)
    ]
    for proc in procs:  # each says so once it waits for runs
        assert proc.stderr is not None
        while "waiting for runs" not in (line := proc.stderr.readline()):
            if not line:
                raise SystemExit("a worker stopped before it was ready")
        # then its lines (one per run event) are read and dropped: a full pipe would stall it
        threading.Thread(target=collections.deque, args=(proc.stderr, 0), daemon=True).start()
    started = time.monotonic()
    ids = [
        factory.submit(
            StartRequest(REQUIREMENT.format(n=n), out_dir=outs / f"w{workers}-{n}")
        ).run_id
        for n in range(runs)
    ]
    while any(factory.get(i).status not in ("COMPLETED", "FAILED") for i in ids):
        if watch is not None:
            watch([proc.pid for proc in procs])
        time.sleep(0.2)
    seconds = time.monotonic() - started
    for proc in procs:
        proc.terminate()
    for proc in procs:
        proc.wait(timeout=120)
    failed = [i for i in ids if factory.get(i).status != "COMPLETED"]
    if failed:
        raise SystemExit(f"{len(failed)} run(s) did not complete: {failed[:3]}")
    return runs / (seconds / 60)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def timed(
    https: Sequence[httpx.AsyncClient], path: str, requests: int
) -> tuple[list[float], float]:
    """Send ``requests`` GET ``path`` over the clients, each its next when its last returns.

    Returns each call's latency and the wall time of them all.
    """
    found: list[float] = []
    per_client = max(1, requests // len(https))

    async def client(http: httpx.AsyncClient) -> None:
        for _ in range(per_client):
            started = time.perf_counter()
            response = await http.get(path)
            response.raise_for_status()
            found.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(client(http) for http in https))
    return found, time.perf_counter() - started


async def latencies(
    base: str, key: str, path: str, clients: int, requests: int
) -> tuple[list[float], float]:
    """Time ``requests`` GET ``path`` calls spread over ``clients`` concurrent clients.

    Returns each call's latency and the wall time of them all. Each client opens its
    connection before the clock starts, so that the figures are those of the service.
    """
    headers = {"Authorization": f"Bearer {key}"}
    limits = httpx.Limits(max_connections=1)
    https = [
        httpx.AsyncClient(base_url=base, headers=headers, timeout=120, limits=limits)
        for _ in range(clients)
    ]
    try:
        await asyncio.gather(*(http.get("/health") for http in https))  # connected
        return await timed(https, path, requests)
    finally:
        await asyncio.gather(*(http.aclose() for http in https))


def figures(timed: list[float], wall: float, clients: int, cpu_s: float) -> dict[str, Any]:
    """Summarise one latency round: p50, p95, requests per second and the server's CPU.

    ``server_cpu_ms`` is the API process's CPU time per request: on a busy machine,
    where the wall-clock figures suffer from what else runs, it still says what one
    request costs the service.
    """
    return {
        "clients": clients,
        "requests": len(timed),
        "p50_ms": round(1000 * statistics.median(timed), 1),
        "p95_ms": round(1000 * quantile(timed, 0.95), 1),
        "requests_per_s": round(len(timed) / wall, 1),
        "server_cpu_ms": round(1000 * cpu_s / len(timed), 2),
    }


def timed_round(
    server: psutil.Process, base: str, key: str, path: str, clients: int, requests: int
) -> dict[str, Any]:
    """Run one latency round against ``path`` and summarise it."""
    before = server.cpu_times()
    timed, wall = asyncio.run(latencies(base, key, path, clients, requests))
    after = server.cpu_times()
    cpu = (after.user - before.user) + (after.system - before.system)
    return figures(timed, wall, clients, cpu)


def sse_delivery(factory: Factory, base: str, key: str, env: dict[str, str]) -> list[float]:
    """Follow a new run's events live; return each event's delay from its insert to receipt."""
    outs = Path(env["DEVFACTORY_DATA_DIR"]) / "out"
    run_id = factory.submit(StartRequest(REQUIREMENT.format(n="sse"), out_dir=outs / "sse")).run_id
    received: dict[int, float] = {}

    def follow() -> None:
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}) as http:
            with http.stream("GET", f"/runs/{run_id}/events", timeout=300) as stream:
                for line in stream.iter_lines():
                    if line.startswith("id:"):
                        received[int(line[3:])] = time.time()
                    if line.startswith("data:") and '"run_finished"' in line:
                        return

    reader = threading.Thread(target=follow)
    reader.start()
    time.sleep(1.0)  # the stream is open before the run starts
    worker = subprocess.Popen(
        [str(BIN / "devfactory"), "worker", "--max-runs", "1", "--no-watchdog"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    reader.join(timeout=300)
    worker.wait(timeout=60)
    with factory.pool.connection() as conn:
        rows = conn.execute(
            "SELECT id, extract(epoch FROM at) AS at FROM devfactory_events WHERE run_id = %s",
            (run_id,),
        ).fetchall()
    inserted = {int(r["id"]): float(r["at"]) for r in rows}  # type: ignore[index]
    return [received[i] - inserted[i] for i in received if i in inserted and i > 0]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=24)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--clients", type=int, nargs="+", default=[50, 200])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "service.json")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="service-bench-") as tmp:
        data = Path(tmp) / "data"
        env = environment(data)
        os.environ.update({k: v for k, v in env.items() if k.startswith("DEVFACTORY_")})
        settings = Settings(data_dir=data)
        result: dict[str, Any] = {
            "machine": f"{platform.machine()}, {os.cpu_count()} cores",
            "model": "scripted (instant)",
            "pipeline": "mvp",
            "runs_per_round": args.runs,
        }
        with Factory(settings) as factory:
            env["DATABASE_URL"] = factory.database.owner_dsn
            rates = {}
            for workers in args.workers:
                rates[str(workers)] = round(runs_per_minute(factory, env, workers, args.runs), 1)
                print(f"{workers} worker(s): {rates[str(workers)]} runs/min", flush=True)
            result["runs_per_minute"] = rates
            if "4" in rates and "1" in rates:
                result["ratio_4_to_1"] = round(rates["4"] / rates["1"], 2)
            key = UserStore.of(settings).create_key("bench", "admin")[1]
            port = free_port()
            server = subprocess.Popen(
                [str(BIN / "devfactory"), "serve", "--port", str(port)],
                cwd=ROOT,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            base = f"http://127.0.0.1:{port}"
            try:
                deadline = time.monotonic() + 120
                while True:
                    try:
                        if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                            break
                    except httpx.HTTPError:
                        pass
                    if time.monotonic() > deadline:
                        raise SystemExit("the API did not start")
                    time.sleep(0.3)
                some_run = factory.list_runs(1)[0].run_id
                warm = httpx.get(  # the first request compiles the pipeline's graph
                    f"{base}/runs/{some_run}", headers={"Authorization": f"Bearer {key}"}
                )
                warm.raise_for_status()
                serving = psutil.Process(server.pid)  # `devfactory serve` execs the server
                by_clients = {}
                for clients in args.clients:
                    by_clients[str(clients)] = timed_round(
                        serving, base, key, f"/runs/{some_run}", clients, args.requests
                    )
                    print(f"GET /runs/{{id}}: {by_clients[str(clients)]}", flush=True)
                result["get_run"] = by_clients[str(args.clients[0])]  # the headline figure
                result["get_run_by_clients"] = by_clients
                paths = (("list_runs", "/runs"), ("pending", "/pending"), ("health", "/health"))
                for name, path in paths:  # /health: the floor, a route that reads nothing
                    result[name] = timed_round(
                        serving, base, key, path, args.clients[0], args.requests
                    )
                    print(f"GET {path}: {result[name]}", flush=True)
                delays = sse_delivery(factory, base, key, env)
                result["sse_delivery"] = {
                    "events": len(delays),
                    "p50_ms": round(1000 * statistics.median(delays), 1),
                    "p95_ms": round(1000 * quantile(delays, 0.95), 1),
                }
                print(f"SSE delivery: {result['sse_delivery']}", flush=True)
            finally:
                server.terminate()
                server.wait(timeout=30)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
