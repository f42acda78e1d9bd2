"""Benchmark the shared llama-server's decoding at 1, 2 and 4 sequences at once.

A small model on a CPU is bound by reading its weights for every token; sequences
decoded in one batch share that read. This measures how much: the benchmark starts
its own server (``bench/served.py``: the shared server's code in a private state
folder, so it disturbs no server in use) with as many slots as the most parallel
round, then sends rounds of 1, 2 and 4 requests at once, the same prompts (a round
of n the first n), the same seed, each decoding exactly ``--tokens`` tokens.

The figure is the aggregate decoding speed of a round, from the server's own
counts: the tokens the sequences decoded over the longest of their decoding times
(``timings.predicted_n`` and ``predicted_ms``; the sequences decode side by side,
so the longest spans them all). The wall-clock speed (the tokens over the round's
wall time, prompts included) is reported beside it. Each is the median of
``--rounds``; the target is on 4 sequences over 1 (>= 1.8).

Usage: python -m bench.decode_bench [--parallel 1 2 4] [--tokens 64] [--rounds 3] [--out F]

Not a test: the numbers depend on the machine and on what else runs on it.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from bench.served import PROMPTS, client, emit, generate, plan, private_tmp
from devfactory.models.local_server import LocalServer
from devfactory.models.packaged import ensure_model_file
from devfactory.settings import Settings


def aggregate(timings: list[dict[str, Any]], wall_s: float) -> dict[str, float]:
    """Summarise one round: the tokens decoded, over the decoding span and over the wall time."""
    tokens = sum(int(t["predicted_n"]) for t in timings)
    span_s = max(float(t["predicted_ms"]) for t in timings) / 1000
    return {
        "sequences": len(timings),
        "tokens": tokens,
        "decode_tokens_per_s": round(tokens / span_s, 2),
        "wall_tokens_per_s": round(tokens / wall_s, 2),
    }


def summary(rounds: list[dict[str, float]]) -> dict[str, Any]:
    """Return the median of each speed over ``rounds`` of one parallelism, and the samples."""
    return {
        "sequences": rounds[0]["sequences"],
        "tokens": rounds[0]["tokens"],
        "decode_tokens_per_s": round(
            statistics.median(r["decode_tokens_per_s"] for r in rounds), 2
        ),
        "wall_tokens_per_s": round(statistics.median(r["wall_tokens_per_s"] for r in rounds), 2),
        "samples": [r["decode_tokens_per_s"] for r in rounds],
    }


def one_round(server: LocalServer, sequences: int, tokens: int, seed: int) -> dict[str, float]:
    """Send ``sequences`` requests at once; return the round's aggregate."""
    with client(server) as http, ThreadPoolExecutor(sequences) as pool:
        started = time.perf_counter()
        timings = list(pool.map(lambda p: generate(http, p, tokens, seed), PROMPTS[:sequences]))
        wall = time.perf_counter() - started
    return aggregate(timings, wall)


def measure(settings: Settings, parallel: list[int], tokens: int, rounds: int) -> dict[str, Any]:
    """Start the benchmark's server, warm it, and time ``rounds`` rounds of each parallelism."""
    model = ensure_model_file(settings.storage.data_dir)
    server = LocalServer(plan(settings, model, max(parallel)))
    try:
        started = time.perf_counter()
        endpoint = server.ensure()
        start_s = time.perf_counter() - started
        with client(server) as http:
            generate(http, PROMPTS[0], 4)  # warm: the weights are read once
        by_parallel: dict[str, list[dict[str, float]]] = {str(n): [] for n in parallel}
        for _ in range(rounds):  # the parallelisms take turns: a drift of load hits them all
            for n in parallel:
                by_parallel[str(n)].append(one_round(server, n, tokens, seed=0))
                print(f"{n} sequence(s): {by_parallel[str(n)][-1]}", flush=True)
    finally:
        server.stop()
    result: dict[str, Any] = {
        "server": f"the benchmark's own (private state folder), {endpoint.slots} slots",
        "threads": server.plan.threads,
        "server_start_s": round(start_s, 2),
        "tokens_per_sequence": tokens,
        "rounds": rounds,
        "by_parallel": {n: summary(r) for n, r in by_parallel.items()},
    }
    result["ratios"] = ratios(result["by_parallel"])
    return result


def ratios(by_parallel: dict[str, dict[str, Any]]) -> dict[str, float]:
    """Return each parallelism's aggregate decoding over that of one sequence."""
    one = by_parallel.get("1")
    if not one:
        return {}
    base = one["decode_tokens_per_s"]
    return {n: round(got["decode_tokens_per_s"] / base, 2) for n, got in by_parallel.items()}


def main() -> None:
    """Run the benchmark and print (and optionally save) its figures."""
    parser = argparse.ArgumentParser(prog="python -m bench.decode_bench")
    parser.add_argument("--parallel", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--tokens", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    if max(args.parallel) > len(PROMPTS):
        parser.error(f"at most {len(PROMPTS)} sequences at once")
    with tempfile.TemporaryDirectory(prefix="dfb-", dir="/tmp") as tmp:
        private_tmp(Path(tmp))
        settings = Settings()
        result = measure(settings, args.parallel, args.tokens, args.rounds)
    emit(result, args.out)


if __name__ == "__main__":
    main()
