"""The module written whole in one reply, as a fair single call writes it.

The factory must never deliver less than the same model asked once. So each
module's build loop also asks for the whole module in one reply
(``whole_module_candidates`` calls per attempt, 0: none), with the prompt a
competent user would write: a one-line system prompt, the requirement, what
the module is and how it is run (``python -m`` with its ``__main__`` guard for
a command line, the import for a library, the app object for a web service),
one code block; the largest Python block of the reply is kept, and the reply
has its own token cap (``whole_module_max_tokens``), not ``stage_max_tokens``.

``build.py`` lets the answer compete with the unit-by-unit build on the same
tests; when the plan itself blocks, ``blocked_plan_answer`` makes it the one
version of the module the run delivers, marked as not accepted. Where the
plan blocked, the module's name comes from the run's facts
(``requirement_facts_of``): with no name there, no module is asked for.
"""

from __future__ import annotations

import ast
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage
from langgraph.runtime import Runtime

from devfactory.contracts import MAX_ARTIFACTS, Artifact, ArtifactKind, TaskResult, Usage
from devfactory.graph.context import Context
from devfactory.graph.model_io.briefs import requirement_seen
from devfactory.graph.model_io.prompt_files import render_prompt
from devfactory.graph.oversight import metering
from devfactory.graph.stage.build_loop.splice import SpliceError, code_of, routes_of
from devfactory.graph.state import StageUpdate, build_plan_of, requirement_facts_of
from devfactory.models.fanout import at_once, in_order
from devfactory.models.io import invoked, served_by, text_of, usage_of
from devfactory.models.router import ModelUnavailableError, ResolvedModel
from devfactory.repairs.repair import RepairKind, repair
from devfactory.settings import Settings
from devfactory.software.kinds import FALLBACK, shape_of
from devfactory.software.requirement import RequirementFacts
from devfactory.software.source import unwritten
from devfactory.teams.spec import TeamSpec

NOT_ACCEPTED = "whole module in one reply, NOT accepted: the plan blocked before any build"


@dataclass
class Whole:
    """The whole-module answers asked for one module: the usable ones, and what they cost."""

    sources: list[str] = field(default_factory=list)  # each a module that parses, no stub
    usage: Usage = field(default_factory=Usage)
    model: str = ""
    refused: list[str] = field(default_factory=list)  # why each other reply was not usable


def how_run(facts: RequirementFacts, path: str, needs: Sequence[str] = ()) -> str:
    """Say what the module is and how it is run, from the requirement's facts (for the prompt)."""
    public = [n for n in needs if n != "main"]
    return render_prompt(
        (shape_of(facts) or FALLBACK).whole,  # the kind says how it is run
        module=path.removesuffix(".py").replace("/", "."),
        path=path,
        framework={"flask": "Flask"}.get(facts.framework, "FastAPI"),
        app=facts.app or "app",
        names=f" It defines {', '.join(f'`{n}`' for n in public)}." if public else "",
    ).strip()


def whole_messages(requirement: str, how: str, path: str, settings: Settings) -> list[BaseMessage]:
    """Build the one request: a short system line, the requirement, the module and how it runs.

    A long requirement is seen as far as ``requirement_tokens`` (``requirement_seen``).
    """
    seen = requirement_seen(requirement, f"{path} {how}", settings)
    return [
        SystemMessage(render_prompt("whole_system").strip()),
        HumanMessage(render_prompt("whole_task", requirement=seen, path=path, how=how)),
    ]


def module_of(reply: str, *, needs: Sequence[str] = (), skeleton: str = "") -> str:
    """Return the module a reply holds, its largest Python block, when it keeps its interface.

    It must parse, define every name of ``needs`` at its top level and keep every
    route ``skeleton`` declares.

    Raises:
        SpliceError: why the reply holds no such module.

    """
    code = code_of(reply)
    try:
        tree = ast.parse(code)
    except SyntaxError as exc:
        raise SpliceError(f"the reply does not parse: {exc.msg}") from None
    defined = {
        n.name
        for n in tree.body
        if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
    }
    missing = [n for n in needs if n not in defined]
    if missing:
        raise SpliceError(f"the reply does not define {', '.join(missing)}")
    dropped = sorted(routes_of(skeleton) - routes_of(code))
    if dropped:
        method, route = dropped[0]
        raise SpliceError(f"the reply drops the route {method} {route}")
    return code if code.endswith("\n") else code + "\n"


def usable(
    reply: str, *, needs: Sequence[str] = (), skeleton: str = "", off: Collection[str] = ()
) -> str:
    """Return the module a reply holds (``module_of``), none of ``needs`` left a stub.

    The ``python`` repairs are made, but those named in ``off``.

    Raises:
        SpliceError: why the reply holds no usable module.

    """
    code = module_of(reply, needs=needs, skeleton=skeleton)
    stubs = unwritten(code, needs, skeleton=skeleton)
    if stubs:
        raise SpliceError(f"the reply leaves a stub: {', '.join(stubs)}")
    code = repair(RepairKind.PYTHON, code, off=off).content
    return code if code.endswith("\n") else code + "\n"


def ask_whole(
    resolved: ResolvedModel,
    settings: Settings,
    messages: list[BaseMessage],
    seed: int,
    *,
    needs: Sequence[str] = (),
    skeleton: str = "",
) -> Whole:
    """Ask ``whole_module_candidates`` times for the whole module; return the usable answers.

    The calls are in flight together as far as ``fanout.at_once`` allows; the
    answers are kept in the order asked.
    """
    found = Whole()
    cap, off = settings.generation.whole_module_max_tokens, settings.generation.repairs_off
    asks = [
        partial(
            invoked,
            resolved.sampled(settings.generation.temperature, seed + n, cap),
            messages,
            settings.generation.max_model_errors,
        )
        for n in range(settings.generation.whole_module_candidates)
    ]
    for message in in_order(asks, at_once(settings, resolved), lambda: True):
        if isinstance(message, Exception):  # a failed call is a missing answer
            found.refused.append(f"the call failed: {type(message).__name__}: {message}"[:300])
            continue
        found.usage = found.usage.add(usage_of(message))
        found.model = served_by(message) or found.model
        try:
            found.sources.append(usable(text_of(message), needs=needs, skeleton=skeleton, off=off))
        except SpliceError as exc:
            found.refused.append(f"{exc} (cut off at {cap} tokens)" if _cut(message) else str(exc))
    return found


def _cut(message: Any) -> bool:
    """Say whether a reply stopped at its token cap (OpenAI-like and Ollama metadata)."""
    meta = getattr(message, "response_metadata", None) or {}
    return "length" in (meta.get("finish_reason"), meta.get("done_reason"))


def blocked_plan_answer(
    spec: TeamSpec,
    state: Mapping[str, Any],
    runtime: Runtime[Context],
    result: TaskResult | None,
    resolve: Callable[[], ResolvedModel],
    *,
    stopped_by: str = "",
) -> tuple[TaskResult | None, str, StageUpdate]:
    """Ask for the whole module when the plan's stage ends BLOCKED; add it, not accepted.

    Returns the result with ``<module>.py`` among its files (the best so far is
    always delivered, and a BLOCKED stage's files are written and listed as
    not accepted), a note saying what happened, and the state update that
    meters the call. Nothing is asked when the stage does not write the plan,
    a plan was already kept, the setting is 0, or the requirement names no
    module, nor when the budget stopped the stage (``stopped_by``) or the run's
    time cap is reached (the note says so). ``resolve`` returns the team's model.
    """
    settings = runtime.context.settings
    writes_plan = any(d.format == "build-plan" for d in spec.deliverables)
    if not writes_plan or build_plan_of(state) is not None:
        return result, "", {}
    if not settings.generation.whole_module_candidates:
        return result, "whole module: not asked (whole_module_candidates is 0)", {}
    if stopped_by == "budget":
        return result, "whole module: not asked: the budget stopped the stage", {}
    if runtime.context.out_of_time():
        return result, "whole module: not asked: the run's time cap was reached", {}
    requirement = state["requirement"]
    facts = requirement_facts_of(state)
    if not facts.module:
        return result, "whole module: not asked: the requirement names no module", {}
    path = f"{facts.module.replace('.', '/')}.py"
    try:
        resolved = resolve()
    except ModelUnavailableError as exc:
        return result, f"whole module: not asked: {exc}"[:300], {}
    started = time.perf_counter()
    needs = tuple(f.name for f in facts.functions)
    messages = whole_messages(requirement, how_run(facts, path, needs), path, settings)
    found = ask_whole(resolved, settings, messages, 100 * state.get("attempt", 0) + 90, needs=needs)
    spent = metering.stage_spent(
        state, spec.slug, found.usage, found.model, started, runtime.context
    )
    if not found.sources:
        why = "; ".join(found.refused) or "no answer"
        return result, f"whole module `{path}`: no usable answer ({why})"[:500], spent
    module = Artifact(path=path, kind=ArtifactKind.PYTHON, content=found.sources[0])
    base = result or TaskResult.blocked("the plan was not accepted")
    kept = [a for a in base.artifacts if a.path != path][: MAX_ARTIFACTS - 1]
    changed = TaskResult.model_validate(
        {**base.model_dump(), "artifacts": [*kept, module], "assumptions_made": [
            *base.assumptions_made[:7], f"{path}: {NOT_ACCEPTED}"
        ]}
    )  # fmt: skip
    return changed, f"whole module `{path}`: delivered, NOT accepted (the plan blocked)", spent
