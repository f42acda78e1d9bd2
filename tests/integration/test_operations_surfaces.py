"""The operator's controls over HTTP and the command line: admin only, recorded, refusals clear."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from devfactory.api.app import create_app
from devfactory.control.incidents import Trigger
from devfactory.factory.facade import Factory
from devfactory.factory.intake import StartRequest
from devfactory.settings import Settings
from devfactory.users import UserStore
from tests.fakes import ScriptedModels
from tests.integration.cli import cli_env, run

TODO = "A REST API for a personal todo list"


@pytest.fixture
def served(pg_settings: Settings) -> Iterator[tuple[Factory, TestClient, dict[str, str]]]:
    store = UserStore.of(pg_settings)
    keys = {role: store.create_key(role, role)[1] for role in ("operator", "approver", "admin")}
    with Factory(pg_settings, models=ScriptedModels()) as factory:
        with TestClient(create_app(pg_settings, factory=factory)) as http:
            yield factory, http, {r: f"Bearer {k}" for r, k in keys.items()}


def test_only_an_admin_stops_the_factory_over_http_and_a_stopped_factory_answers_423(
    served: tuple[Factory, TestClient, dict[str, str]],
) -> None:
    factory, http, keys = served
    for role in ("operator", "approver"):
        refused = http.post(
            "/operations/stop", json={"reason": "x"}, headers={"Authorization": keys[role]}
        )
        assert refused.status_code == 403, refused.text
        assert "admin" in refused.json()["error"]["message"]
    admin = {"Authorization": keys["admin"]}
    assert http.post("/operations/stop", json={"reason": ""}, headers=admin).status_code == 422
    stopped = http.post("/operations/stop", json={"reason": "bad deploy"}, headers=admin)
    assert stopped.status_code == 200 and stopped.json()["changed"] is True
    shown = http.get("/operations", headers={"Authorization": keys["operator"]}).json()
    assert shown["stopped"] is True and shown["stop"]["reason"] == "bad deploy"
    refused = http.post("/runs", json={"requirement": TODO}, headers=admin)
    assert refused.status_code == 423
    assert "bad deploy" in refused.json()["error"]["message"]
    released = http.post("/operations/release", json={}, headers=admin)
    assert released.status_code == 200 and released.json()["changed"] is True
    assert http.post("/runs", json={"requirement": TODO}, headers=admin).status_code == 202
    kinds = [(e.kind, e.actor) for e in factory.audit.events("factory:operations")]
    assert kinds == [("emergency_stop", "admin (admin)"), ("emergency_release", "admin (admin)")]


def test_teams_thresholds_and_incidents_over_http(
    served: tuple[Factory, TestClient, dict[str, str]], tmp_path: Path
) -> None:
    factory, http, keys = served
    admin, operator = {"Authorization": keys["admin"]}, {"Authorization": keys["operator"]}
    assert http.post("/teams/qa-engineering/pause", json={}, headers=operator).status_code == 403
    assert http.post("/teams/nope/pause", json={}, headers=admin).status_code == 404
    paused = http.post("/teams/qa-engineering/pause", json={"reason": "r"}, headers=admin)
    assert paused.status_code == 200
    assert http.post("/teams/qa-engineering/resume", headers=admin).json()["runs"] == []
    bad = http.post(
        "/thresholds", json={"team": "qa-engineering", "confidence": 1.5}, headers=admin
    )
    assert bad.status_code == 422
    set_ = http.post(
        "/thresholds", json={"team": "qa-engineering", "confidence": 0.8}, headers=admin
    )
    assert set_.status_code == 200 and "0.8" in set_.json()["message"]
    assert factory.switchboard.controls.read().thresholds == {"qa-engineering": 0.8}
    # an incident: listed for operators, decided by admins only
    row = factory.submit(
        StartRequest(TODO, project="shop", out_dir=tmp_path / "a", owner="operator")
    )
    incident = factory.switchboard.open_incident(row, Trigger("budget_spike", "a spike"), {})
    assert incident is not None
    listed = http.get("/incidents?status=open", headers=operator).json()
    assert [i["id"] for i in listed] == [incident.id]
    assert http.get("/incidents/999", headers=operator).status_code == 404
    assert (
        http.post(f"/incidents/{incident.id}/close", json={}, headers=operator).status_code == 403
    )
    assert http.post(f"/incidents/{incident.id}/explode", json={}, headers=admin).status_code == 422
    closed = http.post(f"/incidents/{incident.id}/close", json={"note": "ok"}, headers=admin)
    assert closed.status_code == 200 and closed.json()["status"] == "closed"
    again = http.post(f"/incidents/{incident.id}/resume", json={}, headers=admin)
    assert again.status_code == 409 and "closed already" in again.json()["error"]["message"]
    assert http.get("/operations", headers=operator).json()["projects"] == []


def test_an_operator_sees_only_the_incidents_of_runs_it_may_see(
    served: tuple[Factory, TestClient, dict[str, str]], tmp_path: Path
) -> None:
    factory, http, keys = served
    operator, approver = {"Authorization": keys["operator"]}, {"Authorization": keys["approver"]}
    theirs = factory.submit(StartRequest(TODO, project="shop", out_dir=tmp_path / "a", owner="ann"))
    spike = Trigger("sandbox_violation", "the sandbox stopped a write to /etc in ann's check")
    hidden = factory.switchboard.open_incident(theirs, spike, {})
    own = factory.submit(
        StartRequest(TODO, project="shop", out_dir=tmp_path / "b", owner="operator")
    )
    shown = factory.switchboard.open_incident(own, Trigger("budget_spike", "a spike"), {})
    assert hidden is not None and shown is not None
    assert http.get(f"/runs/{theirs.run_id}", headers=operator).status_code == 404
    listed = http.get("/incidents", headers=operator).json()
    assert [i["id"] for i in listed] == [shown.id]
    assert http.get("/incidents?status=open&limit=1", headers=operator).json()[0]["id"] == shown.id
    refused = http.get(f"/incidents/{hidden.id}", headers=operator)
    assert refused.status_code == 404 and "ann" not in refused.text
    held = http.get("/operations", headers=operator).json()["projects"]
    assert [h["reason"] for h in held] == [f"incident {hidden.id}"]  # the first hold stands
    assert "/etc" not in json.dumps(http.get("/operations", headers=operator).json())
    # a role that sees every run sees every incident, and what it found
    assert {i["id"] for i in http.get("/incidents", headers=approver).json()} == {
        hidden.id,
        shown.id,
    }
    assert http.get(f"/incidents/{hidden.id}", headers=approver).status_code == 200
    reasons = [h["reason"] for h in http.get("/operations", headers=approver).json()["projects"]]
    assert reasons and "/etc" in reasons[0]


def test_the_command_line_stops_and_releases_as_admin_only(
    database_url: str, tmp_path: Path
) -> None:
    env = cli_env(database_url, tmp_path)
    code, _, err = run(env, "stop", "--reason", "drill", "--as", "olly", "--role", "operator")
    assert code == 2 and "needs admin" in err
    code, out, _ = run(env, "stop", "--reason", "drill", "--as", "ann", "--role", "admin")
    assert code == 0 and "emergency stop ON" in out
    code, _, err = run(env, "submit", TODO)
    assert code == 8 and "the factory is stopped" in err and "drill" in err
    code, out, _ = run(env, "controls", "--json")
    assert code == 0 and '"stopped": true' in out
    code, out, _ = run(env, "release", "--as", "ann", "--role", "admin")
    assert code == 0 and "released" in out
    code, out, _ = run(env, "submit", TODO)
    assert code == 0 and "QUEUED" in out
    code, _, err = run(env, "threshold", "qa-engineering", "--as", "ann", "--role", "admin")
    assert code == 2 and "VALUE" in err
    code, out, _ = run(env, "threshold", "qa-engineering", "0.85", "--role", "admin")
    assert code == 0 and "0.85" in out
    code, _, err = run(env, "team", "pause", "no-such-team", "--role", "admin")
    assert code == 2 and "no team" in err
    code, out, _ = run(env, "incidents")
    assert code == 0 and "no incidents" in out
    code, _, err = run(env, "incidents", "close", "42", "--role", "admin")
    assert code == 2 and "no incident 42" in err
    code, _, err = run(env, "caps", "shop", "--tokens", "5000", "--role", "operator")
    assert code == 2 and "admin" in err
    code, out, _ = run(env, "caps", "shop", "--tokens", "5000", "--role", "admin")
    assert code == 0 and '"tokens": 5000' in out
    code, out, _ = run(env, "project", "pause", "shop", "--reason", "audit", "--role", "admin")
    assert code == 0 and "project shop paused" in out
    code, out, _ = run(env, "controls")
    assert code == 0 and "project shop held by" in out and "qa-engineering: confidence" in out


def test_the_console_carries_the_stop_button_and_an_admin_stops_from_it(
    pg_settings: Settings,
) -> None:
    store = UserStore.of(pg_settings)
    store.add("ada", "ada-administers-it", "admin")
    store.add("olive", "olive-operates-it", "operator")
    with Factory(pg_settings, models=ScriptedModels()) as factory:
        app = create_app(pg_settings, factory=factory)
        own_page = {"Origin": "http://testserver"}  # the console's forms post from its origin
        with TestClient(app, follow_redirects=False, headers=own_page) as http:
            page = http.get("/console").text
            assert 'id="stop-control"' in page and 'data-nav="operations"' in page
            script = http.get("/console/static/console.js").text
            assert '"/operations/stop"' in script and "emergency-stop" in script
            console = {"X-Devfactory-Console": "1"}
            signed = http.post(
                "/console/signin", data={"name": "olive", "password": "olive-operates-it"}
            )
            assert signed.status_code == 303
            assert http.get("/operations").json()["stopped"] is False  # operators read it
            refused = http.post("/operations/stop", json={"reason": "x"}, headers=console)
            assert refused.status_code == 403
            http.post("/console/signout")
            http.cookies.clear()
            http.post("/console/signin", data={"name": "ada", "password": "ada-administers-it"})
            stopped = http.post("/operations/stop", json={"reason": "drill"}, headers=console)
            assert stopped.status_code == 200, stopped.text
            assert factory.switchboard.controls.read().stop is not None


def test_project_names_follow_the_runs_visibility_in_settings_and_operations(
    served: tuple[Factory, TestClient, dict[str, str]], tmp_path: Path
) -> None:
    """Issue 58 item 12: a project is named only to those who may see one of its runs."""
    factory, http, keys = served
    vic = UserStore.of(factory.settings).create_key("vic", "viewer")[1]  # no runs of her own
    viewer = {"Authorization": f"Bearer {vic}"}
    admin, operator = {"Authorization": keys["admin"]}, {"Authorization": keys["operator"]}
    approver = {"Authorization": keys["approver"]}  # a see_all_runs role
    factory.submit(
        StartRequest(TODO, project="hartley-merger", out_dir=tmp_path / "a", owner="ann")
    )
    factory.submit(StartRequest(TODO, project="shop", out_dir=tmp_path / "b", owner="operator"))
    for project in ("hartley-merger", "shop"):
        held = http.post(f"/projects/{project}/pause", json={"reason": "hold"}, headers=admin)
        assert held.status_code == 200, held.text
        caps = {"run": {"tokens": 5000}}
        capped = http.put(f"/console/api/settings/projects/{project}", json=caps, headers=admin)
        assert capped.status_code == 200, capped.text

    def on_hold(who: dict[str, str]) -> list[str]:
        answer = http.get("/operations", headers=who)
        assert answer.status_code == 200, answer.text
        return sorted(h["target"] for h in answer.json()["projects"])

    def with_caps(who: dict[str, str]) -> list[str]:
        answer = http.get("/console/api/settings", headers=who)
        assert answer.status_code == 200, answer.text
        return sorted(p["project"] for p in answer.json()["projects"])

    assert with_caps(viewer) == []
    assert "hartley-merger" not in http.get("/console/api/settings", headers=viewer).text
    assert on_hold(operator) == with_caps(operator) == ["shop"]
    assert "hartley-merger" not in http.get("/operations", headers=operator).text
    for sees_all in (approver, admin):
        assert on_hold(sees_all) == with_caps(sees_all) == ["hartley-merger", "shop"]
