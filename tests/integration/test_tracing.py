"""Langfuse traces of real runs, captured for real by an in-memory OTEL exporter.

The Langfuse client is the real one (langfuse 5, OTEL based); only its exporter
is swapped for ``InMemorySpanExporter``, so what is checked is every span the
client would have sent to a server.
"""

from __future__ import annotations

import http.server
import json
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from langfuse import Langfuse
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from devfactory.control.hitl import Decision
from devfactory.factory.facade import Factory
from devfactory.factory.intake import StartRequest
from devfactory.pipelines import load_pipeline
from devfactory.settings import Settings
from devfactory.tracing import trace_id_of, trace_url
from tests.fakes import Call, ScriptedModels, answer_pending, good_report, report_with

LOW = "A command-line tool that counts the words in a text file"
HIGH = "A REST API to store patients' medical records"


@pytest.fixture
def exporter(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Langfuse, InMemorySpanExporter]]:
    # Langfuse keeps one exporter per public key in the process: a key of its own
    monkeypatch.setenv("LANGFUSE_PUBLIC_KEY", f"pk-lf-{uuid.uuid4().hex[:8]}")
    monkeypatch.setenv("LANGFUSE_SECRET_KEY", "sk-lf-test")
    monkeypatch.setenv("LANGFUSE_BASE_URL", "http://127.0.0.1:9")
    spans = InMemorySpanExporter()
    client = Langfuse(span_exporter=spans, flush_at=1)
    yield client, spans
    client.shutdown()


def attributes(spans: InMemorySpanExporter) -> list[tuple[str, dict[str, Any], str]]:
    return [
        (s.name, dict(s.attributes or {}), format(s.context.trace_id, "032x"))
        for s in spans.get_finished_spans()
    ]


def test_a_run_is_one_trace_with_a_span_per_stage_and_model_call(
    pg_settings: Settings, tmp_path: Path, exporter: tuple[Langfuse, InMemorySpanExporter]
) -> None:
    client, spans = exporter
    with Factory(pg_settings, models=ScriptedModels(), tracing=client) as factory:
        report = factory.start(StartRequest(LOW, out_dir=tmp_path / "out", project="acme"))
    client.flush()
    assert report.status == "COMPLETED"
    seen = attributes(spans)
    assert {trace for _, _, trace in seen} == {trace_id_of(report.run_id)}  # one trace
    assert trace_url(report.run_id) == f"http://127.0.0.1:9/trace/{trace_id_of(report.run_id)}"
    names = [name for name, _, _ in seen]
    teams = load_pipeline("mvp").teams
    for team in teams:  # a span for each stage, and its steps
        assert team in names
        assert f"stage {team}: PASSED" in names
    generations = [a for _, a, _ in seen if a.get("langfuse.observation.type") == "generation"]
    assert len(generations) >= len(teams) * 2  # drafts and reports, governance too
    assert {g["langfuse.observation.model.name"] for g in generations} == {"scripted:fake"}
    usage = [json.loads(g["langfuse.observation.usage_details"]) for g in generations]
    assert all(u.get("input", 0) > 0 and u.get("output", 0) > 0 for u in usage)
    sessions = {a.get("session.id") for _, a, _ in seen if "session.id" in a}
    assert sessions == {report.run_id}
    tags = {t for _, a, _ in seen for t in a.get("langfuse.trace.tags", ())}
    assert {"project:acme", "pipeline:mvp"} <= tags
    stage = next(a for n, a, _ in seen if n == "stage backend-engineering: PASSED")
    prefix = "langfuse.observation.metadata."
    meta = {k.removeprefix(prefix): json.loads(v) for k, v in stage.items() if k.startswith(prefix)}
    assert meta["team"] == "backend-engineering" and meta["outcome"] == "PASSED"
    assert meta["confidence"] > 0 and meta["attempts"] == 1
    assert meta["usage"]["input_tokens"] > 0 and meta["model"] == "scripted:fake"
    assert "run completed" in names and "DRAFT -> GOVERNANCE_ANALYSIS" in names
    finished = next(a for n, a, _ in seen if n == "run completed")  # the outcome tags the trace
    assert {"outcome:completed", "project:acme"} <= set(finished["langfuse.trace.tags"])
    assert finished["session.id"] == report.run_id


def test_a_resumed_run_continues_its_trace_and_session(
    pg_settings: Settings, tmp_path: Path, exporter: tuple[Langfuse, InMemorySpanExporter]
) -> None:
    client, spans = exporter
    with Factory(pg_settings, models=ScriptedModels(), tracing=client) as factory:
        paused = factory.start(StartRequest(HIGH, out_dir=tmp_path / "out"))
        assert paused.status == "PAUSED"
        client.flush()
        first = len(spans.get_finished_spans())
        approve = Decision(action="approve", text="ok", by="alice", role="approver")
        done = answer_pending(factory, paused.run_id, approve)
    client.flush()
    assert done.status == "COMPLETED"
    seen = attributes(spans)
    assert len(seen) > first
    assert {trace for _, _, trace in seen} == {trace_id_of(paused.run_id)}
    assert {a["session.id"] for _, a, _ in seen if "session.id" in a} == {paused.run_id}
    names = [name for name, _, _ in seen]
    assert "run paused" in names[:first] and "run completed" in names[first:]
    assert "PAUSED -> GOVERNANCE_ANALYSIS" in names  # the approval, on the trace


class Counting(http.server.BaseHTTPRequestHandler):
    hits: list[str] = []
    bodies: list[Any] = []

    def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
        Counting.hits.append(self.path)
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.headers.get("Content-Type", "").startswith("application/json"):
            Counting.bodies.append(json.loads(body))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args: Any) -> None:
        pass


def test_without_keys_nothing_is_sent(
    pg_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = http.server.HTTPServer(("127.0.0.1", 0), Counting)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    for key in ("LANGFUSE_PUBLIC_KEY", "LANGFUSE_SECRET_KEY"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("LANGFUSE_BASE_URL", f"http://127.0.0.1:{server.server_port}")
    Counting.hits = []
    try:
        with Factory(pg_settings, models=ScriptedModels()) as factory:
            assert factory.tracing is None
            assert trace_url("any-run") is None
            report = factory.start(StartRequest(LOW, out_dir=tmp_path / "out"))
    finally:
        server.shutdown()
    assert report.status == "COMPLETED"
    assert Counting.hits == []


def test_a_langfuse_that_refuses_connections_costs_the_run_nothing(
    pg_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LANGFUSE_PUBLIC_KEY", f"pk-lf-{uuid.uuid4().hex[:8]}")
    monkeypatch.setenv("LANGFUSE_SECRET_KEY", "sk-lf-refused")
    monkeypatch.setenv("LANGFUSE_BASE_URL", "http://127.0.0.1:9")  # nothing listens there
    with Factory(pg_settings, models=ScriptedModels()) as factory:
        assert factory.tracing is None  # the probe found no server: nothing is exported
        report = factory.start(StartRequest(LOW, out_dir=tmp_path / "out"))
        assert report.status == "COMPLETED"
        assert len(report.records) == len(load_pipeline("mvp").teams)


def test_a_stage_the_gate_sends_back_shows_on_the_trace_with_its_feedback(
    pg_settings: Settings, tmp_path: Path, exporter: tuple[Langfuse, InMemorySpanExporter]
) -> None:
    client, spans = exporter

    def unsure_once(call: Call) -> str:
        unsure = call.team == "backend-engineering" and call.n == 0
        return json.dumps(good_report(call.spec, confidence=0.1 if unsure else 0.95))

    models = ScriptedModels(report_with(unsure_once))
    with Factory(pg_settings, models=models, tracing=client) as factory:
        report = factory.start(StartRequest(LOW, out_dir=tmp_path / "out"))
    client.flush()
    assert report.status == "COMPLETED"
    seen = attributes(spans)
    (again,) = [a for n, a, _ in seen if n == "gate: backend-engineering tries again (attempt 2)"]
    because = json.loads(again["langfuse.observation.metadata.because"])
    assert any("confidence" in line for line in because), because
    assert again["langfuse.observation.level"] == "WARNING"


def test_each_stage_confidence_is_a_score_on_the_run_trace(
    pg_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # scores travel over Langfuse's HTTP API, not OTEL: a local server receives them
    server = http.server.HTTPServer(("127.0.0.1", 0), Counting)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("LANGFUSE_PUBLIC_KEY", f"pk-lf-{uuid.uuid4().hex[:8]}")
    monkeypatch.setenv("LANGFUSE_SECRET_KEY", "sk-lf-test")
    monkeypatch.setenv("LANGFUSE_BASE_URL", f"http://127.0.0.1:{server.server_port}")
    Counting.hits, Counting.bodies = [], []
    client = Langfuse(span_exporter=InMemorySpanExporter(), flush_at=1)
    try:
        with Factory(pg_settings, models=ScriptedModels(), tracing=client) as factory:
            report = factory.start(StartRequest(LOW, out_dir=tmp_path / "out"))
        client.flush()
    finally:
        client.shutdown()
        server.shutdown()
    assert report.status == "COMPLETED"
    sent = [s for body in Counting.bodies for s in (body if isinstance(body, list) else [body])]
    scores = [s for s in sent if isinstance(s, dict) and s.get("name") == "confidence"]
    by_team = {s["metadata"]["team"]: s for s in scores}
    assert set(by_team) == {r.team for r in report.records}, Counting.hits
    for record in report.records:
        score = by_team[record.team]
        assert score["traceId"] == trace_id_of(report.run_id) and score["dataType"] == "NUMERIC"
        assert record.result is not None and score["value"] == record.result.confidence
        assert score["metadata"]["outcome"] == "PASSED"
