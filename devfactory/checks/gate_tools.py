"""The programs the gates run, and the one check at start that they are all there.

A gate that cannot run its tool does not judge: a lint that is skipped passes
code it never read. So every program a check or the precheck runs is listed
here, each is installed with the factory (pinned in ``pyproject.toml``, or a
system package the image installs), and ``run``, ``resume``, ``serve`` and
``worker`` stop at start, naming every one missing (``missing_tools``), before
any run is driven. The sandbox's own program (bubblewrap) has its own check,
which says how to run without it (``Sandbox.check``).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Tool:
    """A program a gate runs: how to find it, who runs it, how to install it.

    Attributes:
        name: the program's name.
        used_by: what runs it, as a person reads it.
        find: its path, or None when it is not installed.
        fix: how to install it.

    """

    name: str
    used_by: str
    find: Callable[[], str | None]
    fix: str

    def line(self) -> str:
        """Say in one line that the tool is missing, what needs it and how to install it."""
        return f"{self.name} (for {self.used_by}; {self.fix})"


def _ruff() -> str | None:
    from devfactory.checks.code.lint import ruff_path

    return ruff_path()


def _uv() -> str | None:
    from devfactory.sandbox.installer import uv_binary

    try:
        return str(uv_binary())
    except RuntimeError:
        return None


SYNCED = "a dependency of devfactory: `uv sync --no-dev` installs it"
GATE_TOOLS: tuple[Tool, ...] = (
    Tool("ruff", "the gate's lint and the per-file precheck", _ruff, SYNCED),
    Tool("uv", "the install check, which builds the sandbox's environments", _uv, SYNCED),
    Tool(
        "git",
        "the run's folder, a commit per passed stage, and --repo",
        lambda: shutil.which("git"),
        "a system package: `apt-get install git`",
    ),
)


def missing_tools(tools: tuple[Tool, ...] = GATE_TOOLS) -> list[Tool]:
    """Return the tools the gates run that are not installed, in order."""
    return [tool for tool in tools if not tool.find()]


def missing_message(missing: list[Tool]) -> str:
    """Say in one line which tools are missing, and how to install each."""
    return "the gates cannot run: missing " + "; ".join(tool.line() for tool in missing)
