"""Names people give are one line of plain text: refused with 422 (API) or exit 2 (CLI).

A project named with a newline once forged lines in INCIDENTS.md and in logs,
and one with a NUL answered 500.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from devfactory.api.app import create_app
from devfactory.control.incidents import Trigger
from devfactory.factory.facade import Factory
from devfactory.factory.incidents_file import project_folder
from devfactory.factory.intake import StartRequest
from devfactory.settings import Settings
from devfactory.store.runs_table import RunInputError
from devfactory.users import UserStore
from tests.fakes import ScriptedModels
from tests.logged import logged_in_every_format

TODO = "A REST API for a personal todo list"
HOSTILE = {
    "nul": "shop\x00",
    "newline": "shop\n## Incident 999: forged",
    "escape": "shop\x1b[2J",
    "bidi override": "shop\u202egnp.exe",
    "zero width": "sh\u200bop",
    "line separator": "shop\u2028x",
}


@pytest.fixture
def served(pg_settings: Settings) -> Iterator[tuple[Factory, TestClient, dict[str, str]]]:
    store = UserStore.of(pg_settings)
    keys = {role: store.create_key(role, role)[1] for role in ("operator", "admin")}
    with Factory(pg_settings, models=ScriptedModels()) as factory:
        with TestClient(create_app(pg_settings, factory=factory)) as http:
            yield factory, http, {r: f"Bearer {k}" for r, k in keys.items()}


@pytest.mark.parametrize("what", list(HOSTILE))
def test_a_name_with_a_control_or_invisible_character_is_refused_with_422(
    served: tuple[Factory, TestClient, dict[str, str]], what: str
) -> None:
    factory, http, keys = served
    admin = {"Authorization": keys["admin"]}
    name = HOSTILE[what]
    sent = [
        http.post("/runs", json={"requirement": TODO, "project": name}, headers=admin),
        http.post("/runs", json={"requirement": TODO, "pipeline": name}, headers=admin),
        http.post(
            "/runs/x/answer", json={"action": "approve", "id": f"abcdef{name}"}, headers=admin
        ),
        http.post("/thresholds", json={"team": name, "confidence": 0.5}, headers=admin),
    ]
    if "\x00" not in name:  # a NUL in a path or query is refused (400) before any route
        quoted = quote(name, safe="")
        sent += [
            http.post(f"/projects/{quoted}/pause", json={}, headers=admin),
            http.post(f"/teams/{quoted}/pause", json={}, headers=admin),
            http.get("/runs", params={"owner": name}, headers=admin),
            http.get("/runs", params={"project": name}, headers=admin),
        ]
    for reply in sent:
        assert reply.status_code == 422, (reply.request.url, reply.text)
        assert "control or invisible character" in reply.json()["error"]["message"]
    assert factory.list_runs(10) == []
    assert factory.switchboard.controls.read().projects == {}


def test_a_nul_in_a_reason_is_dropped_not_a_500(
    served: tuple[Factory, TestClient, dict[str, str]],
) -> None:
    factory, http, keys = served
    admin = {"Authorization": keys["admin"]}
    for path in ("/teams/qa-engineering/pause", "/projects/shop/pause", "/operations/stop"):
        reply = http.post(path, json={"reason": "bad\x00 deploy"}, headers=admin)
        assert reply.status_code == 200, (path, reply.text)
    now = factory.switchboard.controls.read()
    assert now.stop is not None and now.stop.reason == "bad deploy"
    assert now.projects["shop"].reason == "bad deploy"
    assert http.post("/operations/release", json={"note": "\x00"}, headers=admin).status_code == 200


def test_incidents_md_keeps_each_value_on_its_line(pg_settings: Settings, tmp_path: Path) -> None:
    with Factory(pg_settings, models=ScriptedModels()) as factory:
        with pytest.raises(RunInputError, match="control or invisible character"):
            factory.switchboard.pause_project(HOSTILE["newline"], by="ann", role="admin")
        row = factory.submit(StartRequest(TODO, project="shop", out_dir=tmp_path / "b"))
        summary = "spent too much\n\n## Incident 999: forged (2020-01-01)\n- Project: other"
        incident = factory.switchboard.open_incident(row, Trigger("budget_spike", summary), {})
        assert incident is not None
    text = (project_folder(pg_settings, "shop") / "INCIDENTS.md").read_text()
    headings = [line for line in text.splitlines() if line.startswith("#")]
    assert headings == ["# Incidents of project shop", f"## Incident {incident.id}: budget_spike"
                        f" ({incident.opened_at.isoformat()})"]  # fmt: skip
    assert not any(line.startswith("- Project: other") for line in text.splitlines())
    assert "spent too much\\n\\n## Incident 999: forged" in text


def test_a_name_logged_as_it_was_given_is_one_line(tmp_path: Path) -> None:
    """Defence in depth: a name that got past a check still cannot forge a log line."""
    lines = logged_in_every_format(
        "devfactory.factory.incidents_file",
        "INCIDENTS.md of project %s not written",
        HOSTILE["newline"],
    ).splitlines()
    assert len(lines) == 2 and not any(line.startswith("## Incident") for line in lines)
