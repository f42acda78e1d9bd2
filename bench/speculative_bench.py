"""Benchmark speculative decoding: the 1.5B alone, and with the 0.5B as its draft.

The 0.5B shares the 1.5B's tokenizer, so llama-server can let it propose a few
tokens that the 1.5B then checks in one batch (``--model-draft``): when most are
accepted, the 1.5B reads its weights once for several tokens. On a CPU the
draft's own decoding is not free, so whether it pays is measured, not assumed.

Each configuration gets a server of its own (``bench/served.py``: the shared
server's code in a private state folder), warmed once, then asked the same
prompts (small coding tasks, the factory's kind of text) at the factory's
sampling (temperature 0.2, seed 0), one sequence at a time, each up to
``--tokens`` tokens. The figure is the decoding speed from the server's own
counts (``timings.predicted_n`` over ``predicted_ms``, summed over the prompts),
with the draft's acceptance where there is a draft; the median over ``--rounds``.
The target: the draft at 1.5x or more the 1.5B's plain decoding.

Usage: python -m bench.speculative_bench [--draft-max 4 8 16] [--tokens 256] [--rounds 2] [--out F]

Not a test: the numbers depend on the machine and on what else runs on it.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any, Final

import httpx

from bench.served import client, emit, plan, private_tmp
from devfactory.models.local_server import LocalServer
from devfactory.models.packaged import CODER, SMALL, ensure_model_file
from devfactory.settings import Settings

TASKS: Final = (
    "Write a Python function `slugify(text: str) -> str` that lowercases the text, "
    "replaces runs of non-alphanumeric characters with one hyphen and strips hyphens "
    "from both ends. Reply with one code block.",
    "Write a Python command-line program that reads a CSV file named on the command "
    "line and prints the sum of its `amount` column. Use argparse and csv. Reply with "
    "one code block.",
    "Write pytest tests for a function `roman(n: int) -> str` that converts 1..3999 to "
    "Roman numerals and raises ValueError outside that range. Reply with one code block.",
    "Write a FastAPI app with an in-memory list of notes: GET /notes lists them, POST "
    "/notes adds one from a JSON body with a `text` field and answers 201. Reply with "
    "one code block.",
)
"""The prompts, the same in every configuration and round."""


def complete(http: httpx.Client, prompt: str, tokens: int) -> dict[str, Any]:
    """Ask for up to ``tokens`` tokens at the factory's sampling; return the server's timings."""
    reply = http.post(
        "http://llama-server/v1/chat/completions",
        json={
            "messages": [{"role": "user", "content": prompt}],
            "max_tokens": tokens,
            "temperature": 0.2,
            "seed": 0,
            "cache_prompt": False,
        },
    )
    reply.raise_for_status()
    return dict(reply.json()["timings"])


def one_round(server: LocalServer, tokens: int) -> dict[str, float]:
    """Ask every task once, in turn; return the round's decoding speed and acceptance."""
    decoded, decode_ms, drafted, accepted = 0, 0.0, 0, 0
    started = time.perf_counter()
    with client(server) as http:
        for task in TASKS:
            timings = complete(http, task, tokens)
            decoded += int(timings["predicted_n"])
            decode_ms += float(timings["predicted_ms"])
            drafted += int(timings.get("draft_n") or 0)
            accepted += int(timings.get("draft_n_accepted") or 0)
    wall = time.perf_counter() - started
    return {
        "tokens": decoded,
        "decode_tokens_per_s": round(decoded / (decode_ms / 1000), 2),
        "wall_tokens_per_s": round(decoded / wall, 2),
        "draft_acceptance": round(accepted / drafted, 3) if drafted else 0.0,
    }


def configuration(
    settings: Settings, name: str, draft: Path | None, draft_max: int, tokens: int, rounds: int
) -> dict[str, Any]:
    """Measure one server configuration: its own server, warmed, then ``rounds`` rounds."""
    model = ensure_model_file(settings.storage.data_dir, SMALL if name == "0.5B" else CODER)
    server_plan = dataclasses.replace(
        plan(settings, model, 1), draft=draft, draft_max=draft_max if draft else 0
    )
    server = LocalServer(server_plan)
    try:
        server.ensure()
        with client(server) as http:
            complete(http, TASKS[0], 8)  # the weights are read once before timing
        measured = []
        for number in range(rounds):
            measured.append(one_round(server, tokens))
            print(f"{name} round {number + 1}: {measured[-1]}", flush=True)
    finally:
        server.stop()
    return {
        "model": model.name,
        "draft": draft.name if draft else None,
        "draft_max": draft_max if draft else None,
        "decode_tokens_per_s": statistics.median(r["decode_tokens_per_s"] for r in measured),
        "wall_tokens_per_s": statistics.median(r["wall_tokens_per_s"] for r in measured),
        "draft_acceptance": statistics.median(r["draft_acceptance"] for r in measured),
        "tokens": measured[0]["tokens"],
        "samples": [r["decode_tokens_per_s"] for r in measured],
    }


def measure(settings: Settings, draft_maxes: list[int], tokens: int, rounds: int) -> dict[str, Any]:
    """Measure the 0.5B, the 1.5B, and the 1.5B with the 0.5B drafting ``draft_maxes`` tokens."""
    draft = ensure_model_file(settings.storage.data_dir, SMALL)
    found = {
        "0.5B": configuration(settings, "0.5B", None, 0, tokens, rounds),
        "1.5B": configuration(settings, "1.5B", None, 0, tokens, rounds),
    }
    for most in draft_maxes:
        found[f"1.5B+draft{most}"] = configuration(settings, "1.5B", draft, most, tokens, rounds)
    plain = found["1.5B"]["decode_tokens_per_s"]
    return {
        "threads": plan(settings, draft, 1).threads,
        "tokens_per_task": tokens,
        "tasks": len(TASKS),
        "rounds": rounds,
        "configurations": found,
        "speedup_over_plain_1_5b": {
            key: round(got["decode_tokens_per_s"] / plain, 2) for key, got in found.items()
        },
    }


def main() -> None:
    """Run the benchmark and print (and optionally save) its figures."""
    parser = argparse.ArgumentParser(prog="python -m bench.speculative_bench")
    parser.add_argument("--draft-max", type=int, nargs="+", default=[4, 8, 16])
    parser.add_argument("--tokens", type=int, default=256)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="dfs-", dir="/tmp") as tmp:
        private_tmp(Path(tmp))
        result = measure(Settings(), args.draft_max, args.tokens, args.rounds)
    emit(result, args.out)


if __name__ == "__main__":
    main()
