"""What the read commands print with ``--json``: one JSON document on stdout.

Each command's help names its fields; records, models, times and paths are
written as plain values (``plain``).
"""

from __future__ import annotations

import dataclasses
import json
import sys
from datetime import date
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypedDict

import typer

if TYPE_CHECKING:
    from devfactory.store.runs_table import RunRow

ReadJsonOption = Annotated[
    bool,
    typer.Option(
        "--json", help="Print JSON on stdout instead (its fields are in the command's help)."
    ),
]


def print_json(doc: Any) -> None:
    """Write ``doc`` as JSON on stdout: records, models, times and paths as plain values."""
    sys.stdout.write(json.dumps(doc, indent=2, default=plain) + "\n")


def plain(value: Any) -> Any:
    """Return a value ``json`` cannot write as one it can (``print_json``)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON")


class RunDocument(TypedDict):
    """One run as ``list --json`` prints it."""

    run_id: str
    status: str
    project: str
    pipeline: str
    owner: str
    created_at: str
    updated_at: str
    reason: str
    out_dir: str
    requirement: str


def run_document(row: RunRow) -> RunDocument:
    """Describe a run as ``list --json`` prints it."""
    return {
        "run_id": row.run_id,
        "status": row.shown_status,
        "project": row.project,
        "pipeline": row.pipeline,
        "owner": row.owner,
        "created_at": row.created_at.isoformat(),
        "updated_at": row.updated_at.isoformat(),
        "reason": row.reason,
        "out_dir": row.out_dir,
        "requirement": row.requirement,
    }


def status_document(row: Any, report: Any, transitions: list[Any]) -> dict[str, Any]:
    """Describe a run as ``status --json`` prints it."""
    from devfactory.control.budget import Spend
    from devfactory.factory.reports import report_document

    gov = report.shown.governance
    return {
        **report_document(report, Spend.model_validate(row.spend or {})),
        "requirement": row.requirement,
        "project": row.project,
        "pipeline": row.pipeline,
        "owner": row.owner,
        "created_at": row.created_at.isoformat(),
        "updated_at": row.updated_at.isoformat(),
        "unattended": report.shown.unattended,
        "next_stages": list(report.next_stages),
        "governance": gov.model_dump(mode="json") if gov is not None else None,
        "notices": list(report.shown.notices.values()),
        "transitions": [
            {
                "at": t.at.isoformat() if t.at else None,
                "from": t.from_phase.value,
                "to": t.to_phase.value,
                "by": t.actor,
                "why": t.reason,
            }
            for t in transitions
        ],
    }
