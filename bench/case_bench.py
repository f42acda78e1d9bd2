"""Benchmark one case's run with a unit's candidates drawn one by one, then side by side.

The same dev case (never a held-out one) is run twice by the evaluation
(``python -m eval.run``: the lean pipeline, the embedded model on its shared server,
a time cap per run): first with ``parallel_candidates=1``, then with the setting's
default, which draws as many calls of a unit at once as the server has slots. The
figures are each run's wall time and tokens (as the evaluation reports them), side
by side, with whether the case passed: parallel candidates should cut the wall time
at the same tokens and the same outcome.

Both runs use a data folder of their own (the model file linked into it, so nothing
is copied) and a server of their own (``bench/served.py``: a private state folder)
with ``--slots`` slots, started by each run (it stops itself once a run's processes
are gone) and stopped at the end if it still runs: nothing of a data folder or a
server in use is touched.

It takes minutes: up to twice ``--cap`` seconds, plus building the sandbox's
environments in the fresh data folder. So ``make bench`` runs it only with
``--with-case`` (``BENCH_ARGS="--with-case"``).

Usage: python -m bench.case_bench [--case cli-caesar] [--cap 1200] [--slots 4] [--out F]

Not a test: the numbers depend on the machine and on what else runs on it.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Final

from bench.served import emit, plan, private_tmp
from devfactory.models.local_server import LocalServer
from devfactory.models.packaged import SMALL, ensure_model_file
from devfactory.settings import Settings
from eval.catalog import load_cases

ROOT = Path(__file__).resolve().parents[1]
MODES: Final = {"serial": ["--set", "parallel_candidates=1"], "parallel": []}
"""Each run's settings over the evaluation's: candidates one by one, then the default."""


def dev_case(name: str) -> str:
    """Return ``name`` if it is a dev case of ``eval/cases``.

    Raises:
        SystemExit: it is not one (a held-out case is never tuned on, nor timed here).

    """
    if name not in {case.id for case in load_cases(split="dev")}:
        raise SystemExit(f"{name} is not a dev case of eval/cases")
    return name


def command(case: str, mode: str, cap: float, out: Path) -> list[str]:
    """Return the evaluation's command line for one run of ``case`` in ``mode``."""
    return [
        sys.executable, "-m", "eval.run",
        "--cases", case, "--split", "dev", "--pipeline", "lean", "--model", "embedded",
        "--run-timeout", str(cap), "--out", str(out), "--no-docs", *MODES[mode],
    ]  # fmt: skip


def row(results: dict[str, Any]) -> dict[str, Any]:
    """Return the one case's figures from an evaluation's ``results.json``."""
    (case,) = results["cases"]
    return {
        "run": case["run"],
        "passed": case["passed"],
        "wall_s": case["factory_seconds"],
        "tokens": case["tokens"],
    }


def compared(serial: dict[str, Any], parallel: dict[str, Any]) -> dict[str, float | None]:
    """Return the parallel run's wall time and tokens over the serial run's."""

    def over(key: str) -> float | None:
        if not serial.get(key) or parallel.get(key) is None:
            return None
        return round(parallel[key] / serial[key], 3)

    return {"wall_ratio": over("wall_s"), "tokens_ratio": over("tokens")}


def main() -> None:
    """Run the case in both modes and print (and optionally save) the figures."""
    parser = argparse.ArgumentParser(prog="python -m bench.case_bench")
    parser.add_argument("--case", default="cli-caesar")
    parser.add_argument("--cap", type=float, default=1200.0, help="seconds one run may take")
    parser.add_argument("--slots", type=int, default=4)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    case = dev_case(args.case)
    settings = Settings()
    model = ensure_model_file(settings.storage.data_dir)
    result: dict[str, Any] = {"case": case, "pipeline": "lean", "cap_s": args.cap}
    with tempfile.TemporaryDirectory(prefix="dfc-", dir="/tmp") as tmp:
        tmp_env = private_tmp(Path(tmp) / "t")
        data = Path(tmp) / "data"
        (data / "models").mkdir(parents=True)
        (data / "models" / f"{SMALL.name}.gguf").symlink_to(model)
        env = {k: v for k, v in os.environ.items() if not k.startswith("DEVFACTORY_")}
        env.update(tmp_env)
        env.update(
            DEVFACTORY_DATA_DIR=str(data),
            DEVFACTORY_EMBEDDED_SERVER_SLOTS=str(args.slots),
            DEVFACTORY_EMBEDDED_THREADS=str(settings.serving.embedded_threads),
            PYTHONPATH=str(ROOT),
        )
        try:
            for mode in MODES:
                out = Path(tmp) / mode
                started = time.monotonic()
                subprocess.run(command(case, mode, args.cap, out), cwd=ROOT, env=env, check=True)
                result[mode] = row(json.loads((out / "results.json").read_text()))
                result[mode]["eval_wall_s"] = round(time.monotonic() - started, 1)
                print(f"{mode}: {result[mode]}", flush=True)
        finally:
            LocalServer(plan(settings, data / "models" / f"{SMALL.name}.gguf", args.slots)).stop()
    result.update(compared(result["serial"], result["parallel"]))
    emit(result, args.out)


if __name__ == "__main__":
    main()
