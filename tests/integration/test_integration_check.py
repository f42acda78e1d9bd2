"""Feature Engineering's trace and glue held to the built software, in the bubblewrap sandbox.

A trace that names every user story and glue that imports the project's code (and
imports cleanly) pass; a story left out of the trace, glue that re-implements instead
of wiring, and glue that fails on import each go back to Feature Engineering.
"""

from __future__ import annotations

from typing import Any

import pytest

from devfactory.checks.catalogue import CHECKS
from devfactory.checks.tools import run_build_checks
from devfactory.sandbox.environments import tools_environment
from devfactory.sandbox.runner import Limits, Sandbox

LIMITS = Limits(
    cpu_seconds=30, memory_mb=1024, processes=32, wall_seconds=60, output_chars=5000, file_size_mb=8
)
REQUIREMENTS = "# Requirements\n\n- US-1: add two numbers\n- US-2: clamp a value\n"
TRACE = (
    "# Trace\n\n| Story | Handler | Status |\n|---|---|---|\n"
    "| US-1 | calc.add | complete |\n| US-2 | calc.clamp | gap |\n"
)
WIRING = (
    "import os\n\nfrom calc import add\n\nSCALE = int(os.environ.get('SCALE', '1'))\n\n\n"
    "def total(a, b):\n    return add(a, b) * SCALE\n"
)
FILES = {
    "analysis/requirements.md": REQUIREMENTS,
    "calc/__init__.py": "def add(a, b):\n    return a + b\n",
    "integration/__init__.py": "",
    "integration/trace.md": TRACE,
    "integration/wiring.py": WIRING,
}
ROLES = {
    "calc/__init__.py": "code",
    "integration/__init__.py": "integration",
    "integration/trace.md": "integration",
    "integration/wiring.py": "integration",
}


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Sandbox:
    box = Sandbox(mode="bwrap", cache_dir=tmp_path_factory.mktemp("cache"), limits=LIMITS)
    box.check()
    return box


def integrate(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, changed: dict[str, str]
) -> tuple[Any, list[tuple[str, str]]]:
    monkeypatch.setattr(sandbox, "environment", lambda deps: tools_environment())  # offline
    found = run_build_checks(
        [CHECKS.build["integration_trace"]],
        {**FILES, **changed},
        sandbox,
        code=["calc/__init__.py"],
        owner_of=lambda path: "feature-engineering" if path.startswith("integration/") else "",
        roles=ROLES,
    )
    [record] = found.checks
    return record, [(p.owner, p.line()) for p in found.problems]


def test_a_full_trace_and_wired_glue_pass(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    record, problems = integrate(sandbox, monkeypatch, {})
    assert problems == []
    assert record.ok and record.sandboxed and record.summary == "every story traced, glue wired"


def test_a_story_left_out_and_glue_that_reimplements_or_breaks_go_to_feature_engineering(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    record, problems = integrate(
        sandbox,
        monkeypatch,
        {
            "integration/trace.md": TRACE.replace("| US-2 | calc.clamp | gap |\n", ""),
            "integration/__init__.py": "def add(a, b):\n    return a + b\n",  # re-implements
            "integration/wiring.py": WIRING + "\nraise RuntimeError('no SCALE')\n",
        },
    )
    assert problems == [
        (
            "feature-engineering",
            "integration/trace.md [integration_trace]: traces no US-2 of analysis/requirements.md: "
            "give each user story a row (screen, operation, handler, tables; complete or gap)",
        ),
        (
            "feature-engineering",
            "integration/__init__.py [integration_trace]: imports none of the project's code "
            "modules (calc): wire them, do not re-implement them",
        ),
        (
            "feature-engineering",
            "integration/wiring.py [integration_trace]: does not import: integration.wiring: "
            "RuntimeError: no SCALE",
        ),
    ]
    assert record.failed == 3


def test_feature_engineering_names_the_check() -> None:
    from devfactory.teams import load_teams

    assert "integration_trace" in load_teams()["feature-engineering"].build_checks
