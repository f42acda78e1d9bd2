"""A refusal the factory raises is answered by its kind: an API status, a CLI exit code."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from devfactory.api import errors
from devfactory.cli import common
from devfactory.control.hitl import DecisionError, RoleRefusedError
from devfactory.control.incidents import IncidentError, IncidentNotFoundError
from devfactory.control.overrides import UnknownTeamError
from devfactory.factory.reads import RunNotFoundError
from devfactory.store.controls import HaltedError
from devfactory.store.runs_table import RunBusyError


def client_raising(exc: Exception) -> TestClient:
    app = FastAPI()
    errors.install(app)

    @app.get("/x")
    def raising() -> None:
        raise exc

    return TestClient(app, raise_server_exceptions=False)


@pytest.mark.parametrize(
    ("exc", "status"),
    [
        (RunNotFoundError("no run with id 'r9'"), 404),
        (DecisionError("no such choice"), 400),
        (RoleRefusedError("role 'viewer' may not approve"), 403),  # before its base's 400
        (IncidentNotFoundError("no incident 7"), 404),  # before its base's 409
        (IncidentError("incident 7 is closed already"), 409),
        (RunBusyError("run r9 is driven by worker-2"), 409),
        (HaltedError("the factory is stopped by ada: a leak"), 423),  # a RunBusyError, held
    ],
)
def test_a_refusal_is_answered_with_its_status_and_its_words(exc: Exception, status: int) -> None:
    answer = client_raising(exc).get("/x")
    assert answer.status_code == status
    assert answer.json() == {"error": {"status": status, "message": str(exc)}}


def test_an_error_that_is_no_refusal_stays_a_server_error() -> None:
    # a plain ValueError (a bug, not a refusal) is not taken for the caller's mistake
    assert client_raising(ValueError("bug")).get("/x").status_code == 500


@pytest.mark.parametrize(
    ("exc", "code"),
    [
        (RunNotFoundError("no run with id 'r9'"), common.EXIT_NOT_FOUND),
        (UnknownTeamError("no team 'bakend'"), common.EXIT_USAGE),  # a name given wrong
        (RunBusyError("run r9 is driven by worker-2"), common.EXIT_CONFLICT),
        (HaltedError("the factory is stopped by ada: a leak"), common.EXIT_HELD),
        (RoleRefusedError("role 'viewer' may not approve"), common.EXIT_USAGE),
    ],
)
def test_a_refusal_ends_a_command_with_its_exit_code_and_its_words(
    exc: Exception, code: int, capsys: pytest.CaptureFixture[str]
) -> None:
    exit_ = common.refused(exc)
    assert exit_ is not None and exit_.exit_code == code
    assert str(exc) in capsys.readouterr().err


def test_a_fault_ends_no_command_as_a_refusal() -> None:
    assert common.refused(ValueError("bug")) is None
