"""The chat as its own process on the factory's database (DATABASE_URL): signs in, stops cleanly.

Chainlit builds a data layer of its own (on asyncpg, not installed) wherever
``DATABASE_URL`` is set, unless the app names one: the chat names none, so a
sign-in works and a stop logs no "No module named 'asyncpg'".
"""

from __future__ import annotations

from pathlib import Path

import httpx

from devfactory.users import UserStore
from tests.integration.cli import cli_env
from tests.servers import free_port, launch, stop, wait_ready

PASSWORD = "alice approves the factory 42"


def test_the_chat_on_database_url_signs_in_and_stops_without_asyncpg(
    database_url: str, tmp_path: Path
) -> None:
    env = cli_env(database_url, tmp_path)
    UserStore(tmp_path / "data" / "users.yaml").add("alice", PASSWORD, "approver")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "chat.log"
    server = launch(env, ["chat", "--port", str(port)], log)
    try:
        wait_ready(
            server,
            log,
            lambda: bool(httpx.get(f"{base}/auth/config", timeout=2).json().get("passwordAuth")),
            what="the chat",
        )
        signed = httpx.post(f"{base}/login", data={"username": "alice", "password": PASSWORD})
        assert signed.status_code == 200, signed.text
    finally:
        stop(server, wait=30)
    said = log.read_text(errors="replace")
    assert "asyncpg" not in said, said[-3000:]
