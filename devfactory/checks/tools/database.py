"""Database Engineering's SQL, applied twice to a scratch database in the sandbox.

Once the code is built, the code's own SQL is held to that schema (sqlglot).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass

from devfactory.checks.tools import tool_frame as frame

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
    tool = frame.Tool("pgserver")  # the Postgres server the factory itself runs; SQLite is Python's
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

    def run(self, context: frame.ToolContext, paths: Sequence[str]) -> frame.ToolReport:
        """Apply the files twice to a scratch database of the plan's engine."""
        engine = engine_of(context.dependencies)
        command = f"apply twice to a scratch {engine}: {' '.join(paths)}"
        result, report = context.sandbox.run_driver(
            self.name,
            frame.DRIVERS / "sql_apply.py",
            [engine, *paths],
            context.workspace,
            context.env,
        )
        version = report.get("version")
        label = f"{engine} {version}" if version else engine
        if engine == "postgres":
            label += f" (pgserver {self.tool.version()})"
        applied = report.get("files")
        if result.exit_code != 0 or not isinstance(applied, dict):
            run = frame.broken_run(self.name, command, result, label)
            why = str(report.get("error") or run.summary)
            return frame.ToolReport(
                [run], [frame.Finding(paths[0], f"no scratch {engine} ran: {why}")]
            )
        findings: list[frame.Finding] = []
        for path in paths:
            for item in applied.get(path) or []:
                if isinstance(item, dict):
                    at = f"line {item.get('line')}: " if item.get("line") else ""
                    findings.append(frame.Finding(path, f"{at}{item.get('message')}"))
        return frame.ToolReport(
            [frame.judged_run(self.name, command, result, label, paths, findings)], findings
        )


@dataclass(frozen=True)
class CodeSqlCheck:
    """The SQL the built code runs parses and names only tables and columns the schema has."""

    name = "code_sql"
    tools = (frame.Tool("sqlglot"),)
    promise = (
        "Once the code is built, every SQL string the code hands to a database call (`execute`, "
        "`executemany`, `fetch`..., SQLAlchemy's `text`) is parsed by sqlglot in the plan's "
        "dialect (SQLite, or Postgres when the plan names a Postgres driver) and held to your "
        "schema: a table you do not create or a column its table lacks goes back to the owner "
        "of the code; so does SQL that does not parse."
    )

    def judges(self, path: str, code: bool) -> bool:
        """Look at the Python files the plan calls code (the SQL is in them)."""
        return code and path.endswith(".py")

    def run(self, context: frame.ToolContext, paths: Sequence[str]) -> frame.ToolReport:
        """Read the schema and judge the code's SQL against it, in the sandbox."""
        schema = sorted(
            p for p in context.files if p.endswith(".sql") and context.roles.get(p) == "schema"
        )
        if not schema:
            return frame.ToolReport(
                []
            )  # no schema of Database Engineering's: nothing to hold the SQL to
        dialect = engine_of(context.dependencies)
        job = {"dialect": dialect, "schema": schema, "code": list(paths)}
        label = self.tools[0].label()
        command = f"sqlglot ({dialect}): the SQL of {' '.join(paths)} against {' '.join(schema)}"
        arguments = [json.dumps(job)]
        result, report = frame.reported(
            self.name, "code_sql.py", context, arguments, lists=("findings",)
        )
        if report is None:
            said = "sqlglot did not report"
            return frame.not_reported(self.name, command, result, label, paths[0], said)
        findings = [
            frame.Finding(str(f.get("path")), f"line {f.get('line')}: the SQL {f.get('message')}")
            for f in report["findings"]
            if isinstance(f, dict)
        ]
        statements = int(report.get("statements") or 0)
        if not statements:
            run = frame.judged_run(self.name, command, result, label, [], [])
            return frame.ToolReport([run.model_copy(update={"summary": "no SQL in the code"})], [])
        run = frame.judged_run(self.name, command, result, label, paths, findings)
        told = f"{statements} statement(s) against {len(report.get('tables') or {})} table(s)"
        return frame.ToolReport(
            [run.model_copy(update={"summary": f"{run.summary}; {told}"})], findings
        )
