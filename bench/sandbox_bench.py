"""Benchmark the sandbox: what isolation adds to a test run, and what environments cost.

Overhead per test run: ``pytest`` on a tiny project (10 tests) with a warm
environment, run N times each way (taking turns), median reported:

- direct: the environment's python runs pytest, with the same arguments (JUnit XML
  and all), in a plain subprocess (no limits);
- unsandboxed: through ``Sandbox`` in its unsandboxed mode (launcher, rlimits, cgroup);
- bwrap: through ``Sandbox`` with bubblewrap (namespaces, mounts, the lot).

The sandbox's overhead is bwrap's median minus the direct one. A bare ``true``
round trip is measured the same way. Environments: building one from a
fresh cache (cold: everything downloaded), a new one with uv's cache warm,
and reusing one that exists.

Usage: python -m bench.sandbox_bench [--runs 10] [--deps requests] [--out FILE]

Needs bubblewrap and the network (PyPI). Not a test: numbers depend on the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from devfactory.sandbox.isolation import process_bound
from devfactory.sandbox.runner import Environment, Limits, Sandbox

PROJECT = {
    "calc.py": "def add(a, b):\n    return a + b\n",
    "tests/test_calc.py": "".join(
        f"from calc import add\n\n\ndef test_add_{i}():\n    assert add({i}, 1) == {i + 1}\n\n"
        for i in range(10)
    ),
}


def interleaved(runs: int, actions: dict[str, Callable[[], object]]) -> dict[str, Any]:
    """Time each action ``runs`` times, taking turns (so load spikes hit all alike).

    One warm-up round first; returns each action's median, min and max seconds.
    """
    for action in actions.values():
        action()
    samples: dict[str, list[float]] = {name: [] for name in actions}
    for _ in range(runs):
        for name, action in actions.items():
            start = time.perf_counter()
            action()
            samples[name].append(time.perf_counter() - start)
    return {
        name: {
            "median_s": round(statistics.median(times), 3),
            "min_s": round(min(times), 3),
            "max_s": round(max(times), 3),
        }
        for name, times in samples.items()
    }


def build(box: Sandbox, deps: list[str]) -> dict[str, Any]:
    """Build (or reuse) an environment; return its timing."""
    start = time.perf_counter()
    env = box.environment(deps)
    if not env.ok:
        raise SystemExit(f"install failed: {env.install.output[-2000:]}")
    return {"seconds": round(time.perf_counter() - start, 2), "reused": env.reused}


def direct_pytest(env: Environment, workspace: Path, junit: Path) -> None:
    """Run the tests as the sandbox does (same arguments), with no sandbox at all."""
    argv = [str(env.bin / "python"), "-m", "pytest", "-q", f"--junitxml={junit}"]
    argv += ["-o", "junit_family=xunit1", "-p", "no:cacheprovider"]
    clean = {"PATH": f"{env.bin}:/usr/bin:/bin", "PYTHONDONTWRITEBYTECODE": "1"}
    proc = subprocess.run(argv, cwd=workspace, env=clean, capture_output=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(proc.stdout.decode()[-2000:])


def sandboxed_pytest(box: Sandbox, env: Environment, workspace: Path) -> None:
    """Run the tests through the sandbox; fail loudly if they do not pass."""
    result, report = box.run_tests(workspace, env, "python -m pytest -q")
    if result.exit_code != 0 or report.passed != 10:
        raise SystemExit(result.output[-2000:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--deps", nargs="*", default=["requests"])
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("sandbox.json"))
    args = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="sandbox-bench-"))
    try:
        cache = root / "cache"
        workspace = root / "workspace"
        for name, text in PROJECT.items():
            (workspace / name).parent.mkdir(parents=True, exist_ok=True)
            (workspace / name).write_text(text)
        bwrap = Sandbox(mode="bwrap", cache_dir=cache, limits=Limits())
        bare = Sandbox(mode="unsandboxed", cache_dir=cache, limits=Limits())
        bwrap.check()

        installs: dict[str, Any] = {"pytest only": {}, f"pytest + {' '.join(args.deps)}": {}}
        for label, deps in zip(installs, ([], args.deps), strict=True):
            installs[label]["cold (fresh uv cache)"] = build(bwrap, deps)
            shutil.rmtree(cache / "envs")
            installs[label]["new env, uv cache warm"] = build(bwrap, deps)
            installs[label]["reuse (env exists)"] = build(bwrap, deps)
            shutil.rmtree(cache / "uv")  # the next one starts cold again
        env = bwrap.environment([])

        junit = root / "junit.xml"
        runs = interleaved(
            args.runs,
            {
                "true: unsandboxed": lambda: bare.run(["true"], workspace=workspace, env=env),
                "true: bwrap": lambda: bwrap.run(["true"], workspace=workspace, env=env),
                "pytest: direct": lambda: direct_pytest(env, workspace, junit),
                "pytest: unsandboxed": lambda: sandboxed_pytest(bare, env, workspace),
                "pytest: bwrap": lambda: sandboxed_pytest(bwrap, env, workspace),
            },
        )
        overhead = runs["pytest: bwrap"]["median_s"] - runs["pytest: direct"]["median_s"]
        report = {
            "machine": {
                "platform": platform.platform(),
                "cpus": os.cpu_count(),
                "python": platform.python_version(),
                "bwrap": subprocess.run(
                    ["bwrap", "--version"], capture_output=True, text=True, check=False
                ).stdout.strip(),
                "process_bound": process_bound(),
            },
            "runs_per_median": args.runs,
            "load_average_at_end": os.getloadavg(),
            "installs": installs,
            "runs": runs,
            "sandbox_overhead_per_test_run_s": round(overhead, 3),
        }
    finally:
        shutil.rmtree(root, ignore_errors=True)
    text = json.dumps(report, indent=2)
    args.out.write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
