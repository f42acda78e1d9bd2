"""The chat's signing secret lives in Postgres: no file of the data directory holds it."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from typer.testing import CliRunner

from devfactory import cli
from devfactory.chat import secret
from devfactory.settings import Settings


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def chat_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv(secret.SECRET_ENV, raising=False)
    monkeypatch.delenv(secret.MANAGED_ENV, raising=False)
    yield
    if secret._keeper is not None:
        secret._keeper.close()
    monkeypatch.setattr(secret, "_keeper", None)


def stored(settings: Settings) -> str:
    assert settings.storage.database_url is not None
    with psycopg.connect(settings.storage.database_url) as conn:
        row = conn.execute(
            "SELECT value FROM devfactory_secrets WHERE name = %s", (secret.NAME,)
        ).fetchone()
    assert row is not None
    return str(row[0])


def files_holding(folder: Path, value: str) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file() and value.encode() in p.read_bytes()]


def test_the_secret_is_kept_in_the_database_and_in_no_file_of_the_data_directory(
    pg_settings: Settings, chat_env: None
) -> None:
    pg_settings.storage.data_dir.mkdir(parents=True)
    legacy = pg_settings.storage.data_dir / "chat-secret"
    legacy.write_text("kept by an earlier version")
    secret.use(pg_settings)
    value = os.environ[secret.SECRET_ENV]
    assert len(value) >= 32 and value == stored(pg_settings)
    assert not legacy.exists()  # the old file, readable through a planted link, is gone
    assert files_holding(pg_settings.storage.data_dir, value) == []


def test_rotating_ends_the_old_secret_at_the_chats_next_look_and_every_chat_agrees(
    pg_settings: Settings, chat_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret.use(pg_settings)
    before = os.environ[secret.SECRET_ENV]
    assert secret._keeper is not None
    clock = Clock()
    secret._keeper.clock = clock
    secret._keeper.read()  # read at clock.now
    monkeypatch.setattr("devfactory.cli.chat.get_settings", lambda: pg_settings)
    rotated = CliRunner().invoke(cli.app, ["users", "rotate-secret"])
    assert rotated.exit_code == 0, rotated.output
    assert "sign in again" in rotated.output and "database" in rotated.output
    clock.now += pg_settings.service.chat_secret_recheck_s / 2
    secret.refresh()  # within the recheck: the copy is kept, no query
    assert os.environ[secret.SECRET_ENV] == before
    clock.now += pg_settings.service.chat_secret_recheck_s
    secret.refresh()  # what the chat does at each request and action
    after = os.environ[secret.SECRET_ENV]
    assert after not in ("", before) and after == stored(pg_settings)
    other = secret.SecretKeeper(secret._runtime_dsn(pg_settings), 1.0)  # a second chat
    assert other.read() == after
    other.close()
    assert files_holding(pg_settings.storage.data_dir, after) == []


def test_a_database_that_stops_answering_leaves_the_secret_in_use(
    pg_settings: Settings,
    chat_env: None,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    secret.use(pg_settings)
    before = os.environ[secret.SECRET_ENV]
    clock = Clock()
    keeper = secret.SecretKeeper(secret._runtime_dsn(pg_settings), 1.0, clock=clock)
    assert keeper.read() == before
    assert secret._keeper is not None
    secret._keeper.close()
    monkeypatch.setattr(secret, "_keeper", keeper)
    keeper.close()
    keeper.dsn = "postgresql://nobody@127.0.0.1:9/none"  # nothing listens there
    for _ in range(3):
        clock.now += keeper.recheck_s
        secret.refresh()
    assert os.environ[secret.SECRET_ENV] == before
    said = [r for r in caplog.records if "could not read its signing secret" in r.getMessage()]
    assert len(said) == 1  # once, not at every request


def test_rotating_before_any_chat_ran_starts_no_database(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    assert "nothing" in secret.rotate(settings)
    assert not (tmp_path / "pg").exists()


@pytest.mark.parametrize("seconds", [0.05, 61])
def test_the_recheck_is_bounded(seconds: float) -> None:
    with pytest.raises(ValueError, match="chat_secret_recheck_s"):
        Settings(chat_secret_recheck_s=seconds)
    assert Settings(chat_secret_recheck_s=60).service.chat_secret_recheck_s == 60
