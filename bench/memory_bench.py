"""Benchmark memory: recall latency, recall@10 against exact search, embedder throughput.

Recall latency (p50/p95) is measured at 10k and 100k memories in one bank (HNSW).

Usage: python -m bench.memory_bench [--sizes 10000 100000] [--queries 200] [--out FILE]

It starts its own embedded Postgres in a temporary directory (or uses
DATABASE_URL), fills one bank with real MiniLM embeddings of generated
sentences, and prints a JSON report. Not a test: numbers depend on the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from devfactory.memory.live import LiveMemory, _vector
from devfactory.models.embeddings import MiniLMEmbedder
from devfactory.settings import Settings
from devfactory.store.db import migrate, open_pool, resolve_dsn

SUBJECTS = [
    "the API",
    "the database",
    "the frontend",
    "the queue",
    "the cache",
    "billing",
    "the scheduler",
    "search",
    "auth",
    "the mobile app",
    "reporting",
    "the importer",
]
VERBS = [
    "stores",
    "validates",
    "retries",
    "encrypts",
    "paginates",
    "exports",
    "indexes",
    "rate-limits",
    "logs",
    "caches",
    "signs",
    "streams",
]
OBJECTS = [
    "invoices",
    "user sessions",
    "audit events",
    "todo items",
    "order lines",
    "images",
    "webhooks",
    "payment intents",
    "feature flags",
    "emails",
    "metrics",
    "documents",
]
DETAILS = [
    "in UTC",
    "per tenant",
    "every five minutes",
    "with idempotency keys",
    "in batches of 100",
    "behind a feature flag",
    "for 30 days",
    "with exponential backoff",
    "as JSON",
    "before the nightly job",
    "per calendar year",
    "with a dead-letter queue",
]


def sentences(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return [
        f"{rng.choice(SUBJECTS).capitalize()} {rng.choice(VERBS)} {rng.choice(OBJECTS)} "
        f"{rng.choice(DETAILS)} (note {i})"
        for i in range(n)
    ]


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def throughput(texts: list[str], threads: int) -> float:
    embedder = MiniLMEmbedder(threads=threads)
    embedder.embed(texts[:32])  # load and warm up
    started = time.perf_counter()
    embedder.embed(texts)
    return len(texts) / (time.perf_counter() - started)


def fill(pool: Any, bank: str, vectors: list[list[float]], texts: list[str]) -> float:
    started = time.perf_counter()
    with pool.connection() as conn:
        conn.execute(
            "INSERT INTO devfactory_memory_banks (bank, embedder, dims) VALUES (%s, %s, 384)"
            " ON CONFLICT DO NOTHING",
            (bank, MiniLMEmbedder.name),
        )
        with conn.cursor().copy(
            "COPY devfactory_memories (bank, kind, text, content_hash, embedding) FROM STDIN"
        ) as copy:
            for i, (text, vector) in enumerate(zip(texts, vectors, strict=True)):
                copy.write_row((bank, "fact", text, f"{bank}:{i}", _vector(vector)))
    return time.perf_counter() - started


def exact(pool: Any, bank: str, vector: list[float], k: int) -> list[str]:
    with pool.connection() as conn:  # no cast: the HNSW expression index cannot serve it
        rows = conn.execute(
            "SELECT text FROM devfactory_memories WHERE bank = %s"
            " ORDER BY embedding <=> %s::vector LIMIT %s",
            (bank, _vector(vector), k),
        ).fetchall()
    return [r["text"] for r in rows]


def run(size: int, pool: Any, embedder: MiniLMEmbedder, queries: int, k: int) -> dict[str, Any]:
    bank = f"bench:{size}"
    texts = sentences(size, seed=size)
    started = time.perf_counter()
    vectors = embedder.embed(texts)
    embed_s = time.perf_counter() - started
    insert_s = fill(pool, bank, vectors, texts)
    with pool.connection() as conn:
        conn.execute("ANALYZE devfactory_memories")
    live = LiveMemory(pool, embedder)
    asked = sentences(queries, seed=size + 1)
    asked_vectors = embedder.embed(asked)
    sql_ms, end_ms, hits = [], [], 0
    for query, vector in zip(asked, asked_vectors, strict=True):
        started = time.perf_counter()
        got = live.recall([bank], query, k=k, threshold=-1.0, owners=None)
        end_ms.append((time.perf_counter() - started) * 1000)
        truth = set(exact(pool, bank, vector, k))
        hits += len(truth & {m.text for m in got})
        started = time.perf_counter()
        with pool.connection() as conn, conn.transaction():
            conn.execute(f"SET LOCAL hnsw.ef_search = {live.ef_search}")
            conn.execute(
                "SELECT text FROM devfactory_memories WHERE bank = %s AND vector_dims(embedding)"
                " = 384 ORDER BY embedding::vector(384) <=> %s::vector(384) LIMIT %s",
                (bank, _vector(vector), k),
            ).fetchall()
        sql_ms.append((time.perf_counter() - started) * 1000)
    with pool.connection() as conn:
        plan = conn.execute(
            "EXPLAIN SELECT text FROM devfactory_memories WHERE bank = %s AND"
            " vector_dims(embedding) = 384 ORDER BY embedding::vector(384) <=> %s::vector(384)"
            " LIMIT 10",
            (bank, _vector(asked_vectors[0])),
        ).fetchall()
    return {
        "memories": size,
        "embed_seconds": round(embed_s, 1),
        "insert_seconds": round(insert_s, 1),
        "recall_ms_p50": round(statistics.median(end_ms), 2),
        "recall_ms_p95": round(percentile(end_ms, 95), 2),
        "sql_ms_p50": round(statistics.median(sql_ms), 2),
        "sql_ms_p95": round(percentile(sql_ms, 95), 2),
        "recall_at_k": round(hits / (queries * k), 4),
        "k": k,
        "queries": queries,
        "uses_hnsw": any("hnsw" in str(row).lower() for row in plan),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("-k", type=int, default=10)
    parser.add_argument("--threads", type=int, default=max(1, min(4, os.cpu_count() or 1)))
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="devfactory-bench-") as home:
        settings = Settings(data_dir=Path(home))
        pool = open_pool(resolve_dsn(settings))
        with pool.connection() as conn:
            migrate(conn)
        embedder = MiniLMEmbedder(threads=args.threads)
        sample = sentences(2000, seed=7)
        report: dict[str, Any] = {
            "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.python_version()}",
            "embedder": MiniLMEmbedder.name,
            "embed_per_second": {
                "1 thread": round(throughput(sample, 1), 1),
                f"{args.threads} threads": round(throughput(sample, args.threads), 1),
            },
            "banks": [run(size, pool, embedder, args.queries, args.k) for size in args.sizes],
        }
        pool.close()
    text = json.dumps(report, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
