"""Scripted models for CLI processes: ``DEVFACTORY_MODELS_FACTORY=tests.integration.models:logged``.

Every call is appended to ``$DEVFACTORY_TEST_CALL_LOG`` so a test can count the
calls of several processes. Governance rates a requirement about patients HIGH.
``$DEVFACTORY_TEST_SLOW_S`` makes every call take that long. Two switches make a
process meet trouble when a team starts drafting:
``$DEVFACTORY_TEST_KILL_AT`` (the process SIGKILLs itself: a crash, as abrupt
as they come) and ``$DEVFACTORY_TEST_STOP_DB_AT`` (the database stops taking
connections and drops this process's: ``$DEVFACTORY_TEST_ADMIN_DSN`` says how).
``$DEVFACTORY_TEST_HOLD_AT`` ("<team> <kind>") holds that call, once logged,
until the file ``<call log>.go`` exists: a test acts mid-call when it knows
the call is under way, never after a delay a loaded machine may outlast.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from tests.browser.models import script
from tests.fakes import Call, ScriptedModels


def stop_database(admin_dsn: str) -> None:
    """Refuse new connections to the database and end the open ones (as if it stopped)."""
    name = conninfo_to_dict(admin_dsn)["dbname"]
    with psycopg.connect(make_conninfo(admin_dsn, dbname="postgres"), autocommit=True) as conn:
        conn.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,)
        )


def logged() -> ScriptedModels:
    """Return the scripted model source this process's CLI uses."""
    kill_at = os.environ.get("DEVFACTORY_TEST_KILL_AT", "")
    stop_at = os.environ.get("DEVFACTORY_TEST_STOP_DB_AT", "")

    slow = float(os.environ.get("DEVFACTORY_TEST_SLOW_S", "0"))
    hold_at = os.environ.get("DEVFACTORY_TEST_HOLD_AT", "")
    go = Path(os.environ["DEVFACTORY_TEST_CALL_LOG"] + ".go")

    def run(call: Call) -> str:
        time.sleep(slow)  # a model that takes its time, so a test can act mid-run
        deadline = time.monotonic() + 300
        while f"{call.team} {call.kind}" == hold_at and not go.exists():
            assert time.monotonic() < deadline, f"nobody let {hold_at} go"
            time.sleep(0.02)
        if call.kind == "draft" and call.team == kill_at:
            os.kill(os.getpid(), signal.SIGKILL)
        if call.kind == "draft" and call.team == stop_at:
            stop_database(os.environ["DEVFACTORY_TEST_ADMIN_DSN"])
        return script(call)

    return ScriptedModels(run, log_path=Path(os.environ["DEVFACTORY_TEST_CALL_LOG"]))
