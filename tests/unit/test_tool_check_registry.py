"""Teams name their tool checks in team.yaml; an unknown check, or a missing tool, fails loading."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from devfactory.checks.catalogue import CHECKS
from devfactory.checks.tools import Tool
from devfactory.checks.tools.openapi import OpenApiCheck
from devfactory.teams import load_teams
from devfactory.teams.registry import TeamRegistryError, checks_told

TEAMS_ROOT = Path(__file__).resolve().parents[2] / "devfactory" / "teams"


def copied(tmp_path: Path) -> Path:
    root = tmp_path / "teams"
    shutil.copytree(TEAMS_ROOT, root, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    return root


def test_every_named_tool_check_is_known_and_its_tool_installed() -> None:
    teams = load_teams()
    named = {name for spec in teams.values() for name in spec.tool_checks}
    assert named <= set(CHECKS.tool)
    assert "openapi_valid" in teams["api-design"].tool_checks
    for name in named:
        assert CHECKS.tool[name].tool.version(), name  # pinned in uv.lock, installed by make setup


def test_an_unknown_tool_check_fails_loading(tmp_path: Path) -> None:
    root = copied(tmp_path)
    yaml_file = root / "api-design" / "team.yaml"
    text = yaml_file.read_text().replace("tool_checks: [openapi_valid]", "tool_checks: [telepathy]")
    yaml_file.write_text(text)
    with pytest.raises(TeamRegistryError, match=r"api-design: unknown tool checks \['telepathy'\]"):
        load_teams(root)  # type: ignore[arg-type]


def test_a_missing_tool_fails_loading_loudly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(OpenApiCheck, "tool", Tool("no-such-distribution-xyz"))
    assert CHECKS.missing_tools(["openapi_valid"]) == [
        "openapi_valid needs no-such-distribution-xyz, which is not installed (make setup: uv sync)"
    ]
    with pytest.raises(TeamRegistryError, match="api-design: openapi_valid needs no-such-distrib"):
        load_teams(copied(tmp_path))  # type: ignore[arg-type]


def test_the_team_is_told_each_tool_check_with_its_tool_and_version() -> None:
    spec = load_teams()["api-design"]
    told = checks_told(spec)
    label = CHECKS.tool["openapi_valid"].tool.label()
    assert f"- **openapi_valid** ({label}) — {CHECKS.tool['openapi_valid'].promise}" in told
    assert told in spec.tools_doc  # what TOOLS.md's $checks renders, at load


def test_docs_teams_md_lists_every_team_with_its_checks_and_tools() -> None:
    text = (TEAMS_ROOT.parents[1] / "docs" / "teams.md").read_text()
    rows = {
        line.split("`")[1]: line
        for line in text.split("## The tool checks")[0].splitlines()
        if line.startswith("| ") and " (`" in line
    }
    teams = load_teams()
    assert set(rows) == set(teams)
    for slug, spec in teams.items():
        for name in (*spec.checks, *spec.tool_checks, *spec.build_checks):
            assert f"`{name}`" in rows[slug], (slug, name)
        for name in spec.tool_checks:
            assert CHECKS.tool[name].tool.distribution in rows[slug]
            assert f"| `{name}` |" in text  # and it is described below the table
        for name in spec.build_checks:
            assert all(t.distribution in rows[slug] for t in CHECKS.build[name].tools)
            assert f"| `{name}` (a build check) |" in text


def test_an_unknown_build_check_fails_loading_and_security_names_the_code_scan(
    tmp_path: Path,
) -> None:
    assert load_teams()["security-engineering"].build_checks == ("code_security", "entry_points")
    root = copied(tmp_path)
    yaml_file = root / "security-engineering" / "team.yaml"
    text = yaml_file.read_text().replace("[code_security, entry_points]", "[psychic]")
    yaml_file.write_text(text)
    with pytest.raises(TeamRegistryError, match=r"unknown build checks \['psychic'\]"):
        load_teams(root)  # type: ignore[arg-type]


def test_a_build_checks_missing_tool_fails_loading(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from devfactory.checks.tools.security import CodeSecurityCheck

    monkeypatch.setattr(CodeSecurityCheck, "tools", (Tool("bandit"), Tool("no-such-scanner-xyz")))
    with pytest.raises(
        TeamRegistryError, match="security-engineering: code_security needs no-such"
    ):
        load_teams(copied(tmp_path))  # type: ignore[arg-type]
