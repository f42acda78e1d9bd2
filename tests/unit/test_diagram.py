"""A design document without a diagram is repaired from the build plan, and says so."""

from __future__ import annotations

import json
from typing import Any

from devfactory.checks.artifact import mermaid_diagram
from devfactory.contracts import MAX_ARTIFACT_CHARS, Artifact
from devfactory.repairs.diagram import component_diagram, repair_diagram
from devfactory.software.plan import PLAN_PATH, BuildPlan
from tests.fakes import ScriptedModels, always_good, run_graph
from tests.unit.test_build_plan import CLI_REQUIREMENT, cli_plan

DOC = (
    "# Architecture\n\nThe tool reads each file named on its command line and counts its "
    "words, lines and bytes, then prints one row per file and a total.\n"
)


def drafts(doc: str, plan: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    out = [{"path": "architecture/architecture.md", "kind": "markdown", "content": doc}]
    if plan is not None:
        out.append({"path": PLAN_PATH, "kind": "json", "content": json.dumps(plan)})
    return out


def check(docs: list[dict[str, Any]]) -> list[str]:
    return mermaid_diagram([Artifact.model_validate(d) for d in docs])


def test_a_document_without_a_diagram_gets_the_plan_components_and_passes_the_check() -> None:
    docs = drafts(DOC, cli_plan())
    assert check(docs)  # the draft fails the check
    repairs = repair_diagram(docs, None)
    assert repairs == [
        "architecture/architecture.md: component diagram drawn from the build plan "
        "(the draft had none)"
    ]
    assert check(docs) == []
    text = docs[0]["content"]
    assert text.startswith(DOC.rstrip()) and "## Component diagram" in text
    for path in ("wordcount/__init__.py", "wordcount/__main__.py", "tests/test_wordcount.py"):
        assert f'"{path}"' in text
    assert "  f1 --> f0" in text  # __main__ depends on the package
    assert '  f2 -.->|"tests"| f0' in text  # the tests test it
    assert 'user(("user")) -->|"python -m wordcount"| f1' in text  # entered by its __main__


def test_an_untyped_mermaid_block_is_typed_as_the_flowchart_its_edges_draw() -> None:
    docs = drafts(DOC + "\n```mermaid\n  reader --> counter\n```\n", cli_plan())
    assert check(docs)
    assert repair_diagram(docs, None) == [
        "architecture/architecture.md: `flowchart TD` added to its untyped mermaid block"
    ]
    assert "```mermaid\nflowchart TD\n  reader --> counter\n```" in docs[0]["content"]
    assert check(docs) == []


def test_the_check_example_copied_as_it_is_becomes_the_plan_diagram() -> None:
    copied = DOC + "\n```mermaid\nflowchart LR\n    client --> api\n  api --> db\n```\n\nEnd.\n"
    docs = drafts(copied, cli_plan())
    assert check(docs) == []  # the check alone is satisfied by the copy
    assert repair_diagram(docs, None) == [
        "architecture/architecture.md: the instructions' example diagram replaced by the "
        "build plan's"
    ]
    text = docs[0]["content"]
    assert "client --> api" not in text and '"wordcount/__main__.py"' in text
    assert text.endswith("```\n\nEnd.\n") and check(docs) == []
    alone = drafts(copied)  # no plan: nothing to draw, the copy stays
    assert repair_diagram(alone, None) == [] and alone[0]["content"] == copied


def test_nothing_is_drawn_without_a_plan_or_room_and_a_diagram_is_left_alone() -> None:
    docs = drafts(DOC)
    assert repair_diagram(docs, None) == [] and docs[0]["content"] == DOC and check(docs)
    full = drafts(DOC + "x" * (MAX_ARTIFACT_CHARS - len(DOC) - 10), cli_plan())
    assert repair_diagram(full, None) == [] and check(full)  # the finding stands
    good = DOC + "```mermaid\nflowchart LR\n  a --> b\n```\n"
    kept = drafts(good, cli_plan())
    assert repair_diagram(kept, None) == [] and kept[0]["content"] == good


def test_the_run_plan_is_drawn_when_the_stage_drafted_none_and_an_invalid_draft_is_not() -> None:
    run_plan = BuildPlan.model_validate(cli_plan())
    docs = drafts(DOC, {"kind": "not a kind"})
    assert repair_diagram(docs, run_plan) and check(docs) == []
    assert '"wordcount/__main__.py"' in docs[0]["content"]


def test_a_web_service_is_entered_by_its_client_and_a_script_by_its_path() -> None:
    web = cli_plan(
        kind="web-service",
        commands=[],
        endpoints=[{"method": "GET", "path": "/items"}],
        entry_point="wordcount.__main__:app",
    )
    text = component_diagram(BuildPlan.model_validate(web))
    assert text.startswith("```mermaid\nflowchart LR\n") and text.endswith("\n```")
    assert 'client(("client")) -->|"HTTP"| f1' in text
    cli = BuildPlan.model_validate(cli_plan(entry_point="python wordcount/__main__.py"))
    assert 'user(("user")) -->|"python wordcount/__main__.py"| f1' in component_diagram(cli)


def test_the_architecture_stage_records_the_diagram_it_was_given(settings: Any) -> None:
    def script(call: Any) -> str:
        if call.kind == "draft" and call.path == "architecture/architecture.md":
            return DOC  # no diagram: the mermaid_diagram check would send it back
        if call.kind == "draft" and call.path == PLAN_PATH:
            return json.dumps(cli_plan())
        return always_good(call)

    state = run_graph("lean", ScriptedModels(script), settings, CLI_REQUIREMENT)
    stage = state["stages"]["solution-architecture"]
    assert stage["outcome"] == "PASSED", stage["reason"]
    assert stage["attempts"] == 1
    assert any("component diagram drawn from the build plan" in r for r in stage["repairs"])
    (doc,) = [a for a in stage["result"]["artifacts"] if a["path"].endswith("architecture.md")]
    assert "flowchart LR" in doc["content"] and '"wordcount/__main__.py"' in doc["content"]


def test_a_stage_before_any_plan_draws_the_plan_the_requirement_settles(settings: Any) -> None:
    analysis = "analysis/requirements.md"
    requirement = "The module `lamps` has `glow(n: int) -> str`: `glow(2)` is `'**'`."

    def script(call: Any) -> str:
        if call.kind == "draft" and call.path == analysis:
            return (
                "# Requirements\n\n## Stories\n\nAs a caller I want a row of stars so that "
                "I can show a level at a glance.\n\n## Acceptance criteria\n\n"
                "AC-1: `glow(2)` is `'**'`.\n"
            )
        return always_good(call)

    state = run_graph("full", ScriptedModels(script), settings, requirement)
    stage = state["stages"]["business-analysis"]
    assert stage["outcome"] == "PASSED", stage["reason"]
    assert stage["attempts"] == 1  # Solution Architecture's plan comes later: the words' plan
    assert any("component diagram drawn from the build plan" in r for r in stage["repairs"])
    (doc,) = [a for a in stage["result"]["artifacts"] if a["path"] == analysis]
    assert "flowchart LR" in doc["content"] and '"lamps.py"' in doc["content"]
