"""Standing decisions per project: pre-approvals, and budgets an admin set.

Pre-approvals let a project's unattended runs through governance (``devfactory
approve-project``); budgets are the caps its new runs get (the console's settings).

Both tables only grow: approving, revoking or setting caps adds a row, and a
project's newest row decides. Who may pre-approve is a rule of the policy
(``control/unattended.check_pre_approver``), checked before anything is stored.
"""

from __future__ import annotations

from typing import Any, Literal, cast

from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool

from devfactory.control.unattended import PreApproval
from devfactory.redact import redact
from devfactory.store.rows import fetch_all, fetch_one

ApprovalAction = Literal["approve", "revoke"]


class ProjectApprovals:
    """Read and add rows of ``devfactory_project_approvals``."""

    def __init__(self, pool: ConnectionPool) -> None:
        self.pool = pool

    def add(
        self, project: str, action: ApprovalAction, *, by: str, role: str, note: str = ""
    ) -> tuple[int, PreApproval]:
        """Record ``by``'s approval (or revocation) of ``project``; return its id and content."""
        row = fetch_one(
            self.pool,
            "INSERT INTO devfactory_project_approvals (project, action, approved_by, role,"
            " note) VALUES (%s, %s, %s, %s, %s) RETURNING id, at",
            (project, action, by, role, redact(note)[:2000]),
        )
        found = cast(dict[str, Any], row)
        kept = PreApproval(
            project=project, by=by, role=role, note=redact(note)[:2000], at=found["at"]
        )
        return int(found["id"]), kept

    def current(self, project: str) -> PreApproval | None:
        """Return the project's standing pre-approval: its newest row, unless that revokes it."""
        row = fetch_one(
            self.pool,
            "SELECT action, approved_by, role, note, at FROM devfactory_project_approvals"
            " WHERE project = %s ORDER BY id DESC LIMIT 1",
            (project,),
        )
        if row is None or row["action"] != "approve":
            return None
        return PreApproval(
            project=project, by=row["approved_by"], role=row["role"], note=row["note"], at=row["at"]
        )


class ProjectCaps:
    """Read and add rows of ``devfactory_project_caps``: budgets an admin set per project.

    Each row holds a project's run and project caps (``{"run": Caps, "project": Caps}``
    as JSON); the newest row decides.
    """

    def __init__(self, pool: ConnectionPool) -> None:
        self.pool = pool

    def add(self, project: str, caps: dict[str, Any], *, by: str, role: str) -> int:
        """Record ``by``'s caps for ``project``; return the row's id."""
        row = fetch_one(
            self.pool,
            "INSERT INTO devfactory_project_caps (project, caps, set_by, role)"
            " VALUES (%s, %s, %s, %s) RETURNING id",
            (project, Jsonb(caps), by, role),
        )
        return int(cast(dict[str, Any], row)["id"])

    def current(self, project: str) -> dict[str, Any] | None:
        """Return the caps set for ``project`` (None: none were, the settings decide)."""
        row = fetch_one(
            self.pool,
            "SELECT caps FROM devfactory_project_caps WHERE project = %s ORDER BY id DESC LIMIT 1",
            (project,),
        )
        return dict(row["caps"]) if row else None

    def every(self) -> list[dict[str, Any]]:
        """Return each project's newest caps row (project, caps, set_by, role, at)."""
        rows = fetch_all(
            self.pool,
            "SELECT DISTINCT ON (project) project, caps, set_by, role, at"
            " FROM devfactory_project_caps ORDER BY project, id DESC",
        )
        return [dict(r) for r in rows]
