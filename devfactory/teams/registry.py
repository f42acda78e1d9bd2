"""Load every ``teams/<slug>/`` folder into a frozen ``TeamSpec``.

SOUL.md, AGENTS.md and TOOLS.md are templates (``string.Template``, ``$name``;
``$$`` is a dollar sign): what they say of limits and checks is filled in at
load time from the code's own constants and checks (``identity_values``), so
what a team is told cannot drift from what is enforced. An unknown
placeholder fails loading.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Mapping
from functools import lru_cache
from importlib.resources import files
from importlib.resources.abc import Traversable
from string import Template

import yaml

from devfactory.checks.catalogue import CHECKS
from devfactory.checks.code import CodeCheck
from devfactory.contracts import MAX_ARTIFACT_CHARS, MAX_ARTIFACTS
from devfactory.software.behaviour import PATH as AGREED_PATH
from devfactory.software.examples import PATH as EXAMPLES_PATH
from devfactory.software.plan import FileRole
from devfactory.teams.spec import TeamSpec

RENDERED_FILES = ("SOUL.md", "AGENTS.md", "TOOLS.md")
"""The identity files filled in at load time (objective.md is filled per requirement)."""

CODE_ROLES = frozenset({FileRole.CODE, FileRole.TESTS})
"""Kinds of planned files the sandbox runs, through the code checks, on the owner's stage."""


class TeamRegistryError(ValueError):
    """A team folder is missing, malformed or inconsistent with the others."""


class TeamRegistry(Mapping[str, TeamSpec]):
    """An immutable mapping of slug to ``TeamSpec``, validated as a whole."""

    def __init__(self, teams: Mapping[str, TeamSpec]) -> None:
        self._teams = dict(sorted(teams.items()))
        for spec in self._teams.values():
            unknown = [t for t in spec.may_ask if t not in self._teams]
            if unknown:
                raise TeamRegistryError(f"{spec.slug}: may_ask names unknown teams {unknown}")
            usable_checks(spec)

    def __getitem__(self, slug: str) -> TeamSpec:
        try:
            return self._teams[slug]
        except KeyError:
            raise TeamRegistryError(
                f"unknown team {slug!r}; known teams: {', '.join(self._teams)}"
            ) from None

    def __contains__(self, slug: object) -> bool:
        return slug in self._teams

    def __iter__(self) -> Iterator[str]:
        return iter(self._teams)

    def __len__(self) -> int:
        return len(self._teams)


def usable_checks(spec: TeamSpec) -> None:
    """Refuse a team that names a check its kind lacks, or whose tools are not installed.

    Loudly, when the teams load (at start): never a check skipped at run time.
    """
    for kind, names, known in (
        ("checks", spec.checks, CHECKS.artifact),
        ("tool checks", spec.tool_checks, CHECKS.tool),
        ("build checks", spec.build_checks, CHECKS.build),
    ):
        unknown = [c for c in names if c not in known]
        if unknown:
            raise TeamRegistryError(f"{spec.slug}: unknown {kind} {unknown}")
    absent = CHECKS.missing_tools([*spec.tool_checks, *spec.build_checks])
    if absent:
        raise TeamRegistryError(f"{spec.slug}: {'; '.join(absent)}")


def _read(folder: Traversable, name: str) -> str:
    item = folder / name
    if not item.is_file():
        raise TeamRegistryError(f"team folder {folder.name!r} lacks {name}")
    return item.read_text(encoding="utf-8")


def runs_code(spec: TeamSpec) -> bool:
    """Say whether the team writes files the code checks run on its own stage (code or tests)."""
    return bool(CODE_ROLES & set(spec.owns))


def _code_check_line(check: CodeCheck) -> str:
    command = getattr(check, "command", "")
    text = check.promise.rstrip(".") + (f" (`{command}`)" if command else "")
    return f"- **{check.name}** — {text}."


def checks_told(spec: TeamSpec) -> str:
    """Render what checks the team's files, from the checks themselves (TOOLS.md's ``$checks``).

    The artifact checks its ``team.yaml`` names (``checks/artifact.py``), then,
    for a team whose code or tests the sandbox runs, the code checks
    (``catalogue.CHECKS.code``), else, for a team that
    writes Python, the lint every drafted Python file gets.
    """
    lines = [
        "The gate runs these artifact checks on the files you return, on every attempt; "
        "a problem they find sends the stage back to you:"
    ]
    for name in spec.checks:
        promise = CHECKS.artifact[name].promise.replace("\n", "\n  ")
        lines.append(f"- **{name}** — {promise}")
    if spec.tool_checks:
        lines.append(
            "\nWhen code execution is not turned off, the sandbox also runs these tools on your "
            "files, on every attempt, before your report is judged; a finding in one of your "
            "files keeps the stage from passing:"
        )
        for name in spec.tool_checks:
            check = CHECKS.tool[name]
            lines.append(f"- **{name}** ({check.tool.label()}) — {check.promise}")
    if spec.build_checks:
        lines.append(
            "\nOnce the code is built (and code execution is not turned off), the run's final "
            "checks also run these tools on the software on your behalf; each finding goes back "
            "to the owner of its file, or fails the run where no team's redraft can fix it:"
        )
        for name in spec.build_checks:
            scan = CHECKS.build[name]
            tools = ", ".join(t.label() for t in scan.tools)
            lines.append(f"- **{name}**{f' ({tools})' if tools else ''} — {scan.promise}")
    lint = next((c for c in CHECKS.code if c.name == "lint"), None)
    if runs_code(spec):
        lines.append(
            "\nWhen the build plan is in Python (and code execution is not turned off), your "
            "code and tests files are laid out with every passed stage's files and go through "
            "these code checks, in order, each once what it needs is there (those that run code "
            "run it in the sandbox); a "
            "problem in one of your files keeps the stage from passing, and the run's final "
            "checks run them again on the whole workspace, each problem going to its file's owner:"
        )
        lines += [_code_check_line(c) for c in CHECKS.code]
    elif "python_syntax" in spec.checks and lint is not None:
        lines.append(
            f"\nEach Python file you draft also gets the code checks' **{lint.name}** at once "
            f"(`{getattr(lint, 'command', 'ruff')}`: syntax errors, undefined names; nothing is "
            "run) and is asked for again at once when it finds something; when the build plan "
            "is in Python (and code execution is not turned off), the run's final checks lint "
            "every Python file again and send each finding to its file's owner."
        )
    return "\n".join(lines)


def identity_values(spec: TeamSpec) -> dict[str, str]:
    """Return what SOUL.md, AGENTS.md and TOOLS.md may name, as ``$name``."""
    return {
        "max_artifacts": str(MAX_ARTIFACTS),
        "max_artifact_chars": str(MAX_ARTIFACT_CHARS),
        "checks": checks_told(spec),
        "examples_path": EXAMPLES_PATH,
        "agreed_path": AGREED_PATH,
    }


def render_identity(name: str, text: str, values: Mapping[str, str]) -> str:
    """Fill ``text``'s placeholders from ``values``; an unknown one is a ``TeamRegistryError``."""
    try:
        return Template(text).substitute(values)
    except KeyError as exc:
        known = ", ".join(f"${key}" for key in sorted(values))
        raise TeamRegistryError(
            f"{name} uses unknown placeholder ${exc.args[0]} (known: {known}; $$ is a dollar)"
        ) from None
    except ValueError as exc:
        raise TeamRegistryError(
            f"{name} is not a valid template ($$ is a dollar sign): {exc}"
        ) from None


def load_team(folder: Traversable) -> TeamSpec:
    """Load one team folder."""
    raw = yaml.safe_load(_read(folder, "team.yaml"))
    if not isinstance(raw, dict):
        raise TeamRegistryError(f"{folder.name}/team.yaml must be a mapping")
    if raw.get("slug") != folder.name:
        raise TeamRegistryError(f"{folder.name}/team.yaml: slug {raw.get('slug')!r} != folder")
    if "tools" in raw and "checks" not in raw:  # the key's earlier name
        warnings.warn(
            f"{folder.name}/team.yaml: `tools` is now called `checks`",
            DeprecationWarning,
            stacklevel=2,
        )
        raw["checks"] = raw.pop("tools")
    docs = {name: _read(folder, name) for name in RENDERED_FILES}
    try:
        spec = TeamSpec(
            **raw,
            soul=docs["SOUL.md"],
            agents=docs["AGENTS.md"],
            tools_doc=docs["TOOLS.md"],
            objective_template=_read(folder, "objective.md"),
        )
    except ValueError as exc:
        raise TeamRegistryError(f"{folder.name}: {exc}") from exc
    usable_checks(spec)
    values = identity_values(spec)
    soul, agents, tools_doc = (
        render_identity(f"{folder.name}/{name}", docs[name], values) for name in RENDERED_FILES
    )
    return spec.model_copy(update={"soul": soul, "agents": agents, "tools_doc": tools_doc})


def load_teams(root: Traversable | None = None) -> TeamRegistry:
    """Load every team folder under ``root`` (the packaged ``teams/`` by default)."""
    if root is None:
        return _packaged_teams()
    teams = {
        entry.name: load_team(entry)
        for entry in root.iterdir()
        if entry.is_dir() and (entry / "team.yaml").is_file()
    }
    if not teams:
        raise TeamRegistryError(f"no team folders under {root}")
    return TeamRegistry(teams)


@lru_cache(maxsize=1)
def _packaged_teams() -> TeamRegistry:
    return load_teams(files("devfactory.teams"))
