"""Assemble the prompts a stage sends: the drafting brief and the report request.

Drafting gets a compact brief (identity line and standards as the system
message; requirement, upstream work and the file to write as the task): small
models write real files from it, and echo long instruction blocks instead.
The report gets the team's whole identity (SOUL, AGENTS, TOOLS), because
judging the work is where its values matter.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage

from devfactory.contracts import Artifact, TaskResult
from devfactory.graph.prompts import render_prompt
from devfactory.graph.tools import clarification_tool
from devfactory.teams.checks import describe_checks
from devfactory.teams.spec import Deliverable, TeamSpec


def _bullets(items: Sequence[str]) -> str:
    return "\n".join(f"- {item}" for item in items) or "- (none)"


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit] + "\n[...]"


def render_artifacts(artifacts: Sequence[Artifact], limit: int) -> str:
    """Render files for a prompt, each cut at ``limit`` characters."""
    return "\n".join(
        render_prompt(
            "artifact_block", path=a.path, kind=a.kind.value, content=_clip(a.content, limit)
        )
        for a in artifacts
    )


def render_memory(state: Mapping[str, Any], limit: int) -> str:
    """Render what the team recalled before it started: its mental model, then memories."""
    model = state.get("mental_model", "")
    memories = state.get("memories", [])
    if not model and not memories:
        return ""
    lines = []
    if model:
        lines.append("Your team's notes from earlier work:\n" + model)
    if memories:
        lines.append(
            "What you and the factory remember that may apply (check it against this "
            "requirement):\n"
            + _bullets(
                [
                    f"{m['text']} ({m['provenance'].get('team') or m['bank']}, run "
                    f"{m['provenance'].get('run', '?')})"
                    for m in memories
                ]
            )
        )
    return "\n" + _clip("\n".join(lines), limit) + "\n"


def render_notes(notes: Sequence[str]) -> str:
    """Render answers and guidance the stage received (clarifications, people, review)."""
    if not notes:
        return ""
    return "\nAnswers and guidance you received:\n" + _bullets(notes) + "\n"


def render_upstream(
    stages: Mapping[str, Any], needs: Sequence[str], names: Mapping[str, str], limit: int
) -> str:
    """Render the verified facts and artifacts of the stages this one depends on."""
    if not needs:
        return "None: yours is the first stage; work from the requirement alone."
    blocks = []
    for team in needs:
        result = TaskResult.model_validate(stages[team]["result"])
        blocks.append(
            render_prompt(
                "upstream_stage",
                team_name=names.get(team, team),
                confidence=f"{result.confidence:.2f}",
                facts=_bullets(result.verified_facts),
                artifacts=render_artifacts(result.artifacts, limit),
            )
        )
    return "\n".join(blocks)


def system_prompt(spec: TeamSpec) -> SystemMessage:
    """Render the team's identity and answering rules."""
    return SystemMessage(
        render_prompt(
            "stage_system",
            team_name=spec.name,
            soul=spec.soul.strip(),
            agents=spec.agents.strip(),
            tools=spec.tools_doc.strip(),
            may_ask=", ".join(spec.may_ask) or "none",
            tool=render_prompt(
                "clarification_tool",
                tool_name=clarification_tool(spec).name,
                description=clarification_tool(spec).description,
                may_ask=", ".join(spec.may_ask),
            )
            if spec.may_ask
            else "",
            deliverables=", ".join(f"{d.path} ({d.kind.value})" for d in spec.deliverables),
        )
    )


def draft_messages(
    spec: TeamSpec,
    state: Mapping[str, Any],
    item: Deliverable,
    *,
    needs: Sequence[str],
    names: Mapping[str, str],
    upstream_chars: int,
    feedback: Sequence[str] = (),
    previous: str = "",
    notes: Sequence[str] = (),
    memory: str = "",
) -> list[BaseMessage]:
    """Build the request for one deliverable, written as a plain file.

    The team's standards (acceptance criteria, checks) go in the system message
    and the user turn holds only the task: small models otherwise echo the
    criteria back as the file.
    """
    system = render_prompt(
        "draft_system",
        team_name=spec.name,
        description=spec.description,
        criteria=spec.objective_section("Acceptance criteria", requirement=state["requirement"]),
        checks=" ".join(describe_checks(spec.tools)),
    )
    upstream = render_upstream(state["stages"], needs, names, upstream_chars)
    ask = render_prompt(
        "draft_artifact",
        requirement=state["requirement"],
        upstream="\nUpstream work:\n" + upstream if needs else "",
        path=item.path,
        description=item.description.rstrip("."),
        feedback=("\nThe gate rejected your last attempt:\n" + _bullets(feedback) + "\n")
        if feedback
        else "",
        previous=render_prompt("previous_draft", content=_clip(previous, upstream_chars))
        if previous
        else "",
        notes=render_notes(notes),
        memory=memory,
    )
    return [SystemMessage(system), HumanMessage(ask)]


def report_messages(
    spec: TeamSpec,
    state: Mapping[str, Any],
    artifacts: Sequence[Artifact],
    *,
    needs: Sequence[str],
    names: Mapping[str, str],
    upstream_chars: int,
    feedback: Sequence[str] = (),
    attempt: int = 1,
    max_attempts: int = 1,
    notes: Sequence[str] = (),
    memory: str = "",
) -> list[BaseMessage]:
    """Build the request for the team's report on the files it drafted."""
    gate = ""
    if feedback:
        gate = render_prompt(
            "gate_feedback",
            attempt=attempt - 1,
            max_attempts=max_attempts,
            team_name=spec.name,
            problems=_bullets(feedback),
        )
    task = render_prompt(
        "stage_task",
        objective=spec.render_objective(requirement=state["requirement"]).strip(),
        upstream=render_upstream(state["stages"], needs, names, upstream_chars),
        feedback=gate,
        notes=render_notes(notes),
        memory=memory,
    )
    ask = render_prompt("report", task=task, artifacts=render_artifacts(artifacts, upstream_chars))
    return [system_prompt(spec), HumanMessage(ask)]
