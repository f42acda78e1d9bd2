"""A run's build plan inside the graph: ask for it, check it, and give each team its files.

Solution Architecture's ``build-plan`` deliverable is asked for as a
``BuildPlan`` (``models/io.ask_structured``: repaired, retried), then checked
against the pipeline (each owner writes files of that role) and the
requirement (every interface it names is kept). A plan that still fails after
``max_parse_retries`` further tries comes back with the problems, and the gate
sends the stage round again like any other shortfall.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from langchain_core.messages import BaseMessage, HumanMessage
from langchain_core.runnables import Runnable

from devfactory.contracts import Artifact, ArtifactKind, Usage
from devfactory.graph.model_io.prompt_files import render_prompt
from devfactory.graph.model_io.structured import Draft
from devfactory.graph.planning.plan_start import named_in, start_block, starting_plan
from devfactory.graph.state import stage_plan_of
from devfactory.models.io import JsonSchema, ask_structured, grammar_schema
from devfactory.repairs.repair import plan_normaliser
from devfactory.software.plan import (
    BuildPlan,
    FileRole,
    check_plan,
    kind_of,
    module_name,
)
from devfactory.software.requirement import RequirementFacts
from devfactory.software.source import public_names, signatures
from devfactory.teams.registry import TeamRegistry
from devfactory.teams.spec import Deliverable, TeamSpec


def _no_patterns(node: Any) -> Any:
    """Drop regex patterns: grammar samplers handle them poorly; validation still applies them."""
    if isinstance(node, dict):
        return {k: _no_patterns(v) for k, v in node.items() if k != "pattern"}
    if isinstance(node, list):
        return [_no_patterns(v) for v in node]
    return node


PLAN_SCHEMA: JsonSchema = _no_patterns(grammar_schema(BuildPlan))


def pipeline_owners(
    state: Mapping[str, Any], teams: TeamRegistry
) -> dict[str, tuple[FileRole, ...]]:
    """Return, for each team of the run's pipeline, the kinds of files it writes."""
    planned = stage_plan_of(state)
    slugs = [s["team"] for s in planned["stages"]] if planned else []
    slugs = slugs or list(teams)
    return {slug: teams[slug].owns for slug in slugs if slug in teams}


def stage_items(spec: TeamSpec, plan: BuildPlan | None) -> list[Deliverable]:
    """Return what the team writes this stage: its documents, then its planned files."""
    items = list(spec.deliverables)
    if plan is not None and spec.owns:
        fixed = {d.path for d in items}
        items += [
            Deliverable(path=f.path, kind=kind_of(f.path), description=f.purpose[:300])
            for f in plan.files_of(spec.slug)
            if f.path not in fixed
        ]
    return items


def interface_brief(plan: BuildPlan, path: str, files: Mapping[str, str], limit: int) -> str:
    """Render what drafting ``path`` needs of the plan: the interface and its dependencies.

    Dependencies that are Python code are shown as their signatures only, so a
    file sees the names it must use and nothing it does not need, with the line
    that imports them (or runs them, for a ``__main__``).
    """
    item = next((f for f in plan.files if f.path == path), None)
    lines = [f"## Build plan: {plan.kind.value} in {plan.language.value}", plan.summary]
    for module in plan.modules:
        lines.append(f"- module `{module.path}`:")
        lines += [f"  - `{s.signature}` {s.summary}".rstrip() for s in module.symbols]
    lines += [f"- command: `{c.usage}` {c.summary}".rstrip() for c in plan.commands]
    lines += [f"- endpoint: {e.method} {e.path} {e.summary}".rstrip() for e in plan.endpoints]
    if plan.dependencies:
        lines.append(f"- dependencies: {', '.join(plan.dependencies)}")
    lines.append(f"- tests run with `{plan.test_command}`; entry point `{plan.entry_point or '-'}`")
    lines.append("- files: " + ", ".join(f"{f.path} ({f.owner})" for f in plan.files))
    for dep in item.depends_on if item else ():
        content = files.get(dep)
        if content is None:
            continue
        shown = signatures(content, limit=limit) if dep.endswith(".py") else content[:limit]
        lines.append(f"\n### {dep} (written; its public interface)\n````\n{shown}\n````")
        if use := how_to_use(dep, content):
            lines.append(use)
    return "\n".join(lines)


def how_to_use(path: str, content: str) -> str:
    """Say how a file that depends on the Python module ``path`` reaches it.

    Small models call a module's functions without importing them; the import
    line, spelled out, is what they copy.
    """
    if not path.endswith(".py"):
        return ""
    if path.endswith("__main__.py"):
        package = module_name(path.removesuffix("__main__.py") + "__init__.py")
        if not package:
            return ""
        return (
            f"Run it as `python -m {package}` in a subprocess: "
            f'`subprocess.run([sys.executable, "-m", "{package}", ...], '
            "capture_output=True, text=True)`."
        )
    name, names = module_name(path), public_names(content)
    if not name or not names:
        return ""
    return f"Import it as: `from {name} import {', '.join(names[:12])}`."


def _teams_block(owners: Mapping[str, Sequence[FileRole]], teams: TeamRegistry) -> str:
    rows = []
    for slug, roles in owners.items():
        if roles:
            rows.append(f"- {slug} ({teams[slug].name}): {', '.join(r.value for r in roles)}")
    return "\n".join(rows) or "- (no team writes planned files)"


def _named_block(requirement: str, facts: RequirementFacts | None) -> str:
    named = named_in(requirement, facts)
    rows = [f"- function `{n}`" for n in named.functions]
    rows += [f"- endpoint {m} {p}" for m, p in named.endpoints]
    rows += [f"- option {o}" for o in named.options]
    rows += [f"- file {f}" for f in named.files]
    rows += [f"- module {m} (run as python -m {m})" for m in named.modules]
    return "\n".join(rows) or "- (none)"


def plan_request(
    messages: list[BaseMessage],
    *,
    path: str,
    requirement: str,
    owners: Mapping[str, Sequence[FileRole]],
    teams: TeamRegistry,
    problems: Sequence[str] = (),
    facts: RequirementFacts | None = None,
) -> list[BaseMessage]:
    """Turn a drafting request for the plan into a request for the ``BuildPlan`` object."""
    fix = ""
    if problems:
        fix = "\nYour last plan was refused:\n" + "\n".join(f"- {p}" for p in problems) + "\n"
    ask = render_prompt(
        "plan_request",
        path=path,
        teams=_teams_block(owners, teams),
        named=_named_block(requirement, facts),
        start=start_block(requirement, owners, facts),
        problems=fix,
    )
    last = messages[-1]
    return [*messages[:-1], HumanMessage(f"{last.content}\n\n{ask}")]


@dataclass
class PlanDraft(Draft):
    """The plan's draft, and the plan itself when it passed its checks."""

    plan: BuildPlan | None = None


def draft_plan(
    model: Runnable[Any, Any],
    messages: list[BaseMessage],
    *,
    path: str,
    requirement: str,
    owners: Mapping[str, Sequence[FileRole]],
    teams: TeamRegistry,
    max_parse_retries: int,
    max_model_errors: int,
    facts: RequirementFacts | None = None,
    repairs_off: Collection[str] = (),
) -> PlanDraft:
    """Ask for the build plan until it parses and passes ``check_plan``, within the caps.

    ``facts`` are the run's reading of the requirement (``graph/planning/reading``): the
    request names what they read and starts from a plan filled in with it. The
    ``plan`` repairs named in ``repairs_off`` are left out.
    """
    usage, served = Usage(), ""
    problems: list[str] = []
    repairs: list[str] = []
    last: BuildPlan | None = None
    for _ in range(max_parse_retries + 1):
        request = plan_request(
            messages,
            path=path,
            requirement=requirement,
            owners=owners,
            teams=teams,
            problems=problems,
            facts=facts,
        )
        answer = ask_structured(
            model,
            request,
            BuildPlan,
            max_parse_retries=max_parse_retries,
            max_model_errors=max_model_errors,
            normalise=plan_normaliser(
                owners, start=starting_plan(requirement, owners, facts), off=repairs_off
            ),
        )
        usage, served = usage.add(answer.usage), answer.model or served
        repairs = answer.repairs  # those of the reply kept, not of a refused one
        if answer.value is None:
            problem = f"{path}: no valid build plan: {answer.problem}"
            return PlanDraft(_artifact(path, last), usage, served, problem, repairs, None)
        last = answer.value
        problems = check_plan(last, requirement, owners=owners)
        if not problems:
            return PlanDraft(_artifact(path, last), usage, served, "", repairs, last)
    problem = f"{path}: " + "; ".join(problems)[:1200]
    return PlanDraft(_artifact(path, last), usage, served, problem, repairs, None)


def _artifact(path: str, plan: BuildPlan | None) -> Artifact | None:
    if plan is None:
        return None
    content = json.dumps(plan.model_dump(mode="json"), indent=1)
    return Artifact(path=path, kind=ArtifactKind.JSON, content=content)
