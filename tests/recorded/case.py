"""The recorded cases and how they are run: one place for the recordings and their replays.

A run is the evaluation's run of a dev case (``eval/factory.py``): the ``lean``
pipeline, unattended, no review, memory and incidents off, code run in the
sandbox. ``fact_memory`` is off too, so no model call waits in a background
queue and the calls come in one order.

Both runs of a case live in a fresh ``recorded-run-*`` directory of the system's
temporary directory (``scratch``), as the run's sandbox workspace does: tools
print paths relative to the workspace (pytest's tracebacks), and the factory cuts
long output to a length, so only places laid out alike give the same text.
"""

from __future__ import annotations

import platform
import shutil
import sys
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from devfactory.factory.facade import Factory
from devfactory.factory.intake import StartRequest
from devfactory.factory.reports import RunReport
from devfactory.models.router import ModelSource
from devfactory.settings import FlatSettings, Settings
from eval.catalog import Case, load_cases
from tests.recorded.tape import RUN_ID, Outcome, Recording

# dev cases (never held-out ones), small: one function, then a parser and three functions
CASES = ("lib-textslug", "cli-caesar")
PIPELINE = "lean"
PROJECT = "eval"

OVERRIDES: dict[str, Any] = {
    "unattended": True,
    "review_required": False,
    "memory_enabled": False,
    "incidents_enabled": False,
    "fact_memory": False,
    "run_code": True,
    "model_chain": "embedded",
    # the prose facts' model call, as the evaluation makes it (the tests' settings turn it off)
    "prose_fact_calls": FlatSettings.model_fields["prose_fact_calls"].default,
    # recorded when behaviour tests were asked for as literals in strings: replayed as recorded
    "behaviour_test_values": "literal",
}

# settings that say where a run lives or how fast the machine decodes, not what it does
PLACE_SETTINGS = frozenset(
    {
        "data_dir",
        "runs_dir",
        "database_url",
        "database_app_password",
        "audit_key",
        "audit_key_file",
        "audit_anchor_dir",
        "sandbox_cache_dir",
        "users_file",
        "ollama_host",
        "probe_timeout_s",
        "embedded_threads",
    }
)


def the_case(case_id: str) -> Case:
    """Return the case ``case_id``; it must be a dev case.

    Raises:
        ValueError: it is a held-out case.

    """
    [case] = load_cases([case_id])
    if case.split != "dev":
        raise ValueError(f"{case_id} is a {case.split} case: only dev cases may be recorded")
    return case


@contextmanager
def scratch() -> Iterator[Path]:
    """Yield a fresh ``recorded-run-*`` directory in the temporary directory; remove it after.

    Readable by others (0755): run as root, pgserver's own user must reach a
    Postgres data directory made in it.
    """
    folder = Path(tempfile.mkdtemp(prefix="recorded-run-"))
    folder.chmod(0o755)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def interpreter() -> dict[str, str]:
    """Return this interpreter's version and installation (the sandbox's Python is the same).

    A run whose tests fail inside Python's own modules shows their paths and line
    numbers in its prompts and files: replaying it needs the same interpreter.
    """
    return {"python": platform.python_version(), "prefix": sys.base_prefix}


def replayable_here(recording: Recording) -> str:
    """Say why ``recording`` cannot be replayed with this interpreter ("" when it can)."""
    recorded = recording.meta["interpreter"]
    if recorded == interpreter():
        return ""
    texts = [t for c in recording.calls for _, t in c.sent.messages]
    if not any(recorded["prefix"] in t for t in [*texts, *recording.artifacts.values()]):
        return ""  # nothing it sent or wrote names the interpreter
    return (
        f"recorded with Python {recorded['python']} at {recorded['prefix']}, whose paths and "
        f"line numbers its prompts quote; this is Python {interpreter()['python']} at "
        f"{sys.base_prefix}"
    )


def case_settings(base: Settings) -> Settings:
    """Return ``base`` with the settings the recorded run was made with."""
    return base.with_overrides(**OVERRIDES)


SIGN_IN_PREFIX = "chat_login_"
"""The sign-in settings (chat and console): they decide who may sign in, nothing a run does."""


def behaviour(settings: Settings) -> dict[str, Any]:
    """Return the settings that decide what a run does (places and sign-in left out), as JSON."""
    dumped = settings.flat(mode="json")
    return {
        k: v
        for k, v in dumped.items()
        if k not in PLACE_SETTINGS and not k.startswith(SIGN_IN_PREFIX)
    }


def settings_difference(recorded: Mapping[str, Any], settings: Settings) -> dict[str, Any]:
    """Return ``{name: (recorded, now)}`` for each setting both know that differs."""
    now = behaviour(settings)
    return {k: (recorded[k], now[k]) for k in recorded.keys() & now.keys() if recorded[k] != now[k]}


def run_case(case_id: str, settings: Settings, models: ModelSource, out_dir: Path) -> RunReport:
    """Run a case through the factory with ``models`` into ``out_dir``, as the eval runs it."""
    case = the_case(case_id)
    with Factory(settings, models=models) as factory:
        return factory.start(
            StartRequest(
                case.requirement, pipeline=PIPELINE, project=PROJECT, out_dir=out_dir, run_id=RUN_ID
            )
        )


def outcome_of(report: RunReport) -> Outcome:
    """Return how a run ended."""
    return Outcome(
        status=report.status,
        reason=report.reason,
        stages=[(r.team, r.outcome.value) for r in report.records],
    )
