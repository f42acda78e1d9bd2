"""The built code's SQL held to Database Engineering's schema by sqlglot, in the sandbox.

SQL that names only what the schema creates passes (parameters of every style read as
values); a table the schema lacks, a column its table lacks (selected, inserted or set)
and SQL that does not parse each go to the owner of the code at their line.
"""

from __future__ import annotations

from typing import Any

import pytest

from devfactory.checks.catalogue import CHECKS
from devfactory.checks.tools import run_build_checks
from devfactory.sandbox.runner import Limits, Sandbox

LIMITS = Limits(
    cpu_seconds=30, memory_mb=1024, processes=32, wall_seconds=60, output_chars=5000, file_size_mb=8
)
SCHEMA = """\
CREATE TABLE IF NOT EXISTS todos (
    id INTEGER PRIMARY KEY,
    title TEXT NOT NULL,
    done BOOLEAN NOT NULL DEFAULT 0
);
ALTER TABLE todos ADD COLUMN due TEXT;
"""
CODE = """\
import sqlite3


def add(db: sqlite3.Connection, title: str) -> int:
    cursor = db.execute("INSERT INTO todos (title, done) VALUES (?, 0)", (title,))
    return cursor.lastrowid


def listing(db: sqlite3.Connection) -> list:
    return db.execute(
        "SELECT t.id, t.title FROM todos AS t WHERE t.done = :done ORDER BY t.due", {"done": 0}
    ).fetchall()


def finish(db, todo_id):
    db.execute("UPDATE todos SET done = 1 WHERE id = %s", (todo_id,))


def forget(db, todo_id):
    db.execute("DELETE FROM todos WHERE id = $1", todo_id)
"""
ROLES = {"db/schema.sql": "schema", "todo/store.py": "code"}


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Sandbox:
    box = Sandbox(mode="bwrap", cache_dir=tmp_path_factory.mktemp("cache"), limits=LIMITS)
    box.check()
    return box


def checked(sandbox: Sandbox, code: str) -> tuple[Any, list[tuple[str, str]]]:
    found = run_build_checks(
        [CHECKS.build["code_sql"]],
        {"db/schema.sql": SCHEMA, "todo/store.py": code},
        sandbox,
        code=["todo/store.py"],
        owner_of=lambda path: "backend-engineering" if path.endswith(".py") else "",
        roles=ROLES,
    )
    [record] = found.checks
    return record, [(p.owner, p.line()) for p in found.problems]


def test_sql_that_names_only_what_the_schema_creates_passes(sandbox: Sandbox) -> None:
    record, problems = checked(sandbox, CODE)
    assert problems == []
    assert record.ok and record.sandboxed
    assert record.summary == "1 file(s) clean; 4 statement(s) against 1 table(s)"
    assert record.tool.startswith("sqlglot 30.")


FAULTS = {
    "a table the schema does not create": (
        ("FROM todos AS t", "FROM tasks AS t"),
        "line 11: the SQL uses table tasks, which the schema does not create",
    ),
    "a column its table lacks, selected": (
        ("t.title FROM", "t.titel FROM"),
        "line 11: the SQL names a column its tables lack (Unknown column: titel)",
    ),
    "a column its table lacks, inserted": (
        ("(title, done)", "(name, done)"),
        "line 5: the SQL inserts column name, which table todos lacks",
    ),
    "a column its table lacks, set": (
        ("SET done = 1", "SET finished = 1"),
        "line 16: the SQL names column finished, which table todos lacks",
    ),
    "SQL that does not parse": (
        ("DELETE FROM todos WHERE", "DELETE todos FROM WHERE"),
        "line 20: the SQL does not parse as sqlite SQL",
    ),
}


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_each_planted_fault_goes_to_the_owner_of_the_code(sandbox: Sandbox, fault: str) -> None:
    (old, new), expected = FAULTS[fault]
    assert old in CODE
    record, problems = checked(sandbox, CODE.replace(old, new))
    [(owner, line)] = problems
    assert owner == "backend-engineering"
    assert line.startswith(f"todo/store.py [code_sql]: {expected}"), line
    assert record.failed == 1


def test_database_engineering_names_the_check() -> None:
    from devfactory.teams import load_teams

    assert "code_sql" in load_teams()["database-engineering"].build_checks
