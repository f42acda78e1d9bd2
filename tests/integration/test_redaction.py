"""A secret in a requirement or a provider's error is stored nowhere and sent to no model."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from devfactory.factory.facade import Factory
from devfactory.factory.intake import StartRequest
from devfactory.redact import redact
from devfactory.settings import Settings
from tests.fakes import Call, ScriptedModels, always_good

KEY = "sk-proj-" + "Zq9x" * 8  # the shape of an OpenAI project key
TOKEN = "correct-horse-battery-staple-42"  # a configured value: its variable's name says secret


def test_a_secret_is_stored_nowhere_and_sent_to_no_model(
    pg_settings: Settings, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DEVFACTORY_TEST_SERVICE_TOKEN", TOKEN)

    def script(call: Call) -> str:
        if call.team == "business-analysis" and call.kind == "draft":
            raise ConnectionError(f"401 from the provider: invalid key {KEY} (token {TOKEN})")
        return always_good(call)

    models = ScriptedModels(script)
    out = tmp_path / "out"
    with Factory(pg_settings, models=models) as factory:
        report = factory.start(StartRequest(f"A todo list API; our key is {KEY}", out_dir=out))
    assert report.status == "PAUSED"  # business analysis is BLOCKED and asks for guidance
    [pending] = report.pending
    # the provider's error is kept for the person to read; the key and the token are not
    assert "[REDACTED:openai-key]" in pending.pause.question
    assert "[REDACTED:configured-secret]" in pending.pause.question

    stored: dict[str, bytes] = {
        str(p.relative_to(out)): p.read_bytes() for p in out.rglob("*") if p.is_file()
    }
    with psycopg.connect(database_url, autocommit=True) as conn:
        for table in (
            "devfactory_runs",
            "devfactory_transitions",
            "devfactory_audit",
            "devfactory_memories",
            "checkpoints",
            "checkpoint_blobs",
            "checkpoint_writes",
        ):
            rows = conn.execute(f"SELECT t::text FROM {table} t").fetchall()  # noqa: S608
            stored[table] = "\n".join(r[0] for r in rows).encode()
        blobs = conn.execute(
            "SELECT blob FROM checkpoint_blobs UNION ALL SELECT blob FROM checkpoint_writes"
        ).fetchall()
        stored["checkpoint bytes"] = b"".join(bytes(b[0]) for b in blobs if b[0] is not None)
    assert "run.json" in stored and stored["devfactory_audit"] and stored["checkpoint bytes"]
    for where, data in stored.items():
        assert KEY.encode() not in data, f"the key is in {where}"
        assert TOKEN.encode() not in data, f"the token is in {where}"
    assert b"[REDACTED:openai-key]" in stored["run.json"]

    prompts = [str(m.content) for c in models.chat.calls for m in c.messages]
    assert prompts and not [p for p in prompts if KEY in p or TOKEN in p]
    assert any("[REDACTED:openai-key]" in p for p in prompts)  # the redacted requirement


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        ('password = request.form["password"]', True),
        ("token=generate_token_for_user(user)", True),
        ("a keyboard shortcut manager with a token bucket", True),
        ("postgresql://factory:s3cretpass@db:5432/x", False),
        ('SECRET = "hunter2hunter2"', False),
        ("Authorization: Bearer abcdefghijklmnop0123", False),
        (
            "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaA\n-----END OPENSSH PRIVATE KEY-----",
            False,
        ),
    ],
)
def test_code_stays_code_and_secrets_go(text: str, kept: bool) -> None:
    assert (redact(text) == text) is kept
