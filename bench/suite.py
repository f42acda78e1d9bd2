"""``make bench``: every speed target of the factory, measured beside its reference.

It runs the benchmarks one after the other (never two at once: they share the
cores), reads the JSON each writes, and prints one table: each figure, its
reference measured in the same run, the ratio, the target and whether it was
met. ``--docs FILE`` rewrites the table between the markers in FILE
(``docs/performance.md``), with the command and the commit.

- ``bench/cli_bench.py``: ``devfactory --help`` against ``python -c pass``;
  ``devfactory list`` with 1,000 runs.
- ``bench/service_bench.py``: ``GET /runs/{id}`` at 50 and 200 clients on one
  ``devfactory serve`` process (reported, no target); 1, 2 and 4 workers.
- ``bench/read_path_bench.py``: ``GET /runs/{id}`` against ``GET /health`` (the
  framework's floor) with the same 50 clients on ``devfactory serve --workers 2``:
  the target is on their ratio of throughputs, with each route's latency and the
  server's CPU per request beside it.
- ``bench/stage_bench.py``: the factory's own cost per stage against raw
  LangGraph with subgraphs on the same saver; memory's share.
- ``bench/model_bench.py --wrapper-only``: the embedded model's decoding through
  the factory's wrapper against requests posted straight to its server (skipped
  with ``--no-model``).
- ``bench/decode_bench.py``: the shared llama-server's aggregate decoding at 1, 2
  and 4 sequences at once (skipped with ``--no-model``).
- ``bench/speculative_bench.py``: the 1.5B's decoding with the 0.5B as its draft
  (4, 8 and 16 tokens) against the 1.5B alone and the 0.5B, on the same coding
  prompts (skipped with ``--no-model``).
- ``bench/workers_bench.py``: the runs a minute of 1 and 4 workers sharing one
  server, each stage making one real model call, and the PSS of the 4 workers and
  the server (skipped with ``--no-model``).
- ``bench/case_bench.py`` (only with ``--with-case``: it takes minutes): one dev
  case's wall time and tokens with candidates serial against parallel.

Usage: python -m bench.suite [--quick] [--no-model] [--with-case] [--docs docs/performance.md]

Not a test: the numbers depend on the machine and on what else runs on it.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.stage_bench import commit

ROOT = Path(__file__).resolve().parents[1]
START = "<!-- bench:start -->"
END = "<!-- bench:end -->"


@dataclass(frozen=True)
class Figure:
    """One measured figure against its target (``at_most``: lower is better).

    ``of_ratio``: the target is on the figure over its reference, not the figure.
    """

    name: str
    value: float
    unit: str
    reference: str
    reference_value: float | None
    target: float | None  # None: reported, with no target
    at_most: bool = True
    of_ratio: bool = False

    @property
    def ratio(self) -> float | None:
        """Return the figure over its reference, where it has one."""
        if not self.reference_value:
            return None
        return self.value / self.reference_value

    @property
    def met(self) -> bool | None:
        """Say whether the target is met (a ratio target compares the ratio); None: no target."""
        measured = self.ratio if self.of_ratio else self.value
        if self.target is None:
            return None
        if measured is None:
            return False
        return measured <= self.target if self.at_most else measured >= self.target


def run(module: str, *args: str) -> None:
    """Run one benchmark module to its end, its output shown as it goes."""
    print(f"$ python -m {module} {' '.join(args)}", flush=True)
    subprocess.run([sys.executable, "-m", module, *args], cwd=ROOT, check=True)


DECODE_TARGET = 1.8
"""Aggregate decoding of 4 sequences at once over that of 1, same server, same run: at least."""
SPECULATIVE_TARGET = 1.5
"""The 1.5B's decoding with the 0.5B drafting over the 1.5B's alone, same run: at least."""
WORKERS_TARGET = 1.6
"""Runs a minute of 4 workers sharing one server over 1 worker's, same run: at least."""
READ_PATH_TARGET = 0.8
"""``GET /runs/{id}`` throughput over ``GET /health``'s, same clients, same run: at least this."""


def read_path(result: dict[str, Any]) -> list[Figure]:
    """Return the read path's figures (``bench/read_path_bench.py``), each beside the floor's."""
    run, floor = result["get_run"], result["health"]
    where = f"{result['clients']} clients, serve --workers {result['workers']}"
    reference = "GET /health, same clients"
    return [
        Figure(
            f"GET /runs/{{id}} throughput, {where}",
            run["requests_per_s"],
            "req/s",
            reference,
            floor["requests_per_s"],
            READ_PATH_TARGET,
            at_most=False,
            of_ratio=True,
        ),
        Figure(
            f"GET /runs/{{id}} p50, {where}", run["p50_ms"], "ms", reference, floor["p50_ms"], None
        ),
        Figure(
            f"GET /runs/{{id}} p95, {where}", run["p95_ms"], "ms", reference, floor["p95_ms"], None
        ),
        Figure(
            f"GET /runs/{{id}} server CPU per request, {where}",
            run["server_cpu_ms"],
            "ms",
            reference,
            floor["server_cpu_ms"],
            None,
        ),
    ]


def decoding(result: dict[str, Any]) -> list[Figure]:
    """Return the server's decoding figures (``bench/decode_bench.py``), beside 1 sequence's."""
    by = result["by_parallel"]
    one = by["1"]["decode_tokens_per_s"]
    reference = "1 sequence, same server"
    found = []
    for n in sorted(by, key=int):
        if n == "1":
            continue
        found.append(
            Figure(
                f"llama-server aggregate decoding, {n} sequences at once",
                by[n]["decode_tokens_per_s"],
                "tok/s",
                reference,
                one,
                DECODE_TARGET if n == "4" else None,
                at_most=False,
                of_ratio=True,
            )
        )
    return found


def speculative(result: dict[str, Any]) -> list[Figure]:
    """Return the 1.5B's decoding with each draft (``bench/speculative_bench.py``), beside alone."""
    found = result["configurations"]
    plain = found["1.5B"]["decode_tokens_per_s"]
    figures = [
        Figure(
            "0.5B decoding, 1 sequence (reported)",
            found["0.5B"]["decode_tokens_per_s"],
            "tok/s",
            "the 1.5B alone",
            plain,
            None,
            at_most=False,
            of_ratio=True,
        )
    ]
    for got in found.values():
        if got.get("draft") is None:
            continue
        accepted = f"{got['draft_acceptance']:.0%} of drafted tokens accepted"
        figures.append(
            Figure(
                f"1.5B with the 0.5B drafting {got['draft_max']} ({accepted})",
                got["decode_tokens_per_s"],
                "tok/s",
                "the 1.5B alone",
                plain,
                SPECULATIVE_TARGET,
                at_most=False,
                of_ratio=True,
            )
        )
    return figures


def workers(result: dict[str, Any]) -> list[Figure]:
    """Return the shared server's worker figures (``bench/workers_bench.py``)."""
    rates, memory = result["runs_per_minute"], result["memory_4_workers"]
    tokens = result["tokens_per_call"]
    found = [
        Figure(
            f"runs a minute, 4 workers sharing one server, {tokens} tokens a stage",
            rates["4"],
            "runs/min",
            "1 worker",
            rates["1"],
            WORKERS_TARGET,
            at_most=False,
            of_ratio=True,
        )
    ]
    if "total_pss_mib" in memory:
        found += [
            Figure(
                "PSS of 4 workers and the server",
                memory["total_pss_mib"],
                "MiB",
                "the model file",
                memory["model_file_mib"],
                None,
            ),
            Figure(
                "PSS of the model file in the 4 workers",
                memory["workers_weights_pss_mib"],
                "MiB",
                "in the server",
                memory["server"]["weights_pss_mib"],
                0.0,
            ),
        ]
    return found


def case(result: dict[str, Any]) -> list[Figure]:
    """Return one case's wall time and tokens with parallel candidates, beside serial's."""
    serial, parallel = result["serial"], result["parallel"]
    where = f"{result['case']}, {result['pipeline']}"
    reference = f"candidates one by one ({serial['run']})"  # a run cut by the cap says so
    where += f", {parallel['run']}"
    return [
        Figure(
            f"case wall time, parallel candidates ({where})",
            parallel["wall_s"],
            "s",
            reference,
            serial["wall_s"],
            None,
        ),
        Figure(
            f"case tokens, parallel candidates ({where})",
            parallel["tokens"] or 0,
            "tokens",
            reference,
            serial["tokens"],
            None,
        ),
    ]


def figures(out: Path, model: bool, with_case: bool = False) -> list[Figure]:
    """Read the benchmarks' JSON files into the figures the issue's targets name."""
    cli = json.loads((out / "cli.json").read_text())["figures"]
    service = json.loads((out / "service.json").read_text())
    stage = json.loads((out / "stage.json").read_text())
    rows = {row["variant"]: row for row in stage["per_stage"]}
    memory = rows["memory"]
    by_clients = service.get("get_run_by_clients") or {"50": service["get_run"]}
    found = [
        Figure("devfactory --help, CPU", cli["help"]["cpu_s"], "s", "", None, 0.25),
        Figure(
            "devfactory --help, wall",
            cli["help"]["wall_s"],
            "s",
            "python -c pass",
            cli["help"]["reference_wall_s"],
            10.0,
            of_ratio=True,
        ),
        Figure("devfactory list, 1,000 runs, wall", cli["list"]["wall_s"], "s", "", None, 0.6),
    ]
    found += read_path(json.loads((out / "read_path.json").read_text()))
    for clients in ("50", "200"):  # one process: reported; the ratio above is the target
        got = by_clients.get(clients)
        if got is None:
            continue
        route = f"GET /runs/{{id}}, {clients} clients, 1 process"
        found += [
            Figure(f"{route}, p50", got["p50_ms"], "ms", "", None, None),
            Figure(f"{route}, p95", got["p95_ms"], "ms", "", None, None),
            Figure(f"{route}, throughput", got["requests_per_s"], "req/s", "", None, None, False),
        ]
    rates = service["runs_per_minute"]
    if "4" in rates and "1" in rates:
        found.append(
            Figure(
                "mvp runs a minute, 4 workers",
                rates["4"],
                "runs/min",
                "1 worker",
                rates["1"],
                1.8,
                at_most=False,
                of_ratio=True,
            )
        )
    found.append(
        Figure(
            "factory cost per stage, memory on",
            memory["factory_ms"],
            "ms",
            "raw LangGraph, subgraphs, same saver",
            memory["raw_ms"],
            2.0,
            of_ratio=True,
        )
    )
    found.append(Figure("memory per stage", memory["memory_ms"], "ms", "", None, 30.0))
    if model:
        wrapped = json.loads((out / "model_wrapper.json").read_text())["wrapper_vs_raw"]
        found.append(
            Figure(
                "embedded wrapper decoding",
                wrapped["wrapper_tokens_per_second"],
                "tok/s",
                "llama-server, posted raw",
                wrapped["raw_tokens_per_second"],
                0.95,
                at_most=False,
                of_ratio=True,
            )
        )
        found += decoding(json.loads((out / "decode.json").read_text()))
        found += speculative(json.loads((out / "speculative.json").read_text()))
        found += workers(json.loads((out / "workers.json").read_text()))
    if model and with_case:
        found += case(json.loads((out / "case.json").read_text()))
    return found


def shown(value: float) -> str:
    """Write a figure with at most three decimals, trailing zeros dropped."""
    return f"{value:,.3f}".rstrip("0").rstrip(".")


def table(found: list[Figure]) -> str:
    """Render the figures as a Markdown table."""
    lines = [
        "| Figure | Measured | Reference | Ratio | Target | Met |",
        "|---|---|---|---|---|---|",
    ]
    for f in found:
        unit = f" {f.unit}"
        ref = f"{f.reference}: {shown(f.reference_value)}{unit}" if f.reference_value else "-"
        ratio = f"{f.ratio:.2f}x" if f.ratio is not None else "-"
        sign = "<=" if f.at_most else ">="
        target = "-"  # a figure reported with no target (a ratio row may have none)
        if f.target is not None:
            bound = f"{shown(f.target)}x" if f.of_ratio else f"{shown(f.target)}{unit}"
            target = f"{sign} {bound}"
        met = {None: "-", True: "yes", False: "**no**"}[f.met]
        lines.append(f"| {f.name} | {shown(f.value)}{unit} | {ref} | {ratio} | {target} | {met} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer runs and requests")
    parser.add_argument("--no-model", action="store_true", help="skip the embedded model")
    parser.add_argument(
        "--with-case",
        action="store_true",
        help="also time one dev case with candidates serial and parallel (minutes)",
    )
    parser.add_argument("--out", type=Path, default=ROOT / "bench")
    parser.add_argument("--docs", type=Path, help="rewrite the table in this Markdown file")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    started = datetime.now(UTC)
    load = os.getloadavg()[0]
    quick = args.quick
    run("bench.cli_bench", "--runs", "3" if quick else "7", "--out", str(args.out / "cli.json"))
    run(
        "bench.service_bench",
        "--runs", "8" if quick else "24",
        "--requests", "300" if quick else "1000",
        "--out", str(args.out / "service.json"),
    )  # fmt: skip
    run(
        "bench.read_path_bench",
        "--workers", "2",
        "--clients", "50",
        "--requests", "300" if quick else "1000",
        "--rounds", "2" if quick else "3",
        "--out", str(args.out / "read_path.json"),
    )  # fmt: skip
    run("bench.stage_bench", "--runs", "3" if quick else "5", "--out", str(args.out / "stage.json"))
    if not args.no_model:
        run("bench.model_bench", "--wrapper-only", "--out", str(args.out / "model_wrapper.json"))
        run(
            "bench.decode_bench",
            "--rounds", "1" if quick else "3",
            "--out", str(args.out / "decode.json"),
        )  # fmt: skip
        run(
            "bench.speculative_bench",
            "--rounds", "1" if quick else "2",
            "--out", str(args.out / "speculative.json"),
        )  # fmt: skip
        run(
            "bench.workers_bench",
            "--runs", "3" if quick else "6",
            "--out", str(args.out / "workers.json"),
        )  # fmt: skip
        if args.with_case:
            run("bench.case_bench", "--out", str(args.out / "case.json"))
    found = figures(args.out, model=not args.no_model, with_case=args.with_case)
    text = table(found)
    flags = [
        flag
        for flag, on in (
            ("--quick", quick),
            ("--no-model", args.no_model),
            ("--with-case", args.with_case),
        )
        if on
    ]
    command = "make bench" + (f' BENCH_ARGS="{" ".join(flags)}"' if flags else "")
    where = (
        f"Measured {started:%Y-%m-%d %H:%M} UTC at commit `{commit()}` with `{command}`;"
        f" load average {load:.2f} when it began; {os.cpu_count()} cores."
    )
    print("\n" + where + "\n\n" + text)
    judged = [f for f in found if f.met is not None]
    print(f"\n{sum(bool(f.met) for f in judged)} of {len(judged)} targets met")
    if args.docs:
        doc = args.docs.read_text()
        head, rest = doc.split(START, 1)
        _, tail = rest.split(END, 1)
        args.docs.write_text(f"{head}{START}\n{where}\n\n{text}\n{END}{tail}")
        print(f"wrote the table into {args.docs}")


if __name__ == "__main__":
    main()
