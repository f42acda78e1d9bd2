"""What tools write for a stage, exactly, with no model call.

Tools before models: the build plan when the requirement's words settle it
(``plan_start.tool_plan``), its architecture overview (``software/overview``),
the requirement's own examples as tests (``software/examples``), the model's
tests the chosen code agreed with, the container image and the CI workflow the
plan gives DevOps (``software/infra``), and the report on files only tools and
the build loop wrote, whose evidence is the checks'.
"""

from __future__ import annotations

import json

from devfactory.contracts import Artifact, ArtifactKind, StageOutcome, Status, TaskResult, Usage
from devfactory.graph.model_io.structured import Draft
from devfactory.graph.planning.build_plan import pipeline_owners
from devfactory.graph.planning.plan_start import tool_plan
from devfactory.graph.stage.drafting import Drafting
from devfactory.graph.state import StageState, requirement_facts_of
from devfactory.software import infra
from devfactory.software.behaviour import PATH as AGREED_PATH
from devfactory.software.examples import PATH as EXAMPLES_PATH
from devfactory.software.kinds import examples_file
from devfactory.software.overview import overview
from devfactory.software.plan import BuildPlan
from devfactory.teams.spec import Deliverable

NONE_AGREED = (
    '"""No test the model wrote of the behaviour was passed by the chosen code, or none was '
    'asked."""\n'
)


def requirement_plan(work: Drafting) -> BuildPlan | None:
    """Return the build plan the requirement's words settle (``tool_plan``), else None.

    The plan Solution Architecture takes without a model call; a stage before
    it (Business Analysis's diagram) may draw from it too.
    """
    state = work.state
    owners = pipeline_owners(state, work.setup.teams)
    repository = state.get("repository")
    existing = repository.paths if repository is not None else ()
    return tool_plan(state["requirement"], owners, existing, requirement_facts_of(state))


def tools_made(work: Drafting, item: Deliverable) -> Draft | None:
    """Return the file when tools write it exactly, with no model call; else None.

    The build plan, when the requirement's words settle it (``tool_plan``), the
    requirement's own examples as tests (``software/examples``), the tests the
    model wrote that the chosen code passes (``software/behaviour.PATH``: the
    build loop published them with the code; QA starts from them), and the
    Dockerfile and CI workflow the plan gives DevOps (``software/infra``).
    """
    state = work.state
    if item.format in ("build-plan", "plan-overview"):
        plan = requirement_plan(work)
        if plan is None:
            return None
        if item.format == "plan-overview":
            return _by_tools(item, ArtifactKind.MARKDOWN, overview(plan))
        content = json.dumps(plan.model_dump(mode="json"), indent=1)
        return _by_tools(item, ArtifactKind.JSON, content, "made by tools from the requirement")
    if item.path == EXAMPLES_PATH and work.plan is not None:
        tests = examples_file(requirement_facts_of(state))
        return None if tests is None else _by_tools(item, ArtifactKind.PYTHON, tests.source)
    if item.path in (infra.DOCKERFILE, infra.WORKFLOW) and work.plan is not None:
        image = item.path == infra.DOCKERFILE
        written = infra.dockerfile(work.plan) if image else infra.workflow(work.plan)
        kind = ArtifactKind.DOCKERFILE if image else ArtifactKind.YAML
        return None if written is None else _by_tools(item, kind, written)
    if item.path == AGREED_PATH and work.plan is not None:
        handed = [
            a.content
            for r in state["stages"].values()
            if r.outcome is StageOutcome.PASSED
            for a in r.handed
            if a.path == AGREED_PATH
        ]
        return _by_tools(item, ArtifactKind.PYTHON, handed[-1] if handed else NONE_AGREED)
    return None


def _by_tools(item: Deliverable, kind: ArtifactKind, content: str, *repairs: str) -> Draft:
    """Return ``item`` as tools wrote it: no model call, nothing spent."""
    artifact = Artifact(path=item.path, kind=kind, content=content)
    return Draft(artifact, Usage(), "tools", repairs=list(repairs), origin="tools")


def written_by_tools(state: StageState) -> bool:
    """Say whether the attempt's files are judged by tools alone, so a model's report adds nothing.

    Every file was made by tools or the build loop, or every file is Python and
    the sandbox ran it (its checks' verdicts are the evidence the gate reads).
    """
    origins = state.get("origins") or {}
    drafts = state.get("drafts", [])
    if not drafts:
        return False
    if all(origins.get(d.path) in ("tools", "build") for d in drafts):
        return True
    ran = [c for c in state.get("checks", []) if c.command]
    return bool(ran) and all(d.path.endswith(".py") for d in drafts)


def tool_report(state: StageState, artifacts: list[Artifact]) -> TaskResult:
    """Report on files tools and the build loop wrote: what the checks found, nothing else.

    Asking a model to report on work it did not judge only invites questions
    and guesses; the gate reads the checks (``check_problems``) either way. The
    confidence says whether anything was found wrong.
    """
    problems = [*state.get("draft_problems", []), *state.get("check_problems", [])]
    facts = [
        f"{c.name}: {c.summary or 'exit ' + str(c.exit_code)}"[:300]
        for c in state.get("checks", [])
    ][:10]
    made = [
        r for r in state.get("repairs", []) if ": kept the best of" in r or "behaviour test" in r
    ]
    reasoning = " ".join(
        [
            "Written by tools from the requirement and by the build loop: each unit drawn, "
            "run against the requirement's own examples and the model's behaviour tests, and "
            "the best kept.",
            *made,
            *(f"The checks found: {p}" for p in problems[:4]),
        ]
    )
    return TaskResult(
        status=Status.COMPLETE,
        confidence=0.95 if not problems else 0.3,
        reasoning=reasoning[:1500],
        verified_facts=facts,
        artifacts=artifacts,
    )
