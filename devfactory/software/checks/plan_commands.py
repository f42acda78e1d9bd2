"""The commands the checks derive from the build plan: its environment, tests and smoke run."""

from __future__ import annotations

from packaging.requirements import Requirement

from devfactory.software.plan import BuildPlan, SoftwareKind


def environment_for(plan: BuildPlan) -> list[str]:
    """Return the packages the checks need: the plan's, and uvicorn to serve a web service."""
    deps = list(plan.dependencies)
    names = {Requirement(d).name.lower().replace("_", "-") for d in deps}
    if plan.kind is SoftwareKind.WEB_SERVICE and "uvicorn" not in names:
        deps.append("uvicorn")  # the smoke run serves the app; the plan need not list it
    return deps


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


def smoke_for(plan: BuildPlan) -> tuple[str, tuple[str, ...], str] | None:
    """Return how to smoke-run the entry point: ``(kind, argv, path)``, or None."""
    entry = plan.entry_point
    if not entry:
        return None
    if plan.kind is SoftwareKind.WEB_SERVICE and ":" in entry:
        get = next((e.path for e in plan.endpoints if e.method == "GET" and "{" not in e.path), "/")
        argv = ("python", "-m", "uvicorn", entry, "--host", "127.0.0.1", "--port", "{port}")
        return "http", argv, get
    if plan.kind in (SoftwareKind.CLI, SoftwareKind.SCRIPT, SoftwareKind.DATA_PIPELINE):
        return "cli", tuple(entry.split()), "/"
    return None
