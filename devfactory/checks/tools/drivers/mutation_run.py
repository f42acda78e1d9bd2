"""Mutate the planned code with cosmic-ray, one mutant at a time, and run the tests on each.

Usage: python -I -B mutation_run.py WORKSPACE REPORT JOB

Run with the factory's own environment (cosmic-ray is pinned in its ``uv.lock``);
the tests run with the project's (JOB's ``python``, mounted read-only beside it).
The first run, on the code as it is, is measured by coverage.py (the factory's,
imported from its folder, which is then taken off ``sys.path`` again so that the
project's tests see only the project's packages and pytest plugins).
JOB is JSON: ``{"python": ..., "tests": [...], "modules": [...], "mutants": N,
"run_s": S, "budget_s": B, "seed": K}``. The tests are run once as they are (the
baseline: they must pass, or nothing is judged); then every place cosmic-ray's
operators can mutate in ``modules`` is found, one operator is drawn for each place
(seeded, so a run is repeatable), at most ``mutants`` places are drawn, spread over
the modules, and each mutant is written, tested with ``pytest -x`` within ``run_s``
(a timeout counts as caught, as cosmic-ray counts it) and the code put back. Once
``budget_s`` is spent the rest are not run. REPORT gets ``{"baseline": {"ok",
"seconds", "tail"}, "coverage": {"percent", "modules": {PATH: percent}},
"places": N, "mutants": [{"module", "line", "operator",
"outcome", "diff"}]}``.
"""

from __future__ import annotations

import json
import os
import random
import shlex
import subprocess
import sys
import sysconfig
import time
from pathlib import Path
from typing import Any

TAIL_CHARS = 600
COVERED = ".mutation-coverage.json"
MEASURED = """
import json, sys
tools, out, sources = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
sys.path.append(tools)  # for coverage alone: gone again before pytest looks for plugins
try:
    import coverage
except ImportError:
    coverage = None
sys.path.remove(tools)
measure = coverage.Coverage(include=sources, data_file=None) if coverage else None
if measure:
    measure.start()
import pytest
code = pytest.main(sys.argv[4:])
if measure:
    measure.stop()
    try:
        measure.json_report(outfile=out)
    except coverage.CoverageException:
        pass
sys.exit(int(code))
"""


def tests_argv(python: str, tests: list[str]) -> list[str]:
    """Return the command that runs the tests, stopping at the first failure."""
    return [python, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *tests]


def places(modules: list[str]) -> list[dict[str, Any]]:
    """Return every mutation cosmic-ray's operators (those needing no arguments) can make."""
    import cosmic_ray.plugins
    from cosmic_ray.ast import ast_nodes, get_ast_from_path

    found = []
    for module in modules:
        try:
            tree = get_ast_from_path(Path(module))
        except Exception:  # noqa: BLE001, S112 - a module that does not parse is the lint's to say
            continue
        for name in cosmic_ray.plugins.operator_names():
            kind = cosmic_ray.plugins.get_operator(name)
            if kind.arguments():
                continue
            operator = kind()
            positions = (p for node in ast_nodes(tree) for p in operator.mutation_positions(node))
            for occurrence, (start, end) in enumerate(positions):
                found.append(
                    {
                        "module": module,
                        "operator": name,
                        "occurrence": occurrence,
                        "start": list(start),
                        "end": list(end),
                    }
                )
    return found


def drawn(found: list[dict[str, Any]], most: int, seed: int) -> list[dict[str, Any]]:
    """Draw one operator per place, then at most ``most`` places, taken in turn from each module."""
    rng = random.Random(seed)
    by_place: dict[tuple[str, int, int], list[dict[str, Any]]] = {}
    for item in found:
        by_place.setdefault((item["module"], *item["start"]), []).append(item)
    one = [rng.choice(options) for _, options in sorted(by_place.items())]
    by_module: dict[str, list[dict[str, Any]]] = {}
    for item in one:
        by_module.setdefault(item["module"], []).append(item)
    for items in by_module.values():
        rng.shuffle(items)
    chosen: list[dict[str, Any]] = []
    while len(chosen) < most and any(by_module.values()):
        for items in by_module.values():
            if items and len(chosen) < most:
                chosen.append(items.pop())
    return sorted(chosen, key=lambda i: (i["module"], i["start"]))


def changed_line(diff: str) -> str:
    """Return the first line a mutant changed, as ``before -> after``."""
    removed = [
        line[1:].strip()
        for line in diff.splitlines()
        if line.startswith("-") and not line.startswith("---")
    ]
    added = [
        line[1:].strip()
        for line in diff.splitlines()
        if line.startswith("+") and not line.startswith("+++")
    ]
    if removed and added:
        return f"{removed[0][:100]} -> {added[0][:100]}"
    return ""


def coverage_of(report: Path, root: Path) -> dict[str, Any]:
    """Read coverage.py's JSON report: the total and each module's share of lines run."""
    try:
        data = json.loads(report.read_text(encoding="utf-8"))
        report.unlink()
    except (OSError, ValueError):
        return {}
    files = data.get("files") if isinstance(data, dict) else None
    if not isinstance(files, dict):
        return {}
    modules = {}
    for name, found in files.items():
        path = Path(name)
        shown = str(path.relative_to(root)) if path.is_relative_to(root) else name
        modules[shown] = round(float(found.get("summary", {}).get("percent_covered", 0.0)), 1)
    total = data.get("totals", {}).get("percent_covered")
    return {"percent": round(float(total), 1) if total is not None else None, "modules": modules}


def main(workspace: str, report: str, job_json: str) -> None:
    """Run the baseline, then each drawn mutant; write the report."""
    from cosmic_ray.mutating import mutate_and_test
    from cosmic_ray.work_item import MutationSpec, WorkerOutcome

    job = json.loads(job_json)
    root = Path(workspace)
    os.chdir(root)
    os.environ["PYTHONPATH"] = f"{root}{os.pathsep}{root / 'src'}"
    os.environ["PYTHONDONTWRITEBYTECODE"] = "1"
    deadline = time.monotonic() + float(job["budget_s"])
    argv = tests_argv(job["python"], list(job["tests"]))
    sources = [str(root / m) for m in job["modules"]]
    tools = sysconfig.get_paths()["purelib"]
    measured = [job["python"], "-c", MEASURED, tools, str(root / COVERED), json.dumps(sources)]
    measured += argv[3:]  # pytest's own arguments
    out: dict[str, Any] = {"baseline": {}, "places": 0, "mutants": []}
    started = time.monotonic()
    try:
        done = subprocess.run(  # noqa: S603 - the project's own tests, in the sandbox
            measured, capture_output=True, timeout=float(job["run_s"]), check=False
        )
        ok, tail = done.returncode == 0, (done.stdout + done.stderr).decode(errors="replace")
    except subprocess.TimeoutExpired:
        ok, tail = False, f"the tests ran past {job['run_s']} s"
    seconds = time.monotonic() - started
    out["baseline"] = {"ok": ok, "seconds": round(seconds, 2), "tail": tail[-TAIL_CHARS:]}
    out["coverage"] = coverage_of(root / COVERED, root)
    if ok:
        found = places(list(job["modules"]))
        out["places"] = len(found)
        limit = min(float(job["run_s"]), max(5.0, 4 * seconds))
        command = shlex.join(argv)
        for item in drawn(found, int(job["mutants"]), int(job["seed"])):
            if time.monotonic() + limit > deadline:
                break
            spec = MutationSpec(
                module_path=Path(item["module"]),
                operator_name=item["operator"],
                occurrence=item["occurrence"],
                start_pos=tuple(item["start"]),
                end_pos=tuple(item["end"]),
            )
            result = mutate_and_test([spec], command, limit)
            if result.worker_outcome is WorkerOutcome.NO_TEST:
                continue
            outcome = result.test_outcome.value if result.test_outcome else "incompetent"
            if result.worker_outcome is not WorkerOutcome.NORMAL:
                outcome = "incompetent"
            out["mutants"].append(
                {
                    "module": item["module"],
                    "line": item["start"][0],
                    "operator": item["operator"].split("/")[-1],
                    "outcome": outcome,
                    "diff": changed_line(result.diff or ""),
                }
            )
    Path(report).write_text(json.dumps(out), encoding="utf-8")


if __name__ == "__main__":
    main(*sys.argv[1:])
