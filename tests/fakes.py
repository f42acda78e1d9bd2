"""A scripted chat model for graph-logic tests (never used by the product)."""

from __future__ import annotations

import json
import os
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.messages.ai import UsageMetadata
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import ConfigDict, Field, PrivateAttr

from devfactory.contracts import ArtifactKind
from devfactory.events import Event
from devfactory.models.router import ResolvedModel
from devfactory.repos.repomap import is_test_file
from devfactory.software.plan import PLAN_PATH, kind_of
from devfactory.teams import load_teams
from devfactory.teams.spec import TeamSpec

SAMPLE_CONTENT = {
    ArtifactKind.MARKDOWN: (
        "# {name} deliverable\n\nThis document records the decisions of the {name} team for "
        "the requirement, with scope, rationale and the acceptance criteria it meets.\n\n"
        "```mermaid\nflowchart LR\n  client --> api --> db\n```\n"
    ),
    ArtifactKind.PYTHON: 'def handler(event: dict) -> dict:\n    return {{"team": "{name}"}}\n',
    ArtifactKind.YAML: (
        "openapi: 3.1.0\ninfo:\n  title: {name}\n  version: 1.0.0\n"
        "paths:\n  /items:\n    get:\n      responses:\n        '200':\n"
        "          description: ok\n"
    ),
    ArtifactKind.SQL: "CREATE TABLE items (id bigint PRIMARY KEY, name text NOT NULL);\n",
    ArtifactKind.JSON: '{{"team": "{name}"}}',
    ArtifactKind.TYPESCRIPT: "export const team: string = '{name}';\n",
    ArtifactKind.DOCKERFILE: 'FROM python:3.11-slim\nCMD ["python", "-V"]\n',
    ArtifactKind.SHELL: "#!/bin/sh\necho {name}\n",
    ArtifactKind.TEXT: "{name} notes\n",
}


def good_report(spec: TeamSpec, *, confidence: float = 0.95, **changes: Any) -> dict[str, Any]:
    """Return a report payload that passes ``spec``'s gate (artifacts are drafted apart)."""
    payload: dict[str, Any] = {
        "reasoning": f"{spec.name} produced its deliverables.",
        "verified_facts": [f"{spec.name} checked the requirement"],
        "assumptions_made": [f"{spec.name} assumed a single region deployment"],
        "status": "COMPLETE",
        "confidence": confidence,
        "blockers": [],
        "clarification_needed": None,
    }
    payload.update(changes)
    return payload


LICENCE_TEXT = (
    "MIT License\n\nCopyright (c) 2026 The Authors\n\nPermission is hereby granted, free of "
    "charge, to any person obtaining a copy of this software, to deal in the Software without "
    "restriction.\n"
)


def sample_content(spec: TeamSpec, path: str) -> str:
    """Return file content that passes ``spec``'s checks for the file ``path``."""
    if path == "LICENSE":
        return LICENCE_TEXT  # a licence the licence_file build check can tell
    kind = next((d.kind for d in spec.deliverables if d.path == path), kind_of(path))
    content = SAMPLE_CONTENT[kind].format(name=spec.name)
    if kind is ArtifactKind.PYTHON and is_test_file(path):  # a test file holds a test
        check = f'assert handler({{}}) == {{"team": "{spec.name}"}}'
        content += f"\n\ndef test_handler() -> None:\n    {check}\n"
    return content


# the files a scripted plan gives each kind of owner (the paths teams wrote before plans)
PLANNED = {
    "code": ("src/backend/app.py", "src/backend/models.py"),
    "tests": ("tests/test_app.py",),
    "docs": ("docs/readme.md",),
    "api": ("api/openapi.yaml",),
    "schema": ("db/schema.sql",),
    "frontend": ("frontend/src/app.tsx", "frontend/package.json"),
    "design": ("design/ux-spec.md",),
    "data": ("data/data-contract.yaml", "data/pipeline.py"),
    "ml": ("ml/model-card.md", "ml/train.py"),
    "integration": ("integration/feature-plan.md",),
    "infra": ("infra/app.dockerfile", "infra/ci.yml"),
    "ops": ("ops/runbook.md", "ops/slos.yaml"),
}
_PLAN_TEAM = re.compile(r"^- ([a-z0-9-]+) \([^)]*\): ([a-z, ]+)$", re.M)
_PLAN_NAMED = re.compile(r"^- (function|endpoint|option|file|module) (.+)$", re.M)


def planned_files(spec: TeamSpec) -> list[str]:
    """Return the files ``spec``'s team writes in a run planned by ``scripted_plan``."""
    return [*spec.deliverable_paths, *(p for role in spec.owns for p in PLANNED[role.value])]


def plan_prompt(slugs: list[str]) -> str:
    """Return the part of a plan request ``scripted_plan`` reads: the pipeline's teams."""
    teams = load_teams()
    rows = [
        f"- {s} ({teams[s].name}): {', '.join(r.value for r in teams[s].owns)}"
        for s in slugs
        if teams[s].owns
    ]
    return "## Teams of this pipeline and the kinds of files each writes\n" + "\n".join(rows)


def scripted_plan(call: Call) -> dict[str, Any]:
    """Plan the files teams wrote before plans, for the teams the request lists.

    The names the request says the requirement gives are kept, as a model
    following the instructions would.
    """
    teams_part = call.prompt.split("## Teams of this pipeline", 1)[-1]
    files = []
    for slug, roles in _PLAN_TEAM.findall(teams_part.split("## Names", 1)[0]):
        for role in roles.split(", "):
            for path in PLANNED.get(role.strip(), ()):
                files.append(
                    {"path": path, "role": role.strip(), "owner": slug, "purpose": f"{role} file"}
                )
    symbols, endpoints, options, modules = [], [], [], []
    for what, text in _PLAN_NAMED.findall(call.prompt.split("## Names", 1)[-1]):
        name = text.strip("`").split("`")[0] if what == "function" else text.split()[0]
        if what == "function":
            symbols.append({"name": name, "signature": f"def {name}(*args)", "summary": ""})
        elif what == "endpoint":
            method, path = text.split()[:2]
            endpoints.append({"method": method, "path": path, "summary": ""})
        elif what == "option":
            options.append(name)
        elif what == "file" and not any(f["path"].endswith(name) for f in files):
            files.append(
                {
                    "path": name,
                    "role": "code",
                    "owner": files[0]["owner"] if files else "backend-engineering",
                    "purpose": "named",
                }
            )
        elif what == "module":
            modules.append(name)
    code = next((f["path"] for f in files if f["role"] == "code"), "src/backend/app.py")
    if not files:
        files.append(
            {"path": code, "role": "code", "owner": "backend-engineering", "purpose": "code"}
        )
    return {
        "kind": "web-service",
        "language": "python",
        "summary": "The service the requirement asks for.",
        "modules": [{"path": code, "symbols": symbols}],
        "commands": [{"usage": "app " + " ".join(options), "summary": ""}] if options else [],
        "endpoints": endpoints,
        "files": files,
        "dependencies": [],
        "test_command": "pytest -q",
        "entry_point": "backend.app:app",
    }


_WRITE = re.compile(r"Write the file `([^`]+)`")
NO_FACTS: dict[str, Any] = {
    "module": None, "functions": [], "command": None, "routes": [], "exit_codes": [],
    "examples": [],
}  # fmt: skip


def low_risk(call: Call) -> str:
    """Rate a requirement LOW, as a model that sees nothing risky would."""
    return json.dumps(
        {
            "reasons": ["an ordinary application"],
            "risk_factors": [],
            "risk": "LOW",
            "confidence": 0.9,
        }
    )


@dataclass(frozen=True)
class Call:
    """One model call as the script sees it.

    ``kind`` is "draft", "report", "unit" (the build loop asks for one unit of a
    module; ``path`` is the unit's name), "tests" (the model's tests of one unit's
    behaviour; ``path`` is the unit's name), "answer" (a clarification responder),
    "facts" (mem0's fact extraction after a stage), "governance" (the risk
    assessment; ``spec`` is None then), "kind" (the kind of software a requirement
    asks for, asked before its open facts), "parser" (a command line's parser, its
    positional arguments read from it, where the rules made its line from words naming
    none; "arguments" when they are asked as JSON), "interface"
    (the facts the parser left open, read once a run; ``spec`` is None), or one of
    the chat's: "chat" (a team talking to a person), "select" and "summary" (a group
    chat's moderator) and "qa" (project questions); ``spec`` is None for the last three, and for
    "whole" (the build loop asks for the module written whole in one reply).
    """

    spec: Any
    kind: str
    path: str  # the file being drafted ("" for a report)
    n: int  # how many calls of this kind this team made before
    messages: list[BaseMessage]

    @property
    def team(self) -> str:
        """The calling team's slug (the kind, such as "governance", for calls of no team)."""
        return self.spec.slug if self.spec is not None else self.kind

    @property
    def prompt(self) -> str:
        """The last (task) message's text."""
        return str(self.messages[-1].content)


Script = Callable[[Call], str]


_VERIFIED = re.compile(r"Facts the team verified:\n((?:- .*\n?)*)")


def extract_verified(call: Call) -> str:
    """Extract every verified fact of the report as new (mem0 drops exact repeats)."""
    found = _VERIFIED.search(call.prompt)
    lines = found.group(1).splitlines() if found else []
    return json.dumps({"memory": [{"text": ln[2:]} for ln in lines if ln.startswith("- ")]})


_TEAM_LINE = re.compile(r"^([a-z0-9-]+): ", re.M)


def chat_reply(call: Call) -> str:
    """Answer the chat's calls: a team speaks from its SOUL, moderators pick and sum up."""
    system = str(call.messages[0].content)
    if call.kind == "chat":
        soul = system.split("## Who you are\n", 1)[1]
        why = soul.split("## Why we exist\n", 1)[-1].strip().split(". ")[0]
        return f"{call.spec.name} here. {why}."
    if call.kind == "select":
        teams = call.prompt.split("## Teams", 1)[1]
        first = _TEAM_LINE.search(teams)
        speaker = first.group(1) if first else ""
        return json.dumps({"speaker": speaker, "reason": "scripted: first listed"})
    if call.kind == "summary":
        return f"Summary of {call.prompt.count(' here. ')} contributions."
    return "From the sources: the project stores todos [1]."


def always_good(call: Call) -> str:
    """Rate LOW, draft passing files, report COMPLETE, answer every question."""
    if call.kind in ("chat", "select", "summary", "qa"):
        return chat_reply(call)
    if call.kind == "whole":
        return "No module this time."  # no code: the unit-by-unit build stands alone
    if call.kind == "governance":
        return low_risk(call)
    if call.kind == "arguments":
        return json.dumps({"arguments": []})  # the line the rules made stands as it is
    if call.kind == "parser":  # no positional argument: the line the rules made stands
        return "```python\ndef build_parser():\n    return argparse.ArgumentParser()\n```"
    if call.kind == "kind":
        return json.dumps(
            {"kind": "unsure", "name": ""}
        )  # every fact asked, as before the question
    if call.kind == "interface":
        return json.dumps(NO_FACTS)  # the parser's facts stand as they are
    if call.kind == "facts":
        return extract_verified(call)
    if call.kind == "draft":
        if call.path == PLAN_PATH:
            return json.dumps(scripted_plan(call))
        return sample_content(call.spec, call.path)
    if call.kind == "tests":
        return json.dumps({"tests": []})  # no behaviour tests: the examples alone judge
    if call.kind == "answer":
        return json.dumps(
            {
                "answer": f"{call.spec.name} says: use UTC timestamps",
                "status": "ANSWERED",
                "confidence": 0.9,
                "target_team": None,
                "question": None,
            }
        )
    return json.dumps(good_report(call.spec))


def report_with(make: Callable[[Call], str]) -> Script:
    """Behave as ``always_good`` but answer reports with ``make(call)``."""

    def script(call: Call) -> str:
        return make(call) if call.kind == "report" else always_good(call)

    return script


_UNIT = re.compile(r"Reply with the complete `([^`]+)` in one ```python block")
_TESTS = re.compile(r"^## Your task: tests of `([^`]+)`$", re.M)

_SPECIAL = {
    "You moderate a group discussion": "select",
    "You sum up a group discussion": "summary",
    "You answer questions about the devfactory project": "qa",
    "You read what a requirement states about the interface": "interface",
    "You say what kind of software a requirement asks for": "kind",
    "You read which positional arguments a command line takes": "arguments",
    "You write the argparse parser of a Python command line": "parser",
    "You are an expert Python programmer": "whole",  # the module written whole in one reply
}


class ScriptedChatModel(BaseChatModel):
    """Answers each call with ``script(call)``; see ``Call``.

    Every call is recorded in ``calls`` and, when ``log_path`` is set, appended
    to that file so that a test can count calls across processes.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    script: Any
    log_path: Path | None = None
    calls: list[Call] = Field(default_factory=list)
    model_name: str = "scripted:fake"  # what LangChain's callbacks (Langfuse) report
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    @property
    def _llm_type(self) -> str:
        return "scripted"

    def _team(self, messages: list[BaseMessage]) -> TeamSpec | None:
        system = str(messages[0].content)
        if system.startswith("You are the governance board"):
            return None
        for spec in load_teams().values():
            if system.startswith(
                (
                    f"You are the {spec.name} team",
                    f"You keep the fact memory of the {spec.name} team",
                )
            ):
                return spec
        raise AssertionError(f"no team recognised in system prompt: {system[:80]!r}")

    def _generate(
        self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kwargs: Any
    ) -> ChatResult:
        system = str(messages[0].content)
        task = str(messages[-1].content)
        match = _WRITE.search(task)
        special = next((k for p, k in _SPECIAL.items() if system.startswith(p)), None)
        spec = None if special else self._team(messages)
        if special:
            kind, path = special, ""
        elif spec is None:
            kind, path = "governance", ""
        elif "talking with a person in the chat" in system:
            kind, path = "chat", ""
        elif str(messages[0].content).startswith("You keep the fact memory"):
            kind, path = "facts", ""
        elif task.startswith("## Question from the"):
            kind, path = "answer", ""
        elif tests := _TESTS.search(task):  # the build loop asks for tests of one unit
            kind, path = "tests", tests.group(1)
        elif unit := _UNIT.search(task):  # the build loop asks for one unit of a module
            kind, path = "unit", unit.group(1)
        else:
            kind, path = ("draft", match.group(1)) if match else ("report", "")
        slug = spec.slug if spec is not None else (special or "governance")
        with self._lock:
            n = sum(1 for c in self.calls if c.team == slug and c.kind == kind)
            call = Call(spec, kind, path, n, list(messages))
            self.calls.append(call)
            if self.log_path is not None:
                with self.log_path.open("a") as fh:
                    fh.write(f"{os.getpid()} {slug} {kind} {path}\n")
        text = self.script(call)
        usage = UsageMetadata(
            input_tokens=100, output_tokens=len(text) // 4, total_tokens=100 + len(text) // 4
        )
        message = AIMessage(
            text, usage_metadata=usage, response_metadata={"model_name": "scripted:fake"}
        )
        return ChatResult(generations=[ChatGeneration(message=message)])

    def count(self, team: str, kind: str | None = None) -> int:
        """Return how many calls ``team`` made (of ``kind``, when given)."""
        return sum(1 for c in self.calls if c.team == team and kind in (None, c.kind))


class ScriptedModels:
    """A model source that serves every alias with one scripted model."""

    def __init__(self, script: Script = always_good, log_path: Path | None = None) -> None:
        self.chat = ScriptedChatModel(script=script, log_path=log_path)

    def resolve(self, alias: str) -> ResolvedModel:
        """Return the scripted model for any alias."""
        return ResolvedModel(alias, "scripted:fake", self.chat, lambda chat, schema: chat)


def collect(events: list[dict[str, Any]]) -> Callable[[Event], None]:
    """Return an ``on_event`` sink that keeps each run event in its wire form (a dict)."""
    return lambda event: events.append(event.model_dump(mode="json"))


def run_graph(pipeline: str, models: ScriptedModels, settings: Any, requirement: str) -> dict:
    """Run ``pipeline`` in memory (no database) on ``requirement``; return the final state."""
    from langgraph.checkpoint.memory import InMemorySaver

    from devfactory.graph import build_graph
    from devfactory.graph.checkpoints import dumped
    from devfactory.graph.context import Context

    graph = build_graph(pipeline).compile(checkpointer=InMemorySaver())
    cfg: Any = {"configurable": {"thread_id": "t"}}
    graph.invoke(
        {"run_id": "t", "requirement": requirement, "pipeline": pipeline},
        cfg,
        context=Context(settings=settings, models=models),
        durability="sync",
    )
    return dumped(graph.get_state(cfg).values)  # as the run's readers read it


def answer_pending(factory: Any, run_id: str, decision: Any, *, kind: str | None = None, **kw: Any):
    """Answer the one question ``run_id`` waits on (of ``kind``), naming it by its id.

    Answers always name their question; tests about something else look it up here.
    """
    waiting = [p for p in factory.pending(run_id) if kind is None or p.pause.kind == kind]
    ident = waiting[0].interrupt_id if waiting else "no-question-waits"
    return factory.answer(run_id, decision, interrupt_id=ident, kind=kind, **kw)
