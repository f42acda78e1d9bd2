"""The 17 teams load from their folders, render, and resolve their artifact checks."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from devfactory.checks.catalogue import CHECKS
from devfactory.teams import load_teams
from devfactory.teams.registry import TeamRegistryError

DESIGN_TEAMS = {
    "Product Management",
    "Solution Architecture",
    "Feature Engineering",
    "Frontend Engineering",
    "Backend Engineering",
    "Database Engineering",
    "DevOps / Infrastructure",
    "QA Engineering",
    "Security Engineering",
    "Data Engineering",
    "ML Engineering",
    "API Design",
    "Documentation",
    "Business Analysis",
    "UX / UI Design",
    "Compliance & Legal",
    "SRE / Operations",
}
TEAMS = load_teams()
TEAMS_ROOT = Path(__file__).resolve().parents[2] / "devfactory" / "teams"


def test_registry_holds_exactly_the_17_design_teams() -> None:
    assert {spec.name for spec in TEAMS.values()} == DESIGN_TEAMS
    assert len(TEAMS) == 17


@pytest.mark.parametrize("slug", sorted(TEAMS))
def test_team_spec_is_complete_and_renders(slug: str) -> None:
    spec = TEAMS[slug]
    rendered = spec.render_objective(requirement="Build a URL shortener with analytics")
    assert "Build a URL shortener with analytics" in rendered
    assert spec.name in rendered
    assert "$requirement" not in rendered and "$team_name" not in rendered
    for path in spec.deliverable_paths:
        assert f"`{path}`" in rendered, f"objective.md does not name deliverable {path}"
    for doc in (spec.soul, spec.agents, spec.tools_doc):
        assert len(doc.split()) >= 60, "identity docs must have real substance"
    assert all(check in CHECKS.artifact for check in spec.checks)
    assert all(t in TEAMS and t != slug for t in spec.may_ask)
    assert spec.model.startswith("factory/")


def test_deliverable_paths_are_unique_across_teams() -> None:
    paths = [p for spec in TEAMS.values() for p in spec.deliverable_paths]
    assert len(paths) == len(set(paths))


def test_budget_shares_sum_to_one() -> None:
    assert sum(spec.budget_share for spec in TEAMS.values()) == pytest.approx(1.0)


def test_loader_accepts_a_copied_folder(tmp_path: Path) -> None:
    root = tmp_path / "teams"
    shutil.copytree(TEAMS_ROOT, root, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    assert set(load_teams(root)) == set(TEAMS)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: (d / "SOUL.md").unlink(), "lacks SOUL.md"),
        (
            lambda d: (d / "objective.md").write_text("Do $nonsense for $requirement"),
            "unknown placeholder \\$nonsense",
        ),
        (lambda d: _edit_yaml(d, "slug: qa-engineering", "slug: quality"), "!= folder"),
        (lambda d: _edit_yaml(d, "checks: [", "checks: [run_shell, "), "unknown checks"),
        (
            lambda d: _edit_yaml(
                d, "confidence_threshold:", "unknown_key: 1\nconfidence_threshold:"
            ),
            "Extra inputs",
        ),
        (lambda d: _edit_yaml(d, "model: factory/coder", "model: gpt-4"), "model must be one of"),
    ],
)
def test_loader_rejects_a_broken_folder(tmp_path: Path, mutate, message: str) -> None:
    root = tmp_path / "teams"
    shutil.copytree(TEAMS_ROOT, root, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    mutate(root / "qa-engineering")
    with pytest.raises(TeamRegistryError, match=message):
        load_teams(root)  # type: ignore[arg-type]


def test_loader_rejects_asking_itself(tmp_path: Path) -> None:
    root = tmp_path / "teams"
    shutil.copytree(TEAMS_ROOT, root, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    text = (root / "qa-engineering" / "team.yaml").read_text()
    start = text.index("may_ask:")
    end = text.index("\n", start)
    (root / "qa-engineering" / "team.yaml").write_text(
        text[:start] + "may_ask: [qa-engineering]" + text[end:]
    )
    with pytest.raises(TeamRegistryError, match="may not ask itself"):
        load_teams(root)  # type: ignore[arg-type]


def test_a_team_yaml_still_naming_its_checks_tools_loads_with_a_warning(tmp_path: Path) -> None:
    root = tmp_path / "teams"
    shutil.copytree(TEAMS_ROOT, root, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    _edit_yaml(root / "qa-engineering", "checks: [", "tools: [")
    with pytest.deprecated_call(match="`tools` is now called `checks`"):
        loaded = load_teams(root)  # type: ignore[arg-type]
    assert loaded["qa-engineering"].checks == TEAMS["qa-engineering"].checks


def _edit_yaml(folder: Path, old: str, new: str) -> None:
    path = folder / "team.yaml"
    text = path.read_text()
    assert old in text, f"{old!r} not in team.yaml"
    path.write_text(text.replace(old, new, 1))


@pytest.mark.parametrize("slug", sorted(TEAMS))
def test_objective_has_the_sections_drafting_uses(slug: str) -> None:
    spec = TEAMS[slug]
    criteria = spec.objective_section("Acceptance criteria", requirement="r")
    assert criteria.startswith("## Acceptance criteria")
    assert criteria.count("\n- ") >= 3
    assert spec.objective_section("Out of scope", requirement="r").startswith("## Out of scope")
