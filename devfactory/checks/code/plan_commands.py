"""The commands the checks derive from the build plan: its environment, tests and smoke run."""

from __future__ import annotations

from devfactory.sandbox.commands import Smoke
from devfactory.software.kinds import shape_for
from devfactory.software.plan import BuildPlan


def environment_for(plan: BuildPlan) -> list[str]:
    """Return the packages the checks need: the plan's, and what its kind's smoke run needs."""
    return [*plan.dependencies, *shape_for(plan).packages(plan)]


def test_command(plan: BuildPlan) -> str:
    """Return the plan's test command as a checkout would run it: the project importable.

    ``python -m pytest`` puts the workspace root on ``sys.path`` (bare
    ``pytest`` puts only the test file's folder there) and ``pythonpath``
    adds ``src/`` for a src layout.
    """
    args = plan.test_command.split()
    args = args[3:] if args[:1] == ["python"] else args[1:]
    layout = ["-o", "pythonpath=src"] if any(f.path.startswith("src/") for f in plan.files) else []
    return " ".join(["python", "-m", "pytest", *layout, *args])


def smoke_for(plan: BuildPlan) -> Smoke | None:
    """Return how to smoke-run the plan's entry point, as its kind says, or None."""
    if not plan.entry_point:
        return None
    return shape_for(plan).smoke(plan)
