"""Benchmark the factory's own cost per stage against raw LangGraph, side by side in one run.

With the scripted instant model (``tests.fakes.ScriptedModels``), a scripted mvp run
costs only what the factory itself does per stage: the checkpointer, the audit log,
the run's folder, memory. The reference is raw LangGraph on the same embedded
Postgres and the same ``PostgresSaver``: a parent graph of ``--stages`` compiled
subgraphs, each of ``--nodes`` trivial nodes. Both are timed alternately, run by run.

Figures, per stage (a run's wall time over its stages):

- ``factory_ms`` for each variant (``--variants``): ``memory`` (live memory and mem0
  facts, the defaults), ``no-memory`` (``memory_enabled=false``) and, where the
  factory has a fact queue, ``facts-queued`` (``fact_queue=8``, no budget caps: the
  extraction runs after the stage);
- ``memory_ms``: what the memory service's calls took (recall, mental model,
  retain, fact extraction), timed around each call;
- ``raw_ms`` and the ratio ``factory_ms / raw_ms`` (target: at most 2), and
  ``memory_ms`` against its target of 30 ms.

Usage: python -m bench.stage_bench [--runs 5] [--stages 5] [--nodes 4]
[--variants memory no-memory facts-queued] [--out F]. The figures are printed as a
table and written to ``--out`` as JSON (default ``bench/stage.json``).

Not a test: the numbers depend on the machine and on what else runs on it.
"""

from __future__ import annotations

import argparse
import json
import operator
import os
import platform
import statistics
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

from langgraph.checkpoint.postgres import PostgresSaver
from langgraph.graph import END, START, StateGraph
from typing_extensions import TypedDict

from devfactory.factory.facade import Factory
from devfactory.factory.intake import StartRequest
from devfactory.settings import FlatSettings, Settings
from tests.fakes import ScriptedModels

ROOT = Path(__file__).resolve().parents[1]
REQUIREMENT = "A command-line tool that counts the words in a text file, number {n}"
MEMORY_CALLS = ("recall", "mental_model", "retain_stage", "extract_facts", "retain_run")
TARGET_RATIO = 2.0
TARGET_MEMORY_MS = 30.0


class RawState(TypedDict):
    """The reference graph's state: a counter and a log, as small as a stage's bookkeeping."""

    n: int
    log: Annotated[list[str], operator.add]


def raw_graph(saver: PostgresSaver, stages: int, nodes: int) -> Any:
    """Compile ``stages`` subgraphs of ``nodes`` trivial nodes each, on ``saver``."""

    def step(name: str) -> Callable[[RawState], dict[str, Any]]:
        return lambda state: {"n": state["n"] + 1, "log": [name]}

    parent = StateGraph(RawState)
    previous = START
    for s in range(stages):
        sub = StateGraph(RawState)
        names = [f"s{s}n{i}" for i in range(nodes)]
        for name in names:
            sub.add_node(name, step(name))
        sub.add_edge(START, names[0])
        for a, b in zip(names, names[1:], strict=False):
            sub.add_edge(a, b)
        sub.add_edge(names[-1], END)
        parent.add_node(f"stage{s}", sub.compile())
        parent.add_edge(previous, f"stage{s}")
        previous = f"stage{s}"
    parent.add_edge(previous, END)
    return parent.compile(checkpointer=saver)


def timed_memory(factory: Factory, spent: list[tuple[str, float]]) -> None:
    """Time the memory service's stage-boundary calls a run waits for into ``spent``.

    Calls on the fact queue's worker (``devfactory-facts``) are off the run's path
    and not counted.
    """
    memory = factory.memory
    for name in MEMORY_CALLS:
        method = getattr(memory, name)

        def wrapped(*args: Any, _method: Any = method, _name: str = name, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return _method(*args, **kwargs)
            finally:
                if threading.current_thread().name != "devfactory-facts":
                    spent.append((_name, time.perf_counter() - started))

        setattr(memory, name, wrapped)


def settings_for(data: Path, variant: str) -> Settings:
    """Return the settings of one variant: scripted, no code run, no review."""
    values: dict[str, Any] = {
        "data_dir": data,
        "ollama_host": "http://127.0.0.1:9",
        "probe_timeout_s": 0.2,
        "run_code": False,
        "review_required": False,
    }
    if variant == "no-memory":
        values.update(memory_enabled=False, fact_memory=False)
    elif variant == "facts-queued":
        values.update(fact_queue=8, budget_run_tokens=None, budget_run_cost_usd=None)
    return Settings(**values)


def median_ms(values: list[float]) -> float:
    """Return the median of ``values`` (seconds) in milliseconds."""
    return round(statistics.median(values) * 1000, 1) if values else 0.0


def bench_variant(
    variant: str, data: Path, runs: int, stages: int, nodes: int, tmp: Path
) -> dict[str, Any]:
    """Time ``runs`` scripted mvp runs of ``variant``, each beside a raw LangGraph run."""
    factory_ms: list[float] = []
    memory_ms: list[float] = []
    raw_ms: list[float] = []
    with Factory(settings_for(data, variant), models=ScriptedModels()) as factory:
        raw = raw_graph(PostgresSaver(factory.pool), stages, nodes)  # type: ignore[arg-type]
        memory_on = factory.settings.recall.memory_enabled
        spent: list[tuple[str, float]] = []
        by_call: dict[str, list[float]] = {name: [] for name in MEMORY_CALLS}
        if memory_on:
            timed_memory(factory, spent)
        for n in range(runs + 1):  # the first of each is a warm-up (ONNX, mem0, compile)
            spent.clear()
            started = time.perf_counter()
            report = factory.start(
                StartRequest(
                    REQUIREMENT.format(n=f"{variant}-{n}"), pipeline="mvp", out_dir=tmp / f"{n}"
                )
            )
            wall = time.perf_counter() - started
            count = max(1, len(report.records))
            started = time.perf_counter()
            raw.invoke(
                {"n": 0, "log": []},
                {"configurable": {"thread_id": uuid.uuid4().hex}},
                durability="sync",  # as the factory's driver streams: each step saved
            )
            raw_wall = time.perf_counter() - started
            if n == 0:
                continue
            factory_ms.append(wall / count)
            memory_ms.append(sum(t for _, t in spent) / count)
            for name in MEMORY_CALLS:
                by_call[name].append(sum(t for c, t in spent if c == name) / count)
            raw_ms.append(raw_wall / stages)
    row: dict[str, Any] = {
        "variant": variant,
        "factory_ms": median_ms(factory_ms),
        "raw_ms": median_ms(raw_ms),
        "memory_ms": median_ms(memory_ms) if memory_on else None,
        "memory_ms_by_call": {k: median_ms(v) for k, v in by_call.items()} if memory_on else None,
        "runs": runs,
    }
    row["ratio"] = round(row["factory_ms"] / row["raw_ms"], 1) if row["raw_ms"] else None
    return row


def commit() -> str:
    """Return the commit of the devfactory imported (``-dirty`` with changes)."""
    where = Path(__import__("devfactory").__file__).resolve().parents[1]
    try:
        head = subprocess.run(
            ["git", "-C", str(where), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(where), "status", "--porcelain", "devfactory"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("-dirty" if dirty else "")


def main() -> None:
    """Run the variants, print the table and write the JSON."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--stages", type=int, default=5, help="the reference graph's stages")
    parser.add_argument("--nodes", type=int, default=4, help="nodes in each reference subgraph")
    parser.add_argument("--variants", nargs="+", default=["memory", "no-memory", "facts-queued"])
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "stage.json")
    args = parser.parse_args()
    known = set(FlatSettings.model_fields)
    variants = [v for v in args.variants if v != "facts-queued" or "fact_queue" in known]
    rows = []
    with tempfile.TemporaryDirectory(prefix="stage-bench-") as tmp:
        data = Path(tmp) / "data"
        for variant in variants:
            row = bench_variant(variant, data, args.runs, args.stages, args.nodes, Path(tmp))
            rows.append(row)
            print(json.dumps(row), flush=True)
    print()
    print(f"{'variant':<14} {'factory ms':>11} {'raw ms':>8} {'ratio':>6} {'memory ms':>10}")
    for r in rows:
        memory = "-" if r["memory_ms"] is None else f"{r['memory_ms']:.1f}"
        print(
            f"{r['variant']:<14} {r['factory_ms']:>11.1f} {r['raw_ms']:>8.1f}"
            f" {r['ratio']:>6} {memory:>10}"
        )
    print(f"targets: ratio <= {TARGET_RATIO}, memory <= {TARGET_MEMORY_MS} ms per stage")
    result = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.python_version()}",
        "load_1min": round(os.getloadavg()[0], 2),
        "commit": commit(),
        "model": "scripted (instant)",
        "pipeline": "mvp",
        "reference": f"raw LangGraph: {args.stages} subgraphs of {args.nodes} nodes, "
        "the same PostgresSaver and Postgres",
        "targets": {"ratio": TARGET_RATIO, "memory_ms": TARGET_MEMORY_MS},
        "per_stage": rows,
    }
    args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
