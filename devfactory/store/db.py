"""Open Postgres: the embedded pgserver when ``DATABASE_URL`` is unset, else that server."""

from __future__ import annotations

import hashlib
import logging
import re
import threading
import time
from dataclasses import dataclass
from importlib.resources import files
from typing import Any, cast

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

from devfactory.private_files import narrow
from devfactory.redact import kept_secret, redact
from devfactory.settings import Settings
from devfactory.store.reaper import start_reaper

log = logging.getLogger(__name__)
_EMBEDDED: dict[str, Any] = {}
_EMBEDDED_LOCK = threading.Lock()


class DatabaseError(RuntimeError):
    """The database could not be started or reached."""


def embedded_dsn(settings: Settings) -> str:
    """Start (or attach to) the embedded Postgres under ``data_dir/pg`` and return its DSN."""
    pgdata = settings.storage.data_dir / "pg"
    with _EMBEDDED_LOCK:
        if str(pgdata) not in _EMBEDDED:
            import pgserver  # imported lazily: a DATABASE_URL deployment never needs it

            pgdata.parent.mkdir(parents=True, exist_ok=True)
            try:
                server = pgserver.get_server(pgdata, cleanup_mode="stop")
            except Exception as exc:
                raise DatabaseError(
                    f"could not start embedded Postgres in {pgdata}: {exc}"
                ) from exc
            # as root, pgserver gives every folder above pgdata to all to read: the data
            # directory is ours again, passable only (to Postgres' own user), never listable
            narrow(pgdata.parent)
            # pgserver stops it at exit, which a process killed by a signal never reaches
            start_reaper(server.pgdata)
            _EMBEDDED[str(pgdata)] = server
            log.info("embedded Postgres running in %s", pgdata)
        return str(_EMBEDDED[str(pgdata)].get_uri())


def resolve_dsn(settings: Settings) -> str:
    """Return the DSN the factory uses: ``DATABASE_URL`` or the embedded server."""
    return settings.storage.database_url or embedded_dsn(settings)


def describe_database(settings: Settings) -> str:
    """Say in words which database serves, without secrets."""
    if settings.storage.database_url:
        return "Postgres at DATABASE_URL"
    return f"embedded Postgres in {settings.storage.data_dir / 'pg'}"


def open_pool(dsn: str, *, max_size: int = 8, timeout: float = 15.0) -> ConnectionPool:
    """Open a pool with the connection settings LangGraph's saver requires."""
    pool = ConnectionPool(
        dsn,
        min_size=1,
        max_size=max_size,
        kwargs={"autocommit": True, "prepare_threshold": 0, "row_factory": dict_row},
        # a connection is checked as it is handed out: after Postgres restarts, the dead
        # ones are replaced at once instead of failing one caller each
        check=ConnectionPool.check_connection,
        open=False,
    )
    try:
        pool.open(wait=True, timeout=timeout)
    except Exception as exc:
        pool.close()
        raise DatabaseError(f"could not connect to Postgres: {redact(str(exc))}") from exc
    return pool


def _schemas() -> tuple[str, str]:
    own = (files("devfactory.store") / "schema.sql").read_text("utf-8")
    memory = (files("devfactory.memory") / "schema.sql").read_text("utf-8")
    return own, memory


def schema_digest() -> str:
    """Return the digest of everything ``prepare`` sets up: both schemas and the grants."""
    own, memory = _schemas()
    return hashlib.sha256("\0".join((own, memory, _GRANTS)).encode()).hexdigest()


def migrated(conn: Any, digest: str) -> bool:
    """Say whether this schema version was already applied (then no DDL runs again).

    DDL on tables other processes are using takes strong locks; a process that
    starts while another drives a run must not take them for nothing (two such
    processes deadlocked on ``ALTER TABLE ... IF NOT EXISTS``).
    """
    conn.execute(
        "CREATE TABLE IF NOT EXISTS devfactory_schema_versions ("
        " digest text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())",
        prepare=False,
    )
    found = conn.execute(
        "SELECT 1 FROM devfactory_schema_versions WHERE digest = %s", (digest,)
    ).fetchone()
    return found is not None


def _applied(conn: Any, digest: str) -> None:
    """Record that this schema version is fully set up (its grants included)."""
    conn.execute(
        "INSERT INTO devfactory_schema_versions (digest) VALUES (%s) ON CONFLICT DO NOTHING",
        (digest,),
    )


def migrate(conn: Any) -> None:
    """Create the factory's own tables and the memory tables (idempotent).

    Memory needs the pgvector extension; a server without it is refused with
    the reason (the embedded Postgres ships it).
    """
    own, memory = _schemas()
    conn.execute(own, prepare=False)
    try:
        conn.execute("CREATE EXTENSION IF NOT EXISTS vector", prepare=False)
    except Exception as exc:
        raise DatabaseError(
            f"the pgvector extension is not available on this Postgres ({exc}); install "
            "pgvector >= 0.5 or create the extension as a superuser"
        ) from exc
    conn.execute(memory, prepare=False)


@dataclass(frozen=True)
class Database:
    """The factory's database, prepared: who owns the schema and who the factory runs as.

    ``dsn`` is what the factory connects as at runtime. When ``separated``, it is
    a role of its own that may use the tables but owns none of the factory's,
    and may only INSERT and SELECT audit rows and project pre-approvals: it can
    neither change them nor switch their triggers off. Otherwise (the server
    refused to create roles) the factory runs as the owner, and only the keyed
    chain and its anchors guard the log.
    """

    dsn: str
    owner_dsn: str
    role: str
    separated: bool


def _app_role(dbname: str) -> str:
    """Name the runtime role of one database (roles are per server, so the name carries it)."""
    return re.sub(r"[^a-z0-9_]", "_", f"devfactory_app_{dbname}".lower())[:63]


def _app_password(settings: Settings) -> str:
    """Return the runtime role's password: configured, else kept in the data directory (0600)."""
    return kept_secret(
        settings.storage.data_dir / "db-app-secret", settings.storage.database_app_password
    )


_GRANTS = """
GRANT CONNECT ON DATABASE {db} TO {role};
GRANT USAGE, CREATE ON SCHEMA public TO {role};
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role};
GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO {role};
REVOKE UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON devfactory_audit FROM {role};
REVOKE UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON devfactory_project_approvals FROM {role};
REVOKE UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON devfactory_project_caps FROM {role};
REVOKE DELETE, TRUNCATE, REFERENCES, TRIGGER ON devfactory_runs FROM {role};
"""


PREPARE_LOCK = "devfactory:prepare"  # hashed into the session advisory lock's key


def take_prepare_lock(conn: Any, wait_s: float) -> None:
    """Take the prepare lock for ``conn``'s session, trying in short statements; wait ``wait_s``.

    A process blocked inside ``pg_advisory_lock`` is a transaction in progress,
    and the holder's ``CREATE INDEX CONCURRENTLY`` (LangGraph's saver setup on a
    new database) waits for every transaction older than itself: the two
    deadlocked when an API and a worker prepared one new database at once.
    Between tries this session holds no transaction, so nothing waits on it.
    """
    deadline = time.monotonic() + wait_s
    pause = 0.02
    while True:
        got = conn.execute(
            "SELECT pg_try_advisory_lock(hashtext(%s)) AS got", (PREPARE_LOCK,)
        ).fetchone()
        if got["got"]:
            return
        if time.monotonic() >= deadline:
            raise DatabaseError(
                f"another process held the database's prepare lock for over {wait_s:g} s"
                " (database_prepare_wait_s)"
            )
        time.sleep(min(pause, max(0.0, deadline - time.monotonic())))
        pause = min(pause * 2, 0.5)


def connect(dsn: str, settings: Settings) -> psycopg.Connection[dict[str, Any]]:
    """Connect to ``dsn`` within the connect timeout; a server not there is a ``DatabaseError``."""
    try:
        return psycopg.connect(
            dsn,
            connect_timeout=max(1, round(settings.storage.database_connect_timeout_s)),
            autocommit=True,
            prepare_threshold=0,
            row_factory=dict_row,
        )
    except psycopg.Error as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DatabaseError(f"could not connect to Postgres: {redact(reason)}") from exc


def reach(settings: Settings) -> None:
    """Fail fast, with a ``DatabaseError``, when ``DATABASE_URL`` names a server that is not there.

    Nothing is changed and the embedded server is not started: a process that
    hands over to another (``devfactory serve``) checks this before it does.
    """
    if settings.storage.database_url:
        connect(settings.storage.database_url, settings).close()


def prepare(settings: Settings) -> Database:
    """Migrate as the owner, then set up the role the factory runs as.

    The owner is ``DATABASE_URL``'s role, or the embedded server's superuser.
    Migrations (the factory's tables, memory, LangGraph's checkpoint tables) run
    as the owner. Where the owner may create roles, the factory gets a login role
    of its own with the grants above; the role is made once and its password
    set each time (so rotating ``database_app_password`` takes effect).
    """
    owner_dsn = resolve_dsn(settings)
    with connect(owner_dsn, settings) as conn:
        # one process prepares at a time: catalog changes made at once conflict
        take_prepare_lock(conn, settings.storage.database_prepare_wait_s)
        digest = schema_digest()
        current = migrated(conn, digest)
        if not current:
            from langgraph.checkpoint.postgres import PostgresSaver  # here: reads never load it

            migrate(conn)
            PostgresSaver(conn).setup()
        me = cast(
            dict[str, Any],
            conn.execute(
                "SELECT current_user AS who, current_database() AS db,"
                " (rolsuper OR rolcreaterole) AS may FROM pg_roles WHERE rolname = current_user"
            ).fetchone(),
        )
        if not me["may"]:
            log.warning(
                "role %s may not create roles: the factory runs as the schema's owner, and "
                "only the keyed chain and its anchors guard the audit log",
                me["who"],
            )
            _applied(conn, digest)
            return Database(owner_dsn, owner_dsn, str(me["who"]), separated=False)
        role, password = _app_role(str(me["db"])), _app_password(settings)
        ident = sql.Identifier(role)
        exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,))
        verb = "ALTER" if exists.fetchone() else "CREATE"
        conn.execute(
            sql.SQL(verb + " ROLE {} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD {}").format(
                ident, sql.Literal(password)
            )
        )
        if not current or verb == "CREATE":
            conn.execute(
                sql.SQL(_GRANTS).format(db=sql.Identifier(str(me["db"])), role=ident),
                prepare=False,
            )
        _applied(conn, digest)
    dsn = make_conninfo(owner_dsn, user=role, password=password)
    return Database(dsn, owner_dsn, role, separated=True)
