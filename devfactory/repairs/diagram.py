"""A design document's diagram, repaired mechanically where the draft lacks one.

A team whose checks include ``mermaid_diagram`` must put a typed mermaid
diagram in its markdown. Small models often forget it, or open a ```mermaid
block without saying which diagram it is, or copy the check's example. Three
repairs, each recorded in the stage's repairs and none inventing anything:

- a ```mermaid block whose first line names no diagram type gets
  ``flowchart TD`` (the type its ``-->`` edges already imply);
- a document with no diagram at all, in a stage that drafted (or inherits) a
  build plan, or before any plan where the requirement's words settle one
  (``plan_start.tool_plan``, the plan Solution Architecture will take), gets
  the plan's component diagram: each planned file a node,
  each ``depends_on`` an edge, how it is entered (commands, endpoints), and the
  tests with a dotted edge to what they test;
- the check's own example (``client --> api --> db``), copied as it is, is
  replaced by the plan's component diagram, when there is a plan.
"""

from __future__ import annotations

import re
from typing import Any

from devfactory.checks.artifact import MERMAID_EXAMPLE, has_mermaid
from devfactory.contracts import MAX_ARTIFACT_CHARS
from devfactory.software.plan import PLAN_PATH, BuildPlan, FileRole

_BLOCK = re.compile(r"```mermaid[ \t]*\n(?P<first>[^\n]*)")


def component_diagram(plan: BuildPlan) -> str:
    """Return a mermaid flowchart of the plan's files, their dependencies and entry points."""
    ids = {item.path: f"f{i}" for i, item in enumerate(plan.files)}
    lines = ["```mermaid", "flowchart LR"]
    for item in plan.files:
        label = item.path.replace('"', "#quot;")
        shape = f'[["{label}"]]' if item.role is FileRole.TESTS else f'["{label}"]'
        lines.append(f"  {ids[item.path]}{shape}")
    code = [f for f in plan.files if f.role is not FileRole.TESTS]
    entry = _entry_file(plan, code)
    if entry is not None and (plan.commands or plan.endpoints or plan.entry_point):
        who = "client" if plan.endpoints else "user"
        how = "HTTP" if plan.endpoints else plan.entry_point or plan.commands[0].usage
        lines.append(f'  {who}(("{who}")) -->|"{_label(how)}"| {ids[entry]}')
    for item in plan.files:
        for target in item.depends_on:
            if target in ids and target != item.path:
                arrow = '-.->|"tests"|' if item.role is FileRole.TESTS else "-->"
                lines.append(f"  {ids[item.path]} {arrow} {ids[target]}")
    lines.append("```")
    return "\n".join(lines)


def _entry_file(plan: BuildPlan, code: list[Any]) -> str | None:
    """Return the planned file a user or client enters through (None: none is clear)."""
    words = plan.entry_point.split()  # "python -m pkg", "python run.py", "pkg.api:app"
    script = words[1] if words[:1] == ["python"] and words[1:2] != ["-m"] else ""
    module = (words[-1] if words else "").split(":")[0].replace(".", "/")
    for item in code:
        if item.path == script or item.path in (f"{module}.py", f"{module}/__main__.py"):
            return str(item.path)
    return str(code[0].path) if code else None


def _copied_example(docs: list[dict[str, Any]]) -> tuple[dict[str, Any], str] | None:
    """Return the document and block where the check's example diagram was copied as it is."""
    example = " ".join(MERMAID_EXAMPLE.split())
    for doc in docs:
        for block in re.findall(r"```mermaid[ \t]*\n.*?```", doc["content"], re.S):
            if " ".join(block.split()) == example:
                return doc, block
    return None


def _label(text: str) -> str:
    return re.sub(r'["|<>]', "", text)[:60]


def repair_diagram(drafts: list[dict[str, Any]], plan: BuildPlan | None) -> list[str]:
    """Repair the markdown drafts in place so one carries a typed diagram; say what was done."""
    docs = [d for d in drafts if d.get("kind") == "markdown"]
    drafted = next((d for d in drafts if d.get("path") == PLAN_PATH), None)
    if drafted is not None:
        try:
            plan = BuildPlan.model_validate_json(drafted["content"])
        except ValueError:
            pass  # an invalid draft plan: the run's plan, if any, is the one that stands
    copied = _copied_example(docs)
    if copied is not None and plan is not None:
        doc, block = copied
        content = doc["content"].replace(block, component_diagram(plan), 1)
        if len(content) > MAX_ARTIFACT_CHARS:
            return []
        doc["content"] = content
        return [f"{doc['path']}: the instructions' example diagram replaced by the build plan's"]
    if not docs or any(has_mermaid(d["content"]) for d in docs):
        return []
    for doc in docs:
        match = _BLOCK.search(doc["content"])
        if match and not has_mermaid(f"```mermaid\n{match['first']}"):
            start = match.start("first")
            content = doc["content"][:start] + "flowchart TD\n" + doc["content"][start:]
            if len(content) > MAX_ARTIFACT_CHARS:
                return []
            doc["content"] = content
            return [f"{doc['path']}: `flowchart TD` added to its untyped mermaid block"]
    if plan is None:
        return []
    doc = docs[0]
    section = "\n\n## Component diagram\n\nDrawn from the build plan.\n\n" + component_diagram(plan)
    content = doc["content"].rstrip() + section + "\n"
    if len(content) > MAX_ARTIFACT_CHARS:
        return []  # no room: the check's finding stands
    doc["content"] = content
    return [f"{doc['path']}: component diagram drawn from the build plan (the draft had none)"]
