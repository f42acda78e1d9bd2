"""What a plan request starts from: a plan pre-filled from the requirement's names.

Models fill a shape they are shown far better than one described in words.
When the requirement names its package (run as ``python -m x``, "module `x`",
or as the run's facts read it: ``graph/planning/reading``), the request carries a plan
filled in from the names it gives (functions with their signatures as written,
usage lines, endpoints), each file owned by the pipeline's team for its kind;
the architect corrects and completes it. Where nothing names the package, the
request shows no plan at all: a model shown another requirement's plan hands
it back in place of this one's (the 0.5B did on 3 of 3 attempts), so it plans
from the requirement and the rules alone. The kinds of software
(``software/kinds``) give the plan's kind, its code files beside
``__init__.py`` and its entry point, and a pipeline with API, infrastructure or
operations teams gives each the deliverable its checks judge (``team_files``).
``check_plan`` judges whatever comes back.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from devfactory.software.behaviour import PATH as AGREED_PATH
from devfactory.software.examples import PATH as EXAMPLES_PATH
from devfactory.software.kinds import (
    behaviour_tested,
    examples_file,
    reading,
    shape_of_kind,
    starting,
)
from devfactory.software.plan import (
    BuildPlan,
    FileRole,
    Named,
    PlannedFile,
    SoftwareKind,
    check_plan,
    named_interfaces,
)
from devfactory.software.requirement import RequirementFacts, read_requirement


def team_files(kind: SoftwareKind, code: str, writer: Mapping[FileRole, str]) -> list[PlannedFile]:
    """Return the files the pipeline's other teams deliver for this kind of software.

    A pipeline that has an API, an infrastructure or an operations team gives it
    the deliverable its checks judge (``checks/tools``): a web service's
    OpenAPI document, designed before the code and compared with the service
    once it is built; a container image and a CI workflow for a program or a
    service (a CI workflow alone for a library, which no one runs in a
    container); a web service's runbook, its probes answered by the running
    service. A pipeline without those teams (``lean``) gets none of them, and
    a kind none of them fits gets what fits it.
    """
    files: list[PlannedFile] = []
    shape = shape_of_kind(kind)
    if shape.serves and FileRole.API in writer:
        files.append(PlannedFile(path="api/openapi.yaml", role=FileRole.API,
                                 owner=writer[FileRole.API], depends_on=[],
                                 purpose="the OpenAPI 3.1 document of the service: every route "
                                 "the requirement gives, its parameters, bodies, statuses and "
                                 "schemas"))  # fmt: skip
    if FileRole.INFRA in writer:
        if shape.contained:
            files.append(PlannedFile(path="Dockerfile", role=FileRole.INFRA,
                                     owner=writer[FileRole.INFRA], depends_on=[code],
                                     purpose="a small, non-root container image that installs "
                                     "the project and runs it"))  # fmt: skip
        # a run's paths start with no dot: the workflow goes to .github/workflows/ to run
        files.append(PlannedFile(path="infra/ci.yml", role=FileRole.INFRA,
                                 owner=writer[FileRole.INFRA], depends_on=[code],
                                 purpose="the GitHub Actions workflow: install the project and "
                                 "run its tests on every push and pull request"))  # fmt: skip
    if shape.serves and FileRole.OPS in writer:
        files.append(PlannedFile(path="docs/runbook.md", role=FileRole.OPS,
                                 owner=writer[FileRole.OPS], depends_on=[code],
                                 purpose="how to start, probe and restart the service: its "
                                 "health command or route, its logs, what to do when it "
                                 "fails"))  # fmt: skip
    return files


def _writers(owners: Mapping[str, Sequence[FileRole]]) -> dict[FileRole, str]:
    """Return the team that writes each role: the first in the pipeline that owns it."""
    writer: dict[FileRole, str] = {}
    for team, roles in owners.items():
        for role in roles:
            writer.setdefault(role, team)
    return writer


_MODULE_NAMED = re.compile(r"\b(?:module|package)\s+`([a-z_][a-z0-9_]*)`")
_RUN_USAGE = re.compile(r"`python3? -m ([^`\n]{1,190})`")


def _signature(requirement: str, name: str) -> str:
    """Return ``def name(...)`` as the requirement writes the call, with its return type."""
    call = re.compile(rf"(?<![\w.]){re.escape(name)}\(([^()`\n]*)\)(?:\s*->\s*([^`\n]+))?")
    match = call.search(requirement)
    if match is None:
        return f"def {name}(...)"
    returns, depth = "", 0
    for char in match.group(2) or "":  # the annotation ends at a comma or stop outside brackets
        depth += (char in "[(") - (char in "])")
        if depth < 0 or (depth == 0 and char in ",;"):
            break
        returns += char
    returns = returns.strip().rstrip(".")
    return f"def {name}({match.group(1).strip()})" + (f" -> {returns}" if returns else "")


def named_in(requirement: str, facts: RequirementFacts | None = None) -> Named:
    """Return the names the requirement gives: those written as code, and the run's facts.

    ``named_interfaces`` finds what is written as code (calls, routes, options,
    ``python -m`` lines); the run's facts add what was read in sentences (by
    the parser's sentence rules or the model, its quotes checked).
    """
    named = named_interfaces(requirement)
    if facts is None:
        return named

    def more(first: tuple[Any, ...], *others: Any) -> tuple[Any, ...]:
        return tuple(dict.fromkeys((*first, *others)))

    flags = (flag for u in facts.usages for o in u.options for flag in o.flags[:1])
    return Named(
        functions=more(named.functions, *(f.name for f in facts.functions)),
        endpoints=more(named.endpoints, *((r.method, r.path) for r in facts.routes)),
        options=more(named.options, *flags),
        files=named.files,
        modules=more(named.modules, *((facts.module,) if facts.usages and facts.module else ())),
    )


def starting_plan(
    requirement: str,
    owners: Mapping[str, Sequence[FileRole]],
    facts: RequirementFacts | None = None,
) -> dict[str, Any] | None:
    """Return a plan pre-filled from the names the requirement gives, or None.

    The package is the one run with ``python -m`` or called "module `x`", else
    the module the run's ``facts`` read; its functions, usage lines and
    endpoints are the requirement's own (with the signatures the facts give),
    each file goes to the pipeline's team for its kind. The architect corrects
    and completes it (types, purposes, more files); ``check_plan`` judges the result.
    """
    named = named_in(requirement, facts)
    found = _MODULE_NAMED.search(requirement)
    package = (
        named.modules[0].split(".")[0]
        if named.modules
        else (found.group(1) if found else facts.module if facts is not None else "")
    )
    if not package:
        return None
    part = starting(named, package)
    if part is None:
        return None
    writer = _writers(owners)
    code = writer.get(FileRole.CODE, "backend-engineering")
    init = f"{package}/__init__.py"
    files: list[dict[str, Any]] = [
        {"path": init, "role": "code", "owner": code, "depends_on": [], "purpose": part.purpose},
    ]  # fmt: skip
    files += [{"path": path, "role": "code", "owner": code, "purpose": purpose,
               "depends_on": [init]} for path, purpose in part.files]  # fmt: skip
    if FileRole.TESTS in writer:
        files.append({"path": f"tests/test_{package}.py", "role": "tests",
                      "owner": writer[FileRole.TESTS], "purpose": "tests of every named behaviour",
                      "depends_on": [f["path"] for f in files]})  # fmt: skip
    if FileRole.DOCS in writer:
        files.append({"path": "README.md", "role": "docs", "owner": writer[FileRole.DOCS],
                      "purpose": "install, usage and examples", "depends_on": [init]})  # fmt: skip
    files += [f.model_dump(mode="json") for f in team_files(part.kind, init, writer)]
    read = {f.name: f.signature for f in facts.functions} if facts is not None else {}
    symbols = [
        {"name": f, "signature": read.get(f) or _signature(requirement, f)}
        for f in named.functions[:15]
    ]
    symbols += [{"name": name, "signature": signature} for name, signature in part.symbols]
    first = next((line for line in requirement.splitlines() if line.strip()[:1].isalpha()), "")
    read_lines = [re.sub(r"^python3? -m ", "", u.line) for u in facts.usages] if facts else []
    usages = [*_RUN_USAGE.findall(requirement), *read_lines]
    plan = {
        "kind": part.kind.value,
        "language": "python",
        "summary": first.strip()[:200] or package,
        "modules": [{"path": init, "symbols": symbols}],
        "commands": [{"usage": u[:200]} for u in dict.fromkeys(usages)][:8],
        "endpoints": [{"method": m, "path": p} for m, p in named.endpoints][:24],
        "files": files,
        "dependencies": list(part.dependencies),
        "test_command": "pytest -q",
        "entry_point": part.entry_point,
    }
    try:
        BuildPlan.model_validate(plan)
    except ValueError:
        return None
    return plan


def start_block(
    requirement: str,
    owners: Mapping[str, Sequence[FileRole]],
    facts: RequirementFacts | None = None,
) -> str:
    """Render what the plan request starts from: the requirement's names, or no plan at all."""
    start = starting_plan(requirement, owners, facts)
    if start is not None:
        return (
            "## A starting point, filled in from the names the requirement gives\n"
            f"{json.dumps(start)}\n\nCorrect and complete it: full signatures with types, "
            "each file's purpose, any file the requirement needs that it lacks."
        )
    return (
        "## No starting point: the requirement names no package\n"
        "Name the package after what the requirement makes (one short lowercase word), "
        "and plan its code file(s), tests and docs as above."
    )


def tool_plan(
    requirement: str,
    owners: Mapping[str, Sequence[FileRole]],
    existing: Collection[str] = (),
    facts: RequirementFacts | None = None,
) -> BuildPlan | None:
    """Return the whole build plan when the requirement's words settle it, else None.

    Tools before models: a requirement that names its module and states its
    interface exactly (signatures, usage lines or routes: ``software/requirement``)
    needs no model to plan it. The module is one file, ``<module>.py``, written
    from its skeleton (``software/skeleton``); the requirement's own examples are
    a tests file made by tools (``software/examples``), beside the one the tests'
    team writes; a unit the model writes tests of (``kinds.behaviour_tested``) adds the file
    of those the chosen code passes (``software/behaviour.PATH``). The kind of
    software (``software/kinds``) gives the code file,
    the plan's kind and its entry point. Every file goes to the pipeline's team
    for its kind, and the plan must pass ``check_plan`` like any other, or None
    is returned and the model is asked. In a run that changes a repository, ``existing`` are its
    files: a plan by tools writes whole files from skeletons, so where one of
    its files exists the model plans instead, from the repository's map.
    ``facts`` are the run's (read once, the model's filling the parser's gaps:
    ``graph/planning/reading``); without them the requirement is read by the parser.
    """
    stated = facts if facts is not None else read_requirement(requirement)
    found = reading(stated)
    part = found.shape.planned(found.facts) if found is not None else None
    if found is None or part is None or not found.facts.module:
        return None
    facts = found.facts  # as its kind reads them (a script's usage lines as written)
    writer = _writers(owners)
    if FileRole.CODE not in writer:
        return None
    path = part.path
    files: list[dict[str, Any]] = [
        {"path": path, "role": "code", "owner": writer[FileRole.CODE], "depends_on": [],
         "purpose": f"the whole program, from its skeleton: {part.purpose}"},
    ]  # fmt: skip
    if FileRole.TESTS in writer:
        if examples_file(facts) is not None:
            files.append({"path": EXAMPLES_PATH, "role": "tests", "owner": writer[FileRole.TESTS],
                          "purpose": "the requirement's own examples, made into tests by tools",
                          "depends_on": [path]})  # fmt: skip
        units = found.shape.skeleton(facts, "").units
        if any(behaviour_tested(stated, u) for u in units):
            files.append({"path": AGREED_PATH, "role": "tests", "owner": writer[FileRole.TESTS],
                          "purpose": "the model's tests of the behaviour, that the chosen code "
                          "passes (made by the build loop)", "depends_on": [path]})  # fmt: skip
        files.append({"path": f"tests/test_{facts.module}.py", "role": "tests",
                      "owner": writer[FileRole.TESTS], "depends_on": [path],
                      "purpose": "tests of every behaviour the requirement states"})  # fmt: skip
    if FileRole.DOCS in writer:
        files.append({"path": "README.md", "role": "docs", "owner": writer[FileRole.DOCS],
                      "purpose": "install, usage and examples", "depends_on": [path]})  # fmt: skip
    taken = set(existing)
    files += [
        f.model_dump(mode="json")
        for f in team_files(part.kind, path, writer)
        if f.path not in taken
    ]
    symbols = [{"name": f.name, "signature": f.signature} for f in facts.functions[:16]]
    symbols += [{"name": name, "signature": signature} for name, signature in part.symbols]
    first = next((s for s in facts.sentences if s[:1].isalpha()), facts.module)
    plan = {
        "kind": part.kind.value,
        "language": "python",
        "summary": first[:300],
        "modules": [{"path": path, "symbols": symbols[:16]}],
        "commands": [{"usage": u.line[:200]} for u in facts.usages][:8],
        "endpoints": [{"method": r.method, "path": r.path} for r in facts.routes][:16],
        "files": files,
        "dependencies": list(facts.dependencies),
        "test_command": "python -m pytest -q",
        "entry_point": part.entry_point,
    }  # fmt: skip
    if set(existing) & {f["path"] for f in files}:
        return None  # it would write an existing file anew
    try:
        made = BuildPlan.model_validate(plan)
    except ValueError:
        return None
    return None if check_plan(made, requirement, owners=owners) else made
