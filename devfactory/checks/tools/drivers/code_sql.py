"""Parse the SQL the built code runs and hold it to the schema (sqlglot); run in the sandbox.

Usage: python -I -B code_sql.py WORKSPACE REPORT JOB

JOB is JSON: ``{"dialect": "sqlite" or "postgres", "schema": [PATH...], "code":
[PATH...]}``. The schema files' ``CREATE TABLE`` statements give the tables and their
columns (``ALTER TABLE ... ADD COLUMN`` adds to them). In each code file, every string
literal handed to a call named ``execute``, ``executemany``, ``executescript``,
``fetch``, ``fetchrow``, ``fetchval``, ``fetchall``, ``fetchone`` or ``text`` that
starts like SQL is parsed in the dialect (its parameters, ``?``, ``%s``,
``%(name)s``, ``:name`` and ``$1``, read as NULL), and its tables and columns are
looked up in the schema: a table the schema does not create, a column its table does
not have, or SQL that does not parse is a finding at its line. REPORT gets ``{"tool":
"sqlglot", "version", "tables": {TABLE: [COLUMN...]}, "statements": N, "findings":
[{"path", "line", "message"}]}``.
"""

from __future__ import annotations

import ast
import json
import re
import sys
from importlib.metadata import version
from pathlib import Path
from typing import Any

CALLS = frozenset(
    {"execute", "executemany", "executescript", "fetch", "fetchrow", "fetchval", "fetchall",
     "fetchone", "text"}
)  # fmt: skip
SQL_START = re.compile(r"^\s*(SELECT|INSERT|UPDATE|DELETE|WITH|REPLACE)\b", re.I)
PARAMETERS = re.compile(r"%\(\w+\)s|%s|\?|(?<![:\w]):[A-Za-z_]\w*|\$\d+")
MAX_FINDINGS = 30


def catalog(texts: list[str], dialect: str) -> tuple[dict[str, dict[str, str]], list[str]]:
    """Return the tables the schema creates, each with its columns, and what did not parse."""
    import sqlglot
    from sqlglot import exp

    tables: dict[str, dict[str, str]] = {}
    problems = []
    for text in texts:
        try:
            statements = sqlglot.parse(text, read=dialect)
        except sqlglot.errors.ParseError as error:
            problems.append(str(error).splitlines()[0][:200])
            continue
        for statement in statements:
            if isinstance(statement, exp.Create) and str(statement.kind).upper() == "TABLE":
                target = statement.this
                table = target.this if isinstance(target, exp.Schema) else target
                columns = {
                    c.name.lower(): (c.args["kind"].sql() if c.args.get("kind") else "TEXT")
                    for c in (target.expressions if isinstance(target, exp.Schema) else [])
                    if isinstance(c, exp.ColumnDef)
                }
                tables.setdefault(table.name.lower(), {}).update(columns)
            elif isinstance(statement, exp.Alter):
                name = statement.this.name.lower() if statement.this else ""
                for action in statement.args.get("actions") or []:
                    if isinstance(action, exp.ColumnDef) and name in tables:
                        tables[name][action.name.lower()] = "TEXT"
    return tables, problems


def literals(source: str) -> list[tuple[int, str]]:
    """Return the SQL string literals the code hands to a database call, with their lines."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return []
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        first = node.args[0]
        if name in CALLS and isinstance(first, ast.Constant) and isinstance(first.value, str):
            if SQL_START.match(first.value):
                found.append((first.lineno, first.value))
    return found


def judge(sql: str, tables: dict[str, dict[str, str]], dialect: str) -> list[str]:
    """Return what is wrong with one statement against the schema (nothing: it holds)."""
    import sqlglot
    from sqlglot import exp
    from sqlglot.optimizer.qualify import qualify

    text = PARAMETERS.sub("NULL", sql)
    try:
        statements = [s for s in sqlglot.parse(text, read=dialect) if s is not None]
    except (sqlglot.errors.ParseError, sqlglot.errors.TokenError) as error:
        return [f"does not parse as {dialect} SQL: {str(error).splitlines()[0][:200]}"]
    problems = []
    for statement in statements:
        named = {cte.alias_or_name.lower() for cte in statement.find_all(exp.CTE)}
        used = []
        for table in statement.find_all(exp.Table):
            name = table.name.lower()
            if name and name not in named:
                used.append(name)
                if name not in tables:
                    problems.append(f"uses table {table.name}, which the schema does not create")
        if problems:
            continue
        if isinstance(statement, exp.Insert) and isinstance(statement.this, exp.Schema):
            into = statement.this.this.name.lower()
            for column in statement.this.expressions:
                if column.name.lower() not in tables.get(into, {}):
                    problems.append(f"inserts column {column.name}, which table {into} lacks")
        elif isinstance(statement, (exp.Update, exp.Delete)) and len(set(used)) == 1:
            target = used[0]
            for column in statement.find_all(exp.Column):
                if not column.table and column.name.lower() not in tables.get(target, {}):
                    problems.append(f"names column {column.name}, which table {target} lacks")
        elif isinstance(statement, (exp.Select, exp.Union)):
            mapping: dict[str, object] = {t: dict(c) for t, c in tables.items()}
            try:
                qualify(statement, schema=mapping, dialect=dialect, validate_qualify_columns=True)
            except sqlglot.errors.OptimizeError as error:
                said = str(error).split(". Line")[0][:200]
                problems.append(f"names a column its tables lack ({said})")
    return list(dict.fromkeys(problems))


def main(workspace: str, report: str, job_json: str) -> None:
    """Read the schema, find the code's SQL, judge each statement; write the report."""
    job = json.loads(job_json)
    root = Path(workspace)
    dialect = str(job["dialect"])
    schema = [(root / p).read_text(encoding="utf-8", errors="replace") for p in job["schema"]]
    tables, unparsed = catalog(schema, dialect)
    findings: list[dict[str, Any]] = []
    count = 0
    for path in job["code"]:
        source = (root / path).read_text(encoding="utf-8", errors="replace")
        for line, sql in literals(source):
            count += 1
            for message in judge(sql, tables, dialect):
                findings.append({"path": path, "line": line, "message": message})
    out = {
        "tool": "sqlglot",
        "version": version("sqlglot"),
        "tables": {t: sorted(c) for t, c in tables.items()},
        "unparsed": unparsed,
        "statements": count,
        "findings": findings[:MAX_FINDINGS],
    }
    Path(report).write_text(json.dumps(out), encoding="utf-8")


if __name__ == "__main__":
    main(*sys.argv[1:])
