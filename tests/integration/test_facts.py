"""Team fact memory: real mem0 on real Postgres (pgvector), a scripted extraction model."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from devfactory.contracts import Usage
from devfactory.factory.facade import Factory
from devfactory.factory.intake import StartRequest
from devfactory.memory.facts import ExtractedFact, Extraction, TeamFacts, collection_name
from devfactory.models.embeddings import MiniLMEmbedder
from devfactory.settings import Settings
from tests.fakes import Call, ScriptedModels, always_good, collect
from tests.integration.test_memory import HashEmbedder

FACT = "The todo service keeps its items in SQLite with write-ahead logging"
BA = "business-analysis"


def extracts_fact(call: Call) -> str:
    """Business analysis's fact keeper extracts FACT from every report; others nothing."""
    if call.kind == "facts":
        return json.dumps({"memory": [{"text": FACT}] if call.team == BA else []})
    return always_good(call)


def test_mem0_dedups_a_repeated_fact_and_recalls_it_beside_live_memory(
    pg_settings: Settings, tmp_path: Path
) -> None:
    settings = pg_settings.with_overrides(fact_memory=True)
    events: list[dict[str, Any]] = []
    first_models = ScriptedModels(extracts_fact)
    with Factory(settings, models=first_models) as factory:
        first = factory.start(
            StartRequest("A REST API for a personal todo list", out_dir=tmp_path / "1")
        )
        assert factory.memory.facts is not None
        after_first = factory.memory.facts.all(BA)
    second_models = ScriptedModels(extracts_fact)
    with Factory(settings, models=second_models) as factory:  # a new process, in effect
        second = factory.start(
            StartRequest("A small web service to keep my todo items", out_dir=tmp_path / "2"),
            on_event=collect(events),
        )
        assert factory.memory.facts is not None
        after_second = factory.memory.facts.all(BA)
        counts = factory.memory.facts.counts()
        usage = factory.usage(second.run_id)
    assert first.status == second.status == "COMPLETED"
    assert after_first == [FACT]
    # the model extracted FACT again; mem0 showed it the stored fact and dropped the repeat
    assert after_second == [FACT]
    assert counts == {BA: 1}
    [extraction] = [c for c in second_models.chat.calls if c.team == BA and c.kind == "facts"]
    existing = extraction.prompt.split("## Existing memories")[1].split("## The new report")[0]
    assert FACT in existing
    assert "- Business Analysis checked the requirement" in extraction.prompt
    facts_events = {e["team"]: e for e in events if e["event"] == "facts"}
    assert facts_events[BA]["added"] == [] and facts_events[BA]["problem"] == ""
    assert len(facts_events) == 5  # every passed stage had its facts extracted
    # recalled beside live memory, with its provenance, and it reached the prompt
    assert f"facts:{BA}: {FACT}" in second.records[0].recalled
    draft = next(c for c in second_models.chat.calls if c.team == BA and c.kind == "draft")
    assert FACT in draft.prompt and f"run {first.run_id}" in draft.prompt
    for record in second.records[1:]:  # other teams do not recall business analysis's facts
        assert not any(r.startswith(f"facts:{BA}:") for r in record.recalled)
    # the extraction is metered to the team like any other call
    assert usage.teams[BA].calls == 3  # draft, report, facts


def garbles_facts(call: Call) -> str:
    return "I think the facts are fine" if call.kind == "facts" else always_good(call)


def test_a_garbled_extraction_is_retried_then_reported_and_stores_nothing(
    pg_settings: Settings, tmp_path: Path
) -> None:
    settings = pg_settings.with_overrides(fact_memory=True, max_parse_retries=1)
    events: list[dict[str, Any]] = []
    models = ScriptedModels(garbles_facts)
    with Factory(settings, models=models) as factory:
        report = factory.start(
            StartRequest("A todo list API", out_dir=tmp_path), on_event=collect(events)
        )
        assert factory.memory.facts is not None
        counts = factory.memory.facts.counts()
        audit = factory.audit.search("facts")
    assert report.status == "COMPLETED"  # fact memory never fails a stage
    assert models.chat.count(BA, "facts") == 2  # the first try and one repair, no more
    problems = [e["problem"] for e in events if e["event"] == "facts"]
    assert len(problems) == 5 and all("JSON" in p or "memory" in p for p in problems), problems
    assert counts == {}
    assert any(row.kind == "facts" for row in audit)


class StubAnswer:
    def __init__(self, texts: list[str]) -> None:
        self.value = Extraction(memory=[ExtractedFact(text=t) for t in texts])
        self.usage = Usage(input_tokens=10, output_tokens=5, calls=1)
        self.model = "stub"
        self.problem = ""


def test_facts_are_kept_per_embedder_and_mem0_stays_in_the_data_dir(
    pg_settings: Settings, database_url: str
) -> None:
    data_dir = pg_settings.storage.data_dir
    minilm = TeamFacts(database_url, MiniLMEmbedder(), data_dir, max_facts=2)
    other = TeamFacts(database_url, HashEmbedder(), data_dir, max_facts=2)
    try:
        facts = [FACT, "Todo titles are at most 200 characters", "A third fact over the cap"]
        added = minilm.extract(
            BA, "digest", {"run": "r1"}, lambda e, n: StubAnswer(facts), owner="ann"
        )
        assert added.added == facts[:2]  # bounded by max_facts
        assert added.usage.calls == 1 and added.model == "stub"
        assert minilm.counts() == {BA: 2}
        assert other.counts() == {}  # another embedder never reads these vectors
        assert minilm.collection != other.collection == collection_name(HashEmbedder())
        question = "where are todo items stored?"
        assert minilm.search(BA, question, k=1, threshold=0.2, owners=None)[0].text == FACT
        assert minilm.search(BA, question, k=1, threshold=0.2, owners=["ann"])[0].text == FACT
        assert minilm.search(BA, question, k=1, threshold=0.0, owners=["bob"]) == []  # ann's
        assert (
            minilm.search("backend-engineering", "todo items", k=3, threshold=0.0, owners=None)
            == []
        )
    finally:
        minilm.close()
        other.close()
    from mem0.memory import telemetry

    assert telemetry.MEM0_TELEMETRY is False
    assert os.environ["MEM0_TELEMETRY"] == "False"
    assert (data_dir / "mem0" / "history.db").is_file()
