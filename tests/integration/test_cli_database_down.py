"""With the database down, every command that needs it exits 4 with one line saying how to mend it.

``DATABASE_URL`` names a port where nothing listens. No traceback, and never
exit 3 (which says "no such run"): ``serve`` checks before it hands over to the
server, the others go through the CLI's one handler (``common.database_needed``).
"""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from tests.integration.cli import cli_env, run


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # nothing listens once it is closed


@pytest.mark.parametrize(
    "argv",
    [
        ("serve", "--port", "1"),
        ("list",),
        ("status", "r1"),
        ("pending",),
        ("audit", "show", "r1"),
        ("usage", "r1"),
        ("run", "A todo list on the command line"),
        ("submit", "A todo list on the command line"),
        ("worker", "--idle-exit", "0"),
        ("memory", "stats"),
        ("controls",),
    ],
    ids=lambda argv: argv[0] if argv[0] != "audit" else "audit-show",
)
def test_a_database_that_is_down_exits_4_with_one_line(tmp_path: Path, argv: tuple[str]) -> None:
    url = f"postgresql://factory:secret-pw@127.0.0.1:{closed_port()}/factory"
    env = cli_env(url, tmp_path)
    env["DEVFACTORY_DATABASE_CONNECT_TIMEOUT_S"] = "2"
    code, out, err = run(env, *argv)
    assert code == 4, (code, out, err)
    assert "Traceback" not in out + err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: could not connect to Postgres")
    assert "set DATABASE_URL to one that answers" in lines[0]
    assert "secret-pw" not in err
