"""Run the factory on one requirement, unattended, and read the report it prints.

It runs ``devfactory run REQUIREMENT --pipeline P --out DIR --unattended
--json``: progress on stderr, one JSON report on stdout. The run happens in a
child process, so that a crash, a hang (``timeout``) or a model's memory stays
out of the evaluation.

The run is given a time cap a little under the timeout (``run_deadline``), so
it stops itself and reports what it spent and built. One the timeout still
catches is sent SIGTERM (it stops at its next step, or at once after its grace
period) and, 30 s later, SIGKILL; what it spent is then read from the
``run.json`` it left in its folder, when it left one.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from eval.executors import one_line

# Providers named as "provider:model"; anything else is an Ollama model tag.
_PROVIDERS = frozenset({"ollama", "embedded", "openai", "anthropic", "google_genai", "groq"})
_ENV = {"NO_COLOR": "1", "COLUMNS": "200", "TERM": "dumb"}


@dataclass(frozen=True)
class FactoryRun:
    """What one factory run reported (``ERROR``: it could not run or reported nothing)."""

    status: str
    reason: str
    out_dir: Path
    run_id: str = ""
    tokens: int | None = None
    seconds: float = 0.0
    killed: bool = False  # it ran past its timeout and was killed


def devfactory_cli() -> str | None:
    """Return the ``devfactory`` executable beside this interpreter, or on PATH."""
    beside = Path(sys.executable).with_name("devfactory")
    return str(beside) if beside.is_file() else shutil.which("devfactory")


def factory_command(requirement: str, pipeline: str, out: Path) -> list[str]:
    """Return the argv that runs the factory unattended and prints a JSON report."""
    cli = devfactory_cli() or "devfactory"
    return [
        cli, "run", requirement, "--pipeline", pipeline, "--out", str(out),
        "--project", "eval", "--unattended", "--json", "--no-input",
    ]  # fmt: skip


# What every run of the evaluation is given unless ``--set`` says otherwise. Memory off: a
# case's run must not recall earlier runs (of the same case, too), or a measurement
# would depend on what ran before it. Incidents off: failing tests are what is measured,
# and a streak of them must not put the next case's project on hold.
RUN_DEFAULTS = {"memory_enabled": "false", "incidents_enabled": "false"}


def run_deadline(timeout: float) -> int:
    """Return the time cap a run given ``timeout`` seconds gets: a little under it.

    The margin (a tenth, at least 30 s and at most 10 min) is for the step under
    way at the cap (a model's reply, a sandbox run) and for writing the report.
    """
    margin = min(max(30.0, timeout / 10), 600.0)
    return max(1, int(timeout - margin))


def killed_report(out: Path) -> dict[str, Any] | None:
    """Return the ``run.json`` a killed run left in ``out`` (None: none, or not readable)."""
    try:
        found = json.loads((out / "run.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return found if isinstance(found, dict) else None


def setting_overrides(pairs: Sequence[str]) -> dict[str, str]:
    """Turn ``--set name=value`` pairs into the factory's ``DEVFACTORY_*`` variables.

    They go over ``RUN_DEFAULTS``.

    Raises:
        ValueError: a pair is not ``name=value`` or names no setting of the factory.

    """
    from devfactory.settings import FLAT_LIMITS, FlatSettings

    env = {f"DEVFACTORY_{name.upper()}": value for name, value in RUN_DEFAULTS.items()}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        name = name.strip().lower().replace("-", "_")
        if not sep or (name not in FlatSettings.model_fields and name not in FLAT_LIMITS):
            raise ValueError(f"--set {pair!r}: expected name=value with a factory setting's name")
        env[f"DEVFACTORY_{name.upper()}"] = value.strip()
    return env


def factory_missing() -> str:
    """Say why the factory cannot be run from here ("" when it can)."""
    try:
        from devfactory.factory.facade import Factory  # noqa: F401
    except ImportError as exc:
        return f"the factory cannot be imported ({exc}); run `make setup` first"
    return ""


def models_file(model: str, dest: Path) -> Path:
    """Write a models config that serves every chat alias with ``model``; return its path.

    ``model`` is an alias of the packaged config (``factory/coder``: every alias
    gets its chain), a label such as ``ollama:qwen2.5-coder:7b`` or ``embedded``,
    or a bare Ollama model tag such as ``qwen2.5-coder:7b``.
    """
    from devfactory.models.aliases import CHAT_ALIASES
    from devfactory.models.router import ModelsConfig
    from devfactory.settings import get_settings

    config = ModelsConfig.load(get_settings())
    aliases = {name: [e.model_dump() for e in chain] for name, chain in config.aliases.items()}
    if model in aliases:
        chain = aliases[model]
    else:
        labels = {e.label: e.model_dump() for chain in config.aliases.values() for e in chain}
        provider, _, name = model.partition(":")
        if model in labels:
            chain = [labels[model]]
        elif model == "embedded":
            chain = [e for e in labels.values() if e["provider"] == "embedded"][:1]
        elif provider in _PROVIDERS and name:
            chain = [{"provider": provider, "model": name}]
        else:
            chain = [{"provider": "ollama", "model": model}]
    for alias in CHAT_ALIASES:
        aliases[alias] = chain
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(yaml.safe_dump({"aliases": aliases}, sort_keys=False), encoding="utf-8")
    return dest


def last_json_object(text: str) -> dict[str, Any] | None:
    """Return the last JSON object that starts at the beginning of a line of ``text``."""
    decoder = json.JSONDecoder()
    found, end = None, 0
    for match in re.finditer(r"(?m)^\{", text):
        if match.start() < end:
            continue  # inside the object already found
        try:
            value, stop = decoder.raw_decode(text, match.start())
        except json.JSONDecodeError:
            continue
        if isinstance(value, dict):
            found, end = value, stop
    return found


def tokens_of(report: Mapping[str, Any]) -> int | None:
    """Return the tokens a run report says the run used, wherever it puts them."""
    for key in ("tokens", "total_tokens"):
        if isinstance(report.get(key), int):
            return int(report[key])
    usage = report.get("usage")
    if isinstance(usage, Mapping):
        found = tokens_of(usage)
        if found is not None:
            return found
        if isinstance(usage.get("total"), Mapping):
            return tokens_of(usage["total"])
    if "input_tokens" in report or "output_tokens" in report:
        return int(report.get("input_tokens") or 0) + int(report.get("output_tokens") or 0)
    stages = report.get("stages") or report.get("records")
    if isinstance(stages, Sequence) and not isinstance(stages, str):
        counts = [tokens_of(s) for s in stages if isinstance(s, Mapping)]
        if any(c is not None for c in counts):
            return sum(c or 0 for c in counts)
    return None


def _run(
    argv: Sequence[str], env: Mapping[str, str], timeout: float
) -> tuple[int | None, str, str]:
    proc = subprocess.Popen(  # noqa: S603 - argv built above, no shell
        list(argv),
        env=dict(env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        errors="replace",
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGTERM)  # the factory records an interrupted run
        try:
            out, err = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            out, err = proc.communicate()
        return None, out, err
    return proc.returncode, out, err


def run_factory(
    requirement_file: Path,
    *,
    pipeline: str,
    out: Path,
    logs: Path,
    models: Path | None = None,
    timeout: float = 3600,
    overrides: dict[str, str] | None = None,
) -> FactoryRun:
    """Run the factory on the requirement in ``requirement_file``; never raises for a bad run."""
    started = time.monotonic()
    requirement = requirement_file.read_text(encoding="utf-8")
    env = {
        **os.environ,
        **_ENV,
        "DEVFACTORY_UNATTENDED": "true",
        "DEVFACTORY_REVIEW_REQUIRED": "false",
    }
    if models is not None:
        env["DEVFACTORY_MODELS_FILE"] = str(models)
    env["DEVFACTORY_RUN_DEADLINE_S"] = str(run_deadline(timeout))  # it stops itself first
    env.update(overrides or {})
    argv = factory_command(requirement, pipeline, out)
    try:
        code, stdout, stderr = _run(argv, env, timeout)
    except OSError as exc:
        return FactoryRun("ERROR", f"cannot start the factory: {exc}", out)
    seconds = round(time.monotonic() - started, 1)
    logs.mkdir(parents=True, exist_ok=True)
    (logs / "factory.stdout.log").write_text(stdout, encoding="utf-8")
    (logs / "factory.stderr.log").write_text(stderr, encoding="utf-8")
    report = last_json_object(stdout)
    if code is None:
        reason = f"killed after {timeout:.0f} s"
        folder = Path(str((report or {}).get("out_dir") or out))
        left = killed_report(folder)
        if left is None:  # it wrote nothing: nothing it spent can be counted
            run_id = str((report or {}).get("run_id", ""))
            return FactoryRun("ERROR", reason, out, run_id, None, seconds, killed=True)
        return FactoryRun(
            status=str(left.get("status") or "ERROR"),
            reason=f"{reason}; {left.get('reason') or 'its run.json gives no reason'}",
            out_dir=folder,
            run_id=str(left.get("run_id") or (report or {}).get("run_id") or ""),
            tokens=tokens_of(left),
            seconds=seconds,
            killed=True,
        )
    if report is None:
        why = one_line(stderr) or one_line(stdout) or "no output"
        return FactoryRun("ERROR", f"no JSON report (exit {code}): {why}", out, seconds=seconds)
    return FactoryRun(
        status=str(report.get("status") or "UNKNOWN"),
        reason=str(report.get("reason") or ""),
        out_dir=Path(str(report.get("out_dir") or out)),
        run_id=str(report.get("run_id") or ""),
        tokens=tokens_of(report),
        seconds=seconds,
    )
