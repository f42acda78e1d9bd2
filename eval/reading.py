"""Does the factory read each requirement? ``python -m eval.reading [--split S] [--model M]``.

The reading of the requirement comes before any code: a run whose plan misses the
module or its units builds the wrong software however well it writes. For each
case this reads ``requirement.md`` as a run does (``graph/planning/reading.read_facts``:
the parser, and the model where the parser leaves the interface open), makes the
plan tools make from those facts (``graph/planning/plan_start.tool_plan``, the pipeline's
teams as owners) and says whether that plan names the case's module and units:
the library's functions, the command's options, the service's routes, as the
case's ``names`` list them, and, for a command line, whether its positional
arguments agree with the case's interface line (``positionals``: how many, which
repeat, which may be left out; names may differ). A case with no plan by tools
is planned by the model in a run; its starting point
(``plan_start.starting_plan``) is judged the same way. Results go to ``--out``
as ``reading.json`` and ``reading.md``, by split and style.

Exit codes: 0 when every case was read (whatever the reading found), 2 on usage
errors, 4 when no model can be resolved.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from eval import probe
from eval.catalog import SPLITS, Case
from eval.probe import EXIT_OK


@dataclass
class Read:
    """What the factory read of one case, and whether its plan names what the case needs."""

    case: str
    split: str
    style: str
    kind: str
    module: str  # the module the case's requirement names
    units: list[str]  # the functions, options or routes it names
    read_module: str = ""  # the module the facts give
    parser_only: bool = True  # no model was asked (the parser read the interface)
    calls: int = 0
    seconds: float = 0.0
    plan_by: str = ""  # "tools", "start" (the model's starting point), or "" (no plan)
    plan_module: bool = False
    missing: list[str] = field(default_factory=list)  # units the plan leaves out
    notes: list[str] = field(default_factory=list)
    arguments: str = ""  # how the plan's positional arguments differ ("": they agree)
    arguments_judged: bool = False  # a command line whose positional arguments are judged

    @property
    def named(self) -> bool:
        """Whether the plan names the module and every unit."""
        return bool(self.plan_by) and self.plan_module and not self.missing


def units_of(case: Case) -> list[str]:
    """Return the case's units: its functions (a library), options (a program) or routes."""
    names = [n for n in case.names if n != case.module]
    if case.kind == "web-service":
        return [n for n in names if n.startswith("/")]
    if case.kind == "library":  # the names the interface line calls
        called = [n for n in names if re.search(rf"(?<!\w){re.escape(n)}\(", case.interface)]
        return [n for n in called if not n[:1].isupper()]  # a class raised is no unit
    return [n for n in names if n.startswith("-")]


Shape = tuple[bool, bool]
"""A positional argument's shape: whether it repeats, whether it may be left out."""


def positionals(usage: str, module: str) -> list[Shape] | None:
    """Return the shape of each positional argument ``module``'s usage line gives, in order.

    Names differ between a requirement and a plan (``FILE`` or ``PATH``); what
    must agree is how many there are, which repeat and which may be left out.
    The line is read as a run reads one (``requirement.parse_usage``), from the
    module's name on (a plan may leave out ``python -m``). None where it is not
    judged: no usage of ``module``, or a command with subcommands.
    """
    from devfactory.software.requirement import parse_usage

    found = re.search(rf"(?<![\w.-]){re.escape(module)}(?![\w.-]).*", usage.split(";")[0])
    read = parse_usage(f"python -m {found.group(0)}") if found is not None else None
    if read is None or read.command:
        return None
    return [(p.many, p.optional) for p in read.positionals]


def _shown(shapes: list[Shape] | None) -> str:
    if not shapes:
        return "none"
    return " ".join(("[A...]" if m else "[A]") if o else ("A..." if m else "A") for m, o in shapes)


def judge_arguments(plan: dict[str, Any], case: Case) -> str | None:
    """Return how the plan's positional arguments differ from the case's ("": they agree).

    None where the case is not judged (not a command line, or one with subcommands).
    """
    if case.kind in ("library", "web-service"):
        return None
    wanted = positionals(case.interface, case.module)
    if wanted is None:
        return None
    usages = [str(c.get("usage", "")) for c in plan.get("commands") or []]
    planned = next((p for u in usages if (p := positionals(u, case.module)) is not None), None)
    if planned == wanted:
        return ""
    return f"positional arguments {_shown(wanted)}, planned {_shown(planned)}"


def judge(plan: dict[str, Any], case: Case) -> tuple[bool, list[str]]:
    """Return whether ``plan`` has the module's file, and the units it leaves out."""
    paths = [str(f.get("path", "")) for f in plan.get("files", [])]
    module = any(p in (f"{case.module}.py", f"{case.module}/__init__.py") for p in paths)
    said = json.dumps(
        {k: plan.get(k) for k in ("modules", "commands", "endpoints")}, ensure_ascii=False
    )
    return module, [u for u in units_of(case) if u not in said]


def read_case(case: Case, settings: Any, source: Any, owners: dict[str, Any]) -> Read:
    """Read one case's requirement as a run does, and judge the plan made from it."""
    from devfactory.graph.planning.plan_start import starting_plan, tool_plan
    from devfactory.graph.planning.reading import read_facts

    requirement = (case.folder / "requirement.md").read_text(encoding="utf-8")
    started = time.perf_counter()
    reading = read_facts(requirement, settings, lambda: source)
    found = Read(case.id, case.split, case.style, case.kind, case.module, units_of(case))
    found.read_module = reading.facts.facts.module
    found.parser_only = reading.calls == 0
    found.calls, found.notes = reading.calls, list(reading.facts.notes)
    plan = tool_plan(requirement, owners, (), reading.facts.facts)
    if plan is not None:
        found.plan_by, made = "tools", plan.model_dump(mode="json")
    else:
        start = starting_plan(requirement, owners, reading.facts.facts)
        found.plan_by, made = ("start", start) if start is not None else ("", {})
    found.plan_module, found.missing = judge(made, case) if made else (False, found.units)
    arguments = judge_arguments(made, case)
    found.arguments_judged = arguments is not None
    found.arguments = arguments or ""
    found.seconds = round(time.perf_counter() - started, 1)
    return found


def render(rows: Sequence[Read], title: str) -> str:
    """Render the rows and the counts by split and style as markdown."""
    lines = [f"# {title}", "", "| split | style | cases | module read | plan by tools | "
             "plan names module and units | command lines whose positional arguments agree |",
             "|---|---|---|---|---|---|---|"]  # fmt: skip
    for split in SPLITS:
        for style in ("marked", "prose"):
            group = [r for r in rows if r.split == split and r.style == style]
            if group:
                lines.append(
                    f"| {split} | {style} | {len(group)} "
                    f"| {sum(r.read_module == r.module for r in group)} "
                    f"| {sum(r.plan_by == 'tools' for r in group)} "
                    f"| {sum(r.named for r in group)} "
                    f"| {sum(r.arguments_judged and not r.arguments for r in group)} of "
                    f"{sum(r.arguments_judged for r in group)} |"
                )
    lines += ["", "| case | split | style | module read | model calls | s | plan | missing |",
              "|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for r in rows:
        module = r.read_module or "(none)"
        mark = "" if r.read_module == r.module else f" (not {r.module})"
        plan = (r.plan_by or "none") + ("" if r.plan_module or not r.plan_by else ", no module")
        differs = [*r.missing, r.arguments] if r.arguments else r.missing
        lines.append(
            f"| {r.case} | {r.split} | {r.style} | {module}{mark} | {r.calls} | {r.seconds:g} "
            f"| {plan} | {', '.join(differs) or '-'} |"
        )
    return "\n".join(lines) + "\n"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Read the command line."""
    parser = probe.parser("python -m eval.reading", __doc__, split="all")
    parser.add_argument("--pipeline", default="lean", help="whose teams own the plan's files")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Read every chosen case; write ``reading.json`` and ``reading.md``."""
    from devfactory.graph.planning.build_plan import pipeline_owners
    from devfactory.pipelines import load_pipeline
    from devfactory.teams.registry import load_teams

    args = parse_args(argv)
    run = probe.start(args, "eval.reading", "reading", "factory/architect")
    if isinstance(run, int):
        return run
    pipeline = load_pipeline(args.pipeline)
    teams = load_teams()
    state = {"stage_plan": {"stages": [{"team": t} for t in pipeline.teams]}}
    owners = pipeline_owners(state, teams)
    rows: list[Read] = []
    for case in run.cases:
        rows.append(read_case(case, run.settings, run.source, dict(owners)))
        r = rows[-1]
        print(f"{r.case}: module {r.read_module or '-'}, {r.calls} call(s), "
              f"plan {r.plan_by or 'none'}, missing {r.missing or '-'}"
              + (f", {r.arguments}" if r.arguments else ""), flush=True)  # fmt: skip
        run.keep("reading", rows)
    title = f"Reading the requirement: {run.label}, pipeline {args.pipeline}"
    (run.out / "reading.md").write_text(render(rows, title), encoding="utf-8")
    print(f"eval.reading: {sum(r.named for r in rows)}/{len(rows)} plans name the module and "
          f"units; {run.out / 'reading.md'}")  # fmt: skip
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
