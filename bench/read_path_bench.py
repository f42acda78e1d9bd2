"""Benchmark the API's read path as a ratio to the framework's floor.

``GET /runs/{id}`` (one finished scripted mvp run) against ``GET /health`` (it
reads nothing, on the event loop: what FastAPI, uvicorn and the edge's middleware cost) on one
``devfactory serve --workers N``, in the same run, with the same clients: each
client holds one keep-alive connection for the whole benchmark, and rounds of
the two routes alternate (ABBA), so that whatever else the machine does weighs
on both. The figure is the ratio of their throughputs; beside it, each route's
latency percentiles and the CPU the server's processes (the supervisor and its
workers) spent per request, read from their CPU times before and after each
round, and Postgres's own.

The clients run in this process and share the cores with the server and
Postgres: ``client_cpu_ms`` says how much of the machine they took, so that a
floor set by the clients rather than the server is seen as such.

After its first read the finished run is served as the API process kept it
(``api/finished.py``); ``--kept 0`` turns that off, so that every request reads
and renders the run (what a first read, or a running run's read, costs).

Usage: python -m bench.read_path_bench [--workers 2] [--clients 50] [--requests 1000]
[--rounds 3] [--kept N] [--out bench/read_path.json]. Printed, and written to ``--out`` as JSON.

Not a test: the numbers depend on the machine and on what else runs on it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx
import psutil

from bench.service_bench import REQUIREMENT, environment, free_port, quantile, timed
from devfactory.factory.facade import Factory
from devfactory.factory.intake import StartRequest
from devfactory.settings import Settings
from devfactory.users import UserStore

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
ROUTES = ("health", "get_run")  # the floor first: the order of the first round (ABBA after it)


@dataclass(frozen=True)
class Round:
    """One timed round of one route: every call's latency, the wall time, CPU spent."""

    latencies_s: tuple[float, ...]
    wall_s: float
    server_cpu_s: float
    database_cpu_s: float
    client_cpu_s: float


@dataclass(frozen=True)
class RouteFigures:
    """One route's figures over all its rounds (CPU in milliseconds per request)."""

    requests: int
    requests_per_s: float
    p50_ms: float
    p90_ms: float
    p95_ms: float
    p99_ms: float
    server_cpu_ms: float
    database_cpu_ms: float
    client_cpu_ms: float


def summarise(rounds: Sequence[Round]) -> RouteFigures:
    """Pool a route's rounds: requests over the summed wall time, percentiles over every call."""
    latencies = [s for r in rounds for s in r.latencies_s]
    if not latencies:
        raise ValueError("no request was timed")
    requests = len(latencies)
    wall = sum(r.wall_s for r in rounds)

    def per_request(cpu: Iterable[float]) -> float:
        return round(1000 * sum(cpu) / requests, 3)

    return RouteFigures(
        requests=requests,
        requests_per_s=round(requests / wall, 1),
        p50_ms=round(1000 * quantile(latencies, 0.50), 1),
        p90_ms=round(1000 * quantile(latencies, 0.90), 1),
        p95_ms=round(1000 * quantile(latencies, 0.95), 1),
        p99_ms=round(1000 * quantile(latencies, 0.99), 1),
        server_cpu_ms=per_request(r.server_cpu_s for r in rounds),
        database_cpu_ms=per_request(r.database_cpu_s for r in rounds),
        client_cpu_ms=per_request(r.client_cpu_s for r in rounds),
    )


def compared(run: RouteFigures, floor: RouteFigures) -> dict[str, float | None]:
    """Return the read path over the floor: throughput, p50 and server CPU per request."""

    def over(a: float, b: float) -> float | None:
        return round(a / b, 3) if b else None

    return {
        "throughput_ratio": over(run.requests_per_s, floor.requests_per_s),
        "p50_ratio": over(run.p50_ms, floor.p50_ms),
        "server_cpu_ratio": over(run.server_cpu_ms, floor.server_cpu_ms),
    }


def order(rounds: int) -> list[str]:
    """Return the routes in the order they are timed: ABBA ABBA ..., ``rounds`` of each."""
    found: list[str] = []
    for n in range(rounds):
        found += list(ROUTES) if n % 2 == 0 else list(reversed(ROUTES))
    return found


def report(result: dict[str, Any]) -> str:
    """Render the benchmark's result as a few lines of text."""
    lines = [
        f"serve --workers {result['workers']}, {result['clients']} clients, "
        f"{result['rounds']} round(s) of {result['requests_per_round']} requests per route, "
        f"finished runs kept: {result.get('finished_runs_kept', '-')}"
    ]
    for name, path in (("health", "GET /health"), ("get_run", "GET /runs/{id}")):
        f = result[name]
        lines.append(
            f"{path:<15} {f['requests_per_s']:>8,.1f} req/s  p50 {f['p50_ms']} ms  "
            f"p95 {f['p95_ms']} ms  p99 {f['p99_ms']} ms  server CPU {f['server_cpu_ms']} ms/req  "
            f"Postgres {f['database_cpu_ms']} ms/req  clients {f['client_cpu_ms']} ms/req"
        )
    ratio = result["ratio"]
    shown = {k: ("-" if v is None else f"{v:.2f}x") for k, v in ratio.items()}
    lines.append(
        f"GET /runs/{{id}} over GET /health: throughput {shown['throughput_ratio']}, "
        f"p50 {shown['p50_ratio']}, server CPU per request {shown['server_cpu_ratio']}"
    )
    return "\n".join(lines)


Snapshot = dict[int, float]  # pid -> the CPU seconds it has used


def cpu_snapshot(procs: Iterable[psutil.Process]) -> Snapshot:
    """Return each process's user and system CPU seconds so far (gone ones are left out)."""
    found: Snapshot = {}
    for proc in procs:
        try:
            times = proc.cpu_times()
        except psutil.Error:
            continue
        found[proc.pid] = times.user + times.system
    return found


def cpu_spent(before: Snapshot, after: Snapshot) -> float:
    """Return the CPU seconds spent between two snapshots.

    A process that appeared in between (a new database backend) counts all it
    used; one that ended in between is not counted, as its last figures are lost.
    """
    return sum(used - before.get(pid, 0.0) for pid, used in after.items())


def server_processes(server: psutil.Process) -> list[psutil.Process]:
    """Return the server's supervisor and its worker processes (not their helpers' children)."""
    return [server, *server.children()]


def database_processes(pgdata: Path) -> list[psutil.Process]:
    """Return the embedded Postgres's postmaster and its backends, as they are now.

    None when the database is not the embedded one (``DATABASE_URL``): its CPU is
    then not on this machine to read, and counts 0.
    """
    pid_file = pgdata / "postmaster.pid"
    if not pid_file.exists():
        return []
    postmaster = psutil.Process(int(pid_file.read_text().split()[0]))
    return [postmaster, *postmaster.children(recursive=True)]


async def measure(
    base: str,
    key: str,
    paths: dict[str, str],
    clients: int,
    requests: int,
    rounds: int,
    counters: dict[str, Callable[[], Snapshot]],
) -> dict[str, list[Round]]:
    """Time the routes in alternating rounds with one set of clients, connected once."""
    headers = {"Authorization": f"Bearer {key}"}
    limits = httpx.Limits(max_connections=1)
    https = [
        httpx.AsyncClient(base_url=base, headers=headers, timeout=120, limits=limits)
        for _ in range(clients)
    ]
    found: dict[str, list[Round]] = {name: [] for name in paths}
    try:
        for name in paths:  # warm: every connection open and used once
            await timed(https, paths[name], clients * 4)
        for name in order(rounds):
            before = {what: read() for what, read in counters.items()}
            latencies, wall = await timed(https, paths[name], requests)
            spent = {what: cpu_spent(before[what], read()) for what, read in counters.items()}
            found[name].append(
                Round(tuple(latencies), wall, spent["server"], spent["database"], spent["client"])
            )
            print(f"  {name}: {len(latencies) / wall:,.1f} req/s", flush=True)
    finally:
        await asyncio.gather(*(http.aclose() for http in https))
    return found


def finished_run(factory: Factory, env: dict[str, str]) -> str:
    """Queue one scripted mvp run and drive it to its end with one worker; return its id."""
    outs = Path(env["DEVFACTORY_DATA_DIR"]) / "out"
    run_id: str = factory.submit(
        StartRequest(REQUIREMENT.format(n="read"), out_dir=outs / "read")
    ).run_id
    worker = subprocess.run(
        [str(BIN / "devfactory"), "worker", "--max-runs", "1", "--no-watchdog"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        timeout=600,
    )
    status = factory.get(run_id).status
    if worker.returncode != 0 or status != "COMPLETED":
        raise SystemExit(f"the run to read did not complete ({status}, exit {worker.returncode})")
    return run_id


def wait_serving(base: str, server: subprocess.Popen[bytes], workers: int, log: Path) -> None:
    """Wait until ``/health`` answers and every worker process is up."""
    supervisor = psutil.Process(server.pid)
    deadline = time.monotonic() + 300
    while True:
        if server.poll() is not None:
            raise SystemExit(f"the API stopped:\n{log.read_text(errors='replace')[-3000:]}")
        try:
            up = httpx.get(f"{base}/health", timeout=2).status_code == 200
        except httpx.HTTPError:
            up = False
        children = supervisor.children() if workers > 1 else []
        if up and len(children) >= (workers if workers > 1 else 0):
            return
        if time.monotonic() > deadline:
            raise SystemExit("the API did not start")
        time.sleep(0.3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2, help="serve's processes")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--requests", type=int, default=1000, help="per round and route")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of each route")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "read_path.json")
    parser.add_argument(
        "--kept",
        type=int,
        default=None,
        help="api_finished_runs_kept for the server (0: the run is read and rendered every "
        "time; default: the setting's default, so it is served as kept after its first read)",
    )
    args = parser.parse_args()
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="read-path-bench-") as tmp:
        data = Path(tmp) / "data"
        env = environment(data)
        os.environ.update({k: v for k, v in env.items() if k.startswith("DEVFACTORY_")})
        settings = Settings(data_dir=data)
        with Factory(settings) as factory:
            env["DATABASE_URL"] = factory.database.owner_dsn  # the processes below share it
            if args.kept is not None:
                env["DEVFACTORY_API_FINISHED_RUNS_KEPT"] = str(args.kept)
            run_id = finished_run(factory, env)
            key = UserStore.of(settings).create_key("bench", "admin")[1]
            port = free_port()
            base = f"http://127.0.0.1:{port}"
            log = Path(tmp) / "serve.log"
            with log.open("wb") as sink:
                server = subprocess.Popen(
                    [str(BIN / "devfactory"), "serve", "--port", str(port)]
                    + ["--workers", str(args.workers)],
                    cwd=ROOT,
                    env=env,
                    stdout=sink,
                    stderr=subprocess.STDOUT,
                )
            try:
                wait_serving(base, server, args.workers, log)
                supervisor = psutil.Process(server.pid)  # `devfactory serve` execs the server
                me = psutil.Process()
                counters = {
                    "server": lambda: cpu_snapshot(server_processes(supervisor)),
                    "database": lambda: cpu_snapshot(database_processes(data / "pg")),
                    "client": lambda: cpu_snapshot([me]),
                }
                paths = {"health": "/health", "get_run": f"/runs/{run_id}"}
                rounds = asyncio.run(
                    measure(base, key, paths, args.clients, args.requests, args.rounds, counters)
                )
            finally:
                server.terminate()
                server.wait(timeout=60)
    health, get_run = summarise(rounds["health"]), summarise(rounds["get_run"])
    result: dict[str, Any] = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "load_average_at_start": round(load, 2),
        "model": "scripted (instant)",
        "workers": args.workers,
        "clients": args.clients,
        "rounds": args.rounds,
        "requests_per_round": args.clients * max(1, args.requests // args.clients),
        "finished_runs_kept": (
            args.kept
            if args.kept is not None
            else Settings(data_dir=data).service.api_finished_runs_kept
        ),
        "health": asdict(health),
        "get_run": asdict(get_run),
        "ratio": compared(get_run, health),
    }
    print(report(result))
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
