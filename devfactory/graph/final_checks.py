"""The run's final checks: the whole workspace judged once every stage has passed.

The build plan's code checks run on every file written (and, for a run that delivers
into a repository, the repository's own old tests), then the build checks of every
passed team that names some (``checks/tools/``: Security Engineering's scan of
the code, Compliance & Legal's licences). Every stage has passed, so where the
run hands kept tests to the code (``kept_tests_to_code``) a tests' team's test
is settled: a failure on its assertion is the code's owner's
(``checks/code/blame.py``). Each problem names its file's owner, so
``graph/run_nodes.py``'s ``validate`` can send it back in a bounded fix round; one
that no team owns fails the run.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from langgraph.runtime import Runtime

from devfactory.checks.catalogue import CHECKS
from devfactory.checks.code import CodeCheck, ExistingTestsCheck
from devfactory.checks.code.blame import settled_tests
from devfactory.checks.code.plan_commands import smoke_for
from devfactory.checks.tools import BuildVerdict, run_build_checks
from devfactory.contracts import CheckRun, FinalChecks, Repository, StageOutcome
from devfactory.graph.context import Context
from devfactory.graph.stage.verify import run_code_checks, workspace_files
from devfactory.graph.state import RunState, build_plan_of, requirement_facts_of
from devfactory.repos.repository import repository_files
from devfactory.sandbox.runner import SandboxUnavailableError
from devfactory.software.kinds import shape_for
from devfactory.software.plan import BuildPlan, FileRole
from devfactory.teams import load_teams
from devfactory.teams.registry import TeamRegistry


def final_checks(
    state: RunState, runtime: Runtime[Context], teams: TeamRegistry | None = None
) -> FinalChecks | None:
    """Run the build plan's checks, and the teams' build checks, on the whole workspace.

    Returns None when nothing is to run (no executable plan, or ``run_code``
    off); otherwise the checks, the score, each acceptance criterion's status
    and the problems, each naming its file's owner.
    """
    stages = state.get("stages", {})
    build_plan = build_plan_of(state)
    if (
        build_plan is None
        or not build_plan.executable
        or not runtime.context.settings.generation.run_code
    ):
        return None
    files = workspace_files(stages, [])
    repository = state.get("repository")
    checks: tuple[CodeCheck, ...] = CHECKS.code
    if repository:  # the repository's own tests, as they were, must still pass
        checks = (*CHECKS.code, existing_tests(repository, runtime))
    try:
        found = run_code_checks(
            build_plan,
            files,
            runtime,
            teams=list(stages),
            repository=repository,
            checks=checks,
            requirement=state["requirement"],
            facts=requirement_facts_of(state),
            settled=settled_tests(build_plan, list(stages))  # every team has had its attempts
            if runtime.context.settings.generation.kept_tests_to_code
            else frozenset(),
        )
        built = build_checks(
            state,
            runtime,
            files,
            build_plan,
            teams or load_teams(),
            criteria=found.criteria,
            code_checks=found.checks,
        )
    except SandboxUnavailableError as exc:
        return FinalChecks.not_run(f"not run: {exc}")
    except Exception as exc:  # noqa: BLE001 - the run fails with the reason, it never crashes
        return FinalChecks.not_run(
            f"the final checks could not run: {type(exc).__name__}: {exc}"[:600]
        )
    problems = [*found.problems, *built.problems]
    return FinalChecks(
        checks=[*found.checks, *built.checks],
        score=found.score,
        criteria=found.criteria,
        problems=[f"{p.owner or 'run'}: {p.line()}"[:1500] for p in problems],
        owners={
            team: [p.line()[:1500] for p in problems if p.owner == team]
            for team in dict.fromkeys(p.owner for p in problems if p.owner in stages)
        },
    )


def build_checks(
    state: RunState,
    runtime: Runtime[Context],
    files: Mapping[str, str],
    build_plan: BuildPlan,
    teams: TeamRegistry,
    *,
    criteria: Mapping[str, str] | None = None,
    code_checks: Sequence[CheckRun] = (),
) -> BuildVerdict:
    """Run the build checks of every passed team that names some on the built software.

    Each finding goes to the owner of its file (``checks/tools/``): Security
    Engineering's code scan holds Backend's code to it, for instance. ``criteria``
    is each acceptance criterion's status from the tests the code checks ran, and
    ``code_checks`` what they ran.
    """
    stages = state.get("stages", {})
    names = [
        name
        for team, record in stages.items()
        if record.outcome is StageOutcome.PASSED and team in teams
        for name in teams[team].build_checks
    ]
    if not names:
        return BuildVerdict([], [])
    code = [f.path for f in build_plan.files if f.role is FileRole.CODE]
    writers = {
        artifact.path: team
        for team, record in stages.items()
        if record.outcome is StageOutcome.PASSED and record.result is not None
        for artifact in record.result.artifacts
    }
    return run_build_checks(
        [CHECKS.build[n] for n in dict.fromkeys(names)],
        files,
        runtime.context.get_sandbox(),
        code=code,
        # the plan's owner of a file, else the team that wrote it (its own deliverable)
        owner_of=lambda path: build_plan.owner_of(path) or writers.get(path, ""),
        planned=[f.path for f in build_plan.files],
        tests=[f.path for f in build_plan.files if f.role is FileRole.TESTS],
        dependencies=build_plan.dependencies,
        packages=shape_for(build_plan).packages(build_plan),
        roles={f.path: f.role.value for f in build_plan.files},
        serve=served.argv if (served := smoke_for(build_plan)) and served.kind == "http" else (),
        criteria=criteria,
        code_checks=code_checks,
        settings=runtime.context.settings,
    )


def existing_tests(repository: Repository, runtime: Runtime[Context]) -> ExistingTestsCheck:
    """Return the check of the repository's own tests, with its base branch's files."""
    settings = runtime.context.settings
    base = repository_files(
        repository,
        max_bytes=settings.repos.repo_read_bytes,
        timeout=settings.repos.repo_git_timeout_s,
    )
    return ExistingTestsCheck(base, tuple(repository.tests))
