"""Database Engineering's SQL, applied twice to a scratch database in the sandbox."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from devfactory.teams.tool_checks.framework import (
    DRIVERS,
    Finding,
    Tool,
    ToolContext,
    ToolReport,
    broken_run,
    judged_run,
)

POSTGRES_DRIVERS = frozenset(
    {"psycopg", "psycopg-binary", "psycopg2", "psycopg2-binary", "asyncpg", "pg8000"}
)
"""A plan that depends on one of these runs on Postgres: its schema is applied to Postgres."""

_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


def engine_of(dependencies: Sequence[str]) -> str:
    """Return the plan's database: ``postgres`` when it names a Postgres driver, else ``sqlite``."""
    names = set()
    for requirement in dependencies:
        found = _NAME.match(requirement)
        if found:
            names.add(found.group(1).lower().replace("_", "-"))
    return "postgres" if names & POSTGRES_DRIVERS else "sqlite"


@dataclass(frozen=True)
class SqlApplyCheck:
    """The SQL applies to a scratch database, and applying it again changes nothing."""

    name = "sql_applies"
    tool = Tool("pgserver")  # the Postgres server the factory itself runs; SQLite is Python's
    promise = (
        "Your SQL files are applied in order to a scratch database in the sandbox, each in a "
        "transaction, then each applied a second time: Postgres 16 when the build plan's "
        "dependencies name a Postgres driver (psycopg, psycopg2, asyncpg, pg8000), else SQLite "
        "with foreign keys enforced. A statement the database refuses is a finding at its line, "
        "and so is a second application that fails or changes what the first left (tables, "
        "columns, rows, indexes): every create needs IF NOT EXISTS, every seed ON CONFLICT DO "
        "NOTHING."
    )

    def judges(self, path: str) -> bool:
        """Look at the team's SQL files."""
        return path.endswith(".sql")

    def run(self, context: ToolContext, paths: Sequence[str]) -> ToolReport:
        """Apply the files twice to a scratch database of the plan's engine."""
        engine = engine_of(context.dependencies)
        command = f"apply twice to a scratch {engine}: {' '.join(paths)}"
        result, report = context.sandbox.run_driver(
            self.name, DRIVERS / "sql_apply.py", [engine, *paths], context.workspace, context.env
        )
        version = report.get("version")
        label = f"{engine} {version}" if version else engine
        if engine == "postgres":
            label += f" (pgserver {self.tool.version()})"
        applied = report.get("files")
        if result.exit_code != 0 or not isinstance(applied, dict):
            run = broken_run(self.name, command, result, label)
            why = str(report.get("error") or run.summary)
            return ToolReport([run], [Finding(paths[0], f"no scratch {engine} ran: {why}")])
        findings: list[Finding] = []
        for path in paths:
            for item in applied.get(path) or []:
                if isinstance(item, dict):
                    at = f"line {item.get('line')}: " if item.get("line") else ""
                    findings.append(Finding(path, f"{at}{item.get('message')}"))
        return ToolReport(
            [judged_run(self.name, command, result, label, paths, findings)], findings
        )
