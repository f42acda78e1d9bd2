"""Apply SQL files twice to a scratch database made here; run in the sandbox, with the tools.

Usage: python -I -B sql_apply.py WORKSPACE REPORT ENGINE PATH...

ENGINE is ``postgres`` or ``sqlite``. For Postgres, a throwaway server (the one
``pgserver`` ships, the version the factory itself runs) is made in a temporary
folder with ``initdb`` and started on a unix socket only (no TCP); for SQLite, a
database in memory, foreign keys enforced. Each PATH (relative to WORKSPACE) is
applied in order, each in a transaction of its own, then each a second time. A
file that fails is a finding at the line the engine names (Postgres) or of the
statement that failed (SQLite); the second application must neither fail nor
change what the first left (the tables, their columns, their rows, the indexes).
REPORT gets ``{"tool": ENGINE, "version": ..., "files": {PATH: [{"line": N,
"message": ...}]}, "tables": N}``, or ``{"error": ...}`` when no database started.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

START_S = 30  # for the server to accept connections
STATEMENT_MS = 10_000  # any one statement
MAX_FINDINGS = 10


def line_of(sql: str, position: str | int | None) -> int:
    """Return the line of a 1-based character position Postgres gave (1 when it gave none)."""
    try:
        offset = int(position or 0)
    except ValueError:
        return 1
    return sql.count("\n", 0, max(0, offset - 1)) + 1


def apply_postgres(conn: Any, sql: str) -> dict[str, object] | None:
    """Apply one file in a transaction of its own; return its failure, or None."""
    import psycopg

    try:
        with conn.transaction():
            conn.execute(sql, prepare=False)
    except psycopg.Error as exc:
        diag = exc.diag
        message = (diag.message_primary or str(exc)).strip().splitlines()[0]
        if diag.message_detail:
            message += f" ({diag.message_detail.strip().splitlines()[0]})"
        return {"line": line_of(sql, diag.statement_position), "message": message[:300]}
    return None


def snapshot_postgres(conn: Any) -> dict[str, object]:
    """Return what the files made: each user table's columns and row count, and the indexes."""
    from psycopg import sql as q

    tables = conn.execute(
        "SELECT table_schema, table_name FROM information_schema.tables"
        " WHERE table_schema NOT IN ('pg_catalog', 'information_schema')"
        " AND table_type = 'BASE TABLE' ORDER BY 1, 2"
    ).fetchall()
    found: dict[str, object] = {}
    for schema, table in tables:
        columns = conn.execute(
            "SELECT column_name, data_type FROM information_schema.columns"
            " WHERE table_schema = %s AND table_name = %s ORDER BY ordinal_position",
            (schema, table),
        ).fetchall()
        rows = conn.execute(
            q.SQL("SELECT count(*) FROM {}.{}").format(q.Identifier(schema), q.Identifier(table))
        ).fetchone()[0]
        found[f"{schema}.{table}"] = {"columns": [list(c) for c in columns], "rows": rows}
    indexes = conn.execute(
        "SELECT count(*) FROM pg_indexes WHERE schemaname NOT IN ('pg_catalog')"
    ).fetchone()[0]
    return {"tables": found, "indexes": indexes}


def statements(sql: str) -> list[tuple[int, str]]:
    """Split SQL into SQLite's complete statements, each with the line it starts on."""
    import sqlite3

    found: list[tuple[int, str]] = []
    lines: list[str] = []
    start = 1
    for number, line in enumerate(sql.splitlines(keepends=True), start=1):
        if not lines:
            if not line.strip() or line.strip().startswith("--"):
                continue
            start = number
        lines.append(line)
        text = "".join(lines)
        if sqlite3.complete_statement(text):
            found.append((start, text))
            lines = []
    if lines and "".join(lines).strip():
        found.append((start, "".join(lines)))  # unterminated: SQLite says what is wrong
    return found


def apply_sqlite(conn: Any, sql: str) -> dict[str, object] | None:
    """Apply one file in a transaction of its own; return its failure, or None."""
    import sqlite3

    conn.execute("BEGIN")
    for line, statement in statements(sql):
        try:
            conn.execute(statement)
        except sqlite3.Error as exc:
            conn.execute("ROLLBACK")
            return {"line": line, "message": str(exc).splitlines()[0][:300]}
    conn.execute("COMMIT")
    return None


def snapshot_sqlite(conn: Any) -> dict[str, object]:
    """Return what the files made: each table's columns and row count, and the indexes."""
    tables = [
        r[0]
        for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'"
            " AND name NOT LIKE 'sqlite_%' ORDER BY name"
        )
    ]
    found: dict[str, object] = {}
    for table in tables:
        quoted = '"' + table.replace('"', '""') + '"'
        columns = [[c[1], c[2]] for c in conn.execute(f"PRAGMA table_info({quoted})")]
        rows = conn.execute(f"SELECT count(*) FROM {quoted}").fetchone()[0]  # noqa: S608
        found[table] = {"columns": columns, "rows": rows}
    indexes = conn.execute("SELECT count(*) FROM sqlite_master WHERE type = 'index'").fetchone()[0]
    return {"tables": found, "indexes": indexes}


def changes(first: dict[str, Any], second: dict[str, Any]) -> list[str]:
    """Say what a second application changed of what the first left."""
    said = []
    for name, was in first["tables"].items():
        now = second["tables"].get(name)
        if now is None:
            said.append(f"table {name} is gone")
        elif now["rows"] != was["rows"]:
            said.append(f"table {name} has {now['rows']} rows where the first left {was['rows']}")
        elif now["columns"] != was["columns"]:
            said.append(f"table {name}'s columns changed")
    said += [f"table {n} appeared" for n in second["tables"] if n not in first["tables"]]
    if second["indexes"] != first["indexes"]:
        said.append(f"{second['indexes']} indexes where the first left {first['indexes']}")
    return said


def serve(bin_dir: Path, base: Path) -> subprocess.Popen[bytes]:
    """Make and start the scratch server; return its process once it takes connections."""
    data, sockets = base / "data", base / "sockets"
    sockets.mkdir()
    made = subprocess.run(  # noqa: S603 - the pinned server's own binary
        [str(bin_dir / "initdb"), "-D", str(data), "-U", "check", "--auth=trust", "-E", "UTF8",
         "--no-sync", "--no-instructions", "--wal-segsize=1"],  # small files: the sandbox caps them
        check=False, capture_output=True, text=True, timeout=START_S,
    )  # fmt: skip
    if made.returncode != 0:
        raise RuntimeError(f"initdb failed: {(made.stderr or made.stdout).strip()[-300:]}")
    server = subprocess.Popen(  # noqa: S603 - the pinned server's own binary
        [str(bin_dir / "postgres"), "-D", str(data), "-k", str(sockets),
         "-c", "listen_addresses=", "-c", "shared_buffers=16MB", "-c", "max_connections=4",
         "-c", "fsync=off", "-c", "full_page_writes=off", "-c", "autovacuum=off",
         "-c", f"statement_timeout={STATEMENT_MS}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    deadline = time.monotonic() + START_S
    while not (any(sockets.glob(".s.PGSQL.*")) and accepting(data)):
        if server.poll() is not None or time.monotonic() > deadline:
            err = server.stderr.read().decode(errors="replace") if server.stderr else ""
            raise RuntimeError(f"postgres did not start: {err.strip()[-300:]}")
        time.sleep(0.05)
    return server


def accepting(data: Path) -> bool:
    """Say whether the server takes connections, as ``pg_ctl -w`` tells it.

    The socket appears while the server is still starting up (a connection then
    fails: "the database system is starting up"); its ``postmaster.pid`` says
    ``ready`` on its eighth line once it accepts them.
    """
    try:
        lines = (data / "postmaster.pid").read_text(encoding="utf-8").splitlines()
    except OSError:
        return False
    return len(lines) > 7 and lines[7].strip() == "ready"


def twice(
    sources: dict[str, str], apply: Any, snapshot: Any, conn: Any
) -> tuple[dict[str, list[dict[str, object]]], int]:
    """Apply each file, then each again; return each file's findings and the tables made."""
    files: dict[str, list[dict[str, object]]] = {p: [] for p in sources}
    for path, sql in sources.items():
        failed = apply(conn, sql)
        if failed:
            files[path].append(failed)
    first = snapshot(conn)
    if any(files.values()):
        return files, len(first["tables"])
    before = first
    for path, sql in sources.items():  # a second application, of files that applied once
        failed = apply(conn, sql)
        if failed:
            failed["message"] = f"applied a second time: {failed['message']}"
            files[path].append(failed)
            break
        now = snapshot(conn)
        for said in changes(before, now):
            files[path].append({"line": 0, "message": f"applied a second time, {said}"})
        before = now
    return files, len(first["tables"])


def on_postgres(sources: dict[str, str]) -> dict[str, object]:
    """Apply the files twice to a scratch Postgres server."""
    import pgserver
    import psycopg

    bin_dir = Path(pgserver.__file__).parent / "pginstall" / "bin"
    with tempfile.TemporaryDirectory(prefix="pg-", dir=os.environ.get("TMPDIR")) as tmp:
        try:
            server = serve(bin_dir, Path(tmp))
        except (RuntimeError, subprocess.SubprocessError, OSError) as exc:
            return {"error": str(exc)[:500]}
        try:
            with psycopg.connect(host=f"{tmp}/sockets", user="check", dbname="postgres") as conn:
                conn.autocommit = True
                shown = conn.execute("SHOW server_version").fetchone()
                version = shown[0] if shown else ""
                files, tables = twice(sources, apply_postgres, snapshot_postgres, conn)
        finally:
            server.terminate()
            server.wait(timeout=START_S)
    return {"version": version, "files": files, "tables": tables}


def on_sqlite(sources: dict[str, str]) -> dict[str, object]:
    """Apply the files twice to an SQLite database in memory, foreign keys enforced."""
    import sqlite3

    conn = sqlite3.connect(":memory:", isolation_level=None)
    try:
        conn.execute("PRAGMA foreign_keys = ON")
        files, tables = twice(sources, apply_sqlite, snapshot_sqlite, conn)
    finally:
        conn.close()
    return {"version": sqlite3.sqlite_version, "files": files, "tables": tables}


def main(workspace: str, report: str, engine: str, *paths: str) -> None:
    """Apply ``paths`` twice to a scratch database of ``engine``; write the report."""
    root = Path(workspace)
    sources = {p: (root / p).read_text(encoding="utf-8", errors="replace") for p in paths}
    done = on_postgres(sources) if engine == "postgres" else on_sqlite(sources)
    files = done.get("files")
    if isinstance(files, dict):
        done["files"] = {p: f[:MAX_FINDINGS] for p, f in files.items()}
    Path(report).write_text(json.dumps({"tool": engine, **done}), encoding="utf-8")


if __name__ == "__main__":
    main(*sys.argv[1:])
