"""Fact memory's own parts: reading mem0's request, cleaning answers, the stage digest."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

import devfactory
from devfactory.contracts import (
    Artifact,
    ArtifactKind,
    StageOutcome,
    StageRecord,
    Status,
    TaskResult,
)
from devfactory.memory.facts import (
    REQUEST_SECTIONS,
    _clean,
    _prepare_environment,
    check_request_layout,
    extraction_schema,
    read_request,
)
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
    old, new = read_request(prompt)
    assert json.loads(old) == existing
    assert new == "assistant: Facts the team verified:\n- Titles are unique"
    assert "an older message" not in old + new


def test_the_adapter_is_pinned_to_the_installed_mem0s_request_sections(tmp_path: Path) -> None:
    """An upgrade of mem0 that moves its request's sections fails here, not in the memory."""
    _prepare_environment(tmp_path)
    from mem0.configs.prompts import generate_additive_extraction_prompt

    written = re.findall(r"^## (.+)$", generate_additive_extraction_prompt(), re.M)
    assert (
        tuple(written)
        == REQUEST_SECTIONS
        == (
            "Summary",
            "Last k Messages",
            "Recently Extracted Memories",
            "Existing Memories",
            "New Messages",
            "Observation Date",
            "Current Date",
        )
    )
    check_request_layout()  # what fact memory runs when it opens


def test_fact_memory_refuses_a_mem0_that_writes_another_request(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _prepare_environment(tmp_path)
    from mem0.configs import prompts

    def renamed(**kwargs: Any) -> str:
        return "## Summary\n\n\n## Messages To Read\nassistant: New fact\n\n# Output:"

    monkeypatch.setattr(prompts, "generate_additive_extraction_prompt", renamed)
    with pytest.raises(RuntimeError, match="writes another extraction request"):
        check_request_layout()
    with pytest.raises(RuntimeError, match="no 'New Messages' section"):
        read_request(renamed())


def test_only_the_adapter_imports_mem0() -> None:
    root = Path(devfactory.__file__).parent
    importers = sorted(
        str(path.relative_to(root))
        for path in root.rglob("*.py")
        if re.search(r"^\s*(from|import) mem0\b", path.read_text(encoding="utf-8"), re.M)
    )
    assert importers == ["memory/facts.py"]


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
