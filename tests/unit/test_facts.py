"""Fact memory's own parts: reading mem0's request, cleaning answers, the stage digest."""

from __future__ import annotations

import json
from pathlib import Path

from devfactory.contracts import (
    Artifact,
    ArtifactKind,
    StageOutcome,
    StageRecord,
    Status,
    TaskResult,
)
from devfactory.memory.facts import _clean, _prepare_environment, _sections, extraction_schema
from devfactory.memory.service import digest


def test_the_sections_are_read_from_mem0s_own_prompt_builder(tmp_path: Path) -> None:
    _prepare_environment(tmp_path)  # mem0 reads MEM0_DIR and its telemetry switch on import
    from mem0.configs.prompts import generate_additive_extraction_prompt

    existing = [{"id": "0", "text": "Todos are stored in SQLite"}]
    prompt = generate_additive_extraction_prompt(
        existing_memories=existing,
        new_messages="assistant: Facts the team verified:\n- Titles are unique\n",
        last_k_messages=[{"role": "user", "content": "an older message"}],
    )
    parts = _sections(prompt)
    assert json.loads(parts["Existing Memories"]) == existing
    assert parts["New Messages"] == "assistant: Facts the team verified:\n- Titles are unique"
    assert "an older message" not in parts["New Messages"] + parts["Existing Memories"]


def test_copied_list_markers_and_labels_are_dropped() -> None:
    assert _clean("- Verified: Titles are unique") == "Titles are unique"
    assert _clean("2) Decided: Due dates are optional") == "Due dates are optional"
    assert _clean("The fact: ids are UUIDs") == "The fact: ids are UUIDs"  # only a leading label


def test_the_digest_lists_facts_then_decisions_and_is_bounded() -> None:
    result = TaskResult(
        status=Status.COMPLETE,
        confidence=0.9,
        reasoning="done",
        verified_facts=["Titles are unique"],
        assumptions_made=["Due dates are optional"],
        artifacts=[
            Artifact(
                path="analysis/requirements.md",
                kind=ArtifactKind.MARKDOWN,
                content="# Requirements\n",
            )
        ],
    )
    record = StageRecord(team="business-analysis", outcome=StageOutcome.PASSED, result=result)
    text = digest(record)
    assert text.splitlines() == [
        "Facts the team verified:",
        "- Titles are unique",
        "Decisions the team made:",
        "- Due dates are optional",
        "Files the team wrote: analysis/requirements.md",
    ]
    assert len(digest(record, limit=20)) == 20


def test_the_schema_bounds_every_list_and_string() -> None:
    schema = extraction_schema(3)
    memory = schema["properties"]["memory"]
    assert memory["maxItems"] == 3
    assert memory["items"]["properties"]["text"]["maxLength"] == 300
