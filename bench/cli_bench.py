"""Benchmark the command line: how long people wait for --help, list, status and pending.

Each command runs ``--runs`` times in a fresh process, taking turns with its
reference (``python -c pass``, the least any Python command costs), and the
medians of wall time and CPU time (user + system, the process and its
children) are reported:

- ``devfactory --help`` against ``python -c pass`` (targets: CPU <= 0.25 s, and
  <= 10x the reference's wall time);
- ``devfactory list`` (20 newest) with 1,000 runs in the table (target: <= 0.6 s
  wall), and ``list --limit 1000``, ``status <run>`` and ``pending`` for the record.

Python caches each module's bytecode as it does in a person's shell (the
setup installs the packages compiled: ``uv sync --compile-bytecode``); the
first, uncounted run of each command writes the project's own.

The database is an embedded Postgres this benchmark starts in a temporary
directory and keeps running, handed to the commands as ``DATABASE_URL``: a
running server, as a deployment has. ``--embedded`` measures ``list`` once more
the way a laptop's first command sees it, attaching to the embedded server by
its data directory.

Usage: python -m bench.cli_bench [--runs 7] [--out FILE]

Not a test: the numbers depend on the machine and on what else runs on it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
PASS = [sys.executable, "-c", "pass"]


def timed(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Run ``argv`` once; return its wall and CPU seconds (it must exit 0)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(argv, env=env, cwd=ROOT, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise RuntimeError(f"{argv} exited {done.returncode}: {done.stderr[-500:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def side_by_side(argv: list[str], env: dict[str, str], runs: int) -> dict[str, Any]:
    """Time ``argv`` and ``python -c pass`` in turns; return both medians."""
    timed(argv, env)  # the first run warms the file cache, and is not counted
    mine: list[tuple[float, float]] = []
    ref: list[tuple[float, float]] = []
    for _ in range(runs):
        mine.append(timed(argv, env))
        ref.append(timed(PASS, env))
    wall = statistics.median(w for w, _ in mine)
    ref_wall = statistics.median(w for w, _ in ref)
    return {
        "command": " ".join(["devfactory", *argv[1:]]),
        "wall_s": round(wall, 3),
        "cpu_s": round(statistics.median(c for _, c in mine), 3),
        "reference": "python -c pass",
        "reference_wall_s": round(ref_wall, 3),
        "ratio": round(wall / ref_wall, 1),
        "runs": runs,
    }


def fill(settings: Any, runs: int) -> str:
    """Create ``runs`` runs in the table (as ``devfactory submit`` does); return one id."""
    from devfactory.factory.reports import new_run_id
    from devfactory.store.db import open_pool, prepare
    from devfactory.store.runs_table import RunStore

    database = prepare(settings)
    pool = open_pool(database.dsn)
    store = RunStore(pool)
    ident = ""
    for n in range(runs):
        ident = new_run_id()
        store.create(
            ident,
            f"A command-line tool that counts the words in a text file, number {n}",
            "mvp",
            str(settings.storage.data_dir / "runs" / ident),
            driver="bench",
            lease_s=1.0,
        )
    pool.close()
    return ident


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--embedded", action="store_true")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "cli.json")
    args = parser.parse_args()
    from devfactory.settings import Settings
    from devfactory.store.db import embedded_dsn

    with tempfile.TemporaryDirectory(prefix="cli-bench-") as tmp:
        data = Path(tmp) / "data"
        settings = Settings(data_dir=data)
        owner_dsn = embedded_dsn(settings)  # started here, and held until the end
        run_id = fill(settings, args.rows)
        # as a person's shell runs it: Python caches compiled modules (an agent's or a CI's
        # PYTHONDONTWRITEBYTECODE would compile every module of the CLI at every start)
        base = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith("DEVFACTORY_") and k != "PYTHONDONTWRITEBYTECODE"
        }
        base.update(DEVFACTORY_DATA_DIR=str(data), PYTHONPATH=str(ROOT))
        served = {**base, "DATABASE_URL": owner_dsn}
        cli = str(BIN / "devfactory")
        figures = {
            "help": side_by_side([cli, "--help"], served, args.runs),
            "list": side_by_side([cli, "list"], served, args.runs),
            "list_1000": side_by_side([cli, "list", "--limit", "1000"], served, args.runs),
            "status": side_by_side([cli, "status", run_id], served, args.runs),
            "pending": side_by_side([cli, "pending"], served, args.runs),
        }
        if args.embedded:
            base.pop("DATABASE_URL", None)
            figures["list_embedded"] = side_by_side([cli, "list"], base, args.runs)
    result = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "python": platform.python_version(),
        "rows": args.rows,
        "figures": figures,
    }
    for name, f in figures.items():
        print(
            f"{name:14} {f['wall_s']:7.3f} s wall  {f['cpu_s']:7.3f} s CPU"
            f"  ({f['ratio']}x python -c pass, {f['reference_wall_s']:.3f} s)"
        )
    args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
