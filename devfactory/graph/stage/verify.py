"""Run the stage's code: the build plan's code checks, in the sandbox, before the report.

The files written so far (every passed stage's, then this stage's drafts) are
laid out in a fresh folder and the code checks run on them
(``checks/code/``: plan coverage, stubs and lint, then, in the sandbox,
install the plan's dependencies, import every module, run the tests once
tests exist and smoke-run the entry point once its file exists).
Problems about this team's files keep the stage from passing, whatever the
team's confidence; problems about other teams' files go back to them from the
run's final checks (``graph/run_nodes.py``).

With ``kept_tests_to_code`` on, a tests' team's tests are kept at its last attempt
(``settled``): one failing on its assertion is the code's (``checks/code/blame.py``),
and in the fix round the code's stage is judged with the kept teams' files.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from langgraph.runtime import Runtime
from langgraph.types import Command

from devfactory.checks.catalogue import CHECKS
from devfactory.checks.code import (
    REQUIREMENTS_PATH,
    CodeCheck,
    Verification,
    criteria_of,
    verify,
)
from devfactory.checks.code.blame import settled_tests
from devfactory.checks.tools import ToolVerdict, run_tool_checks
from devfactory.contracts import (
    Artifact,
    CheckRun,
    Repository,
    StageOutcome,
    StageRecord,
    TaskResult,
)
from devfactory.graph.context import Context
from devfactory.graph.stage.pruning import (
    TakenOut,
    agreeing_tests,
    split_disagreeing_tests,
    without_disagreeing_tests,
)
from devfactory.graph.stage.setup import StageSetup, finish, max_attempts
from devfactory.graph.state import (
    StageState,
    StageUpdate,
    build_plan_of,
    kept_files,
    requirement_facts_of,
)
from devfactory.repos.repository import repository_files
from devfactory.runfiles import remove_tree, write_file
from devfactory.sandbox.runner import SandboxUnavailableError
from devfactory.software.disagreeing_tests import REFUTED, best_kept
from devfactory.software.examples import PATH as EXAMPLES_PATH
from devfactory.software.kinds import examples_file
from devfactory.software.plan import PLAN_PATH, BuildPlan, FileRole
from devfactory.software.requirement import RequirementFacts

log = logging.getLogger(__name__)


def workspace_files(
    stages: Mapping[str, StageRecord], drafts: Sequence[Artifact]
) -> dict[str, str]:
    """Return every passed stage's files, then ``drafts`` over them, by path."""
    files: dict[str, str] = {}
    for record in stages.values():
        if record.outcome is not StageOutcome.PASSED or record.result is None:
            continue
        for art in record.result.artifacts:
            files[art.path] = art.content
    files.update({d.path: d.content for d in drafts})
    return files


def with_examples(
    files: dict[str, str], plan: BuildPlan, facts: RequirementFacts
) -> dict[str, str]:
    """Add the requirement's example tests when the plan has them and no stage wrote them yet.

    They follow from the requirement alone, so the code's own stage is judged
    by them before the tests' team publishes them: a failing example is the
    code's to fix at once, not a later stage's.
    """
    if EXAMPLES_PATH in files or not any(f.path == EXAMPLES_PATH for f in plan.files):
        return files
    made = examples_file(facts)
    return {**files, EXAMPLES_PATH: made.source} if made is not None else files


def run_code_checks(
    plan: BuildPlan,
    files: Mapping[str, str],
    runtime: Runtime[Context],
    *,
    teams: list[str],
    repository: Repository | None = None,
    checks: Sequence[CodeCheck] = CHECKS.code,
    requirement: str = "",
    facts: RequirementFacts | None = None,
    settled: frozenset[str] = frozenset(),
) -> Verification:
    """Lay ``files`` out in a temporary folder and run ``checks`` on them against ``plan``.

    ``requirement`` is the run's: the units its skeleton (made from ``facts``,
    what the run read of it, when given) leaves to be written must not be
    stubs any more. A run delivering into a ``repository`` (the
    run state's) has its files laid over the base branch's, so its code runs
    with the repository around it. A failure on the assertion of a ``settled``
    tests file is the code's (``checks/code/blame.py``).
    """
    sandbox = runtime.context.get_sandbox()
    criteria = criteria_of(files.get(REQUIREMENTS_PATH, ""))
    root = Path(tempfile.mkdtemp(prefix="devfactory-ws-"))
    try:
        settings = runtime.context.settings
        base = repository_files(
            repository,
            max_bytes=settings.repos.repo_read_bytes,
            timeout=settings.repos.repo_git_timeout_s,
        )
        for path, content in base.items():
            write_file(root, path, content)
        for path, content in files.items():
            if path != PLAN_PATH and not path.startswith("analysis/"):
                write_file(root, path, content)
        return verify(
            plan,
            root,
            sandbox,
            teams=teams,
            criteria=criteria,
            files={p: c for p, c in files.items() if p != PLAN_PATH},
            checks=checks,
            requirement=requirement,
            facts=facts,
            settled=settled,
        )
    finally:
        remove_tree(root)  # iterative and link-safe: the code may have left any tree there


def verify_stage(
    state: StageState, runtime: Runtime[Context], setup: StageSetup
) -> Command[Literal["report", "retain"]]:
    """Run the team's tool checks on its files, then the code checks on the stage's code.

    Both feed the gate the same way: the records go to the report, and the problems
    in this team's files keep the stage from passing.
    """
    tools = tool_checks_update(state, runtime, setup)
    if isinstance(tools, Command):
        return tools  # no sandbox: BLOCKED, saying how to fix it
    code = verify_code(state, runtime, setup)
    if not tools.checks or code.goto != "report" or not isinstance(code.update, dict):
        return code
    update = dict(code.update)
    update["checks"] = [*tools.checks, *update.get("checks", [])]
    update["check_problems"] = [*tools.problems, *update.get("check_problems", [])]
    return Command(goto="report", update=update)


def tool_checks_update(
    state: StageState, runtime: Runtime[Context], setup: StageSetup
) -> ToolVerdict | Command[Literal["report", "retain"]]:
    """Run the team's tool checks (``checks/tools/``) on the files it drafted.

    The files are laid out with every passed stage's, which they may refer to.

    Returns the records and problems for the stage's update (none when the team has
    no tool check or drafted nothing one judges; one record saying so when code
    execution is off), or the stage BLOCKED when no sandbox works.
    """
    spec = setup.spec
    checks = [CHECKS.tool[name] for name in spec.tool_checks]
    drafts = state.get("drafts", [])
    mine = [d.path for d in drafts]
    if not any(c.judges(p) for c in checks for p in mine):
        return ToolVerdict([], [])
    if not runtime.context.settings.generation.run_code:
        off = CheckRun(
            name=", ".join(spec.tool_checks), command="", summary="not run: run_code is off"
        )
        return ToolVerdict([off], [])
    try:
        sandbox = runtime.context.get_sandbox()
        files = workspace_files(state["stages"], drafts)  # what the team's files may refer to
        plan = build_plan_of(state)
        found = run_tool_checks(
            checks,
            spec.slug,
            files,
            sandbox,
            mine=mine,
            planned=[f.path for f in plan.files] if plan is not None else [],
            dependencies=plan.dependencies if plan is not None else [],
        )
    except SandboxUnavailableError as exc:
        reason = f"cannot run the tool checks: {exc}"
        blocked = TaskResult.blocked(reason[:300], reasoning=reason)
        return finish(setup, state, runtime, StageOutcome.BLOCKED, reason, blocked)
    except Exception as exc:  # noqa: BLE001 - a checker's failure is the gate's problem, not a crash
        log.exception("the tool checks of %s failed", spec.slug)
        said = f"{type(exc).__name__}: {exc}"
        failed = CheckRun(name="tool checks", command="", summary=said[:300])
        return ToolVerdict([failed], [f"the tool checks could not run: {said}"[:600]])
    return found


def verify_code(
    state: StageState, runtime: Runtime[Context], setup: StageSetup
) -> Command[Literal["report", "retain"]]:
    """Run the objective checks on the stage's code when the plan is executable here.

    Nothing runs for a stage that wrote no code or tests, when the run has no
    executable plan, or when code execution is turned off (``run_code``), and
    that is said in the record. Where no sandbox works and the operator did
    not opt into the unsandboxed mode, the stage is BLOCKED with how to fix it:
    code is never run unisolated by default.
    """
    slug = setup.spec.slug
    drafts = state.get("drafts", [])
    plan = build_plan_of(state)
    skip: StageUpdate = {"checks": [], "check_problems": []}
    if plan is None or not plan.executable:
        return Command(goto="report", update=skip)
    mine = {f.path for f in plan.files_of(slug) if f.role in (FileRole.CODE, FileRole.TESTS)}
    if not mine & {d.path for d in drafts}:
        return Command(goto="report", update=skip)
    if not runtime.context.settings.generation.run_code:
        off = CheckRun(name="run", command="", summary="code not run: run_code is off")
        return Command(goto="report", update={**skip, "checks": [off]})
    done = [t for t, r in state["stages"].items() if r.outcome is StageOutcome.PASSED]
    handing = runtime.context.settings.generation.kept_tests_to_code
    others, keeping = kept_files(state, slug) if handing else ({}, [])
    facts = requirement_facts_of(state)
    files = with_examples({**others, **workspace_files(state["stages"], drafts)}, plan, facts)
    last = state.get("attempt", 1) >= max_attempts(state, runtime)
    settled = settled_tests(plan, [*keeping, *([slug] if last and handing else [])])

    def checked(files: Mapping[str, str]) -> Verification:
        return run_code_checks(
            plan,
            files,
            runtime,
            teams=[*done, slug],
            repository=state.get("repository"),
            requirement=state["requirement"],
            facts=facts,
            settled=settled,
        )

    taken: TakenOut | None = None
    try:
        found = checked(files)
        now = agreeing_tests(found, drafts, plan, slug, facts)
        kept = best_kept(state.get("agreeing", {}), now)
        if state.get("attempt", 1) >= take_out_at(state, runtime):
            refute = REFUTED not in runtime.context.settings.generation.repairs_off
            split = split_disagreeing_tests(found, drafts, plan, slug, facts, refute=refute)
            pieces = (
                checked({**files, **{d.path: d.content for d in split.drafts}})
                if split and split.drafts != list(drafts)  # unchanged: every rewrite past the cap
                else found
            )
            taken = without_disagreeing_tests(
                pieces,
                split.drafts if split else drafts,
                plan,
                slug,
                facts,
                state.get("agreeing", {}),
                refute=refute,
            )
            if taken:  # judged again on what is left (of the split files, when split)
                found = checked({**files, **{d.path: d.content for d in taken.drafts}})
                if split:
                    taken = TakenOut(taken.drafts, [*split.notes, *taken.notes])
            # a split that took nothing out is undone: the team's next attempt starts
            # from the file it wrote, not from pieces of it
    except SandboxUnavailableError as exc:
        reason = f"cannot run the code: {exc}"
        blocked = TaskResult.blocked(reason[:300], reasoning=reason)
        return finish(setup, state, runtime, StageOutcome.BLOCKED, reason, blocked)
    except Exception as exc:  # noqa: BLE001 - a checker's failure is the gate's problem, not a crash
        log.exception("the checks of %s failed", slug)
        failed = CheckRun(name="checks", command="", summary=f"{type(exc).__name__}: {exc}"[:300])
        said = f"the checks could not run: {type(exc).__name__}: {exc}"[:600]
        return Command(goto="report", update={"checks": [failed], "check_problems": [said]})
    update: StageUpdate = {
        "checks": list(found.checks),
        # this team's files, and what belongs to no planned file (an install, a crash);
        # other teams' problems go back to them from the final checks (graph/final_checks.py)
        "check_problems": [p.line() for p in found.problems if p.owner in (slug, "")],
    }
    if kept:
        update["agreeing"] = kept
    if taken:
        update["drafts"] = taken.drafts
        update["repairs"] = [*state.get("repairs", []), *taken.notes]
    return Command(goto="report", update=update)


def take_out_at(state: Mapping[str, Any], runtime: Runtime[Context]) -> int:
    """Return the attempt from which disagreeing tests are taken out: the setting's, or the last."""
    last = max_attempts(state, runtime)
    chosen = runtime.context.settings.generation.disagreeing_tests_attempt
    return min(chosen, last) if chosen else last
