"""What the sandbox is asked to run: smoke runs, test commands, module names (all checked)."""

from __future__ import annotations

import re
import shlex
from collections.abc import Sequence
from dataclasses import dataclass

_MODULE = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*")
_REFUSED_PYTEST_OPTIONS = ("--basetemp", "--junitxml", "--junit-xml")


@dataclass(frozen=True)
class Smoke:
    """How to smoke-run an entry point.

    ``cli``: run ``argv + ["--help"]``; ok when it exits 0 and prints something.
    ``http``: start ``argv`` (``{port}`` is replaced by a free port) and GET
    ``path`` on the sandbox's own loopback; ok when the status is below 500.
    """

    kind: str  # "cli" or "http" (checked when made)
    argv: tuple[str, ...]
    path: str = "/"
    startup_seconds: int = 30

    def __post_init__(self) -> None:
        object.__setattr__(self, "argv", tuple(self.argv))
        if self.kind not in ("cli", "http"):
            raise ValueError(f"smoke kind must be 'cli' or 'http', not {self.kind!r}")
        if not self.argv or not all(isinstance(a, str) and a for a in self.argv):
            raise ValueError("smoke argv must be a non-empty list of non-empty strings")
        if self.kind == "http" and not any("{port}" in a for a in self.argv):
            raise ValueError("an http smoke's argv must say where the port goes: '{port}'")
        if not self.path.startswith("/") or any(c.isspace() for c in self.path):
            raise ValueError(f"smoke path must start with '/' and hold no spaces: {self.path!r}")


def pytest_argv(command: str) -> list[str]:
    """Split a test command; only ``pytest [args]`` or ``python -m pytest [args]`` is accepted."""
    argv = shlex.split(command)
    if argv[:1] == ["pytest"]:
        rest = argv[1:]
    elif argv[:3] in (["python", "-m", "pytest"], ["python3", "-m", "pytest"]):
        rest = argv[3:]
    else:
        raise ValueError(
            f"test command must be 'pytest [args]' or 'python -m pytest [args]': {command!r}"
        )
    for arg in rest:
        if arg.split("=", 1)[0] in _REFUSED_PYTEST_OPTIONS:
            raise ValueError(f"test command may not set {arg.split('=', 1)[0]}")
    return argv


def check_modules(modules: Sequence[str]) -> list[str]:
    """Return the module names; ValueError unless each is a dotted Python name."""
    if isinstance(modules, str):
        raise ValueError("modules must be a list of dotted names, not one string")
    names = [str(m) for m in modules]
    bad = [n for n in names if not _MODULE.fullmatch(n)]
    if bad:
        raise ValueError(f"not dotted module names: {bad}")
    return names
