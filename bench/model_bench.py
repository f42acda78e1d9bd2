"""Benchmark the embedded model: how fast it reads a prompt and writes a reply.

Three figures explain how long a run on the embedded model takes:

- prompt: tokens per second evaluating a long prompt (a stage's context);
- plain: tokens per second writing free text (a drafted file);
- grammar: tokens per second writing under a JSON-schema grammar (the build plan and
  every report are decoded this way).

Each is the median of ``--runs`` measurements on a freshly reset context (no prefix
reused). Threads are the factory's own choice (``embedded_threads``).

A fourth compares the factory's wrapper with llama-cpp-python itself: the same
chat request (``ASK``), the same loaded weights and sampling, sent through
``EmbeddedChatModel.invoke`` (LangChain's call path, the deadline check on each
token) and straight to ``Llama.create_chat_completion``, taking turns; the
figure is the wrapper's decoding speed over the raw one's (target >= 0.95).

Usage: python -m bench.model_bench [--runs 3] [--out FILE] [--wrapper-only]

Not a test: the numbers depend on the machine and on what else runs on it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path
from typing import Any

from devfactory.graph.planning import PLAN_SCHEMA
from devfactory.models.embedded import MODEL_NAME, default_threads, json_schema_grammar
from devfactory.models.packaged import ensure_model_file
from devfactory.settings import Settings

ASK = (
    "Write the build plan of a command-line tool run as `python -m greet NAME [--shout]` "
    "as one JSON object: kind, language, summary, modules, commands, files, dependencies, "
    "test_command, entry_point."
)
CONTEXT = "The quick brown fox jumps over the lazy dog while the factory plans a tool. " * 150


def measure(runs: int, out_tokens: int) -> dict[str, Any]:
    """Load the model and time prompt evaluation, plain decoding and grammar decoding."""
    from llama_cpp import Llama
    from llama_cpp.llama_grammar import LlamaGrammar

    settings = Settings()
    threads = default_threads(settings.embedded_threads)
    llm = Llama(
        model_path=str(ensure_model_file(settings.data_dir)),
        n_ctx=settings.embedded_ctx,
        n_threads=threads,
        verbose=False,
        seed=0,
    )
    prompt = llm.tokenize(CONTEXT.encode())[:2000]
    grammar = LlamaGrammar.from_string(
        json_schema_grammar(json.dumps(PLAN_SCHEMA, sort_keys=True)), verbose=False
    )
    samples: dict[str, list[float]] = {"prompt": [], "plain": [], "grammar": []}
    for _ in range(runs):
        llm.reset()
        started = time.perf_counter()
        llm.eval(prompt)
        samples["prompt"].append(len(prompt) / (time.perf_counter() - started))
        for name, constraint in (("plain", None), ("grammar", grammar)):
            llm.reset()
            started = time.perf_counter()
            out = llm.create_chat_completion(
                messages=[{"role": "user", "content": ASK}],
                max_tokens=out_tokens,
                temperature=0.2,
                seed=0,
                grammar=constraint,
            )
            written = out["usage"]["completion_tokens"]
            samples[name].append(written / (time.perf_counter() - started))
    return {
        "model": MODEL_NAME,
        "threads": threads,
        "prompt_tokens": len(prompt),
        "out_tokens": out_tokens,
        "runs": runs,
        "tokens_per_second": {k: round(statistics.median(v), 1) for k, v in samples.items()},
        "samples": {k: [round(x, 1) for x in v] for k, v in samples.items()},
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
        "load_before": os.getloadavg()[0],
    }


def wrapper_vs_raw(runs: int, out_tokens: int) -> dict[str, Any]:
    """Time the same chat request through ``EmbeddedChatModel`` and raw llama.cpp, in turns."""
    from langchain_core.messages import HumanMessage

    from devfactory.models.embedded import build_embedded

    settings = Settings()
    model = build_embedded(
        settings.data_dir,
        max_tokens=out_tokens,
        temperature=0.2,
        n_ctx=settings.embedded_ctx,
        n_threads=settings.embedded_threads,
        timeout_s=settings.model_call_timeout_s,
    )
    assert model._handle is not None
    llm, _ = model._handle  # the very weights the wrapper uses
    speeds: dict[str, list[float]] = {"wrapper": [], "raw": []}
    for _ in range(runs):
        llm.reset()
        started = time.perf_counter()
        reply = model.invoke([HumanMessage(ASK)])
        written = (reply.usage_metadata or {}).get("output_tokens", 0)
        speeds["wrapper"].append(written / (time.perf_counter() - started))
        llm.reset()
        started = time.perf_counter()
        out = llm.create_chat_completion(
            messages=[{"role": "user", "content": ASK}],
            max_tokens=out_tokens,
            temperature=0.2,
            seed=0,
            repeat_penalty=model.repeat_penalty,
        )
        speeds["raw"].append(out["usage"]["completion_tokens"] / (time.perf_counter() - started))
    wrapper, raw = (statistics.median(speeds[k]) for k in ("wrapper", "raw"))
    return {
        "wrapper_tokens_per_second": round(wrapper, 1),
        "raw_tokens_per_second": round(raw, 1),
        "ratio": round(wrapper / raw, 3),
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
    figures = {} if args.wrapper_only else measure(args.runs, args.out_tokens)
    figures["wrapper_vs_raw"] = wrapper_vs_raw(args.runs, args.out_tokens)
    text = json.dumps(figures, indent=1)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
