"""The architecture overview of a build plan, rendered by a template.

When tools made the plan from the requirement's exact words, the overview of
it says nothing a model could add: its context, a component diagram, each
file's responsibility, the technology the plan names, the data flow of its
kind (who uses it and how: ``software/kinds/``) and how it is checked. A
template writes it from the plan, exactly, and no model call is spent
re-telling it.
"""

from __future__ import annotations

import re

from devfactory.software.kinds import shape_for
from devfactory.software.plan import BuildPlan, FileRole


def _node(path: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", path)


def overview(plan: BuildPlan) -> str:
    """Render the architecture overview of ``plan`` (Markdown, with a mermaid diagram)."""
    code = [f for f in plan.files if f.role is FileRole.CODE]
    tests = [f for f in plan.files if f.role is FileRole.TESTS]
    lines = ["# Architecture", "", "## Context", "", plan.summary, ""]
    lines += ["## Components", "", "```mermaid", "flowchart LR"]
    shape = shape_for(plan)
    first = shape.user
    lines.append(f"    {first}")
    for item in code:
        lines.append(f"    {_node(item.path)}[{item.path}]")
        lines.append(f"    {first.split('[')[0]} --> {_node(item.path)}")
    for item in tests:
        lines.append(f"    {_node(item.path)}[{item.path}]")
        for target in item.depends_on:
            lines.append(f"    {_node(item.path)} -. checks .-> {_node(target)}")
    lines += ["```", "", "## Responsibilities", ""]
    lines += [f"- `{f.path}` ({f.owner}): {f.purpose}" for f in plan.files]
    lines += ["", "## Technology", ""]
    deps = ", ".join(f"`{d}`" for d in plan.dependencies) or "the standard library only"
    lines += [f"- Python, with {deps}.", f"- Tests: `{plan.test_command}`."]
    if plan.entry_point:
        lines.append(f"- Entry point: `{plan.entry_point}`.")
    lines += ["", "## Data flow", ""]
    lines += [shape.flow.format(entry=plan.entry_point or "the module"), ""]
    interface = [s.signature for m in plan.modules for s in m.symbols]
    interface += [c.usage for c in plan.commands]
    interface += [f"{e.method} {e.path}" for e in plan.endpoints]
    if interface:
        lines += ["## Interface", "", *(f"- `{i}`" for i in interface), ""]
    lines += [
        "## Quality targets",
        "",
        "- Every name, option and route the requirement gives is kept exactly.",
        "- The requirement's own examples pass (`tests/test_requirement_examples.py`).",
        "- Lint is clean, every module imports, and the tests pass in the sandbox.",
        "",
    ]
    return "\n".join(lines)
