"""Dependency environments: which ones, under which key, and what they point at.

An environment is a relocatable virtualenv made by uv with a project's
dependencies plus pytest. It is keyed by a hash of the sorted, normalised
dependencies and the Python version, so projects that need the same things
share one, built once (see ``Sandbox.environment``).
"""

from __future__ import annotations

import hashlib
import json
import platform
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from devfactory.sandbox.results import CommandResult

MAX_DEPENDENCIES = 50
MAX_DEPENDENCY_CHARS = 200
MARKER = ".devfactory-env.json"  # written last: an environment without it is not finished
TEST_RUNNER = "pytest"


@dataclass(frozen=True)
class Environment:
    """A virtualenv the sandbox runs code with (mounted read-only there)."""

    path: Path
    dependencies: tuple[str, ...]
    key: str
    install: CommandResult  # how it was made (exit 0 and "reused" when it already existed)
    reused: bool = False

    @property
    def ok(self) -> bool:
        """Whether it installed and is complete."""
        return self.install.exit_code == 0 and (self.path / MARKER).is_file()

    @property
    def bin(self) -> Path:
        """Its scripts folder (first on PATH in the sandbox)."""
        return self.path / "bin"

    def variables(self, *, home: str) -> dict[str, str]:
        """Return the whole environment code runs with: nothing of the factory's own."""
        return {
            "PATH": f"{self.bin}:/usr/local/bin:/usr/bin:/bin",
            "HOME": home,
            "TMPDIR": home,
            "VIRTUAL_ENV": str(self.path),
            "LANG": "C.UTF-8",
            "PYTHONHASHSEED": "0",
            "PYTHONUNBUFFERED": "1",
            "PYTHONDONTWRITEBYTECODE": "1",  # the workspace stays as the team wrote it
            "PYTHONNOUSERSITE": "1",
            "NO_COLOR": "1",
            "USER": "sandbox",
        }

    def python_home(self) -> Path:
        """Return the prefix of the Python install it points at (read from ``pyvenv.cfg``).

        Only that prefix is mounted in the sandbox; it must look like a Python
        install, so a broken or hostile ``pyvenv.cfg`` cannot mount ``/`` or a
        home folder.
        """
        for line in (self.path / "pyvenv.cfg").read_text().splitlines():
            key, _, value = line.partition("=")
            if key.strip() == "home":
                return checked_prefix(Path(value.strip()).resolve().parent)
        raise ValueError(f"{self.path} has no 'home' in pyvenv.cfg")


@dataclass(frozen=True)
class ToolsEnvironment(Environment):
    """The factory's own environment: the tools the teams' checks run, as ``uv.lock`` pins them.

    Mounted read-only in the sandbox like a project's environment. The tools run
    there on a team's files, which are data to them (a document to validate), never
    code they import; the factory's own files hold no secret (those live in the
    data folder and the process environment, neither of which is mounted).
    """

    @property
    def ok(self) -> bool:
        """Whether its interpreter is there (it is the running factory's own)."""
        return (self.bin / "python").exists()

    def python_home(self) -> Path:
        """Return the prefix of the Python install the factory runs on."""
        return checked_prefix(Path(sys.base_prefix).resolve())


def tools_environment() -> ToolsEnvironment:
    """Return the running factory's environment, for the sandbox to run the checks' tools with."""
    made = CommandResult("tools", (), 0, 0.0, "the factory's own environment")
    return ToolsEnvironment(Path(sys.prefix), (), "factory-tools", made, reused=True)


def checked_prefix(prefix: Path) -> Path:
    """Return ``prefix`` when it is a Python install (``bin/python3*``, ``lib/python3.*``)."""
    lib = list(prefix.glob("lib/python3.*"))
    if len(prefix.parts) < 2 or not lib or not list(prefix.glob("bin/python3*")):
        raise ValueError(f"{prefix} is not a Python installation")
    return prefix


def base_python() -> tuple[Path, str]:
    """Return the base interpreter (not a virtualenv's) and its version, e.g. ``3.11.7``."""
    executable = Path(getattr(sys, "_base_executable", "") or sys.executable)
    return executable, platform.python_version()


def validate_dependencies(dependencies: Sequence[str]) -> tuple[str, ...]:
    """Return the dependencies normalised, sorted and with pytest; ValueError if one is unsafe.

    Only PEP 508 requirements naming a package from the index are accepted:
    no URLs (``name @ https://...``), paths, editable installs or installer
    options, which would fetch or run something other than a released package.
    """
    if isinstance(dependencies, str):
        raise ValueError("dependencies must be a list of requirement strings, not one string")
    if len(dependencies) > MAX_DEPENDENCIES:
        raise ValueError(f"at most {MAX_DEPENDENCIES} dependencies, got {len(dependencies)}")
    found: dict[str, str] = {}
    for raw in dependencies:
        text = str(raw).strip()
        if not text or len(text) > MAX_DEPENDENCY_CHARS:
            raise ValueError(f"dependency {text[:60]!r} is empty or over {MAX_DEPENDENCY_CHARS}")
        if text.startswith("-"):
            raise ValueError(f"dependency {text!r} is an installer option, not a requirement")
        try:
            requirement = Requirement(text)
        except InvalidRequirement as exc:
            raise ValueError(f"dependency {text!r} is not a PEP 508 requirement: {exc}") from exc
        if requirement.url:
            raise ValueError(f"dependency {text!r} names a URL or path; only index packages")
        name = canonicalize_name(requirement.name)
        if name in found:
            raise ValueError(f"dependency {requirement.name!r} is listed twice")
        requirement.name = name  # one spelling, one key
        found[name] = str(requirement)
    found.setdefault(TEST_RUNNER, TEST_RUNNER)
    return tuple(found[name] for name in sorted(found))


def environment_key(dependencies: Sequence[str], python_version: str) -> str:
    """Return the key of the environment for these (validated) dependencies."""
    blob = json.dumps(
        {"python": python_version, "machine": platform.machine(), "deps": list(dependencies)},
        sort_keys=True,
    )
    return f"py{python_version}-{hashlib.sha256(blob.encode()).hexdigest()[:16]}"
