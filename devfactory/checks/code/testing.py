"""The tests check: the plan's test command passes, each failure laid at one file's door."""

from __future__ import annotations

from devfactory.checks.code.blame import arbitrate, imported_planned
from devfactory.checks.code.criteria import criteria_status
from devfactory.checks.code.framework import CheckContext, CheckOutcome, Need, Problem
from devfactory.checks.code.plan_commands import test_command
from devfactory.software.kinds import examples_file
from devfactory.software.plan import FileRole
from devfactory.software.requirement import read_requirement


def behaviour_anchors(context: CheckContext) -> set[str]:
    """Return the example tests that show behaviour, read from the run's facts or requirement."""
    facts = context.facts
    if facts is None and context.requirement.strip():
        facts = read_requirement(context.requirement)
    made = examples_file(facts) if facts is not None else None
    return made.showing_behaviour() if made else set()


class TestsCheck:
    """The plan's test command passes; each acceptance criterion as its tests say."""

    __test__ = False  # not a pytest class, though its name says so
    name = "tests"
    promise = "The plan's test command passes; each acceptance criterion as its tests say."
    needs = frozenset({Need.WORKSPACE, Need.ENVIRONMENT, Need.TESTS})

    def run(self, context: CheckContext) -> CheckOutcome:
        """Run the tests; a failure goes to the file its traceback ends in.

        Only the run's own test files are judged here; a repository's tests the
        run did not write are judged against their base branch (``ExistingTestsCheck``).
        """
        plan, (sandbox, workspace, env) = context.plan, context.running()
        result, report = sandbox.run_tests(workspace, env, test_command(plan))
        outcome = CheckOutcome(
            runs=[result.record(report)],
            tests=report,
            criteria=criteria_status(context.criteria, report.cases),
        )
        anchors = behaviour_anchors(context)
        for case in report.cases:
            if case.file and case.file not in context.files:
                continue  # a repository's own test, as it was: ExistingTestsCheck judges it
            if case.outcome in ("failed", "error"):
                path, note = arbitrate(
                    case, report.cases, plan, workspace, anchors, context.settled
                )
                if not plan.owner_of(path):  # a repository's own test: the code it imports
                    path = imported_planned(case.file, plan, workspace) or path
                text = f"{case.name} {case.outcome}: {case.message}\n{case.traceback}"
                text = (note + text)[:1500]
                outcome.problems.append(Problem(path, plan.owner_of(path), self.name, text))
        if not report.cases and result.exit_code not in (0, None):
            test_file = next(f for f in plan.files if f.role is FileRole.TESTS)
            text = f"`{plan.test_command}` ran no tests (exit {result.exit_code}): "
            outcome.problems.append(
                Problem(test_file.path, test_file.owner, self.name, text + result.output[-800:])
            )
        return outcome
