"""Every check is in one registry under one protocol; a name is one check, of one kind."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from devfactory.checks import artifact
from devfactory.checks.artifact import ArtifactCheck
from devfactory.checks.catalogue import CHECKS, Catalogue
from devfactory.checks.code import LintCheck
from devfactory.teams import load_teams
from devfactory.teams.registry import TeamRegistryError

TEAMS_ROOT = Path(__file__).resolve().parents[2] / "devfactory" / "teams"


def test_every_check_has_its_name_and_a_promise_and_each_kind_is_listed() -> None:
    every = CHECKS.every()
    assert len(every) == len(CHECKS.artifact) + len(CHECKS.tool) + len(CHECKS.build) + 7
    for kind in (CHECKS.artifact, CHECKS.tool, CHECKS.build):
        assert all(name == check.name for name, check in kind.items())
    for check in every:
        assert check.name and check.promise.strip(), check
    assert [c.name for c in CHECKS.code] == [
        "plan",
        "stubs",
        "lint",
        "install",
        "import",
        "tests",
        "smoke",
    ]  # the order they run in: install before what runs code


def test_an_artifact_check_is_its_function_named_as_it_is() -> None:
    check = CHECKS.artifact["python_syntax"]
    assert check is artifact.python_syntax and check.name == "python_syntax"
    assert check([]) == []  # still called as the function was


def test_a_name_used_twice_is_refused_whatever_the_kinds() -> None:
    with pytest.raises(ValueError, match="checks named twice: lint"):
        Catalogue(
            artifact={"lint": ArtifactCheck("lint", artifact.python_syntax, "Parses.")},
            tool={},
            build={},
            code=(LintCheck(),),
        )


def test_a_tool_check_named_where_artifact_checks_go_fails_loading(tmp_path: Path) -> None:
    root = tmp_path / "teams"
    shutil.copytree(TEAMS_ROOT, root, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    yaml_file = root / "api-design" / "team.yaml"
    text = yaml_file.read_text()
    assert "checks: [" in text
    yaml_file.write_text(text.replace("checks: [", "checks: [openapi_valid, ", 1))
    with pytest.raises(TeamRegistryError, match=r"api-design: unknown checks \['openapi_valid'\]"):
        load_teams(root)  # type: ignore[arg-type]


def test_each_tool_and_build_check_names_its_tools_and_no_other_kind_does() -> None:
    assert [t.distribution for t in CHECKS.tools("openapi_valid")] == [
        CHECKS.tool["openapi_valid"].tool.distribution
    ]
    assert CHECKS.tools("code_security") == CHECKS.build["code_security"].tools
    assert CHECKS.tools("python_syntax") == () and CHECKS.tools("lint") == ()
    assert CHECKS.missing_tools(["python_syntax", "openapi_valid"]) == []
