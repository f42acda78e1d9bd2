"""Benchmark the embedded model as it is served: how fast it reads a prompt and writes a reply.

Three figures explain how long a run on the embedded model takes, each from the
server's own counts (``timings``) of one request:

- prompt: tokens per second evaluating a long prompt (a stage's context);
- plain: tokens per second writing free text (a drafted file);
- grammar: tokens per second writing under a JSON schema (the build plan and
  every report are decoded this way).

Each is the median of ``--runs`` requests with no prompt cache reused. The server
is the benchmark's own (``bench/served.py``: the shared server's code in a private
state folder), with one slot and the factory's threads (``embedded_threads``).

A fourth compares the factory's wrapper with the server itself: the same chat
request (``ASK``), the same sampling, sent through ``ServerChatModel.invoke``
(LangChain's call path, the factory's transport reading each reply whole) and
posted straight to the server, taking turns; the figure is the wrapper's speed
over the raw one's, wall clock, tokens written over the call's time (target >= 0.95).

Usage: python -m bench.model_bench [--runs 3] [--out FILE] [--wrapper-only]

Not a test: the numbers depend on the machine and on what else runs on it.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from bench.served import client, emit, plan, private_tmp
from devfactory.graph.planning.build_plan import PLAN_SCHEMA
from devfactory.models.local_server import LocalServer
from devfactory.models.packaged import SMALL, ensure_model_file
from devfactory.models.server_chat import ServerChatModel, build_served
from devfactory.settings import Settings

ASK = (
    "Write the build plan of a command-line tool run as `python -m greet NAME [--shout]` "
    "as one JSON object: kind, language, summary, modules, commands, files, dependencies, "
    "test_command, entry_point."
)
CONTEXT = "The quick brown fox jumps over the lazy dog while the factory plans a tool. " * 150
URL = "http://llama-server/v1/chat/completions"


def timed(http: httpx.Client, body: dict[str, Any]) -> dict[str, Any]:
    """Post one chat request (no prompt cache) and return the server's ``timings`` of it."""
    reply = http.post(URL, json={**body, "cache_prompt": False, "temperature": 0.2, "seed": 0})
    reply.raise_for_status()
    return dict(reply.json()["timings"])


def measure(server: LocalServer, runs: int, out_tokens: int) -> dict[str, Any]:
    """Time prompt evaluation, plain decoding and decoding under the plan's JSON schema."""
    samples: dict[str, list[float]] = {"prompt": [], "plain": [], "grammar": []}
    ask = {"messages": [{"role": "user", "content": ASK}], "max_tokens": out_tokens}
    with client(server) as http:
        for _ in range(runs):
            read = timed(
                http, {"messages": [{"role": "user", "content": CONTEXT}], "max_tokens": 1}
            )
            samples["prompt"].append(float(read["prompt_per_second"]))
            samples["plain"].append(float(timed(http, ask)["predicted_per_second"]))
            shaped = timed(http, {**ask, "json_schema": PLAN_SCHEMA})
            samples["grammar"].append(float(shaped["predicted_per_second"]))
    return {
        "tokens_per_second": {k: round(statistics.median(v), 1) for k, v in samples.items()},
        "samples": {k: [round(x, 1) for x in v] for k, v in samples.items()},
        "out_tokens": out_tokens,
        "runs": runs,
    }


def wrapper_vs_raw(server: LocalServer, chat: ServerChatModel, runs: int) -> dict[str, Any]:
    """Time the same chat request through ``ServerChatModel`` and posted raw, in turns."""
    from langchain_core.messages import HumanMessage

    speeds: dict[str, list[float]] = {"wrapper": [], "raw": []}
    body = {
        "messages": [{"role": "user", "content": ASK}],
        "max_tokens": chat.max_completion_tokens,
        "temperature": chat.temperature,
        "seed": chat.seed,
        "repeat_penalty": chat.repeat_penalty,
        "cache_prompt": False,
    }
    with client(server) as http:
        for _ in range(runs):
            started = time.perf_counter()
            reply = chat.invoke([HumanMessage(ASK)], extra_body={"cache_prompt": False})
            written = (reply.usage_metadata or {}).get("output_tokens", 0)
            speeds["wrapper"].append(written / (time.perf_counter() - started))
            started = time.perf_counter()
            raw = http.post(URL, json=body)
            raw.raise_for_status()
            tokens = raw.json()["usage"]["completion_tokens"]
            speeds["raw"].append(tokens / (time.perf_counter() - started))
    wrapper, plain = (statistics.median(speeds[k]) for k in ("wrapper", "raw"))
    return {
        "wrapper_tokens_per_second": round(wrapper, 1),
        "raw_tokens_per_second": round(plain, 1),
        "ratio": round(wrapper / plain, 3),
        "runs": runs,
        "samples": {k: [round(x, 1) for x in v] for k, v in speeds.items()},
    }


def main() -> None:
    """Run the benchmark and print (and optionally save) its figures."""
    parser = argparse.ArgumentParser(prog="python -m bench.model_bench")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--out-tokens", type=int, default=300)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--wrapper-only", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="dfb-", dir="/tmp") as tmp:
        private_tmp(Path(tmp))
        settings = Settings()
        served = plan(settings, ensure_model_file(settings.storage.data_dir), 1)
        chat = build_served(
            served,
            max_tokens=args.out_tokens,
            temperature=0.2,
            timeout_s=settings.serving.model_call_timeout_s,
            repeat_penalty=SMALL.repeat_penalty,
        )
        try:
            with client(chat.server) as http:
                timed(http, {"messages": [{"role": "user", "content": "Hi"}], "max_tokens": 4})
            figures: dict[str, Any] = {"model": SMALL.name, "threads": served.threads}
            if not args.wrapper_only:
                figures.update(measure(chat.server, args.runs, args.out_tokens))
            figures["wrapper_vs_raw"] = wrapper_vs_raw(chat.server, chat, args.runs)
        finally:
            chat.server.stop()
    emit(figures, args.out)


if __name__ == "__main__":
    main()
