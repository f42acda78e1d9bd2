"""What a team is told of its limits and checks is what the code enforces (one source).

SOUL.md, AGENTS.md and TOOLS.md are templates filled at load time from the
code's own constants and checks (``teams/registry.py``: ``identity_values``);
these tests keep the words and the code from drifting apart again.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from devfactory.checks.catalogue import CHECKS
from devfactory.contracts import MAX_ARTIFACT_CHARS, MAX_ARTIFACTS
from devfactory.teams import load_teams, registry
from devfactory.teams.registry import RENDERED_FILES, TeamRegistryError, runs_code

TEAMS = load_teams()
TEAMS_ROOT = Path(__file__).resolve().parents[2] / "devfactory" / "teams"
CODE_TEAMS = sorted(slug for slug, spec in TEAMS.items() if runs_code(spec))
ALL_FILES = [(slug, name) for slug in sorted(TEAMS) for name in (*RENDERED_FILES, "objective.md")]

AT_MOST = re.compile(r"at most (\d[\d,]*) (?:artifacts|files)\b", re.I)
CHARACTERS = re.compile(r"(\d[\d,]*) characters\b", re.I)
NOT_RUN = re.compile(
    r"syntax[- ]checked|\bnot (?:executed|run)\b|\bno tests? (?:are |is )?run"
    r"|\bnever (?:imported|collected|run|executed)\b|\bnot (?:collected|imported)\b"
    r"|\bonly (?:parsed|syntax)",
    re.I,
)


def _numbers(pattern: re.Pattern[str], text: str) -> list[int]:
    return [int(n.replace(",", "")) for n in pattern.findall(text)]


def _told(slug: str) -> str:
    spec = TEAMS[slug]
    return "\n".join((spec.soul, spec.agents, spec.tools_doc, spec.objective_template))


def _copy(tmp_path: Path) -> Path:
    root = tmp_path / "teams"
    shutil.copytree(TEAMS_ROOT, root, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    return root


@pytest.mark.parametrize(("slug", "name"), ALL_FILES)
def test_no_identity_file_writes_a_limit_as_a_number(slug: str, name: str) -> None:
    text = (TEAMS_ROOT / slug / name).read_text(encoding="utf-8")
    assert not AT_MOST.search(text), f"{slug}/{name}: write $max_artifacts, not a number"
    assert not CHARACTERS.search(text), f"{slug}/{name}: write $max_artifact_chars, not a number"


@pytest.mark.parametrize("slug", sorted(TEAMS))
def test_every_tools_md_states_the_limits_through_the_placeholders(slug: str) -> None:
    text = (TEAMS_ROOT / slug / "TOOLS.md").read_text(encoding="utf-8")
    assert re.search(r"\$max_artifacts\b", text), f"{slug}/TOOLS.md does not state $max_artifacts"
    assert re.search(r"\$max_artifact_chars\b", text), f"{slug}/TOOLS.md lacks $max_artifact_chars"
    assert re.search(r"^\$checks$", text, re.M), f"{slug}/TOOLS.md does not list its $checks"


@pytest.mark.parametrize("slug", sorted(TEAMS))
def test_the_loaded_limits_are_the_contracts_constants(slug: str) -> None:
    text = _told(slug)
    counts, chars = _numbers(AT_MOST, text), _numbers(CHARACTERS, text)
    assert counts, f"{slug} is told no limit on the files of a stage"
    assert chars, f"{slug} is told no limit on a file's length"
    assert set(counts) == {MAX_ARTIFACTS}
    assert set(chars) == {MAX_ARTIFACT_CHARS}


def test_the_limits_follow_the_constants_not_the_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(registry, "MAX_ARTIFACTS", 3)
    monkeypatch.setattr(registry, "MAX_ARTIFACT_CHARS", 777)
    loaded = load_teams(_copy(tmp_path))
    for spec in loaded.values():
        assert _numbers(AT_MOST, spec.tools_doc) == [3]
        assert _numbers(CHARACTERS, spec.tools_doc) == [777]


@pytest.mark.parametrize("slug", sorted(TEAMS))
def test_the_loaded_tools_name_exactly_the_teams_checks(slug: str) -> None:
    spec = TEAMS[slug]
    for name in spec.checks:
        assert f"**{name}** — {CHECKS.artifact[name].promise.splitlines()[0]}" in spec.tools_doc
    others = [c for c in CHECKS.artifact if c not in spec.checks and c in _told(slug)]
    assert not others, f"{slug} is told of checks its team.yaml does not run: {others}"
    code = [c.name for c in CHECKS.code if f"**{c.name}** — " in spec.tools_doc]
    assert code == ([c.name for c in CHECKS.code] if runs_code(spec) else [])


def test_the_teams_whose_code_or_tests_run_are_the_code_and_tests_owners() -> None:
    assert CODE_TEAMS == ["backend-engineering", "qa-engineering"]


@pytest.mark.parametrize(
    "sentence",
    [
        "Report confidence honestly; tests are syntax-checked, not run, at this stage.",
        "Report confidence honestly; note that code is syntax-checked, not executed.",
        "The application is not started and no tests run at this stage.",
        "It is never collected or run by pytest.",
    ],
)
def test_the_not_run_pattern_catches_the_old_sentences(sentence: str) -> None:
    assert NOT_RUN.search(sentence)


@pytest.mark.parametrize("slug", CODE_TEAMS)
def test_code_teams_are_not_told_their_files_are_not_run(slug: str) -> None:
    found = [m.group(0) for m in NOT_RUN.finditer(_told(slug))]
    assert not found, f"{slug} is told its files are not run ({found}); the sandbox runs them"
    assert "sandbox" in TEAMS[slug].tools_doc


@pytest.mark.parametrize("slug", sorted(TEAMS))
def test_no_placeholder_is_left_unfilled(slug: str) -> None:
    spec = TEAMS[slug]
    values = registry.identity_values(spec)
    for text in (spec.soul, spec.agents, spec.tools_doc):
        assert not [k for k in values if f"${k}" in text]
        assert "$$" not in text


def test_a_doubled_dollar_is_a_dollar() -> None:
    assert "`$ref`" in TEAMS["api-design"].tools_doc


@pytest.mark.parametrize("name", RENDERED_FILES)
def test_an_unknown_placeholder_fails_loading(tmp_path: Path, name: str) -> None:
    root = _copy(tmp_path)
    path = root / "qa-engineering" / name
    path.write_text(path.read_text(encoding="utf-8") + "\nAt most $max_artefacts files.\n")
    message = rf"qa-engineering/{re.escape(name)} uses unknown placeholder \$max_artefacts"
    with pytest.raises(TeamRegistryError, match=message):
        load_teams(root)


def test_a_stray_dollar_fails_loading(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    path = root / "api-design" / "TOOLS.md"
    path.write_text(path.read_text(encoding="utf-8") + "\nIt costs $5.\n")
    with pytest.raises(TeamRegistryError, match=r"api-design/TOOLS\.md is not a valid template"):
        load_teams(root)
