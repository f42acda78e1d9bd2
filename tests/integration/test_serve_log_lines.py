"""``serve.log`` under attack: control characters in what a request says never reach it raw."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from devfactory.settings import Settings
from devfactory.users import UserStore
from tests.integration.cli import cli_env
from tests.servers import serving

REASON = "drill \x1b[2J\x1b]0;pwned\x07 \u202egnp.exe\nCRITICAL devfactory.api: FAKE LINE"


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_a_reason_with_escapes_and_bidi_controls_is_logged_as_one_visible_line(
    database_url: str, tmp_path: Path, fmt: str
) -> None:
    env = cli_env(database_url, tmp_path)
    env["DEVFACTORY_LOG_FORMAT"] = fmt
    key = UserStore.of(Settings(data_dir=tmp_path / "data")).create_key("ann", "admin")[1]
    with serving(env, tmp_path / "logs") as base:
        stopped = httpx.post(
            f"{base}/operations/stop",
            json={"reason": REASON},
            headers={"Authorization": f"Bearer {key}"},
            timeout=30,
        )
        assert stopped.status_code == 200, stopped.text
    written = (tmp_path / "logs" / "serve.log").read_text("utf-8")
    lines = [line for line in written.splitlines() if "emergency stop by" in line]
    assert len(lines) == 1, written[-3000:]
    for raw in ("\x1b", "\x07", "\u202e"):
        assert raw not in written
    assert not any(line.startswith("CRITICAL devfactory.api") for line in written.splitlines())
    shown = lines[0] if fmt == "text" else json.loads(lines[0])["event"]
    assert "<U+202E>gnp.exe\\nCRITICAL devfactory.api: FAKE LINE" in shown
