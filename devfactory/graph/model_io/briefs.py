"""Assemble the prompts a stage sends: the drafting brief and the report request.

Drafting gets a compact brief (identity line and standards as the system
message; requirement, upstream work and the file to write as the task): small
models write real files from it, and echo long instruction blocks instead.
The report gets the team's whole identity (SOUL, AGENTS, TOOLS), because
judging the work is where its values matter. A run that changes an existing
repository adds what a draft needs of it (``repository_brief``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import Any

from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage

from devfactory.checks.catalogue import CHECKS
from devfactory.contracts import Artifact, Repository
from devfactory.graph.clarification_tools import clarification_tool
from devfactory.graph.model_io.prompt_files import render_prompt
from devfactory.memory.packing import (
    CUT_MARK,
    Count,
    Upstream,
    approx_tokens,
    excerpt,
    fit_lines,
    pack,
)
from devfactory.repos.repository import base_text
from devfactory.settings import Settings
from devfactory.teams.spec import Deliverable, TeamSpec


def _bullets(items: Sequence[str]) -> str:
    return "\n".join(f"- {item}" for item in items) or "- (none)"


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else f"{text[:limit]}\n{CUT_MARK}"


def render_artifacts(artifacts: Sequence[Artifact], limit: int) -> str:
    """Render files for a prompt, each cut at ``limit`` characters."""
    return "\n".join(
        render_prompt(
            "artifact_block", path=a.path, kind=a.kind.value, content=_clip(a.content, limit)
        )
        for a in artifacts
    )


RECEIVED = "Answers and guidance you received"  # the clarifications', people's and review's


def _listed(title: str, lines: Sequence[str]) -> str:
    """Render a request's block of lines (feedback, notes, findings); "" when there are none."""
    return f"\n{title}:\n{_bullets(lines)}\n" if lines else ""


def requirement_budget(settings: Settings) -> int:
    """Return the most tokens of the requirement one call sees (``requirement_tokens``).

    It is part of the call's context, so never more than ``context_tokens``.
    """
    return min(settings.generation.requirement_tokens, settings.generation.context_tokens)


MIN_CONTEXT_TOKENS = 200
"""The least a stage's packed context is given when the rest of a request is large."""
MIN_LINES_TOKENS = 100
"""The least a request's feedback, notes or findings are given (``feedback_tokens``' floor)."""


def request_budget(settings: Settings) -> int:
    """Return the most tokens one stage request may hold, so that the model can answer it.

    The local models' context per slot (``embedded_ctx``, Ollama's ``num_ctx`` too)
    less the reply's cap for the reply and each continuation of it (a continuation
    sends the request with the reply so far).
    """
    reply = settings.generation.stage_max_tokens * (1 + settings.generation.max_continuations)
    return max(settings.serving.embedded_ctx - reply, MIN_CONTEXT_TOKENS)


def context_budget(settings: Settings, rest: int) -> int:
    """Return the stage context's budget when the rest of the request holds ``rest`` tokens.

    ``context_tokens``, less what the request's budget (``request_budget``) has no room for.
    """
    room = request_budget(settings) - rest
    return max(MIN_CONTEXT_TOKENS, min(settings.generation.context_tokens, room))


def _size(texts: Sequence[str], settings: Settings, count: Count, blocks: int = 0) -> int:
    """Return the tokens of a request's ``texts``, or their bytes when those leave room enough.

    No token is shorter than a byte, so the bytes bound the tokens from above: while
    they leave the context its ``context_tokens`` (and ``blocks`` blocks of lines their
    ``feedback_tokens``), nothing is cut and the tokenizer is not asked.
    """
    bound = sum(len(text.encode()) for text in texts)
    kept = settings.generation.context_tokens
    if blocks:
        kept = MIN_CONTEXT_TOKENS + blocks * settings.generation.feedback_tokens
    return bound if bound <= request_budget(settings) - kept else sum(map(count, texts))


def lines_budget(settings: Settings, fixed: int, blocks: int) -> int:
    """Return each block of lines' budget (feedback, notes, findings) in a request.

    ``feedback_tokens``, less what the request has no room for once its ``fixed``
    tokens and the context's least are counted, shared by its ``blocks``.
    """
    room = (request_budget(settings) - MIN_CONTEXT_TOKENS - fixed) // max(blocks, 1)
    return max(MIN_LINES_TOKENS, min(settings.generation.feedback_tokens, room))


def requirement_view(requirement: str, focus: str, *, budget: int, count: Count) -> str:
    """Return what one call sees of the requirement: all of it, or what it needs.

    A requirement over ``budget`` tokens (a long spec) is cut to its overview
    and the sections that share the most with ``focus``; the rest is named at
    the end. Business Analysis's requirements and the build plan carry the
    whole of it forward, so no file is drafted from a blind spot.
    """
    return excerpt(requirement, focus, budget=budget, count=count).text


def requirement_seen(requirement: str, focus: str, settings: Settings) -> str:
    """Return what one build-loop call sees of the requirement: all of it, or what it needs.

    ``requirement_view`` within ``requirement_budget``, counted by estimate (the
    build loop's prompts are short beside it; a long spec would outgrow the context).
    """
    return requirement_view(
        requirement, focus, budget=requirement_budget(settings), count=approx_tokens
    ).strip()


def stage_context(
    state: Mapping[str, Any],
    objective: str,
    *,
    needs: Sequence[str],
    names: Mapping[str, str],
    limit: int,
    budget: int,
    count: Count,
) -> str:
    """Pack the stage's context: objective, mental model, recall, upstream work, in budget.

    Upstream artifacts and recalled memories were retained at the boundaries of
    the stages that produced them, so what packing shortens stays in memory.
    """
    memories = [
        f"{m['text']} ({m['provenance'].get('team') or m['bank']}, run "
        f"{m['provenance'].get('run', '?')})"
        for m in state.get("memories", [])
    ]
    upstream: list[Upstream] = []
    for team in needs:
        result = state["stages"][team].result
        if result is None:
            continue  # a stage the build plan gave nothing to do
        who = f"{names.get(team, team)} (confidence {result.confidence:.2f})"
        upstream.append(Upstream(f"From {who}: verified facts", _bullets(result.verified_facts)))
        upstream.extend(
            Upstream(
                f"From {who}: {a.path} ({a.kind.value})", f"````\n{_clip(a.content, limit)}\n````"
            )
            for a in result.artifacts
        )
    packed = pack(
        objective,
        budget=budget,
        count=count,
        mental_model=state.get("mental_model", ""),
        memories=memories,
        upstream=upstream,
    )
    return packed.text


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
    settings: Settings,
    feedback: Sequence[str] = (),
    previous: str = "",
    notes: Sequence[str] = (),
    count: Count = approx_tokens,
    brief: str = "",
) -> list[BaseMessage]:
    """Build the request for one deliverable, written as a plain file.

    ``brief`` is what the build plan says about the file (its interface and
    the signatures of the files it depends on), added after the context. The
    settings bound it: ``context_tokens`` the context, ``requirement_tokens``
    the requirement within it, ``upstream_chars`` each file shown.

    The team's standards (acceptance criteria, checks) go in the system message
    and the user turn holds only the task: small models otherwise echo the
    criteria back as the file.
    """
    count = cache(count)  # a text the request's sizing counts again is counted once
    requirement = requirement_view(
        state["requirement"],
        f"{item.path} {item.description} {brief} {spec.description}",
        budget=requirement_budget(settings),
        count=count,
    )
    system = render_prompt(
        "draft_system",
        team_name=spec.name,
        description=spec.description,
        criteria=spec.objective_section("Acceptance criteria", requirement=requirement),
        checks=" ".join(CHECKS.artifact[name].promise for name in spec.checks),
    )
    if state.get("repository"):
        brief = "\n\n".join(
            filter(None, [brief, repository_brief(state["repository"], item, settings, previous)])
        )
    values = {
        "path": item.path,
        "description": item.description.rstrip("."),
        "previous": render_prompt(
            "previous_draft", content=_clip(previous, settings.generation.upstream_chars)
        )
        if previous
        else "",
        "feedback": "",
        "notes": "",
    }
    fixed = render_prompt("draft_artifact", context=brief, **values)
    lines = lines_budget(settings, _size([system, fixed], settings, count, blocks=2), blocks=2)
    values["feedback"] = _listed(
        "The gate rejected your last attempt", fit_lines(feedback, lines, count)
    )
    values["notes"] = _listed(RECEIVED, fit_lines(notes, lines, count))
    rest = _size(
        [system, render_prompt("draft_artifact", context=brief, **values)], settings, count
    )
    context = stage_context(
        state,
        f"Requirement: {requirement}",
        needs=needs,
        names=names,
        limit=settings.generation.upstream_chars,
        budget=context_budget(settings, rest),
        count=count,
    )
    ask = render_prompt(
        "draft_artifact", context=f"{context}\n\n{brief}" if brief else context, **values
    )
    return [SystemMessage(system), HumanMessage(ask)]


def repository_brief(
    repository: Repository, item: Deliverable, settings: Settings, previous: str
) -> str:
    """Say what a draft needs of the repository the run changes.

    The build plan sees the repository's map (its tree, public names and
    tests), so that it plans an existing file as changed, never as new; a file
    that exists is shown to its team as it stands on the base branch (unless
    the team already has a version of its own to start from), so the team
    changes it rather than writing it anew.
    """
    if item.format == "build-plan":
        return repository.map
    if previous or item.path not in set(repository.paths):
        return ""
    content = base_text(
        Path(repository.folder),
        repository.base_commit,
        item.path,
        limit=settings.repos.repo_file_chars,
        timeout=settings.repos.repo_git_timeout_s,
    )
    if content is None:
        return ""
    return render_prompt("existing_file", path=item.path, base=repository.base, content=content)


def report_messages(
    spec: TeamSpec,
    state: Mapping[str, Any],
    artifacts: Sequence[Artifact],
    *,
    needs: Sequence[str],
    names: Mapping[str, str],
    settings: Settings,
    feedback: Sequence[str] = (),
    attempt: int = 1,
    max_attempts: int = 1,
    notes: Sequence[str] = (),
    count: Count = approx_tokens,
    checks: Sequence[str] = (),
) -> list[BaseMessage]:
    """Build the request for the team's report on the files it drafted.

    The settings bound it as they bound a draft (``draft_messages``).
    """
    count = cache(count)  # a text the request's sizing counts again is counted once
    requirement = requirement_view(
        state["requirement"],
        " ".join([spec.description, *(f"{a.path} {a.content}" for a in artifacts)]),
        budget=requirement_budget(settings),
        count=count,
    )
    objective = spec.render_objective(requirement=requirement).strip()
    scope = spec.objective_section("Out of scope", requirement=requirement)
    if scope:  # a drafting concern; small models report its lines as their blockers
        objective = objective.replace(scope, "").strip()
    system = system_prompt(spec)
    files = render_artifacts(artifacts, settings.generation.upstream_chars)

    def ask(context: str, gate: str = "", said: str = "") -> str:
        task = render_prompt("stage_task", context=context, feedback=gate, notes=said)
        return render_prompt("report", task=task, artifacts=files)

    fixed = _size([str(system.content), ask("")], settings, count, blocks=3)
    lines = lines_budget(settings, fixed, blocks=3)
    gate = ""
    if problems := fit_lines(feedback, lines, count):
        gate = render_prompt(
            "gate_feedback",
            attempt=attempt - 1,
            max_attempts=max_attempts,
            team_name=spec.name,
            problems=_bullets(problems),
        )
    said = _listed(RECEIVED, fit_lines(notes, lines, count))
    said += _listed(
        "What the checks found when they ran your files", fit_lines(checks, lines, count)
    )
    rest = _size([str(system.content), ask("", gate, said)], settings, count)
    context = stage_context(
        state,
        objective,
        needs=needs,
        names=names,
        limit=settings.generation.upstream_chars,
        budget=context_budget(settings, rest),
        count=count,
    )
    return [system, HumanMessage(ask(context, gate, said))]
