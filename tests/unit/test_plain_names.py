"""The command line refuses a name with a control or invisible character: exit 2, saying why."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from devfactory import cli
from devfactory.factory.intake import StartRequest
from devfactory.factory.reports import checked_name
from devfactory.settings import Settings
from devfactory.shown import name_problem, one_line
from devfactory.store.runs_table import RunInputError
from devfactory.users import UserError, UserStore

TODO = "A REST API for a personal todo list"
RUN = "20261123-051244-f67a09"


@pytest.mark.parametrize(
    "args",
    [
        ["submit", TODO, "--project", "shop\n## Incident 999: forged"],
        ["submit", TODO, "--pipeline", "mvp\u202e"],
        ["run", TODO, "--project", "shop\x1b[2J"],
        ["users", "add", "ann\n", "--password-stdin"],
        ["users", "remove", "ann\x00"],
        ["keys", "create", "ann\n", "--role", "viewer"],
        ["keys", "create", "ann\u202e", "--role", "viewer"],
        ["caps", "shop\nx", "--tokens", "5000", "--role", "admin"],
        ["project", "pause", "shop\x01", "--role", "admin"],
        ["team", "pause", "qa-engineering\n", "--role", "admin"],
        ["approve", RUN, "--as", "ann\nFORGED", "--id", "abcdef"],
        ["approve", RUN, "--id", "abc\x7fdef"],
        ["approve-project", "sh\u200bop", "--role", "approver"],
        ["status", RUN + "\u2066"],
        ["audit", "show", RUN + "\r"],
        ["graph", "--pipeline", "mvp\u2028"],
    ],
)
def test_the_command_line_refuses_such_names_with_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str]
) -> None:
    monkeypatch.setenv("DEVFACTORY_DATA_DIR", str(tmp_path))
    result = CliRunner().invoke(cli.app, args, input="a long enough password, surely\n")
    assert result.exit_code == 2, result.output
    assert "control or invisible character" in result.output
    assert not (tmp_path / "users.yaml").exists()  # nothing was written


def test_a_users_name_ending_in_a_newline_is_refused(tmp_path: Path) -> None:
    """The name pattern once matched ``ann\\n`` (``$`` matches before a final newline)."""
    store = UserStore(tmp_path / "users.yaml")
    for name in ("ann\n", "ann\nbob", "ann\u202e"):
        with pytest.raises(UserError, match="a name is"):
            store.add(name, "a long enough password, surely", "viewer")
        with pytest.raises(UserError, match="a name is"):
            store.create_key(name, "viewer")
    assert not (tmp_path / "users.yaml").exists()


@pytest.mark.parametrize(
    ("name", "found"),
    [
        ("shop\x00", "U+0000"),
        ("shop\tx", "U+0009"),
        ("shop\x85", "U+0085"),  # C1: next line
        ("shop\x7f", "U+007F"),
        ("\ufeffshop", "U+FEFF"),
        ("sh\u200dop", "U+200D"),
        ("shop\u2069", "U+2069"),
        ("shop\u061c", "U+061C"),
        ("shop\u2029", "U+2029"),
        ("shop\U000e0041", "U+E0041"),  # a tag character
    ],
)
def test_one_rule_says_which_character_a_name_may_not_hold(name: str, found: str) -> None:
    problem = name_problem(name, "the project")
    assert problem is not None and found in problem
    with pytest.raises(RunInputError, match=re.escape(found)):
        checked_name(name, "the project")


@pytest.mark.parametrize("name", ["shop", "café-ü 東京", "ops/eu-west", "a.b_c@d", "🚀 launch"])
def test_ordinary_names_in_any_script_are_taken(name: str) -> None:
    assert name_problem(name, "the project") is None
    assert checked_name(f" {name} ", "the project") == name


def test_one_line_writes_every_control_as_a_visible_escape() -> None:
    text = one_line("a\x1b[31mb\u202ec\nFAKE LINE\r\t\x00\x85\u200b\ufeff")
    assert text == "a\\x1b[31mb<U+202E>c\\nFAKE LINE\\r\\t\\x00\\x85<U+200B><U+FEFF>"
    assert text.isprintable()


def test_settings_bound_the_password_checks_at_once() -> None:
    for wrong in (0, 65):
        with pytest.raises(ValueError, match="password_checks_at_once"):
            Settings(password_checks_at_once=wrong)
    assert Settings(password_checks_at_once=64).service.password_checks_at_once == 64


@pytest.mark.parametrize(
    "args",
    [
        ["submit", TODO, "--project", "{name}"],
        ["run", TODO, "--project", "{name}"],
        ["caps", "{name}", "--tokens", "5000", "--role", "admin"],
        ["project", "pause", "{name}", "--role", "admin"],
        ["project", "resume", "{name}", "--role", "admin"],
        ["approve-project", "{name}", "--role", "approver"],
    ],
)
@pytest.mark.parametrize("length", [0, 121, 1000])
def test_a_project_name_the_api_could_not_take_is_refused_with_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], length: int
) -> None:
    """Issue 58 item 13 (b): the CLI takes a project's name as the API does: 1 to 120 chars."""
    from devfactory.api.schemas import RunRequest
    from devfactory.control.ceilings import MAX_PROJECT_CHARS

    limits = RunRequest.model_fields["project"].metadata
    assert any(getattr(m, "max_length", None) == MAX_PROJECT_CHARS == 120 for m in limits)
    monkeypatch.setenv("DEVFACTORY_DATA_DIR", str(tmp_path))
    argv = [a.replace("{name}", "p" * length) for a in args]
    result = CliRunner().invoke(cli.app, argv)
    assert result.exit_code == 2, result.output
    said = " ".join(result.output.split())
    assert f"1 to {MAX_PROJECT_CHARS} characters" in said and f"not {length:,}" in said, said
    assert not (tmp_path / "pg").exists()  # refused before any database was opened


def test_a_project_name_is_taken_to_the_api_s_cap_and_no_further(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 58 item 13 (b): the cap refuses no name the API takes, and every longer one."""
    from devfactory.cli import common

    taken: list[str] = []

    class Taking:
        def submit(self, asked: StartRequest, **kwargs: object) -> object:
            taken.append(asked.project)
            return type("Row", (), {"run_id": "r1", "shown_status": "QUEUED"})()

        def close(self) -> None:
            pass

    monkeypatch.setenv("DEVFACTORY_DATA_DIR", str(tmp_path))
    monkeypatch.setattr(common, "open_factory", lambda settings: Taking())
    result = CliRunner().invoke(cli.app, ["submit", TODO, "--project", "p" * 120])
    assert result.exit_code == 0, result.output
    over = CliRunner().invoke(cli.app, ["submit", TODO, "--project", "p" * 121])
    assert over.exit_code == 2, over.output
    assert taken == ["p" * 120]
