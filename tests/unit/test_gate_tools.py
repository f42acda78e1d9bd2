"""Every program a gate runs is installed with the factory, and one missing stops it at start."""

from __future__ import annotations

import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from devfactory import cli
from devfactory.checks import gate_tools as tools
from devfactory.checks.catalogue import CHECKS
from devfactory.checks.code import lint
from devfactory.cli import common

ROOT = Path(__file__).resolve().parents[2]


def test_every_tool_the_gates_run_is_installed_here() -> None:
    assert tools.missing_tools() == []


def test_ruff_is_a_pinned_runtime_dependency_and_pyjwt_is_declared() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    runtime = project["project"]["dependencies"]
    assert "ruff==" in " ".join(runtime)  # pinned, and installed by `uv sync --no-dev`
    assert not any(d.startswith("ruff") for d in project["dependency-groups"]["dev"])
    assert any(d.startswith("pyjwt") for d in runtime)
    assert [d for d in runtime if d.startswith("psycopg-pool")] == []  # psycopg[pool] is it


def test_the_image_installs_ruff_and_leaves_the_dev_tools_out() -> None:
    """What the Dockerfile's ``uv sync`` installs, as uv itself reads it from ``uv.lock``."""
    sync = re.search(r"uv sync ([^\\\n&]*)", (ROOT / "Dockerfile").read_text())
    assert sync is not None
    flags = [f for f in sync[1].split() if f in ("--frozen", "--no-dev", "--locked")]
    assert "--no-dev" in flags  # the image has no dev group: a gate tool must be a runtime one
    uv = shutil.which("uv") or str(ROOT / ".tools" / "bin" / "uv")
    exported = subprocess.run(
        [uv, "export", *flags, "--no-hashes", "--no-emit-project", "--format", "requirements-txt"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    installed = {
        re.split(r"[=<>;\[ ]", line, maxsplit=1)[0].lower()
        for line in exported.splitlines()
        if line.strip() and not line.startswith(("#", " "))
    }
    assert "ruff" in installed  # the lint gate runs in the deployed image
    assert "mypy" not in installed and "playwright" not in installed  # and --no-dev held
    tools = {t for name in [*CHECKS.tool, *CHECKS.build] for t in CHECKS.tools(name)}
    assert {t.distribution for t in tools} <= installed  # every team's tool, pinned, in the image


@pytest.mark.parametrize(
    "argv",
    [
        ["run", "A todo API"],
        ["resume", "r1"],
        ["approve", "r1", "--id", "abcdef12"],
        ["worker", "--idle-exit", "0"],
        ["serve"],
    ],
)
def test_a_missing_tool_stops_the_command_at_start_with_exit_4(
    monkeypatch: pytest.MonkeyPatch, argv: list[str]
) -> None:
    monkeypatch.setattr(lint, "ruff_path", lambda: None)
    monkeypatch.setattr(tools.shutil, "which", lambda name, **kw: None)  # no git either
    opened: list[object] = []
    monkeypatch.setattr(common, "open_factory", lambda settings: opened.append(settings))
    result = CliRunner().invoke(cli.app, argv)
    assert result.exit_code == cli.EXIT_ENV, result.output
    line = " ".join(result.output.split())
    assert "the gates cannot run: missing ruff (for the gate's lint" in line
    assert "git (for the run's folder" in line and "apt-get install git" in line
    assert "uv (for" not in line  # only what is missing is named
    assert opened == []  # nothing was opened, no run was started


def test_a_present_tool_is_not_named() -> None:
    present = tools.Tool("here", "a test", lambda: "/bin/here", "nothing")
    absent = tools.Tool("gone", "a test", lambda: None, "install it")
    assert tools.missing_tools((present, absent)) == [absent]
    assert tools.missing_message([absent]) == (
        "the gates cannot run: missing gone (for a test; install it)"
    )
