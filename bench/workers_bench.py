"""Benchmark 1 and 4 workers sharing one model server: runs a minute, and their memory.

Each ``devfactory worker`` runs mvp runs with scripted stages (``models``, named by
``DEVFACTORY_MODELS_FACTORY``), and each stage's report also makes one real call of
the embedded model on the benchmark's own server (``bench/served.py``: the shared
server's code in a private state folder), decoding exactly ``--tokens`` tokens. So
the runs a minute measure what several processes gain from one server decoding
their calls side by side; the target is on 4 workers over 1 (>= 1.6). The tokens
the server decoded in each round come from its own counter (``/metrics``).

While the 4 workers run, the memory of each worker and of the server is sampled as
PSS (``memory_full_info().pss``: the weights are memory-mapped, and RSS would count
their shared pages once per process), with each process's PSS of the model file
(``/proc/<pid>/smaps``) beside it: one copy of the weights, the server's, and none
in the workers. (The server's PSS of the file is not the whole copy: llama.cpp may
repack weights into its own buffers for the CPU, which count in its PSS, not the
file's.) The sample kept is the one with the largest total.

Usage: python -m bench.workers_bench [--runs 6] [--tokens 64] [--out F]

Not a test: the numbers depend on the machine and on what else runs on it.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Final

import psutil

from bench.served import (
    MODEL_ENV,
    PROMPTS,
    SLOTS_ENV,
    client,
    emit,
    generate,
    mapped_pss_kib,
    plan,
    private_tmp,
    server_of,
)
from bench.service_bench import environment, runs_per_minute
from devfactory.factory.facade import Factory
from devfactory.models.local_server import LocalServer
from devfactory.models.packaged import ensure_model_file
from devfactory.settings import Settings
from tests.fakes import Call, ScriptedModels, always_good

TOKENS_ENV: Final = "DEVFACTORY_BENCH_TOKENS"
"""How many tokens each stage's real call decodes, for the workers."""
WORKERS: Final = (1, 4)
SAMPLE_EVERY_S: Final = 2.0
"""How often the processes' memory is read (reading smaps costs CPU)."""
MIB: Final = 1024


def models() -> ScriptedModels:
    """Return the workers' models: scripted stages, each report after one real served call."""
    settings = Settings()
    http = client(server_of(settings))
    tokens = int(os.environ.get(TOKENS_ENV, "64"))
    lock = threading.Lock()
    made = [0]

    def script(call: Call) -> str:
        if call.kind == "report":
            with lock:
                made[0] += 1
                prompt = PROMPTS[made[0] % len(PROMPTS)]
            generate(http, prompt, tokens)
        return always_good(call)

    return ScriptedModels(script)


def server_tokens(server: LocalServer) -> float:
    """Return how many tokens the server decoded since it started (its own counter)."""
    with client(server, timeout_s=10) as http:
        text = http.get("http://llama-server/metrics").text
    for line in text.splitlines():
        name, _, value = line.partition(" ")
        if name == "llamacpp:tokens_predicted_total":
            return float(value)
    raise SystemExit("the server's /metrics has no tokens_predicted_total")


def memory_of(pid: int) -> dict[str, float]:
    """Return one process's PSS and its PSS of the model file, in MiB."""
    pss = psutil.Process(pid).memory_full_info().pss / (1 << 20)
    weights = mapped_pss_kib(Path(f"/proc/{pid}/smaps").read_text()) / MIB
    return {"pss_mib": round(pss, 1), "weights_pss_mib": round(weights, 1)}


class MemoryWatch:
    """Keep the sample of the workers' and the server's memory with the largest total PSS."""

    def __init__(self, server_pid: int) -> None:
        self.server_pid = server_pid
        self.best: dict[str, Any] = {}
        self._last = 0.0

    def __call__(self, workers: list[int]) -> None:
        """Sample the processes' memory, at most every ``SAMPLE_EVERY_S``."""
        now = time.monotonic()
        if now - self._last < SAMPLE_EVERY_S:
            return
        self._last = now
        with contextlib.suppress(psutil.Error, OSError):
            sample = memory_sample(memory_of(self.server_pid), [memory_of(pid) for pid in workers])
            if sample["total_pss_mib"] > self.best.get("total_pss_mib", -1.0):
                self.best = sample


def memory_sample(server: dict[str, float], workers: list[dict[str, float]]) -> dict[str, Any]:
    """Summarise one reading: the server's, each worker's and the total PSS, and the weights'."""
    every = [server, *workers]
    return {
        "server": server,
        "workers": workers,
        "total_pss_mib": round(sum(p["pss_mib"] for p in every), 1),
        "weights_pss_mib": round(sum(p["weights_pss_mib"] for p in every), 1),
        "workers_weights_pss_mib": round(sum(p["weights_pss_mib"] for p in workers), 1),
    }


def main() -> None:
    """Run the benchmark and print (and optionally save) its figures."""
    parser = argparse.ArgumentParser(prog="python -m bench.workers_bench")
    parser.add_argument("--runs", type=int, default=6)
    parser.add_argument("--tokens", type=int, default=64)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    settings = Settings()
    model = ensure_model_file(settings.storage.data_dir)
    slots = max(WORKERS)
    with tempfile.TemporaryDirectory(prefix="dfw-", dir="/tmp") as tmp:
        tmp_env = private_tmp(Path(tmp) / "t")
        data = Path(tmp) / "data"
        env = environment(data)
        env.update(tmp_env)
        env.update({MODEL_ENV: str(model), SLOTS_ENV: str(slots), TOKENS_ENV: str(args.tokens)})
        env["DEVFACTORY_MODELS_FACTORY"] = "bench.workers_bench:models"
        env["DEVFACTORY_EMBEDDED_THREADS"] = str(settings.serving.embedded_threads)
        server = LocalServer(plan(settings, model, slots))
        endpoint = server.ensure()  # this process's lease keeps it up between rounds
        result: dict[str, Any] = {
            "server": f"the benchmark's own (private state folder), {endpoint.slots} slots",
            "threads": server.plan.threads,
            "pipeline": "mvp, scripted stages, one real call per stage's report",
            "tokens_per_call": args.tokens,
            "runs_per_round": args.runs,
        }
        try:
            os.environ.update({k: v for k, v in env.items() if k.startswith("DEVFACTORY_")})
            with Factory(Settings(data_dir=data)) as factory:
                env["DATABASE_URL"] = factory.database.owner_dsn
                rates, decoded = {}, {}
                watch = MemoryWatch(endpoint.pid)
                for workers in WORKERS:
                    before = server_tokens(server)
                    hook = watch if workers == max(WORKERS) else None
                    rate = runs_per_minute(factory, env, workers, args.runs, watch=hook)
                    rates[str(workers)] = round(rate, 2)
                    decoded[str(workers)] = int(server_tokens(server) - before)
                    print(f"{workers} worker(s): {rates[str(workers)]} runs/min", flush=True)
        finally:
            server.stop()
    result["runs_per_minute"] = rates
    result["tokens_decoded"] = decoded
    result["ratio_4_to_1"] = round(rates["4"] / rates["1"], 2)
    result["memory_4_workers"] = {
        **watch.best,
        "model_file_mib": round(model.stat().st_size / (1 << 20), 1),
    }
    emit(result, args.out)


if __name__ == "__main__":
    main()
