"""CLI exit codes that scripts rely on, without a database (the factory is faked)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from typer.testing import CliRunner

from devfactory import cli
from devfactory.cli import common
from devfactory.factory.facade import RunBusyError, RunReport
from devfactory.factory.intake import StartRequest
from devfactory.settings import get_settings
from devfactory.store.controls import HaltedError


class FakeFactory:
    def __init__(self, outcome: Any) -> None:
        self.outcome = outcome
        self.closed = False

    def start(self, asked: StartRequest, **kwargs: Any) -> RunReport:
        if isinstance(self.outcome, Exception):
            raise self.outcome
        return self.outcome

    def close(self) -> None:
        self.closed = True


@pytest.mark.parametrize(
    ("outcome", "code", "needle"),
    [
        (RunReport("r1", "COMPLETED", "", cli.Path("/tmp/o"), []), 0, "COMPLETED run r1"),
        (
            RunReport("r1", "FAILED", "stage x BLOCKED", cli.Path("/tmp/o"), []),
            1,
            "stage x BLOCKED",
        ),
        (RuntimeError("connection lost"), 5, "unexpected error: connection lost"),
        (RunBusyError("run r1 is driven by another process"), 7, "driven by another process"),
        (HaltedError("run r1 held: project shop is on hold"), 8, "held: project shop"),
    ],
)
def test_run_exit_codes(
    monkeypatch: pytest.MonkeyPatch, outcome: Any, code: int, needle: str
) -> None:
    fake = FakeFactory(outcome)
    monkeypatch.setattr(common, "open_factory", lambda settings: fake)
    result = CliRunner().invoke(cli.app, ["run", "A todo API"])
    assert result.exit_code == code, result.output
    assert needle in result.output
    assert fake.closed


class PausingFactory:
    """Pauses at governance; accepts only an approver's decision."""

    def __init__(self) -> None:
        from devfactory.control.hitl import make_pause
        from devfactory.control.policy import load_policy
        from devfactory.factory.facade import Pending

        self.pause = make_pause(load_policy(), "governance", title="HIGH risk", question="ok?")
        self.pending_item = Pending("r1", "abcdef0123", self.pause)
        self.decisions: list[Any] = []
        self.closed = False

    def start(self, asked: StartRequest, **kwargs: Any) -> RunReport:
        return RunReport(
            "r1", "PAUSED", "waiting", cli.Path("/tmp/o"), [], pending=(self.pending_item,)
        )

    def get(self, run_id: str) -> Any:
        return type("Row", (), {"pipeline": "mvp"})()

    def pending(self, run_id: str | None = None) -> list[Any]:
        return [self.pending_item]

    def answer(self, run_id: str, decision: Any, **kwargs: Any) -> RunReport:
        from devfactory.control.hitl import check_decision

        check_decision(self.pause, decision)
        self.decisions.append(decision)
        return RunReport("r1", "COMPLETED", "", cli.Path("/tmp/o"), [])

    def close(self) -> None:
        self.closed = True


def test_a_paused_run_exits_6_and_shows_the_question(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = PausingFactory()
    monkeypatch.setattr(common, "open_factory", lambda settings: fake)
    result = CliRunner().invoke(cli.app, ["run", "Store patient records"])
    assert result.exit_code == cli.EXIT_PAUSED == 6, result.output
    assert "PAUSED run r1" in result.output
    assert "HIGH risk" in result.output and "approver, admin" in result.output
    assert "--id abcdef01" in result.output  # how to answer names the question
    assert fake.closed


def test_approve_records_who_and_refuses_a_role_that_may_not(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake = PausingFactory()
    monkeypatch.setattr(common, "open_factory", lambda settings: fake)
    refused = CliRunner().invoke(
        cli.app, ["approve", "r1", "--id", "abcdef01", "--as", "bob", "--role", "viewer"]
    )
    assert refused.exit_code == 2
    assert "role 'viewer' may not answer a governance pause" in refused.output
    assert fake.decisions == []
    args = ["approve", "r1", "--id", "abcdef", "--as", "alice", "--role", "approver"]
    ok = CliRunner().invoke(cli.app, [*args, "--comment", "fine"])
    assert ok.exit_code == 0, ok.output
    assert (fake.decisions[0].by, fake.decisions[0].role, fake.decisions[0].text) == (
        "alice",
        "approver",
        "fine",
    )


def test_an_answer_must_name_the_question_it_answers(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = PausingFactory()
    monkeypatch.setattr(common, "open_factory", lambda settings: fake)
    unnamed = CliRunner().invoke(cli.app, ["approve", "r1", "--as", "alice", "--role", "admin"])
    assert unnamed.exit_code == cli.EXIT_USAGE == 2
    assert "name the question you answer with --id" in unnamed.output
    assert "--id abcdef01 (governance: HIGH risk)" in unnamed.output
    empty = CliRunner().invoke(cli.app, ["approve", "r1", "--id", "", "--as", "alice"])
    assert empty.exit_code == 2 and "name the question you answer with --id" in empty.output
    assert fake.decisions == [] and fake.closed


def test_on_a_terminal_run_asks_inline_and_resumes(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = PausingFactory()
    monkeypatch.setattr(common, "open_factory", lambda settings: fake)
    monkeypatch.setattr(common, "interactive", lambda enabled: enabled)  # as if on a terminal
    result = CliRunner().invoke(
        cli.app,
        ["run", "Store patient records", "--as", "carol", "--role", "admin"],
        input="modify\nStore appointment times only\n",
    )
    assert result.exit_code == 0, result.output
    assert "decision" in result.output and "new requirement" in result.output
    decision = fake.decisions[0]
    assert (decision.action, decision.text, decision.by, decision.role) == (
        "modify",
        "Store appointment times only",
        "carol",
        "admin",
    )
    later = CliRunner().invoke(cli.app, ["run", "Store patient records"], input="later\n")
    assert later.exit_code == cli.EXIT_PAUSED  # "later" leaves the run waiting
    no_input = CliRunner().invoke(cli.app, ["run", "Store patient records", "--no-input"])
    assert no_input.exit_code == cli.EXIT_PAUSED and "decision" not in no_input.output


class AuditFactory:
    """A factory whose audit log verifies as given."""

    def __init__(self, verification: Any) -> None:
        self.verification = verification
        self.closed = False

    def verify_audit(self, run_id: str) -> Any:
        return self.verification

    def close(self) -> None:
        self.closed = True


def test_audit_verify_names_the_broken_link_and_exits_1(monkeypatch: pytest.MonkeyPatch) -> None:
    from devfactory.memory.audit import Verification

    broken = AuditFactory(Verification("r1", 7, 4, "content does not match its hash"))
    monkeypatch.setattr(common, "open_factory", lambda settings: broken)
    result = CliRunner().invoke(cli.app, ["audit", "verify", "r1"])
    assert result.exit_code == 1
    assert "chain broken at event 4" in result.output
    assert "content does not match its hash" in result.output
    intact = AuditFactory(Verification("r1", 7))
    monkeypatch.setattr(common, "open_factory", lambda settings: intact)
    ok = CliRunner().invoke(cli.app, ["audit", "verify", "r1"])
    assert ok.exit_code == 0 and "chain intact: 7 events" in ok.output
    assert broken.closed and intact.closed


def test_an_invalid_setting_is_a_usage_error_not_a_traceback(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DEVFACTORY_RUN_CODE", "maybe")
    monkeypatch.setenv("DEVFACTORY_MAX_STAGE_ATTEMPTS", "999")
    get_settings.cache_clear()  # the process reads its settings once
    result = CliRunner().invoke(cli.app, ["list"])
    get_settings.cache_clear()
    assert result.exit_code == 2
    assert "invalid configuration" in result.output
    assert "run_code" in result.output and "max_stage_attempts" in result.output
    assert "Traceback" not in result.output


def test_the_help_names_every_exit_code() -> None:
    shown = CliRunner().invoke(cli.app, ["--help"], terminal_width=200).output
    assert "Exit codes:" in shown
    for code in (0, 1, 2, 3, 4, 5, 6, 7, 8, 130):
        assert f" {code} " in shown, code
    assert "8 the run is held" in " ".join(shown.split())


class RefusingSwitchboard:
    """The factory's own refusal, as its switchboard says it (the CLI should not get here)."""

    def unlock_sign_in(self, name: str, *, by: str, role: str, address: Any = None) -> int:
        from devfactory.control.overrides import check_admin

        check_admin(role, "unlock a sign-in")
        return 1


@pytest.mark.parametrize(
    ("people", "argv", "hints"),
    [
        (  # a person of the users file acts in its role: another of its people is the way
            {"ann": "admin", "olly": "operator"},
            ["--as", "olly"],
            ["olly is an operator in", "--as NAME (ann)"],
        ),
        (  # the default identity (the OS user, outside the file): a role, or a person
            {"ann": "admin", "olly": "operator"},
            [],
            ["acting as osuser in the role 'approver'", "--role admin", "--as NAME (ann)"],
        ),
        ({}, [], ["--role admin", "DEVFACTORY_OPERATOR_ROLE=admin"]),  # no users file
        (
            {"olly": "operator"},
            ["--as", "olly"],
            ["it lists no admin", "devfactory users add NAME --role admin"],
        ),
    ],
)
def test_users_unlock_refused_says_how_to_act_as_an_admin(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: cli.Path,
    people: dict[str, str],
    argv: list[str],
    hints: list[str],
) -> None:
    """Issue 58 item 13 (e): the refusal names the flag or setting that picks who acts."""
    from devfactory.users import UserStore

    monkeypatch.setenv("DEVFACTORY_DATA_DIR", str(tmp_path))
    for variable in ("DEVFACTORY_OPERATOR", "DEVFACTORY_OPERATOR_ROLE"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("USER", "osuser")
    monkeypatch.setenv("LOGNAME", "osuser")
    get_settings.cache_clear()
    store = UserStore(tmp_path / "users.yaml")
    for name, role in people.items():
        store.add(name, f"{name} has a long enough password 42", role)
    factory = type("Factory", (), {"switchboard": RefusingSwitchboard(), "close": lambda s: None})
    monkeypatch.setattr(common, "open_factory", lambda settings: factory())
    result = CliRunner().invoke(cli.app, ["users", "unlock", "alice", *argv])
    get_settings.cache_clear()
    assert result.exit_code == cli.EXIT_USAGE, result.output
    said = " ".join(result.output.split())
    assert "may not unlock a sign-in" in said
    for hint in hints:
        assert hint in said, said


def test_no_help_text_shows_the_docstrings_markup() -> None:
    """Every command's and option's help reads `x`, never RST's ``x``."""
    from typer.main import get_command

    from devfactory import cli

    def texts(command: Any, name: str) -> Iterator[tuple[str, str]]:
        yield name, command.help or ""
        for param in command.params:
            yield f"{name} {param.name}", getattr(param, "help", "") or ""
        if hasattr(command, "list_commands"):  # a group (typer may bring its own click)
            context = type(command).context_class(command)
            for sub in command.list_commands(context):
                found = command.get_command(context, sub)
                if found is not None:
                    yield from texts(found, sub if name == "devfactory" else f"{name} {sub}")

    found = list(texts(get_command(cli.app), "devfactory"))
    assert len(found) > 60  # every command was walked
    assert [where for where, text in found if "``" in text] == []
    models = dict(found)["models"]
    assert "`health_fresh_s`" in models  # the markup read, not dropped
