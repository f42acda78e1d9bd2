"""Live memory on real Postgres (pgvector) with the embedded MiniLM embedder."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path

import pytest

from devfactory.factory.facade import Factory
from devfactory.factory.intake import StartRequest
from devfactory.memory.live import (
    SHARED,
    EmbedderMismatchError,
    LiveMemory,
    MemoryItem,
    team_bank,
)
from devfactory.models.embeddings import MiniLMEmbedder
from devfactory.settings import Settings
from tests.fakes import Call, ScriptedModels, good_report, report_with

FACT = "Todos are persisted in SQLite with write-ahead logging enabled"


def remembers(call: Call) -> str:
    """Business analysis reports one distinctive fact; everyone else the usual."""
    if call.team == "business-analysis":
        return json.dumps(good_report(call.spec, verified_facts=[FACT]))
    return json.dumps(good_report(call.spec))


def test_a_second_run_recalls_what_the_first_retained(
    pg_settings: Settings, tmp_path: Path
) -> None:
    first_models = ScriptedModels(report_with(remembers))
    with Factory(pg_settings, models=first_models) as factory:
        first = factory.start(
            StartRequest("A REST API for a personal todo list", out_dir=tmp_path / "1")
        )
        # the first run had nothing to recall from the business-analysis bank
        assert not any(FACT in r for r in first.records[0].recalled)
    second_models = ScriptedModels()
    with Factory(pg_settings, models=second_models) as factory:  # a new process, in effect
        second = factory.start(
            StartRequest("A small web service to keep my todo items", out_dir=tmp_path / "2")
        )
        stats = {b.bank: b for b in factory.memory.live.stats()}
    assert first.status == second.status == "COMPLETED"
    ba = second.records[0]
    assert f"team:business-analysis: {FACT}" in ba.recalled
    ba_draft = next(
        c for c in second_models.chat.calls if c.team == "business-analysis" and c.kind == "draft"
    )
    assert FACT in ba_draft.prompt  # recalled memory reached the prompt, with its source
    assert f"run {first.run_id}" in ba_draft.prompt
    # bank isolation: no other team recalled business-analysis's own memories
    for record in second.records[1:]:
        assert not any(r.startswith("team:business-analysis:") for r in record.recalled)
    assert stats[team_bank("business-analysis")].kinds["fact"] >= 1
    assert stats[team_bank("business-analysis")].kinds["mental_model"] == 1
    assert stats[SHARED].kinds["run"] == 2  # each run's outcome reached the shared world
    assert stats["project:default"].kinds["stage"] == 10


def test_shared_memories_are_recalled_by_every_team(pg_settings: Settings) -> None:
    with Factory(pg_settings) as factory:
        live = factory.memory.live
        live.retain(team_bank("business-analysis"), [MemoryItem("fact", FACT)], owner="ann")
        team_only = factory.memory.recall(
            team="solution-architecture", project="p", query="how are todos stored?", owners=None
        )
        shared_fact = MemoryItem("fact", "Every service stores data in Postgres 16")
        live.retain(SHARED, [shared_fact], owner="ann")
        question = "which database stores data?"
        shared = factory.memory.recall(
            team="solution-architecture", project="p", query=question, owners=["ann"]
        )
    assert all(m.bank != team_bank("business-analysis") for m in team_only)
    assert [m.text for m in shared if m.bank == SHARED] == [
        "Every service stores data in Postgres 16"
    ]


def test_retaining_twice_stores_once_and_recall_is_bounded(pg_settings: Settings) -> None:
    with Factory(pg_settings) as factory:
        live = LiveMemory(factory.pool, MiniLMEmbedder())
        items = [MemoryItem("fact", f"Service {i} listens on port {8000 + i}") for i in range(20)]
        assert live.retain("team:x", items, owner="ann") == 20
        assert live.retain("team:x", items, owner="ann") == 0
        recalled = live.recall(
            ["team:x"], "which port does service 3 use?", k=5, threshold=0.0, owners=None
        )
        strict = live.recall(["team:x"], "a recipe for lemon cake", k=5, threshold=0.5, owners=None)
    assert len(recalled) == 5
    assert recalled[0].text == "Service 3 listens on port 8003"
    assert [m.score for m in recalled] == sorted((m.score for m in recalled), reverse=True)
    assert strict == []  # nothing is similar enough


class HashEmbedder:
    """A stand-in for a 768-dimension embedder such as Ollama's nomic-embed-text."""

    name = "ollama:nomic-embed-text"
    dims = 768

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        out = []
        for text in texts:
            seed = hashlib.sha256(text.encode()).digest()
            raw = [(seed[i % 32] - 128) / 128 + (i % 7) / 7 for i in range(self.dims)]
            norm = sum(v * v for v in raw) ** 0.5
            out.append([v / norm for v in raw])
        return out


def test_a_bank_refuses_another_embedder_until_it_is_reindexed(pg_settings: Settings) -> None:
    with Factory(pg_settings) as factory:
        minilm = LiveMemory(factory.pool, MiniLMEmbedder())
        kept = [MemoryItem("fact", FACT), MemoryItem("decision", "Use WAL")]
        minilm.retain("team:y", kept, owner="ann")
        other = LiveMemory(factory.pool, HashEmbedder())
        with pytest.raises(EmbedderMismatchError) as refused:
            other.recall(["team:y"], "storage", k=3, threshold=0.0, owners=None)
        message = str(refused.value)
        assert "embedded:all-minilm-l6-v2 (384 dims)" in message
        assert "ollama:nomic-embed-text (768 dims)" in message
        assert "devfactory memory reindex team:y" in message
        with pytest.raises(EmbedderMismatchError):
            other.retain("team:y", [MemoryItem("fact", "another")], owner="ann")
        assert other.reindex("team:y") == 2
        [bank] = [b for b in other.stats() if b.bank == "team:y"]
        assert (bank.embedder, bank.dims, bank.memories) == ("ollama:nomic-embed-text", 768, 2)
        assert other.recall(["team:y"], FACT, k=1, threshold=0.99, owners=None)[0].text == FACT
        with pytest.raises(EmbedderMismatchError):  # now MiniLM is the stranger
            minilm.recall(["team:y"], "storage", k=3, threshold=0.0, owners=None)


def test_memories_stay_with_the_owner_of_the_run_that_left_them(
    pg_settings: Settings, tmp_path: Path
) -> None:
    secret = "A REST API for the Hartley merger's insider trading review"
    with Factory(pg_settings, models=ScriptedModels(report_with(remembers))) as factory:
        factory.start(StartRequest(secret, out_dir=tmp_path / "a", owner="alice"))
    bob_models, alice_models = ScriptedModels(), ScriptedModels()
    with Factory(pg_settings, models=bob_models) as factory:
        bob = factory.start(
            StartRequest("A web service for my todo items", out_dir=tmp_path / "b", owner="bob")
        )
        searches = {
            who: [
                m.text
                for bank in ("team:business-analysis", "project:default", SHARED)
                for m in factory.search_memory(bank, "todo", k=50, threshold=-1, owners=owners)
            ]
            for who, owners in (("bob", ("bob",)), ("reviewer", None))
        }
        mental = factory.memory.mental_model("business-analysis", "bob")
    with Factory(pg_settings, models=alice_models) as factory:
        alice = factory.start(
            StartRequest("A web service for my todo items", out_dir=tmp_path / "c", owner="alice")
        )
    # bob's run recalled nothing of alice's: not her fact, not her requirement
    assert not any(FACT in r or "Hartley" in r for rec in bob.records for r in rec.recalled)
    assert not any(FACT in c.prompt or "Hartley" in c.prompt for c in bob_models.chat.calls)
    assert FACT not in mental
    assert not any("Hartley" in t or FACT in t for t in searches["bob"])
    # whoever may see every run finds it, and alice's own next run recalls it
    assert any("Hartley" in t for t in searches["reviewer"]) and FACT in searches["reviewer"]
    assert f"team:business-analysis: {FACT}" in alice.records[0].recalled


def test_a_stage_s_passed_checks_leave_no_memory_its_failures_and_findings_do(
    pg_settings: Settings,
) -> None:
    from devfactory.contracts import CheckRun, StageOutcome, StageRecord, Status, TaskResult

    checks = [
        CheckRun(name="install", command="uv pip install", exit_code=0),
        CheckRun(name="tests", command="pytest -q", exit_code=1, passed=1, failed=1),
    ]
    failure = "tests: exit 1; 1 passed, 1 failed in 0.3 s: test_due (KeyError: 'due')"
    result = TaskResult(
        status=Status.COMPLETE,
        confidence=0.9,
        reasoning="Wrote the module.",
        verified_facts=["install: exit 0 in 0.0 s", failure, FACT],
        assumptions_made=["Due dates are kept as ISO dates"],
    )
    stage = StageRecord(
        team="backend-engineering", outcome=StageOutcome.PASSED, result=result, checks=checks
    )
    with Factory(pg_settings) as factory:
        factory.memory.retain_stage(stage, run_id="r1", project="p", revision=0, owner="ann")
        kept = factory.memory.recent(team_bank("backend-engineering"), owners=["ann"], limit=50)
    facts = sorted(m.text for m in kept if m.kind == "fact")
    assert facts == sorted([failure, FACT])
    assert [m.text for m in kept if m.kind == "decision"] == ["Due dates are kept as ISO dates"]
    (model,) = [m.text for m in kept if m.kind == "mental_model"]
    assert "install" not in model and FACT in model
