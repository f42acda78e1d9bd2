"""Compliance & Legal's build check: the declared dependencies' licences against the policy.

Once the software is built, its environment holds the plan's dependencies as they
were installed; their licences are read from that metadata (in the sandbox, by the
project's own interpreter) and told as SPDX expressions: the ``License-Expression``
field when there is one, else the trove classifiers, else the ``License`` field's
name or text. Each must be satisfiable from ``licence_allowed``. A dependency under
another licence, or whose licence cannot be read, fails the run: the build plan
declared it, and a fix round keeps the plan, so no team can fix it by redrafting.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from packaging.licenses import InvalidLicenseExpression, canonicalize_license_expression
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from devfactory.checks.tools import tool_frame as frame
from devfactory.contracts import CheckRun
from devfactory.software.plan import PLAN_PATH

CLASSIFIERS = {
    "MIT License": "MIT",
    "MIT No Attribution License (MIT-0)": "MIT-0",
    "BSD License": "BSD-3-Clause",
    "Apache Software License": "Apache-2.0",
    "ISC License (ISCL)": "ISC",
    "Python Software Foundation License": "PSF-2.0",
    "Mozilla Public License 2.0 (MPL 2.0)": "MPL-2.0",
    "The Unlicense (Unlicense)": "Unlicense",
    "zlib/libpng License": "Zlib",
    "Historical Permission Notice and Disclaimer (HPND)": "HPND",
    "GNU General Public License v2 (GPLv2)": "GPL-2.0-only",
    "GNU General Public License v2 or later (GPLv2+)": "GPL-2.0-or-later",
    "GNU General Public License v3 (GPLv3)": "GPL-3.0-only",
    "GNU General Public License v3 or later (GPLv3+)": "GPL-3.0-or-later",
    "GNU Lesser General Public License v2 (LGPLv2)": "LGPL-2.0-only",
    "GNU Lesser General Public License v2 or later (LGPLv2+)": "LGPL-2.0-or-later",
    "GNU Lesser General Public License v3 (LGPLv3)": "LGPL-3.0-only",
    "GNU Lesser General Public License v3 or later (LGPLv3+)": "LGPL-3.0-or-later",
    "GNU Affero General Public License v3": "AGPL-3.0-only",
    "GNU Affero General Public License v3 or later (AGPLv3+)": "AGPL-3.0-or-later",
    "Eclipse Public License 2.0 (EPL-2.0)": "EPL-2.0",
}
"""The ``License :: OSI Approved :: ...`` classifiers, by their last part, as SPDX ids."""

NAMES = {
    "mit": "MIT",
    "mit license": "MIT",
    "bsd": "BSD-3-Clause",
    "bsd license": "BSD-3-Clause",
    "new bsd license": "BSD-3-Clause",
    "3-clause bsd license": "BSD-3-Clause",
    "apache 2.0": "Apache-2.0",
    "apache 2": "Apache-2.0",
    "apache license 2.0": "Apache-2.0",
    "apache license, version 2.0": "Apache-2.0",
    "apache software license": "Apache-2.0",
    "isc": "ISC",
    "psf": "PSF-2.0",
    "gpl": "GPL-3.0-or-later",
    "gplv3": "GPL-3.0-only",
    "gplv2": "GPL-2.0-only",
}
"""Common names written in the ``License`` field, as SPDX ids."""

TEXTS = (  # a whole licence text in the ``License`` field, by a sentence only it has
    ("permission is hereby granted, free of charge", "MIT"),
    ("apache license\nversion 2.0", "Apache-2.0"),
    ("apache license, version 2.0", "Apache-2.0"),
    ("redistribution and use in source and binary forms", "BSD-3-Clause"),
    ("gnu general public license", "GPL-3.0-or-later"),
)


def _canonical(text: str) -> str:
    """Return ``text`` as a canonical SPDX expression ("" when it is none)."""
    try:
        return str(canonicalize_license_expression(text))
    except InvalidLicenseExpression:
        return ""


def spdx_of(found: dict[str, object]) -> str:
    """Return a distribution's licence as an SPDX expression ("" when it cannot be told)."""
    expression = str(found.get("expression") or "").strip()
    if expression and (canonical := _canonical(expression)):
        return canonical
    classified = [
        CLASSIFIERS[c.split(" :: ")[-1]]
        for c in found.get("classifiers") or []  # type: ignore[attr-defined]
        if c.split(" :: ")[-1] in CLASSIFIERS
    ]
    if classified:
        return " OR ".join(dict.fromkeys(classified))
    text = str(found.get("license") or "").strip()
    if text.lower() in NAMES:
        return NAMES[text.lower()]
    if text and "\n" not in text and len(text) < 100 and (canonical := _canonical(text)):
        return canonical
    lowered = re.sub(r"\s+", " ", text.lower()).replace(
        "apache license version", "apache license\nversion"
    )
    return next((spdx for sentence, spdx in TEXTS if sentence in lowered), "")


def satisfiable(expression: str, allowed: Iterable[str]) -> bool:
    """Say whether an SPDX expression can be met using only ``allowed`` licences.

    ``A OR B`` needs one of them, ``A AND B`` both; ``WITH`` exceptions go with their
    licence; parentheses group. A licence is compared by its SPDX id, case aside.
    """
    permitted = {a.lower() for a in allowed}
    tokens = re.findall(r"\(|\)|[^\s()]+", expression)
    position = 0

    def parse_or() -> bool:
        nonlocal position
        value = parse_and()
        while position < len(tokens) and tokens[position].upper() == "OR":
            position += 1
            value = parse_and() or value
        return value

    def parse_and() -> bool:
        nonlocal position
        value = parse_atom()
        while position < len(tokens) and tokens[position].upper() == "AND":
            position += 1
            value = parse_atom() and value
        return value

    def parse_atom() -> bool:
        nonlocal position
        if position >= len(tokens):
            return False
        token = tokens[position]
        position += 1
        if token == "(":
            value = parse_or()
            position += 1  # the closing parenthesis
            return value
        if position < len(tokens) and tokens[position].upper() == "WITH":
            position += 2  # the exception belongs to this licence
        return token.lower() in permitted

    return bool(tokens) and parse_or()


def declared(dependencies: Sequence[str]) -> list[str]:
    """Return the distributions the plan declares (a requirement it cannot read is left out)."""
    names = []
    for text in dependencies:
        try:
            names.append(canonicalize_name(Requirement(text).name))
        except InvalidRequirement:
            continue
    return list(dict.fromkeys(names))


@dataclass(frozen=True)
class LicenceCheck:
    """Every declared dependency is under a licence the policy allows (its installed metadata)."""

    name = "licences"
    tools = (frame.Tool("packaging"),)
    promise = (
        "Once the software is built, each dependency the build plan declares has its licence "
        "read from its installed metadata (`License-Expression`, else its classifiers, else its "
        "`License` field) and checked against the licence policy (the `licence_allowed` "
        "setting); one under another licence, or whose licence cannot be read, fails the run."
    )

    def judges(self, path: str, code: bool) -> bool:
        """Look at the build plan: the dependencies are declared there."""
        return path == PLAN_PATH

    def run(self, context: frame.ToolContext, paths: Sequence[str]) -> frame.ToolReport:
        """Read the declared dependencies' licences in the project's environment."""
        names = declared(context.dependencies)
        label = f"importlib.metadata, {self.tools[0].label()}"
        command = f"read the licences of {', '.join(names)}"
        if not names:
            return frame.not_run(self.name, "not run: no dependency declared", label)
        env = context.sandbox.environment(list(context.dependencies))
        result, report = frame.reported(
            self.name, "licence_metadata.py", context, names, "distributions", env=env
        )
        if report is None:
            said = "no licence could be read"
            return frame.not_reported(self.name, command, result, label, "", said)
        read = report["distributions"]
        allowed = context.settings.checks.licence_allowed if context.settings is not None else ()
        findings = [
            frame.Finding("", said)
            for name in names
            if (said := judged(name, read.get(name), allowed))
        ]
        summary = f"{len(findings)} finding(s)" if findings else f"{len(names)} allowed"
        passed = len(names) - len(findings)
        run = frame.ran(
            self.name, command, result, label, passed=passed, failed=len(findings), summary=summary
        )
        return frame.ToolReport([run], findings)


def judged(name: str, found: object, allowed: Iterable[str]) -> str:
    """Say what keeps one declared dependency from the policy ("" when nothing does)."""
    if not isinstance(found, dict) or found.get("missing"):
        return f"dependency {name}: not installed, so its licence is unknown"
    spdx = spdx_of(found)
    if not spdx:
        return f"dependency {name} {found.get('version')}: no licence in its metadata"
    if not satisfiable(spdx, allowed):
        return (
            f"dependency {name} {found.get('version')} is under {spdx}, which the licence "
            "policy (licence_allowed) does not allow"
        )
    return ""


LICENCE_FILES = ("LICENSE", "LICENSE.md", "LICENSE.txt", "COPYING")
"""Where a project's licence text is looked for, at its root (the first found is the one)."""

_SPDX_HEADER = re.compile(
    r"SPDX-License-Identifier:\s*([^\s*#/-][^\r\n*]*?)\s*(?:\*/|-->)?\s*$", re.M
)


def licence_of_text(text: str) -> str:
    """Return the SPDX id a licence file's text is ("" when it cannot be told).

    Its first line may name it (``MIT License``, ``Apache License``, an SPDX id); else a
    sentence only that licence has tells it (``licences.TEXTS``).
    """
    first = next((line.strip(" #*") for line in text.splitlines() if line.strip()), "")
    named = NAMES.get(first.lower())
    if named:
        return named
    if first and len(first) < 60 and (canonical := _canonical(first)):
        return canonical
    return spdx_of({"license": text})


def declared_licence(pyproject: str) -> str | None:
    """Return the ``license`` a ``pyproject.toml`` declares (None: none; "" when unreadable)."""
    try:
        project = tomllib.loads(pyproject).get("project", {})
    except tomllib.TOMLDecodeError:
        return ""
    found = project.get("license") if isinstance(project, dict) else None
    if found is None:
        return None
    if isinstance(found, dict):  # the older table form: {text = "..."} or {file = "..."}
        return str(found.get("text") or "")
    return str(found)


@dataclass(frozen=True)
class LicenceFileCheck:
    """The delivered software carries a LICENSE its metadata and SPDX headers agree with."""

    name = "licence_file"
    tools = (frame.Tool("packaging"),)
    promise = (
        "Once the software is built, it must carry its licence: a `LICENSE` file at the root "
        "(the full text of a licence the `licence_allowed` setting allows; MIT unless the "
        "requirement says otherwise) whose licence can be told (its first line or its text). A "
        "`pyproject.toml` must declare the same licence as an SPDX expression (`license = "
        '"MIT"`), and every `SPDX-License-Identifier:` line in the files must name it too.'
    )

    def judges(self, path: str, code: bool) -> bool:
        """Look at every file: the licence file, the metadata, the headers."""
        return True

    def run(self, context: frame.ToolContext, paths: Sequence[str]) -> frame.ToolReport:
        """Tell the licence file's licence and hold the metadata and headers to it."""
        found = next((p for p in LICENCE_FILES if p in context.files), "")
        label = f"packaging's SPDX parser, {self.tools[0].label()}"
        findings: list[frame.Finding] = []
        allowed = context.settings.checks.licence_allowed if context.settings is not None else ()
        spdx = licence_of_text(context.files[found]) if found else ""
        if not found:
            findings.append(
                frame.Finding(
                    "LICENSE", "the software carries no LICENSE: write the licence's full text"
                )
            )
        elif not spdx:
            findings.append(
                frame.Finding(
                    found, "its licence cannot be told: give the full text of an SPDX licence"
                )
            )
        elif allowed and not satisfiable(spdx, allowed):
            findings.append(
                frame.Finding(
                    found, f"is {spdx}, which the licence policy (licence_allowed) does not allow"
                )
            )
        if "pyproject.toml" in context.files:
            declared = declared_licence(context.files["pyproject.toml"])
            if declared is None:
                findings.append(
                    frame.Finding(
                        "pyproject.toml", f'declares no licence: add license = "{spdx or "MIT"}"'
                    )
                )
            elif spdx and declared.strip() != spdx:
                said = f"declares licence {declared!r}, but {found or 'LICENSE'} is {spdx}"
                findings.append(frame.Finding("pyproject.toml", said))
        headers = 0
        for path in paths:
            for match in _SPDX_HEADER.finditer(context.files.get(path, "")):
                headers += 1
                if spdx and match.group(1).strip() != spdx:
                    named = match.group(1).strip()
                    said = f"says SPDX-License-Identifier: {named}, but the licence is {spdx}"
                    findings.append(frame.Finding(path, said))
        run = CheckRun(
            name=self.name,
            command=f"{found or 'LICENSE'}'s licence; pyproject.toml and SPDX headers held to it",
            exit_code=0,
            passed=0 if findings else 1,
            failed=len(findings),
            sandboxed=False,
            summary=(f"{len(findings)} finding(s)" if findings else f"{spdx}, agreed")
            + f"; {headers} SPDX header(s)",
            tool=label,
        )
        return frame.ToolReport([run], findings)
