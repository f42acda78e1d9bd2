"""Memory that costs little, on real Postgres: a stage's retains and recall in one call each."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from devfactory.contracts import StageOutcome, StageRecord, TaskResult
from devfactory.factory.facade import Factory
from devfactory.factory.intake import StartRequest
from devfactory.memory.live import SHARED, LiveMemory, MemoryItem, project_bank, team_bank
from devfactory.memory.service import MemoryService
from devfactory.settings import Settings
from tests.fakes import Call, ScriptedModels, always_good
from tests.integration.test_memory import HashEmbedder

TEAM = "backend-engineering"
FACT = "The todo service keeps its items in SQLite with write-ahead logging"
BA = "business-analysis"


class CountingEmbedder(HashEmbedder):
    """The 768-dimension stand-in, counting its embedding calls."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        self.calls.append(list(texts))
        return super().embed(texts)


class _Conn:
    def __init__(self, conn: Any, statements: list[str]) -> None:
        self._conn, self._statements = conn, statements

    def execute(self, query: Any, params: Any = None) -> Any:
        self._statements.append(str(query))
        return self._conn.execute(query, params)

    def transaction(self) -> Any:
        return self._conn.transaction()


class StatementSpy:
    """A connection pool that records every statement its connections execute."""

    def __init__(self, pool: Any) -> None:
        self.pool = pool
        self.statements: list[str] = []

    @contextmanager
    def connection(self) -> Iterator[_Conn]:
        with self.pool.connection() as conn:
            yield _Conn(conn, self.statements)

    def touching_memories(self, verb: str) -> list[str]:
        return [s for s in self.statements if s.startswith(verb) and "devfactory_memories" in s]


def passed(facts: list[str]) -> StageRecord:
    result = TaskResult.model_validate(
        {
            "status": "COMPLETE",
            "confidence": 0.9,
            "reasoning": "done",
            "verified_facts": facts,
            "assumptions_made": ["One region"],
            "artifacts": [{"path": "api/app.py", "kind": "python", "content": "# The app\n"}],
        }
    )
    return StageRecord(team=TEAM, outcome=StageOutcome.PASSED, result=result)


def test_a_stage_retains_with_one_embedding_call_and_one_insert(pg_settings: Settings) -> None:
    with Factory(pg_settings) as factory:
        spy, embedder = StatementSpy(factory.pool), CountingEmbedder()
        memory = MemoryService(LiveMemory(spy, embedder))  # type: ignore[arg-type]
        where: dict[str, Any] = {"run_id": "r1", "project": "p", "revision": 0, "owner": "ann"}
        facts = ["Items are stored in SQLite", "The API listens on port 8000"]
        added = memory.retain_stage(passed(facts), **where)
        assert len(embedder.calls) == 1  # facts, decision, artifact, stage, mental model
        assert len(embedder.calls[0]) == 6
        assert len(spy.touching_memories("INSERT")) == 1
        again = memory.retain_stage(passed([*facts[1:], "Titles are short"]), **where)
        stats = {b.bank: b.kinds for b in memory.live.stats()}
        model = memory.mental_model(TEAM, "ann")
    assert added == 5  # the mental model is not counted, as before
    assert again == 1  # only the new fact: the rest were retained already
    assert stats[team_bank(TEAM)] == {
        "fact": 3,
        "decision": 1,
        "artifact": 1,
        "mental_model": 1,  # replaced, not added
    }
    assert stats[project_bank("p")] == {"stage": 1}
    assert model.splitlines() == [
        "- The API listens on port 8000",
        "- Titles are short",
        "- Items are stored in SQLite",
    ]


def test_recall_over_three_banks_is_one_query_with_each_banks_limit(
    pg_settings: Settings,
) -> None:
    with Factory(pg_settings) as factory:
        spy, embedder = StatementSpy(factory.pool), CountingEmbedder()
        live = LiveMemory(spy, embedder)  # type: ignore[arg-type]
        for bank in (team_bank(TEAM), project_bank("p"), SHARED):
            items = [MemoryItem("fact", f"{bank} remembers item {i}") for i in range(4)]
            live.retain(bank, items, owner="ann")
        live.retain(team_bank(TEAM), [MemoryItem("fact", "Bob's secret")], owner="bob")
        memory = MemoryService(live, k=5, threshold=-1.0)
        spy.statements.clear()
        embedder.calls.clear()
        found = memory.recall(team=TEAM, project="p", query="item 2", owners=["ann"])
        selects, embedded = spy.touching_memories("SELECT"), len(embedder.calls)
        missing = live.recall(["team:nobody"], "item", k=3, threshold=-1.0, owners=None)
    assert len(selects) == 1 and embedded == 1
    assert len(found) == 5
    assert [m.score for m in found] == sorted((m.score for m in found), reverse=True)
    assert {m.bank for m in found} <= {team_bank(TEAM), project_bank("p"), SHARED}
    assert all("Bob" not in m.text for m in found)  # only ann's memories
    assert missing == []  # a bank never filled is nothing to recall


def extracts_fact(call: Call) -> str:
    if call.kind == "facts":
        return json.dumps({"memory": [{"text": FACT}] if call.team == BA else []})
    return always_good(call)


def test_an_uncapped_run_extracts_facts_after_its_stages_and_closing_flushes_them(
    pg_settings: Settings, tmp_path: Path
) -> None:
    settings = pg_settings.with_overrides(
        fact_memory=True, fact_queue=8, budget_run_tokens=None, budget_run_cost_usd=None
    )
    models = ScriptedModels(extracts_fact)
    with Factory(settings, models=models) as factory:
        report = factory.start(
            StartRequest("A REST API for a personal todo list", out_dir=tmp_path / "1")
        )
        usage = factory.usage(report.run_id)
    with Factory(settings, models=ScriptedModels()) as factory:  # closing flushed the queue
        assert factory.memory.facts is not None
        kept = factory.memory.facts.all(BA)
        audit = factory.audit.search("facts", run_id=report.run_id)
    assert report.status == "COMPLETED"
    assert kept == [FACT]
    assert models.chat.count(BA, "facts") == 1
    assert usage.teams[BA].calls == 2  # draft and report: the extraction left the ledger
    assert sum(row.kind == "facts" for row in audit) == 5  # every passed stage's, kept
