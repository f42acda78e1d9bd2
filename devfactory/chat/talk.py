"""What the chat says, apart from runs: a team in person, a group discussion, project Q&A.

Framework-free: the Chainlit app (``chainlit_app.py``) streams what these build. A team
answers from its identity documents (SOUL.md, AGENTS.md) and what its memory
recalls. A group discussion is selector-style: each round a moderator model picks
the next speaker (never the one who just spoke; when its answer is unusable, the
team that spoke least), for a bounded number of rounds, then sums up. Project
Q&A answers from the project's memories and artifacts and cites each source by
run and stage.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from pydantic import BaseModel, Field

from devfactory.memory.live import Owners, RecalledMemory, project_bank, team_bank
from devfactory.memory.service import MemoryService
from devfactory.models.io import ask_structured, grammar_schema, with_choices
from devfactory.prompts import render
from devfactory.runfiles import RefusedFileError, read_head
from devfactory.settings import Settings
from devfactory.teams.spec import TeamSpec

MEMORY_CHARS = 2500
SOURCE_CHARS = 600


@dataclass(frozen=True)
class Turn:
    """One contribution to a group discussion."""

    speaker: str  # a team slug, or "moderator"
    text: str
    reason: str = ""  # why the moderator picked this speaker


@dataclass(frozen=True)
class Source:
    """A numbered source of a project answer."""

    n: int
    run: str
    stage: str
    text: str


def _prompt(name: str, **values: object) -> str:
    return render("devfactory.chat", name, **values)


def remembered(
    memory: MemoryService | None,
    spec: TeamSpec,
    project: str,
    query: str,
    *,
    owners: Owners,
) -> str:
    """Render what ``spec``'s team remembers about ``query`` from ``owners``' runs.

    ``owners`` None (a ``see_all_runs`` role) hears every run's memories and no
    mental model (each owner's runs have their own); one owner hears theirs.
    """
    if memory is None:
        return "(memory is off)"
    lines = []
    mental = "\n".join(memory.mental_model(spec.slug, o) for o in owners or ())
    if mental.strip():
        lines.append(mental.strip())
    for m in memory.recall(team=spec.slug, project=project, query=query, owners=owners):
        run = m.provenance.get("run")
        lines.append(f"- {m.text}" + (f" (run {run})" if run else ""))
    return "\n".join(lines)[:MEMORY_CHARS] or "(nothing yet)"


def team_messages(
    spec: TeamSpec,
    *,
    memory_text: str,
    history: list[tuple[str, str]],
    question: str,
) -> list[BaseMessage]:
    """Build a direct conversation with ``spec``'s team: identity, memory, earlier turns."""
    messages: list[BaseMessage] = [
        SystemMessage(
            _prompt(
                "team_system",
                team_name=spec.name,
                soul=spec.soul.strip(),
                agents=spec.agents.strip(),
                memory=memory_text,
            )
        )
    ]
    for role, text in history:
        messages.append(HumanMessage(text) if role == "user" else AIMessage(text))
    messages.append(HumanMessage(question))
    return messages


def transcript(turns: list[Turn], names: dict[str, str]) -> str:
    """Render a discussion so far."""
    lines = [f"{names.get(t.speaker, t.speaker)}: {t.text}" for t in turns]
    return "\n\n".join(lines) if lines else "(nobody has spoken yet)"


def group_turn_messages(
    spec: TeamSpec,
    *,
    memory_text: str,
    question: str,
    asker: str,
    turns: list[Turn],
    names: dict[str, str],
) -> list[BaseMessage]:
    """Build ``spec``'s turn in a group discussion."""
    task = _prompt(
        "group_turn",
        asker=asker,
        question=question,
        transcript=transcript(turns, names),
        team_name=spec.name,
    )
    return team_messages(spec, memory_text=memory_text, history=[], question=task)


class SpeakerChoice(BaseModel):
    """The moderator's pick."""

    speaker: str = Field(min_length=1, max_length=60)
    reason: str = Field(default="", max_length=300)


def speaker_schema(slugs: list[str]) -> dict[str, Any]:
    """JSON schema of ``SpeakerChoice`` with the speaker limited to ``slugs``."""
    return with_choices(grammar_schema(SpeakerChoice), "speaker", slugs)


def choose_speaker(
    model_source: Any,
    settings: Settings,
    *,
    question: str,
    teams: list[TeamSpec],
    turns: list[Turn],
) -> Turn:
    """Ask the moderator (``factory/fast``) who speaks next; return an empty turn for them.

    The moderator may not pick the team that just spoke. When its answer is
    unusable, the team that has spoken least (first in the list on a tie) speaks.
    """
    names = {t.slug: t.name for t in teams}
    last = turns[-1].speaker if turns else None
    allowed = [t.slug for t in teams if t.slug != last] or [t.slug for t in teams]
    messages = [
        SystemMessage(_prompt("select_system")),
        HumanMessage(
            _prompt(
                "select_task",
                question=question,
                teams="\n".join(f"{t.slug}: {t.description}" for t in teams if t.slug in allowed),
                transcript=transcript(turns, names),
            )
        ),
    ]
    resolved = model_source.resolve("factory/fast")
    answer = ask_structured(
        resolved.structured(speaker_schema(allowed)),
        messages,
        SpeakerChoice,
        max_parse_retries=settings.generation.max_parse_retries,
        max_model_errors=settings.generation.max_model_errors,
    )
    if answer.value is not None and answer.value.speaker in allowed:
        return Turn(answer.value.speaker, "", answer.value.reason)
    spoken = {slug: sum(1 for t in turns if t.speaker == slug) for slug in allowed}
    pick = min(allowed, key=lambda slug: spoken[slug])
    why = answer.problem or f"{answer.value.speaker if answer.value else '?'} may not speak now"
    return Turn(pick, "", f"the team that spoke least (the moderator's pick was unusable: {why})")


def summary_messages(question: str, turns: list[Turn], names: dict[str, str]) -> list[BaseMessage]:
    """Build the moderator's closing summary."""
    return [
        SystemMessage(_prompt("summary_system")),
        HumanMessage(
            _prompt("summary_task", question=question, transcript=transcript(turns, names))
        ),
    ]


def project_sources(
    memory: MemoryService,
    *,
    project: str,
    run_ids: set[str],
    out_dirs: dict[str, str],
    teams: list[str],
    owners: Owners,
    question: str,
    k: int,
    threshold: float,
) -> list[Source]:
    """Collect numbered sources for a project question: its memories and artifacts.

    Only ``owners``' memories are searched, and team memories count only when
    they came from one of ``run_ids`` (the project's runs the asker may see); an
    artifact memory brings the head of the file it names when that is a regular
    file of the run's folder, reached without a link.
    """
    banks = [project_bank(project), *(team_bank(t) for t in teams)]
    found: list[RecalledMemory] = memory.search_banks(
        banks, question, k=k * 3, threshold=threshold, owners=owners
    )
    sources: list[Source] = []
    for m in found:
        run = str(m.provenance.get("run", ""))
        if run not in run_ids:
            continue
        text = m.text
        path = m.provenance.get("path")
        if m.kind == "artifact" and path and run in out_dirs:
            head = _file_head(out_dirs[run], str(path))
            if head is not None:
                text = f"{path}:\n{head}"
        stage = str(m.provenance.get("stage") or m.provenance.get("team") or m.bank)
        sources.append(Source(len(sources) + 1, run, stage, text))
        if len(sources) == k:
            break
    return sources


def _file_head(out_dir: str, path: str) -> str | None:
    """Return the first ``SOURCE_CHARS`` of a run's file, or None when it is not one to read.

    Through ``runfiles``: a name the folder turned into a link (to a secret of
    the data directory, say) or a FIFO gives nothing, and only the head is read.
    """
    try:
        data = read_head(out_dir, path, SOURCE_CHARS * 4)  # UTF-8: at most 4 bytes a character
    except (ValueError, RefusedFileError):
        return None
    return data.decode("utf-8", errors="replace")[:SOURCE_CHARS]


def qa_messages(project: str, question: str, sources: list[Source]) -> list[BaseMessage]:
    """Build a project question with its numbered sources."""
    listed = "\n\n".join(f"[{s.n}] (run {s.run}, stage {s.stage}) {s.text}" for s in sources)
    return [
        SystemMessage(_prompt("qa_system", project=project)),
        HumanMessage(_prompt("qa_task", sources=listed, question=question)),
    ]


def cited(text: str, sources: list[Source]) -> list[Source]:
    """Return the sources ``text`` cites as ``[n]`` (all of them when it cites none)."""
    used = [s for s in sources if f"[{s.n}]" in text]
    return used or sources
