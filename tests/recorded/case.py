"""The recorded case and how it is run: one place for the recording and its replay.

The run is the evaluation's run of a dev case (``eval/factory.py``): the
``lean`` pipeline, unattended, no review, memory and incidents off, code run in
the sandbox. ``fact_memory`` is off too, so no model call waits in a background
queue and the calls come in one order.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from devfactory.models.router import ModelSource
from devfactory.reports import RunReport
from devfactory.runner import Factory
from devfactory.settings import Settings
from eval.catalog import Case, load_cases
from tests.recorded.tape import RUN_ID, Outcome

CASE = "lib-textslug"  # a dev case (never a held-out one) with one function to build
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


def the_case() -> Case:
    """Return the recorded case; it must be a dev case."""
    [case] = load_cases([CASE])
    if case.split != "dev":
        raise ValueError(f"{CASE} is a {case.split} case: only dev cases may be recorded")
    return case


def case_settings(base: Settings) -> Settings:
    """Return ``base`` with the settings the recorded run was made with."""
    return base.with_overrides(**OVERRIDES)


def behaviour(settings: Settings) -> dict[str, Any]:
    """Return the settings that decide what a run does (the places left out), as JSON."""
    dumped = settings.model_dump(mode="json")
    return {k: v for k, v in dumped.items() if k not in PLACE_SETTINGS}


def settings_difference(recorded: Mapping[str, Any], settings: Settings) -> dict[str, Any]:
    """Return ``{name: (recorded, now)}`` for each setting both know that differs."""
    now = behaviour(settings)
    return {k: (recorded[k], now[k]) for k in recorded.keys() & now.keys() if recorded[k] != now[k]}


def run_case(settings: Settings, models: ModelSource, out_dir: Path) -> RunReport:
    """Run the case through the factory with ``models`` into ``out_dir``, as the eval runs it."""
    case = the_case()
    with Factory(settings, models=models) as factory:
        return factory.start(
            case.requirement, pipeline=PIPELINE, project=PROJECT, out_dir=out_dir, run_id=RUN_ID
        )


def outcome_of(report: RunReport) -> Outcome:
    """Return how a run ended."""
    return Outcome(
        status=report.status,
        reason=report.reason,
        stages=[(r.team, r.outcome.value) for r in report.records],
    )
