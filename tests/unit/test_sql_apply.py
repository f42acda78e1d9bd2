"""Which database a team's SQL is applied to, and how a failure is placed at its line."""

from __future__ import annotations

from devfactory.checks.tools.database import engine_of
from devfactory.checks.tools.drivers.sql_apply import changes, line_of, statements


def test_a_plan_naming_a_postgres_driver_runs_on_postgres_else_sqlite() -> None:
    assert engine_of(["psycopg[binary]>=3.2", "fastapi"]) == "postgres"
    assert engine_of(["asyncpg==0.30"]) == engine_of(["Psycopg2_Binary"]) == "postgres"
    assert engine_of(["fastapi", "sqlalchemy>=2"]) == engine_of([]) == "sqlite"
    assert engine_of(["psycopgx"]) == "sqlite"  # a name, not a prefix


def test_statements_start_at_their_own_line_and_keep_strings_whole() -> None:
    sql = (
        "-- the schema\n\nCREATE TABLE a (x text DEFAULT 'a;b');\n"
        "INSERT INTO a\n  VALUES ('c');\nSELECT 1"
    )
    assert [line for line, _ in statements(sql)] == [3, 4, 6]
    assert statements(sql)[0][1].strip() == "CREATE TABLE a (x text DEFAULT 'a;b');"


def test_a_position_postgres_gives_is_read_as_a_line() -> None:
    sql = "CREATE TABLE a (x int);\nCREATE TABLE b (\n  y nothing\n);"
    assert line_of(sql, sql.index("nothing") + 1) == 3
    assert line_of(sql, None) == 1 and line_of(sql, "x") == 1


def test_what_a_second_application_changed_is_said() -> None:
    first = {"tables": {"t": {"columns": [["x", "int"]], "rows": 1}}, "indexes": 1}
    same = {"tables": {"t": {"columns": [["x", "int"]], "rows": 1}}, "indexes": 1}
    more = {
        "tables": {"t": {"columns": [["x", "int"]], "rows": 2}, "u": {"columns": [], "rows": 0}},
        "indexes": 2,
    }
    assert changes(first, same) == []
    assert changes(first, more) == [
        "table t has 2 rows where the first left 1",
        "table u appeared",
        "2 indexes where the first left 1",
    ]


def test_the_scratch_server_is_ready_only_when_its_pid_file_says_so(tmp_path) -> None:
    from devfactory.checks.tools.drivers.sql_apply import accepting

    assert not accepting(tmp_path)  # no postmaster.pid yet
    head = "4242\n/tmp/pg/data\n1700000000\n5432\n/tmp/pg/sockets\n\n   123456     65536\n"
    (tmp_path / "postmaster.pid").write_text(head + "starting\n")
    assert not accepting(tmp_path)  # the socket may exist: a connection is refused now
    (tmp_path / "postmaster.pid").write_text(head + "ready   \n")
    assert accepting(tmp_path)
