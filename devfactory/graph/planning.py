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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from langchain_core.messages import BaseMessage, HumanMessage
from langchain_core.runnables import Runnable

from devfactory.build.plan import (
    BuildPlan,
    FileRole,
    check_plan,
    kind_of,
    module_name,
    named_interfaces,
)
from devfactory.build.validator import public_names, signatures
from devfactory.contracts import Artifact, ArtifactKind, Usage
from devfactory.graph.plan_start import start_block, starting_plan
from devfactory.graph.prompts import render_prompt
from devfactory.graph.structured import Draft
from devfactory.models.io import ask_structured, grammar_schema
from devfactory.teams.registry import TeamRegistry
from devfactory.teams.spec import Deliverable, TeamSpec


def _no_patterns(node: Any) -> Any:
    """Drop regex patterns: grammar samplers handle them poorly; validation still applies them."""
    if isinstance(node, dict):
        return {k: _no_patterns(v) for k, v in node.items() if k != "pattern"}
    if isinstance(node, list):
        return [_no_patterns(v) for v in node]
    return node


PLAN_SCHEMA: dict[str, Any] = _no_patterns(grammar_schema(BuildPlan))


def pipeline_owners(
    state: Mapping[str, Any], teams: TeamRegistry
) -> dict[str, tuple[FileRole, ...]]:
    """Return, for each team of the run's pipeline, the kinds of files it writes."""
    slugs = [s["team"] for s in (state.get("plan") or {}).get("stages", [])] or list(teams)
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
    package = module_name(path.removesuffix("__main__.py") + "__init__.py")
    if path.endswith("__main__.py") and package:
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


def _named_block(requirement: str) -> str:
    named = named_interfaces(requirement)
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
) -> list[BaseMessage]:
    """Turn a drafting request for the plan into a request for the ``BuildPlan`` object."""
    fix = ""
    if problems:
        fix = "\nYour last plan was refused:\n" + "\n".join(f"- {p}" for p in problems) + "\n"
    ask = render_prompt(
        "plan_request",
        path=path,
        teams=_teams_block(owners, teams),
        named=_named_block(requirement),
        start=start_block(requirement, owners),
        problems=fix,
    )
    last = messages[-1]
    return [*messages[:-1], HumanMessage(f"{last.content}\n\n{ask}")]


_ROLES = frozenset(r.value for r in FileRole)


def plan_normaliser(
    owners: Mapping[str, Sequence[FileRole]], start: Mapping[str, Any] | None = None
) -> Callable[[dict[str, Any], list[str]], dict[str, Any]]:
    """Return the plan's mechanical repairs for this pipeline.

    Fields the reply leaves out or empty are taken from ``start``, the plan
    pre-filled from the requirement's names (``plan_start``), when there is one.
    Besides ``normalise_plan``'s, a file of a kind no team of the pipeline
    writes (a README in a pipeline without Documentation) is dropped, and a
    file whose owner does not write its kind of file goes to the one team of
    the pipeline that does, when exactly one does, and a module the plan
    describes but leaves out of its files is planned for the one team that
    writes code (each recorded as a repair).
    """
    writers: dict[str, list[str]] = {}
    for team, roles in owners.items():
        for role in roles:
            writers.setdefault(role.value, []).append(team)

    def normalise(data: dict[str, Any], repairs: list[str]) -> dict[str, Any]:
        missing = [k for k in (start or {}) if k not in data or data[k] in (None, "")]
        if start and not data.get("files"):  # no files: the starting plan's, with its modules
            missing += ["files"] + ([] if data.get("modules") else ["modules"])
        missing = list(dict.fromkeys(missing))
        if start and missing and any(k in data for k in start):
            data = {**data, **{k: start[k] for k in missing}}
            repairs.append(f"{', '.join(missing)} taken from the starting plan")
        data = normalise_plan(data, repairs)
        files = data.get("files")
        if isinstance(files, list):
            unwritten = {
                i["path"]
                for i in files
                if isinstance(i, dict) and isinstance(i.get("path"), str)
                and str(i.get("role")) in _ROLES and str(i["role"]) not in writers
            }  # fmt: skip
            if unwritten:
                repairs.append(f"{sorted(unwritten)} dropped: no team of this pipeline writes them")
                data["files"] = [
                    i for i in files if not (isinstance(i, dict) and i.get("path") in unwritten)
                ]
                if isinstance(data.get("modules"), list):
                    data["modules"] = [
                        m
                        for m in data["modules"]
                        if not (isinstance(m, dict) and m.get("path") in unwritten)
                    ]
                _merge_repeated_files(data, repairs)  # and drop what depended on them
        _add_module_files(data, writers.get(FileRole.CODE.value, []), repairs)
        _add_missing_tests(data, writers.get(FileRole.TESTS.value, []), repairs)
        for item in data.get("files") or []:
            if not isinstance(item, dict):
                continue
            who = writers.get(str(item.get("role")), [])
            if item.get("owner") not in who and len(who) == 1:
                repairs.append(f"{item.get('path')}: owner {item.get('owner')!r} -> {who[0]!r}")
                item["owner"] = who[0]
        return data

    return normalise


def _add_module_files(data: dict[str, Any], coders: Sequence[str], repairs: list[str]) -> None:
    """Plan the file of each module the plan describes but leaves out of its files.

    Only when the pipeline has one team that writes code, so the owner is not a guess.
    """
    files, modules = data.get("files"), data.get("modules")
    if len(coders) != 1 or not isinstance(files, list) or not isinstance(modules, list):
        return
    planned = {f.get("path") for f in files if isinstance(f, dict)}
    for module in modules:
        path = module.get("path") if isinstance(module, dict) else None
        if isinstance(path, str) and path.endswith(".py") and path not in planned:
            planned.add(path)
            files.insert(
                0,
                {"path": path, "role": "code", "owner": coders[0], "depends_on": [],
                 "purpose": "the module's public functions and classes"},
            )  # fmt: skip
            repairs.append(f"{path}: planned for {coders[0]} (a module missing from the files)")


def _add_missing_tests(data: dict[str, Any], testers: Sequence[str], repairs: list[str]) -> None:
    """Plan a tests file when the pipeline has one team that writes tests and none is planned."""
    files = data.get("files")
    if len(testers) != 1 or not isinstance(files, list):
        return
    planned = [f for f in files if isinstance(f, dict) and isinstance(f.get("path"), str)]
    code = [f["path"] for f in planned if f.get("role") == "code" and f["path"].endswith(".py")]
    if not code or any(f.get("role") == "tests" for f in planned):
        return
    name = code[0].split("/")[0].removesuffix(".py")
    path = f"tests/test_{name}.py"
    if any(f["path"] == path for f in planned):
        return
    files.append(
        {"path": path, "role": "tests", "owner": testers[0], "depends_on": code[:8],
         "purpose": "tests of every behaviour the requirement names"}
    )  # fmt: skip
    repairs.append(f"{path}: planned for {testers[0]} (the plan had no tests file)")


def normalise_plan(data: dict[str, Any], repairs: list[str]) -> dict[str, Any]:
    """Repair a plan mechanically: the case of enum values, a bare string for a list."""
    for key in ("kind", "language"):
        if isinstance(data.get(key), str) and data[key] != data[key].strip().lower():
            data[key] = data[key].strip().lower().replace(" ", "-").replace("_", "-")
            repairs.append(f"{key} lower-cased")
    for item in data.get("files") or []:
        if isinstance(item, dict):
            if isinstance(item.get("role"), str):
                item["role"] = item["role"].strip().lower()
            if isinstance(item.get("depends_on"), str):
                item["depends_on"] = [item["depends_on"]] if item["depends_on"] else []
                repairs.append("depends_on wrapped in a list")
    _merge_repeated_files(data, repairs)
    _break_cycles(data, repairs)
    _drop_repeated_entries(data, repairs)
    if isinstance(data.get("dependencies"), str):
        data["dependencies"] = [d.strip() for d in data["dependencies"].split(",") if d.strip()]
        repairs.append("dependencies split into a list")
    if data.get("entry_point") is None:
        data["entry_point"] = ""
    return data


def _merge_repeated_files(data: dict[str, Any], repairs: list[str]) -> None:
    """Keep one entry per file path: the first, with every entry's ``depends_on``.

    Then drop ``depends_on`` entries that name no planned file, or the file itself.
    """
    files = data.get("files")
    if not isinstance(files, list):
        return
    kept: dict[str, dict[str, Any]] = {}
    for item in files:
        if not isinstance(item, dict) or not isinstance(item.get("path"), str):
            continue
        first = kept.setdefault(item["path"], item)
        if first is not item:
            repairs.append(f"{item['path']}: listed twice, merged into its first entry")
            before, more = first.get("depends_on"), item.get("depends_on")
            first["depends_on"] = [
                *(before if isinstance(before, list) else []),
                *(more if isinstance(more, list) else []),
            ]
    if len(kept) < sum(isinstance(i, dict) and isinstance(i.get("path"), str) for i in files):
        data["files"] = [*kept.values(), *(i for i in files if not isinstance(i, dict))]
    for path, item in kept.items():
        deps = item.get("depends_on")
        if not isinstance(deps, list):
            continue
        known = [d for d in dict.fromkeys(deps) if d in kept and d != path]
        if len(known) != len(deps):
            dropped = [d for d in deps if d not in known]
            repairs.append(f"{path}: depends_on {dropped} dropped (not other planned files)")
            item["depends_on"] = known


def _break_cycles(data: dict[str, Any], repairs: list[str]) -> None:
    """Drop a file's dependency on a file planned after it that depends back on it.

    Files are drafted in plan order, so the earlier file of a cycle could never
    see the later one's signatures anyway; the later one keeps its dependency.
    """
    files = [f for f in data.get("files") or [] if isinstance(f, dict)]
    order = {f.get("path"): n for n, f in enumerate(files) if isinstance(f.get("path"), str)}
    deps = {
        f["path"]: [d for d in f.get("depends_on") or [] if d in order]
        for f in files
        if f.get("path") in order and isinstance(f.get("depends_on"), list)
    }

    def reaches(start: str, goal: str) -> bool:
        seen, todo = set(), [start]
        while todo:
            node = todo.pop()
            if node == goal:
                return True
            if node not in seen:
                seen.add(node)
                todo += deps.get(node, [])
        return False

    for item in files:
        path = item.get("path")
        if path not in deps:
            continue
        back = [d for d in deps[path] if order[d] > order[path] and reaches(d, path)]
        if back:
            repairs.append(f"{path}: depends_on {back} dropped (planned later, and back on it)")
            deps[path] = [d for d in deps[path] if d not in back]
            item["depends_on"] = [d for d in item["depends_on"] if d not in back]


def _drop_repeated_entries(data: dict[str, Any], repairs: list[str]) -> None:
    """Keep one of each command, endpoint and module symbol the plan repeats word for word."""
    lists: list[tuple[str, Any]] = [
        ("commands", data.get("commands")),
        ("endpoints", data.get("endpoints")),
    ]
    lists += [
        (f"{m.get('path')} symbols", m.get("symbols"))
        for m in data.get("modules") or []
        if isinstance(m, dict)
    ]
    for name, entries in lists:
        if not isinstance(entries, list):
            continue
        kept = list({json.dumps(e, sort_keys=True): e for e in entries}.values())
        if len(kept) < len(entries):
            repairs.append(f"{name}: {len(entries) - len(kept)} repeated entries dropped")
            entries[:] = kept


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
) -> PlanDraft:
    """Ask for the build plan until it parses and passes ``check_plan``, within the caps."""
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
        )
        answer = ask_structured(
            model,
            request,
            BuildPlan,
            max_parse_retries=max_parse_retries,
            max_model_errors=max_model_errors,
            normalise=plan_normaliser(owners, start=starting_plan(requirement, owners)),
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
