"""INCIDENTS.md: a project's incidents as people read them, in the project's data folder.

An incident is appended when it opens (``opened_section``) and again when a
person decides it (``decided_section``). The record that counts is in Postgres
and the audit log; this file is for reading, so a file that cannot be written
is logged and the incident goes on. It is appended without following a link,
and every value a run gave is kept on its own line.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
from pathlib import Path

from devfactory.settings import Settings
from devfactory.shown import one_line
from devfactory.store.incidents_table import Incident

log = logging.getLogger(__name__)


def project_folder(settings: Settings, project: str) -> Path:
    """Return the project's data folder: ``<data_dir>/projects/<name>`` (a safe name).

    A name with characters a folder should not carry (a path separator, a
    leading dot) keeps its safe characters and gets a digest of the whole name,
    so two projects never share a folder and none escapes ``projects/``.
    """
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", project).lstrip(".") or "_"
    if safe != project:
        safe = f"{safe[:60]}-{hashlib.sha256(project.encode()).hexdigest()[:12]}"
    return settings.storage.data_dir / "projects" / safe


def append_text(path: Path, text: str) -> None:
    """Append ``text`` to ``path`` (made 0600 if new), never through a link.

    Raises OSError when the folder or the file is a link, or cannot be written.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    for part in (path.parent, path.parent.parent):
        if part.is_symlink():
            raise OSError(f"{part} is a link; nothing is written through it")
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(path, flags, 0o600)
    with os.fdopen(fd, "a", encoding="utf-8") as out:
        out.write(text)


def opened_section(incident: Incident) -> str:
    """Render an incident as INCIDENTS.md keeps it: one section per incident.

    Every value is written on its own line (``one_line``): a summary, an action
    or a name from a run cannot start a line of its own, so no section or
    incident can be forged inside another.
    """
    lines = [
        f"## Incident {incident.id}: {one_line(incident.trigger)}"
        f" ({incident.opened_at.isoformat()})",
        "",
        f"- Project: {one_line(incident.project)}",
        f"- Run: {one_line(incident.run_id or '-')}",
        f"- Summary: {one_line(incident.summary)}",
        f"- Spend since the last gate: {json.dumps(incident.spend.get('since_last_gate', {}))}",
        f"- Run's spend: {json.dumps(incident.spend.get('run', {}))}",
        "- Last actions:",
    ]
    lines += [
        "  - "
        + one_line(
            f"{a.get('at', '')} {a.get('kind', '')} by {a.get('actor', '')}: {a.get('what', '')}"
        )
        for a in incident.last_actions
    ] or ["  - (none recorded)"]
    return "\n".join(lines) + "\n\n"


def decided_section(incident: Incident) -> str:
    """Render a person's decision on an incident, appended below its section."""
    at = incident.decided_at.isoformat() if incident.decided_at else ""
    return (
        f"### Incident {incident.id} {one_line(incident.status)} ({at})\n\n"
        f"- By: {one_line(incident.decided_by)}\n- Decision: {one_line(incident.decision)}\n\n"
    )


def append_section(settings: Settings, project: str, text: str) -> None:
    """Append a section to ``project``'s INCIDENTS.md (titled when new); log why it was not."""
    path = project_folder(settings, project) / "INCIDENTS.md"
    try:
        fresh = not path.exists()
        title = f"# Incidents of project {one_line(project)}\n\n"
        append_text(path, (title if fresh else "") + text)
    except OSError as exc:  # the record is in Postgres and the audit log either way
        log.warning("INCIDENTS.md of project %s not written: %s", project, exc)
