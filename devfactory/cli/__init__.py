"""The ``devfactory`` command line.

Exit codes: 0 run COMPLETED (or command succeeded), 1 run FAILED or REJECTED,
2 bad usage (or an answer the pause does not accept), 3 run not found,
4 environment problem (database or model unavailable, or a program the gates
run missing: ``checks/gate_tools.py``), 5 unexpected error
(traceback printed; the run can be resumed), 6 the run is PAUSED waiting for
a person (see ``devfactory pending``), 7 another process drives the run or
claimed it first, 8 the run is held (the emergency stop, or a hold or an incident
on its project; it waits in the queue), 130 interrupted by Ctrl-C (resume the run with
``devfactory resume``).
"""

from __future__ import annotations

import inspect
import logging
import os
import sys
import warnings
from pathlib import Path
from typing import Annotated

import typer

# The commands register themselves on import, in the order of the help panels.
# isort: off
from devfactory.cli import run_commands as runs  # noqa: F401
from devfactory.cli import demo  # noqa: F401
from devfactory.cli import people  # noqa: F401
from devfactory.cli import audit_commands as audit  # noqa: F401
from devfactory.cli import memory_commands as memory  # noqa: F401
from devfactory.cli import chat  # noqa: F401
from devfactory.cli import service_commands as service  # noqa: F401
from devfactory.cli import operations_commands as operations  # noqa: F401

# isort: on
from devfactory.cli.common import (
    EXIT_BUG,
    EXIT_CONFLICT,
    EXIT_ENV,
    EXIT_FAILED,
    EXIT_HELD,
    EXIT_INTERRUPTED,
    EXIT_NOT_FOUND,
    EXIT_PAUSED,
    EXIT_USAGE,
    LogFormat,
    app,
    fail,
    get_settings,
)


def _plain_help(commands: typer.Typer) -> None:
    """Write each command's help as a person reads it: ``x`` (the docstrings' markup) as `x`."""
    for info in commands.registered_commands:
        text = info.help if info.help is not None else inspect.getdoc(info.callback) or ""
        info.help = text.replace("``", "`")
    for group in commands.registered_groups:
        if group.typer_instance is not None:
            _plain_help(group.typer_instance)


_plain_help(app)

__all__ = [
    "EXIT_BUG",
    "EXIT_CONFLICT",
    "EXIT_ENV",
    "EXIT_FAILED",
    "EXIT_HELD",
    "EXIT_INTERRUPTED",
    "EXIT_NOT_FOUND",
    "EXIT_PAUSED",
    "EXIT_USAGE",
    "Path",
    "app",
]


@app.callback()
def main(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log INFO lines too.")] = False,
    log_format: Annotated[
        LogFormat | None,
        typer.Option(
            "--log-format",
            help="text, or json: one JSON object a line with its run, stage and team "
            "(default: the log_format setting).",
        ),
    ] = None,
) -> None:
    """Configure logging for every command, keep what it writes private, refuse non-UTF-8 args."""
    from pydantic import ValidationError

    from devfactory.logs import configure
    from devfactory.private_files import keep_private

    for arg in sys.argv[1:]:
        try:
            arg.encode("utf-8")
        except UnicodeEncodeError:
            shown = arg.encode("utf-8", "backslashreplace").decode("ascii", "replace")
            raise fail(f"an argument is not valid UTF-8: {shown[:80]}", EXIT_USAGE) from None
    try:
        get_settings()  # a bad setting is a usage error with the reason, never a traceback
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'settings'}: {e['msg']}" for e in exc.errors()
        )
        raise fail(
            f"invalid configuration (DEVFACTORY_* or the config file): {problems}"[:800], EXIT_USAGE
        ) from None
    # pgserver asks platformdirs for a runtime dir; its fallback warning is noise.
    warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
    settings = get_settings()
    fmt = settings.storage.log_format
    if log_format is not None:
        fmt = os.environ["DEVFACTORY_LOG_FORMAT"] = log_format.value  # and what it starts
    configure(fmt, level=logging.INFO if verbose else logging.WARNING)
    # before anything is written: what this process and all it starts make is ours alone
    keep_private(settings.storage.data_dir, settings.storage.runs_dir)
