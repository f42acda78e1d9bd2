"""Every check the factory runs, in one registry: a new check is its module and one line here.

Each is a ``checks.Check`` (a name, a promise); what it reads makes its kind, and
each kind is one list of ``CHECKS``, under the ``team.yaml`` key that names it:

* ``artifact`` (``checks``): a stage's files read as text (``artifact.py``);
* ``tool`` (``tool_checks``): a pinned tool on one team's files, in the sandbox,
  on every attempt (``tools/``);
* ``build`` (``build_checks``): pinned tools on the built software, in the run's
  final checks, each finding to its file's owner (``tools/``);
* ``code``: the software against its build plan, on every stage that writes code
  or tests and on the whole workspace, in this order (``code/``); no team names
  them, every code team gets them.

No name is used twice, whatever the kind: a record's check names one check.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from devfactory.checks import Check
from devfactory.checks import artifact as art
from devfactory.checks.artifact import ArtifactCheck
from devfactory.checks.code.framework import CodeCheck
from devfactory.checks.code.importing import ImportCheck
from devfactory.checks.code.install import InstallCheck
from devfactory.checks.code.lint import LintCheck
from devfactory.checks.code.plan_coverage import PlanCoverageCheck
from devfactory.checks.code.smoke import SmokeCheck
from devfactory.checks.code.testing import TestsCheck
from devfactory.checks.code.unwritten import UnwrittenCheck
from devfactory.checks.tools.contract import ServiceContractCheck
from devfactory.checks.tools.data import DataContractCheck
from devfactory.checks.tools.database import CodeSqlCheck, SqlApplyCheck
from devfactory.checks.tools.devops import CiSchemaCheck, DockerfileLintCheck
from devfactory.checks.tools.docs import DocLinksCheck
from devfactory.checks.tools.entry_points import EntryPointsCheck
from devfactory.checks.tools.frontend import HtmlCheck
from devfactory.checks.tools.fuzz import ApiFuzzCheck
from devfactory.checks.tools.integration import IntegrationCheck
from devfactory.checks.tools.licences import LicenceCheck, LicenceFileCheck
from devfactory.checks.tools.mutation import MutationCheck
from devfactory.checks.tools.openapi import OpenApiCheck
from devfactory.checks.tools.pipeline import PipelineRunCheck
from devfactory.checks.tools.readme import ReadmeCommandsCheck
from devfactory.checks.tools.runbook import RunbookCheck
from devfactory.checks.tools.security import CodeSecurityCheck
from devfactory.checks.tools.tool_frame import BuildCheck, Tool, ToolCheck
from devfactory.checks.tools.traceability import TraceabilityCheck
from devfactory.contracts import Artifact

C = TypeVar("C", bound=Check)


def _by_name(checks: Iterable[C]) -> dict[str, C]:
    return {check.name: check for check in checks}


@dataclass(frozen=True)
class Catalogue:
    """Every check by kind, each kind's by name (the code checks in the order they run)."""

    artifact: dict[str, ArtifactCheck]
    tool: dict[str, ToolCheck]
    build: dict[str, BuildCheck]
    code: tuple[CodeCheck, ...]

    def __post_init__(self) -> None:
        names = [check.name for check in self.every()]
        twice = sorted({name for name in names if names.count(name) > 1})
        if twice:
            raise ValueError(f"checks named twice: {', '.join(twice)}")

    def every(self) -> list[Check]:
        """Return every check, of every kind."""
        return [*self.artifact.values(), *self.tool.values(), *self.build.values(), *self.code]

    def tools(self, name: str) -> tuple[Tool, ...]:
        """Return the tools the tool or build check ``name`` runs (none for another)."""
        if name in self.tool:
            return (self.tool[name].tool,)
        return self.build[name].tools if name in self.build else ()

    def missing_tools(self, names: Sequence[str]) -> list[str]:
        """Return a sentence for each named check whose tool is not installed."""
        return [
            f"{name} needs {t.distribution}, which is not installed (make setup: uv sync)"
            for name in names
            for t in self.tools(name)
            if t.version() is None
        ]

    def run_artifact_checks(self, names: Sequence[str], artifacts: Sequence[Artifact]) -> list[str]:
        """Run the named artifact checks over ``artifacts`` and collect every problem."""
        return [problem for name in names for problem in self.artifact[name](artifacts)]


CHECKS = Catalogue(
    artifact=_by_name(
        (
            art.markdown_structure,
            art.python_syntax,
            art.yaml_syntax,
            art.json_syntax,
            art.openapi_structure,
            art.sql_statements,
            art.mermaid_diagram,
        )
    ),
    tool=_by_name(
        (
            OpenApiCheck(),
            SqlApplyCheck(),
            DockerfileLintCheck(),
            CiSchemaCheck(),
            HtmlCheck(),
            DocLinksCheck(),
            DataContractCheck(),
        )
    ),
    build=_by_name(
        (
            CodeSecurityCheck(),
            EntryPointsCheck(),
            LicenceCheck(),
            ServiceContractCheck(),
            TraceabilityCheck(),
            ReadmeCommandsCheck(),
            MutationCheck(),
            PipelineRunCheck(),
            RunbookCheck(),
            IntegrationCheck(),
            ApiFuzzCheck(),
            CodeSqlCheck(),
            LicenceFileCheck(),
        )
    ),
    code=(
        PlanCoverageCheck(),
        UnwrittenCheck(),
        LintCheck(),
        InstallCheck(),
        ImportCheck(),
        TestsCheck(),
        SmokeCheck(),
    ),
)
"""Every check the factory has: a ``team.yaml`` names its own by kind; code checks run on code."""
