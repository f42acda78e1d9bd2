"""What the factory refuses to do as asked, by kind: one table for the API and the CLI.

A refusal is the caller's to mend (a run that does not exist, one in a state that
does not allow the request, a decision the caller's role may not make, a value out
of range, a hold on the factory); the API answers each kind with its status and the
CLI exits with its code, whatever route or command it comes through. Any other
exception is a fault of the factory and stays one (a 500, a traceback).

Every class listed lives in a module that loads no run machinery (no graph, no
models), so that a read command refused (no such run) stays as light as its read.
"""

from __future__ import annotations

from enum import StrEnum

from devfactory.control.hitl import DecisionError, RoleRefusedError
from devfactory.control.incidents import IncidentError, IncidentNotFoundError
from devfactory.control.overrides import (
    OperationInputError,
    OperationsRefusedError,
    UnknownTeamError,
)
from devfactory.factory.reads import RunNotFoundError
from devfactory.pipelines import PipelineError
from devfactory.store.controls import HaltedError
from devfactory.store.runs_table import RunBusyError, RunInputError, RunStateError


class Refusal(StrEnum):
    """The kinds of refusal."""

    INVALID = "invalid"  # the request cannot be done as asked
    FORBIDDEN = "forbidden"  # the caller's role may not do it
    NOT_FOUND = "not found"  # no such run
    UNKNOWN = "unknown"  # no such team or incident
    STATE = "state"  # the run or incident is in a state that does not allow it
    BUSY = "busy"  # another process drives the run now
    HELD = "held"  # the emergency stop, or a hold on the run's project


# The most specific class listed wins (a RoleRefusedError is no mere DecisionError).
REFUSALS: dict[type[Exception], Refusal] = {
    PipelineError: Refusal.INVALID,
    RunInputError: Refusal.INVALID,
    DecisionError: Refusal.INVALID,
    OperationInputError: Refusal.INVALID,
    RoleRefusedError: Refusal.FORBIDDEN,
    OperationsRefusedError: Refusal.FORBIDDEN,
    RunNotFoundError: Refusal.NOT_FOUND,
    UnknownTeamError: Refusal.UNKNOWN,
    IncidentNotFoundError: Refusal.UNKNOWN,
    RunStateError: Refusal.STATE,
    IncidentError: Refusal.STATE,
    RunBusyError: Refusal.BUSY,
    HaltedError: Refusal.HELD,
}


def refusal(exc: BaseException) -> Refusal | None:
    """Return the kind of refusal ``exc`` is (None: it is no refusal, but a fault)."""
    return next((REFUSALS[kind] for kind in type(exc).__mro__ if kind in REFUSALS), None)
