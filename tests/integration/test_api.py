"""The REST API over real HTTP: a `devfactory serve` process, a worker process, real Postgres.

The models are scripted (``tests.integration.models:logged``): governance rates a
requirement about patients HIGH, so its run waits for an approver.
"""

from __future__ import annotations

import json
import re
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import hypothesis
import psycopg
import pytest
import schemathesis

from devfactory.settings import Settings
from devfactory.users import UserStore
from tests.integration.cli import cli_env
from tests.integration.databases import fresh_database
from tests.servers import serving

ROLES = ("viewer", "operator", "reviewer", "approver", "admin")
LOW = "A command-line tool that counts the words in a text file"
HIGH = "A REST API to store patients' medical records"


class Service:
    """The API's address and one key per role (``operator`` owns the runs it submits)."""

    def __init__(self, base: str, keys: dict[str, str], env: dict[str, str]) -> None:
        self.base, self.keys, self.env = base, keys, env

    def client(self, role: str | None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.keys[role]}"} if role else {}
        return httpx.Client(base_url=self.base, headers=headers, timeout=30)

    def wait_status(self, run_id: str, *statuses: str, timeout: float = 120) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        with self.client("admin") as http:
            while True:
                run = http.get(f"/runs/{run_id}").json()
                if run["status"] in statuses:
                    return dict(run)
                assert time.monotonic() < deadline, run
                time.sleep(0.3)


@pytest.fixture(scope="module")
def service(server_dsn: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    tmp = tmp_path_factory.mktemp("api")
    with fresh_database(server_dsn) as database:
        env = cli_env(database, tmp)
        env.update(DEVFACTORY_WORKER_POLL_S="0.5", DEVFACTORY_REVIEW_REQUIRED="false")
        store = UserStore.of(Settings(data_dir=tmp / "data"))
        keys = {role: store.create_key(f"{role}-1", role)[1] for role in ROLES}
        keys["stranger"] = "dfk_000000000000_" + "A" * 43  # well formed, never made
        with serving(env, tmp / "logs", workers=1, timeout=120) as base:
            yield Service(base, keys, env)


def read_events(
    service: Service, run_id: str, until: str, last_id: str | None = None
) -> list[dict[str, Any]]:
    """Follow the run's SSE stream until a ``run_finished`` event with status ``until``."""
    headers = {"Last-Event-ID": last_id} if last_id else {}
    events: list[dict[str, Any]] = []
    current: dict[str, Any] = {}
    with (
        service.client("operator") as http,
        http.stream("GET", f"/runs/{run_id}/events", headers=headers, timeout=120) as response,
    ):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        for line in response.iter_lines():
            if line.startswith("id:"):
                current["id"] = line[3:].strip()
            elif line.startswith("event:"):
                current["event"] = line[6:].strip()
            elif line.startswith("data:"):
                current["data"] = json.loads(line[5:].strip())
            elif line == "" and current:
                events.append(current)
                current = {}
                done = events[-1]
                if done["event"] == "run_finished" and done["data"]["status"] == until:
                    break
    return events


def test_the_whole_lifecycle_over_http(service: Service) -> None:
    with service.client("operator") as http:
        submitted = http.post("/runs", json={"requirement": HIGH, "project": "clinic"})
    assert submitted.status_code == 202, submitted.text
    run_id = submitted.json()["run_id"]
    assert submitted.json()["status"] == "QUEUED"

    first = read_events(service, run_id, "PAUSED")
    kinds = [e["event"] for e in first]
    assert kinds[0] == "run_created" and kinds[1] == "run_started"
    assert "governance" in kinds and kinds[-1] == "run_finished"
    ids = [int(e["id"]) for e in first]
    assert ids == sorted(ids)
    with service.client("operator") as http:  # the graph marks where the run waits
        svg = http.get(f"/runs/{run_id}/graph", params={"format": "svg"})
    assert svg.headers["content-type"].startswith("image/svg+xml"), svg.text
    approval = re.search(r'<g id="node&#45;approval" class="([^"]*)">(.*?)</g>', svg.text, re.S)
    assert approval and 'fill="#ffe8a3"' in approval.group(2), svg.text[:2000]
    assert approval.group(1) == "node state&#45;waiting"  # the console finds the state by it

    with service.client("approver") as http:
        pending = http.get("/pending").json()
    mine = [p for p in pending if p["run_id"] == run_id]
    assert [p["kind"] for p in mine] == ["governance"]
    assert "approver" in mine[0]["roles"] and "operator" not in mine[0]["roles"]

    with service.client("approver") as http:  # an answer that names no question takes none
        unnamed = [
            http.post(f"/runs/{run_id}/answer", json={"action": "approve", **named})
            for named in ({}, {"id": ""}, {"id": mine[0]["id"][:5]})
        ]
        still = [p for p in http.get("/pending").json() if p["run_id"] == run_id]
    assert [r.status_code for r in unnamed] == [422, 422, 422], [r.text for r in unnamed]
    assert "id" in unnamed[0].json()["error"]["message"]
    assert [p["id"] for p in still] == [mine[0]["id"]]
    approve = {"action": "approve", "id": mine[0]["id"][:8]}
    with service.client("operator") as http:  # the run's owner, but not an approver
        refused = http.post(f"/runs/{run_id}/answer", json=approve)
    assert refused.status_code == 403
    assert "may not answer a governance pause" in refused.json()["error"]["message"]
    with service.client("approver") as http:
        answered = http.post(f"/runs/{run_id}/answer", json=approve)
        again = http.post(f"/runs/{run_id}/answer", json=approve)
    assert answered.status_code == 202, answered.text
    assert again.status_code == 409  # answered already: nothing is taken twice

    # the stream replays from the last id seen, and ends with the run
    rest = read_events(service, run_id, "COMPLETED", last_id=first[-1]["id"])
    assert int(rest[0]["id"]) == ids[-1] + 1
    assert [e["event"] for e in rest][-1] == "run_finished"

    with service.client("operator") as http:
        run = http.get(f"/runs/{run_id}").json()
        files = http.get(f"/runs/{run_id}/artifacts").json()["files"]
        summary = http.get(f"/runs/{run_id}/artifacts/run.json")
        escape = http.get(f"/runs/{run_id}/artifacts/../../etc/passwd")
        verified = http.get(f"/runs/{run_id}/audit/verify").json()
        audit = http.get(f"/runs/{run_id}/audit").json()["events"]
        spent = http.get(f"/runs/{run_id}/usage").json()
        drawn = http.get(f"/runs/{run_id}/graph").text
    assert run["status"] == "COMPLETED" and run["owner"] == "operator-1"
    moves = [(t["from_phase"], t["to_phase"], t["actor"]) for t in run["transitions"]]
    assert ("PAUSED", "GOVERNANCE_ANALYSIS", "approver-1 (approver)") in moves
    assert run["stages"] and all(s["outcome"] == "PASSED" for s in run["stages"])
    assert all(s["result"]["status"] == "COMPLETE" for s in run["stages"])
    assert "run.json" in {f["path"] for f in files}
    assert summary.status_code == 200 and json.loads(summary.text)["status"] == "COMPLETED"
    assert escape.status_code in (400, 404)
    assert verified["ok"] is True and verified["rows"] == len(audit)
    decisions = [e for e in audit if e["kind"] == "decision"]
    assert [d["actor"] for d in decisions] == ["approver-1 (approver)"]
    assert spent["total"]["input_tokens"] > 0
    recorded = json.loads(summary.text)["usage"]  # one count: run.json and the API agree
    assert (recorded["calls"], recorded["input_tokens"], recorded["output_tokens"]) == (
        spent["total"]["calls"],
        spent["total"]["input_tokens"],
        spent["total"]["output_tokens"],
    )
    assert drawn.count("PASSED · 1 attempt<br/>confidence") == len(run["stages"])


# Here, before the schemathesis test queues many runs: this one waits for its runs to end.
def test_an_admin_sets_a_projects_budgets_new_runs_get_them_and_the_audit_log_keeps_it(
    service: Service,
) -> None:
    from devfactory.factory.facade import Factory

    caps = {"run": {"tokens": 123456, "cost_usd": 0.5}, "project": {"tokens": 2000000}}
    with service.client("admin") as http:
        bad = http.put("/console/api/settings/projects/capped", json={"run": {"tokens": 0}})
        empty = http.put("/console/api/settings/projects/capped", json={})
        done = http.put("/console/api/settings/projects/capped", json=caps)
    assert bad.status_code == 422 and empty.status_code == 400, (bad.text, empty.text)
    assert done.status_code == 200, done.text
    with service.client("operator") as http:
        refused = http.put("/console/api/settings/projects/capped", json=caps)
        run_id = http.post("/runs", json={"requirement": LOW, "project": "capped"}).json()["run_id"]
        other = http.post("/runs", json={"requirement": LOW}).json()["run_id"]
        shown = http.get("/console/api/settings").json()["projects"]
    assert refused.status_code == 403
    service.wait_status(run_id, "COMPLETED")
    service.wait_status(other, "COMPLETED")
    with service.client("operator") as http:
        spent = http.get(f"/runs/{run_id}/usage").json()
        usual = http.get(f"/runs/{other}/usage").json()
    assert spent["run_caps"]["tokens"] == 123456 and spent["run_caps"]["cost_usd"] == 0.5
    assert spent["project_caps"]["tokens"] == 2000000
    assert usual["run_caps"]["tokens"] != 123456  # another project keeps the settings' caps
    with service.client("admin") as http:  # costs sum what each run's row keeps
        costs = http.get("/console/api/costs").json()
    teams = {r["name"]: r for r in costs["by_team"]}
    assert {"governance", "business-analysis"} <= set(teams)
    assert teams["business-analysis"]["calls"] >= 2  # both runs' calls
    assert costs["by_model"] and "not recorded" not in {r["name"] for r in costs["by_model"]}
    projects = {r["name"]: r for r in costs["by_project"]}
    assert (
        projects["capped"]["tokens"]
        == spent["total"]["input_tokens"] + spent["total"]["output_tokens"]
    )
    assert [(p["project"], p["set_by"]) for p in shown if p["project"] == "capped"] == [
        ("capped", "admin-1")
    ]
    settings = Settings(
        data_dir=Path(service.env["DEVFACTORY_DATA_DIR"]),
        database_url=service.env["DATABASE_URL"],
    )
    with Factory(settings) as factory:
        kept = factory.stores.audit.events("project:capped")
    assert [(e.kind, e.actor) for e in kept] == [("caps", "admin-1 (admin)")]
    assert kept[0].payload["caps"]["run"]["tokens"] == 123456


def test_a_queued_run_is_cancelled_over_http(service: Service) -> None:
    with service.client("operator") as http:
        run_id = http.post("/runs", json={"requirement": LOW}).json()["run_id"]
        cancelled = http.post(f"/runs/{run_id}/cancel")
        assert cancelled.status_code == 200, cancelled.text
    run = service.wait_status(run_id, "CANCELLED")
    assert run["transitions"][-1]["to_phase"] == "CANCELLED"
    assert run["transitions"][-1]["actor"] == "operator-1 (operator)"
    with service.client("operator") as http:
        assert http.post(f"/runs/{run_id}/cancel").status_code == 409  # it has ended


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({}, 422, "requirement"),
        ({"requirement": LOW, "pipeline": "nope"}, 400, "nope"),
        ({"requirement": LOW, "budget_tokens": -5}, 422, "budget_tokens"),
        ({"requirement": LOW, "surprise": 1}, 422, "surprise"),
        ({"requirement": "   "}, 400, "empty"),
    ],
)
def test_bad_requests_get_a_4xx_with_a_message_and_store_nothing(
    service: Service, body: dict[str, Any], status: int, message: str
) -> None:
    with service.client("operator") as http:
        before = http.get("/runs", params={"limit": 200}).json()["runs"]
        answer = http.post("/runs", json=body)
        after = http.get("/runs", params={"limit": 200}).json()["runs"]
    assert answer.status_code == status, answer.text
    error = answer.json()["error"]
    assert error["status"] == status and message in error["message"]
    assert len(after) == len(before)


@pytest.mark.parametrize(
    "url",
    [
        "/runs?project=%00",
        "/runs?owner=a%00b",
        "/runs/%00",
        "/memory/team%00/search?q=x",
        "/console/api/runs?q=a%00b",
    ],
)
def test_nul_characters_in_a_path_or_query_get_a_400(service: Service, url: str) -> None:
    with service.client("admin") as http:
        answer = http.get(url)
    assert answer.status_code == 400, answer.text
    assert "NUL" in answer.json()["error"]["message"]


@pytest.fixture(scope="module")
def finished_run(service: Service) -> str:
    with service.client("operator") as http:
        run_id = str(http.post("/runs", json={"requirement": LOW}).json()["run_id"])
    service.wait_status(run_id, "COMPLETED")
    return run_id


# Who gets what: (method, path, body) -> the status for each caller. The run is
# the operator's; viewers see only their own runs, so to them it does not exist.
# Routes that would change something are asked about a run that does not exist:
# a caller the role allows gets 404 from the route itself, others 403 before it.
NONE = "20000101-000000-000000"
OWN_ONLY = {"viewer": 404, "operator": 200, "reviewer": 200, "approver": 200, "admin": 200}
EVERYONE = dict.fromkeys(ROLES, 200)
STARTERS = {"viewer": 403, "operator": 400, "reviewer": 400, "approver": 400, "admin": 400}
CONTROL = {"viewer": 403, "operator": 404, "reviewer": 404, "approver": 404, "admin": 404}
ROUTES: list[tuple[str, str, Any, dict[str, int]]] = [
    ("GET", "/runs", None, EVERYONE),
    ("GET", "/runs/{run}", None, OWN_ONLY),
    ("POST", "/runs", {"requirement": LOW, "pipeline": "nope"}, STARTERS),
    ("POST", f"/runs/{NONE}/cancel", None, CONTROL),
    ("POST", f"/runs/{NONE}/resume", None, CONTROL),
    (
        "POST",
        f"/runs/{NONE}/answer",
        {"action": "approve", "id": "abcdef01"},
        {**dict.fromkeys(ROLES, 404)},
    ),
    ("GET", "/runs/{run}/events", None, OWN_ONLY),
    ("GET", "/pending", None, EVERYONE),
    ("GET", "/runs/{run}/artifacts", None, OWN_ONLY),
    ("GET", "/runs/{run}/artifacts/run.json", None, OWN_ONLY),
    ("GET", "/runs/{run}/audit", None, OWN_ONLY),
    ("GET", "/runs/{run}/audit/verify", None, OWN_ONLY),
    ("GET", "/runs/{run}/usage", None, OWN_ONLY),
    ("GET", "/teams", None, EVERYONE),
    ("GET", "/teams/qa-engineering", None, EVERYONE),
    ("GET", "/graph?pipeline=mvp", None, EVERYONE),
    ("GET", "/runs/{run}/graph?format=dot", None, OWN_ONLY),
    ("GET", "/metrics", None, {**EVERYONE, "viewer": 403}),  # the whole factory's activity
    ("GET", "/memory/team:qa-engineering/search?q=todos", None, EVERYONE),
    ("GET", "/runs/{run}/graph?format=svg", None, OWN_ONLY),
    ("GET", "/console/api/me", None, EVERYONE),
    ("GET", "/console/api/runs?q=words", None, EVERYONE),
    ("GET", "/console/api/runs/{run}/diffs", None, OWN_ONLY),
    ("GET", "/console/api/costs", None, EVERYONE),
    ("GET", "/console/api/memory", None, EVERYONE),
    ("GET", "/console/api/settings", None, EVERYONE),
    (
        "PUT",
        "/console/api/settings/projects/matrix",
        {"run": {"tokens": 900000}},
        {**dict.fromkeys(ROLES, 403), "admin": 200},
    ),
    ("DELETE", f"/runs/{NONE}", None, {**dict.fromkeys(ROLES, 403), "admin": 404}),
]


@pytest.mark.parametrize(("method", "path", "body", "expected"), ROUTES)
def test_every_route_for_every_role(
    service: Service,
    finished_run: str,
    method: str,
    path: str,
    body: Any,
    expected: dict[str, int],
) -> None:
    url = path.format(run=finished_run)
    got: dict[str, int] = {}
    for caller in (None, "stranger", *ROLES):
        with service.client(caller) as http:
            response = http.request(method, url, json=body)
        got[str(caller)] = response.status_code
        if response.status_code >= 400:
            assert response.json()["error"]["status"] == response.status_code
    want = {"None": 401, "stranger": 401, **expected}
    assert got == want


def test_health_needs_no_key_and_ready_checks_the_database_and_models(service: Service) -> None:
    with service.client(None) as http:
        assert http.get("/health").json() == {"status": "ok", "checks": {}}
        ready = http.get("/ready")
    assert ready.status_code == 200, ready.text
    checks = ready.json()["checks"]
    assert checks["database"] == "ok"
    assert {"factory/architect", "factory/coder", "factory/fast", "factory/cheap"} <= set(checks)


def test_metrics_count_runs_and_stages(service: Service, finished_run: str) -> None:
    with service.client("operator") as http:
        text = http.get("/metrics").text
    assert 'devfactory_runs{status="COMPLETED"}' in text
    assert "devfactory_queue_depth" in text and "devfactory_pauses_waiting" in text
    assert 'devfactory_stage_seconds_count{team="business-analysis"}' in text
    assert 'devfactory_tokens_total{direction="input"' in text


def test_runs_page_with_a_cursor_and_viewers_see_only_their_own(
    service: Service, finished_run: str
) -> None:
    with service.client("admin") as http:
        everything = http.get("/runs", params={"limit": 200}).json()["runs"]
        first = http.get("/runs", params={"limit": 1}).json()
        second = http.get("/runs", params={"limit": 1, "cursor": first["next_cursor"]}).json()
        bad = http.get("/runs", params={"cursor": "not-a-cursor"})
    assert len(everything) >= 2
    assert [r["run_id"] for r in first["runs"] + second["runs"]] == [
        r["run_id"] for r in everything[:2]
    ]
    assert bad.status_code == 400
    with service.client("viewer") as http:
        assert http.get("/runs").json()["runs"] == []  # the viewer started none


@pytest.fixture(scope="module")
def api_schema(service: Service) -> Any:
    return schemathesis.openapi.from_url(f"{service.base}/openapi.json")


def _schema_checks() -> list[Any]:
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        response_schema_conformance,
        status_code_conformance,
    )

    return [
        not_a_server_error,
        status_code_conformance,
        content_type_conformance,
        response_schema_conformance,
    ]


def test_the_openapi_schema_holds_and_no_request_gets_a_5xx(
    service: Service, api_schema: Any
) -> None:
    checked: list[str] = []
    headers = {"Authorization": f"Bearer {service.keys['admin']}"}
    for found in api_schema.get_all_operations():
        operation = found.ok()
        checked.append(operation.label)

        @hypothesis.given(case=operation.as_strategy())
        @hypothesis.settings(
            max_examples=20,
            deadline=None,
            suppress_health_check=list(hypothesis.HealthCheck),
            database=None,
        )
        def holds(case: Any) -> None:
            case.call_and_validate(headers=headers, checks=_schema_checks(), timeout=30)

        holds()
    assert "POST /runs" in checked and "GET /runs/{run_id}/events" in checked
    assert len(checked) >= 20


def raw_post(service: Service, head: str, body: bytes, *, wait: float = 10) -> str:
    """Send ``head`` and part of a body over a raw socket; return what the server answers."""
    host, port = service.base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=wait) as sock:
        try:
            sock.sendall(head.encode() + b"\r\n" + body)
        except OSError:
            pass  # the server answered and closed while the body was still going
        answer = b""
        try:
            while True:  # the refusal closes the connection: read to its end
                chunk = sock.recv(65536)
                if not chunk:
                    break
                answer += chunk
        except TimeoutError:
            if b"\r\n\r\n" not in answer:
                return ""  # the server is still reading the body
        except ConnectionResetError:
            pass
    return answer.decode("latin-1")


def test_an_unsigned_or_oversized_body_is_refused_before_it_is_read(service: Service) -> None:
    huge = 150 << 20  # the review's 150 MB; only its first 64 KiB are ever sent
    head = "POST /runs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    unsigned = raw_post(service, head + f"Content-Length: {huge}\r\n", b"{" * (1 << 16))
    assert unsigned.startswith("HTTP/1.1 401"), unsigned[:200]
    key = f"Authorization: Bearer {service.keys['operator']}\r\n"
    signed = raw_post(service, head + key + f"Content-Length: {huge}\r\n", b"{" * (1 << 16))
    assert signed.startswith("HTTP/1.1 413"), signed[:200]
    assert "larger than 1048576 bytes" in signed
    chunk = b"%x\r\n%s\r\n" % (1 << 16, b"{" * (1 << 16))
    streamed = raw_post(service, head + key + "Transfer-Encoding: chunked\r\n", chunk * 20)
    assert streamed.startswith("HTTP/1.1 413"), streamed[:200]  # cut off once past the cap
    for answer in (unsigned, signed, streamed):
        assert "x-frame-options: deny" in answer.lower()
    with service.client("operator") as http:  # the server is still well
        assert http.get("/runs").status_code == 200


def test_memory_search_returns_only_memories_of_runs_the_caller_may_see(service: Service) -> None:
    from devfactory.factory.facade import Factory
    from devfactory.memory.live import MemoryItem

    secret = "Run r-1 COMPLETED: A REST API for the Hartley merger's insider review"
    settings = Settings(
        data_dir=Path(service.env["DEVFACTORY_DATA_DIR"]),
        database_url=service.env["DATABASE_URL"],
        memory_enabled=True,
        fact_memory=False,
    )
    with Factory(settings) as factory:  # what the operator's run left, as a run leaves it
        for bank in ("project:default", "factory-shared-world", "team:qa-engineering"):
            factory.memory.live.retain(bank, [MemoryItem("run", secret)], owner="operator-1")

    def texts(role: str, bank: str) -> list[str]:
        with service.client(role) as http:
            found = http.get(f"/memory/{bank}/search", params={"q": "Hartley merger", "k": 50})
        assert found.status_code == 200, found.text
        return [m["text"] for m in found.json()["memories"]]

    def newest(role: str) -> list[str]:  # the console's newest entries, by the same rule
        with service.client(role) as http:
            found = http.get("/console/api/memory", params={"recent": 50})
        assert found.status_code == 200, found.text
        return [e["text"] for b in found.json()["banks"] for e in b["recent"]]

    assert secret not in newest("viewer")
    assert secret in newest("operator") and secret in newest("admin")
    for bank in ("project:default", "factory-shared-world", "team:qa-engineering"):
        assert secret not in texts("viewer", bank), bank  # the review's viewer read it
        assert secret in texts("operator", bank), bank  # the run's owner
        assert secret in texts("admin", bank), bank  # a role that sees every run


def console_client(service: Service) -> httpx.Client:
    """A browser on the console's pages: its forms post from the console's origin."""
    headers = {"Origin": service.base}
    return httpx.Client(base_url=service.base, timeout=30, follow_redirects=False, headers=headers)


def sign_ins_kept(service: Service, person: str) -> int:
    """Count ``person``'s console sign-ins in the database."""
    with psycopg.connect(service.env["DATABASE_URL"]) as conn:
        row = conn.execute(
            "SELECT count(*) FROM devfactory_console_sessions WHERE person = %s", (person,)
        ).fetchone()
    return int(row[0]) if row else 0


def test_the_console_refuses_a_sign_in_or_out_posted_from_another_sites_page(
    service: Service,
) -> None:
    """Issue 58 item 7: no login or logout CSRF; the console's own forms still work."""
    store = UserStore.of(Settings(data_dir=Path(service.env["DEVFACTORY_DATA_DIR"])))
    name, password = "csrf-felix", "felix-signs-in-only-here"
    store.add(name, password, "operator")
    form = {"name": name, "password": password}
    evil = "http://evil.example"
    with httpx.Client(base_url=service.base, timeout=30, follow_redirects=False) as foreign:
        for page in ({"Origin": evil}, {"Origin": "null"}, {"Referer": f"{evil}/prize"}, {}):
            refused = foreign.post("/console/signin", data=form, headers=page)
            assert refused.status_code == 403, (page, refused.text)
            assert refused.json()["error"]["message"].startswith("signing in refused")
            assert "devfactory_console" not in refused.headers.get("set-cookie", "")
    assert sign_ins_kept(service, name) == 0
    with console_client(service) as http:
        assert http.post("/console/signin", data=form).headers["location"] == "/console"
        assert sign_ins_kept(service, name) == 1
        token = http.cookies["devfactory_console"]
        with httpx.Client(base_url=service.base, timeout=30, follow_redirects=False) as foreign:
            foreign.cookies.set("devfactory_console", token)
            for page in ({"Origin": evil}, {"Referer": f"{evil}/prize"}, {}):
                refused = foreign.post("/console/signout", headers=page)
                assert refused.status_code == 403, (page, refused.text)
                assert refused.json()["error"]["message"].startswith("signing out refused")
        assert http.get("/console/api/me").status_code == 200  # still signed in
        assert sign_ins_kept(service, name) == 1
        assert http.post("/console/signout").status_code == 303
        assert sign_ins_kept(service, name) == 0


def test_the_console_signs_in_with_a_password_and_its_cookie_acts_only_with_its_header(
    service: Service,
) -> None:
    store = UserStore.of(Settings(data_dir=Path(service.env["DEVFACTORY_DATA_DIR"])))
    store.add("olive", "olive-operates-it", "operator")
    with console_client(service) as http:
        page = http.get("/console")
        assert page.status_code == 200 and "/console/static/console.js" in page.text
        wrong = http.post("/console/signin", data={"name": "olive", "password": "nope"})
        assert wrong.status_code == 303 and wrong.headers["location"].endswith("problem=wrong")
        assert "devfactory_console" not in wrong.headers.get("set-cookie", "")
        assert http.get("/console/api/me").status_code == 401  # no cookie, no key
        signed = http.post(
            "/console/signin", data={"name": "olive", "password": "olive-operates-it"}
        )
        assert signed.status_code == 303 and signed.headers["location"] == "/console"
        cookie = signed.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=strict" in cookie
        me = http.get("/console/api/me").json()
        assert (me["name"], me["role"], me["may"]["start"], me["may"]["purge"]) == (
            "olive",
            "operator",
            True,
            False,
        )
        # a change with the cookie alone (what another site's form could send) is refused
        bare = http.post("/runs", json={"requirement": LOW})
        assert bare.status_code == 403 and "x-devfactory-console" in bare.text
        sent = http.post("/runs", json={"requirement": LOW}, headers={"X-Devfactory-Console": "1"})
        assert sent.status_code == 202, sent.text
        run_id = sent.json()["run_id"]
        listed = http.get("/console/api/runs", params={"q": run_id}).json()
        assert [r["run_id"] for r in listed["runs"]] == [run_id]
        assert listed["runs"][0]["owner"] == "olive" and "tokens" in listed["runs"][0]["spent"]
        assert listed["more"] is False
        odd = http.get("/console/api/runs", params={"status": "HALF_DONE"})
        assert odd.status_code == 400 and "unknown status" in odd.json()["error"]["message"]
        # a tampered cookie is no sign-in; a role taken away takes effect at once
        token = http.cookies["devfactory_console"]
        tampered = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
        for sent_cookie, status in ((tampered, 401), (token, 200)):
            with console_client(service) as other:
                other.cookies.set("devfactory_console", sent_cookie)
                assert other.get("/console/api/me").status_code == status
        store.remove("olive")
        gone = http.get("/console/api/me")
        assert gone.status_code == 401 and "sign in again" in gone.text
        out = http.post("/console/signout")
        assert out.status_code == 303 and 'devfactory_console=""' in out.headers["set-cookie"]
