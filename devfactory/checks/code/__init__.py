"""Code checks: judge the software a run builds, against its build plan, objectively.

Does the software built so far hold up as a whole? Each code check is a
``CodeCheck`` (``framework.py``): a ``checks.Check`` (a name, a promise) with what
it ``needs`` (a workspace, a sandbox, the installed environment, code, tests
files, an entry point) and ``run(context) -> CheckOutcome``: plan coverage,
stubs (no planned unit left unwritten), lint, install, import, tests, smoke (one
module each, in that order in ``catalogue.CHECKS.code``), and for a run that
delivers into an existing repository its old tests (``ExistingTestsCheck``).
``verify`` (``suite.py``) runs a list of them and gathers a ``Verification``:
records, problems per file and so per owning team, acceptance criteria
(``criteria.py``), a score. ``graph/stage/verify.py`` runs them on a stage's code,
``graph/final_checks.py`` on the whole workspace, and ``checks/precheck.py`` runs
lint and plan coverage on one drafted file.

A new code check (a type checker, say) is one module with one class with those
four members, listed in ``catalogue.CHECKS.code``. The checks never trust a
model's word: a planned file is present or not, a planned symbol is defined in
its module's syntax tree or not, a module imports or not, a test passes or not.
Every problem names the file it is about (``blame.py`` lays a failing test at
one file's door), so it goes back to the team that owns it. What the checks
run is derived from the plan in ``plan_commands.py``.
"""

from devfactory.checks.code.criteria import REQUIREMENTS_PATH, criteria_of
from devfactory.checks.code.existing_tests import ExistingTestsCheck
from devfactory.checks.code.framework import (
    CheckContext,
    CheckOutcome,
    CodeCheck,
    Need,
    Problem,
    Verification,
    run_checks,
)
from devfactory.checks.code.lint import LintCheck, finding_text
from devfactory.checks.code.plan_coverage import PlanCoverageCheck
from devfactory.checks.code.suite import verify
from devfactory.checks.code.unwritten import UnwrittenCheck

__all__ = [
    "REQUIREMENTS_PATH",
    "CheckContext",
    "CheckOutcome",
    "CodeCheck",
    "ExistingTestsCheck",
    "LintCheck",
    "Need",
    "PlanCoverageCheck",
    "Problem",
    "UnwrittenCheck",
    "Verification",
    "criteria_of",
    "finding_text",
    "run_checks",
    "verify",
]
