"""A provider's address is shown without its credentials: to a viewer, in the console, in logs."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from devfactory import cli
from devfactory.api.app import create_app
from devfactory.factory.facade import Factory
from devfactory.settings import Settings
from devfactory.users import UserStore
from tests.fakes import ScriptedModels
from tests.logged import logged_in_every_format

PASSWORD = "S3cr3tPassw0rd"
HOSTS = [
    f"http://svc:{PASSWORD}@127.0.0.1:9",
    f"http://svc:{PASSWORD}@127.0.0.1:9/",
    f"svc:{PASSWORD}@127.0.0.1:9",  # OLLAMA_HOST without a scheme
]


@pytest.fixture(params=HOSTS)
def served(
    request: pytest.FixtureRequest, pg_settings: Settings
) -> Iterator[tuple[TestClient, dict[str, str], Settings]]:
    settings = pg_settings.with_overrides(ollama_host=request.param)
    key = UserStore.of(settings).create_key("vic", "viewer")[1]
    with Factory(settings, models=ScriptedModels()) as factory:
        # the router is the real one: it routes and probes with the configured address
        factory.settings = settings.with_overrides(models_factory=None)
        with TestClient(create_app(settings, factory=factory)) as http:
            yield http, {"Authorization": f"Bearer {key}"}, settings


def test_a_viewer_never_reads_the_providers_credentials_in_the_model_routing(
    served: tuple[TestClient, dict[str, str], Settings],
) -> None:
    http, viewer, _ = served
    models = http.get("/models", headers=viewer)
    assert models.status_code == 200, models.text
    assert models.json()["ollama"].startswith(("http://[REDACTED", "[REDACTED"))
    assert models.json()["ollama"].endswith(("127.0.0.1:9", "127.0.0.1:9/"))
    assert PASSWORD not in models.text and "svc:" not in models.text


def test_a_viewer_never_reads_the_providers_credentials_in_the_consoles_settings(
    served: tuple[TestClient, dict[str, str], Settings],
) -> None:
    http, viewer, _ = served
    console = http.get("/console/api/settings", headers=viewer)
    assert console.status_code == 200, console.text
    assert "127.0.0.1:9" in console.json()["providers"]["ollama"]["host"]
    assert PASSWORD not in console.text and "svc:" not in console.text


def test_the_command_line_shows_the_address_without_its_credentials(
    pg_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = pg_settings.with_overrides(ollama_host=HOSTS[0])
    monkeypatch.setattr("devfactory.cli.run_commands.get_settings", lambda: settings)
    for args in (["models", "--json"], ["models"]):
        shown = CliRunner().invoke(cli.app, args)
        assert shown.exit_code == 0, shown.output
        assert PASSWORD not in shown.output and "127.0.0.1:9" in shown.output
    doc = json.loads(CliRunner().invoke(cli.app, ["models", "--json", "--no-health"]).output)
    assert doc["ollama"] == "http://[REDACTED:url-credentials]@127.0.0.1:9"


def test_a_url_logged_with_credentials_is_masked(tmp_path: Path) -> None:
    text = logged_in_every_format(
        "devfactory.tracing",
        "Langfuse at %s did not answer",
        f"https://pk:{PASSWORD}@lf.example?token=abc123",
    )
    assert PASSWORD not in text and "abc123" not in text
    assert text.count("lf.example") == 2
