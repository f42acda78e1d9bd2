"""Run a README's examples in order against the delivered software; run in the sandbox.

Usage: python -I -B readme_run.py WORKSPACE REPORT EXAMPLES PER_EXAMPLE_S BUDGET_S

Run with the project's own environment (its dependencies installed) and the
standard library only. EXAMPLES is a JSON list of ``{"line", "kind", "text"}``:
``shell`` commands run with ``bash -c``, ``python`` blocks with ``python -c``,
``doctest`` sessions with the standard library's doctest (ellipsis and whitespace
forgiven); ``exists`` names a program (found on ``PATH``, among the console scripts, or
as a file of the project) or ``-m MODULE`` (importable), and runs nothing.
Each runs in WORKSPACE (a plain ``cd DIR`` moves there for the examples
after it, and one to a folder that is not there, the checkout's own name, is passed
over), with WORKSPACE and WORKSPACE/src on ``PYTHONPATH`` and the project's console
scripts (``[project.scripts]`` of its ``pyproject.toml``) on ``PATH``; ``export
NAME=value`` sets a variable for those after it.

An example passes when it exits 0 within PER_EXAMPLE_S. One still running then that
has started listening on a TCP port is a server: it keeps running while the examples
after it run, and all are stopped at the end. One still running that listens on
nothing failed. Once BUDGET_S is spent the rest are not run. REPORT gets
``{"examples": [{"ok": bool, "why": str, "server": bool}, ...]}``, one per example.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

# the sandbox's own drivers (devfactory/sandbox/drivers/, which run_driver mounts too)
sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "sandbox" / "drivers"))
from processes import stop  # noqa: E402 - the sandbox drivers' module

OUTPUT_CHARS = 600
DOCTEST = """
import doctest, sys
text = sys.stdin.read()
test = doctest.DocTestParser().get_doctest(text, {"__name__": "__main__"}, "README", "README.md", 0)
flags = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
runner = doctest.DocTestRunner(optionflags=flags)
runner.run(test)
sys.exit(1 if runner.failures else 0)
"""
EXPORT = re.compile(r"^export\s+([A-Za-z_]\w*)=(.*)$")


def listening_ports() -> set[int]:
    """Return the TCP ports something listens on in this network namespace."""
    ports: set[int] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text(encoding="ascii").splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) > 3 and fields[3] == "0A":  # TCP_LISTEN
                ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


def console_scripts(root: Path, folder: Path) -> None:
    """Write a launcher in ``folder`` for each console script the project declares."""
    try:
        import tomllib

        project = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    except (ImportError, OSError, ValueError):
        return
    scripts = project.get("project", {}).get("scripts", {})
    if not isinstance(scripts, dict):
        return
    for name, target in scripts.items():
        if not re.fullmatch(r"[\w.-]+", str(name)) or ":" not in str(target):
            continue
        module, _, function = str(target).partition(":")
        if not re.fullmatch(r"[\w.]+", module) or not re.fullmatch(r"[\w.]+", function):
            continue
        launcher = folder / str(name)
        launcher.write_text(
            f"#!{sys.executable}\nimport sys\nfrom {module} import {function.split('.')[0]}\n"
            f"sys.exit({function}())\n",
            encoding="utf-8",
        )
        launcher.chmod(0o755)


def tail(output: bytes) -> str:
    """Return the end of a command's output, on one line."""
    text = output.decode("utf-8", errors="replace").strip()
    return " ".join(text[-OUTPUT_CHARS:].split())


def main(workspace: str, report: str, examples_json: str, per_example: str, budget: str) -> None:
    """Run every example; write the report."""
    root = Path(workspace).resolve()
    examples: list[dict[str, Any]] = json.loads(examples_json)
    limit, deadline = float(per_example), time.monotonic() + float(budget)
    cwd = root
    outcomes: list[dict[str, Any]] = []
    servers: list[subprocess.Popen[bytes]] = []
    with tempfile.TemporaryDirectory(dir=root, prefix=".readme-") as scratch:
        bin_dir = Path(scratch) / "bin"
        bin_dir.mkdir()
        console_scripts(root, bin_dir)
        env = dict(os.environ)
        env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
        env["PYTHONPATH"] = f"{root}{os.pathsep}{root / 'src'}"
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        try:
            for example in examples:
                if time.monotonic() >= deadline:
                    outcomes.append({"ok": False, "why": "not run: the check's time ran out"})
                    continue
                kind, text = str(example.get("kind")), str(example.get("text"))
                words = shlex.split(text) if kind == "shell" and text.startswith("cd ") else []
                if len(words) == 2 and words[0] == "cd":
                    target = (cwd / words[1]).resolve()
                    if target.is_dir() and target.is_relative_to(root):
                        cwd = target
                    outcomes.append({"ok": True, "why": ""})  # the checkout's own folder: here
                    continue
                exported = EXPORT.match(text) if kind == "shell" else None
                if exported:
                    value = shlex.split(exported.group(2)) or [""]
                    env[exported.group(1)] = value[0]
                    outcomes.append({"ok": True, "why": ""})
                    continue
                if kind == "exists":
                    outcomes.append(exists(text, cwd, env))
                    continue
                if kind == "shell":
                    argv, stdin = ["bash", "-c", text], None
                elif kind == "python":
                    argv, stdin = [sys.executable, "-c", text], None
                else:
                    argv, stdin = [sys.executable, "-c", DOCTEST], text
                left = max(1.0, min(limit, deadline - time.monotonic()))
                outcome, server = run_one(argv, stdin, cwd, env, left)
                outcomes.append(outcome)
                if server is not None:
                    servers.append(server)
        finally:
            for server in servers:
                stop(server)
    Path(report).write_text(json.dumps({"examples": outcomes}), encoding="utf-8")


def exists(name: str, cwd: Path, env: dict[str, str]) -> dict[str, Any]:
    """Say whether a program (or ``-m MODULE``) a document names is there, running nothing."""
    if name.startswith("-m "):
        module = name[3:].strip()
        probe = (
            "import importlib.util, sys; "
            "sys.exit(0 if importlib.util.find_spec(sys.argv[1]) else 1)"
        )
        try:
            found = subprocess.run(  # noqa: S603 - a lookup, nothing of the project runs
                [sys.executable, "-c", probe, module], cwd=cwd, env=env, capture_output=True,
                timeout=30, check=False,
            ).returncode == 0  # fmt: skip
        except (OSError, subprocess.TimeoutExpired):
            found = False
        return {
            "ok": found,
            "why": "" if found else f"no module {module} is installed or in the project",
        }
    if shutil.which(name, path=env.get("PATH")) or (cwd / name).is_file():
        return {"ok": True, "why": ""}
    return {
        "ok": False,
        "why": f"no program {name} is installed, a console script or a file of the project",
    }


def run_one(
    argv: list[str], stdin: str | None, cwd: Path, env: dict[str, str], limit: float
) -> tuple[dict[str, Any], subprocess.Popen[bytes] | None]:
    """Run one example; return its outcome, and the process when it is a server kept running."""
    before = listening_ports()
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(  # noqa: S603 - the README's own example, in the sandbox
            argv,
            cwd=cwd,
            env=env,
            stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        if stdin is not None and proc.stdin is not None:
            try:
                proc.stdin.write(stdin.encode("utf-8"))
                proc.stdin.close()
            except OSError:
                pass
        started = time.monotonic()
        while proc.poll() is None:
            opened = listening_ports() - before
            if opened and time.monotonic() - started > 0.5:
                time.sleep(0.5)  # let it finish starting before the next example asks it
                ports = ", ".join(str(p) for p in sorted(opened))
                return {"ok": True, "why": "", "server": True, "ports": ports}, proc
            if time.monotonic() - started > limit:
                stop(proc)
                log.seek(0)
                said = tail(log.read())
                why = f"did not finish within {limit:.0f} s and listens on no port"
                return {"ok": False, "why": f"{why}: {said}" if said else why}, None
            time.sleep(0.1)
        log.seek(0)
        output = log.read()
    if proc.returncode == 0:
        return {"ok": True, "why": ""}, None
    said = tail(output)
    why = f"failed (exit {proc.returncode})"
    return {"ok": False, "why": f"{why}: {said}" if said else why}, None


if __name__ == "__main__":
    main(*sys.argv[1:])
