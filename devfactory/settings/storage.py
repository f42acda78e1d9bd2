"""Where the factory keeps its state.

The data directory and the runs' folders, Postgres, the audit chain's key and
anchors, what is kept how long, the run files' bounds and the log's format.

``Settings.storage`` (``settings/__init__.py``): each field is given by its flat name,
``DEVFACTORY_<NAME>``, as every setting is.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, model_validator

from devfactory.settings.concern import Concern


class StorageSettings(Concern):
    """Where the factory keeps its state."""

    data_dir: Path = Path.home() / ".devfactory"
    """Where the factory keeps its state: the embedded Postgres, the joined models, the users
    file, the audit key, the runs' folders."""
    runs_dir: Path | None = None
    """Where each run's folder is made, as <runs_dir>/<run-id> (default: <data_dir>/runs, so the
    API, the workers and the chat that share the data directory see the same files); a run's own
    folder (--out) wins."""
    database_url: str | None = Field(
        default=None, validation_alias=AliasChoices("DATABASE_URL", "DEVFACTORY_DATABASE_URL")
    )
    """Postgres with pgvector (postgresql://user:pass@host:5432/db); unset, the factory starts
    its own in <data_dir>/pg."""
    database_connect_timeout_s: float = Field(default=5.0, ge=1.0, le=120.0)
    """How long to wait for Postgres to answer."""
    database_prepare_wait_s: float = Field(default=120.0, ge=1.0, le=3600.0)
    """How long a starting process waits while another migrates the database."""
    database_app_password: str | None = None
    """Password of the restricted role the factory runs as (default: kept in
    <data_dir>/db-app-secret)."""
    # The audit chain's key and anchors live outside the database.
    audit_key: str | None = None
    """The audit chain's HMAC key itself (default: read from audit_key_file)."""
    audit_key_file: Path | None = None
    """The file holding the audit chain's HMAC key, made on first use (default:
    <data_dir>/audit.key)."""
    audit_anchor_dir: Path | None = None
    """Where chain heads are anchored (default: <data_dir>/audit)."""
    run_file_max_bytes: int = Field(default=10 * 1024 * 1024, ge=64 * 1024, le=1024 * 1024 * 1024)
    """The largest file of a run's folder a reader takes whole (the API's download, a file the
    chat attaches, the run.json a purge checks); larger ones are refused (413 over the API)."""
    run_files_listed: int = Field(default=10_000, ge=100, le=1_000_000)
    """Entries (files, folders, links) a listing of a run's folder looks at before it stops and
    says there are more."""
    retention_days: float = Field(default=0, ge=0, le=36500)
    """Days after which the watchdog archives a finished run (0: never); an admin may then purge
    its checkpoints, live events and folder (devfactory purge)."""

    log_format: Literal["text", "json"] = "text"
    """'text' log lines for people, or 'json': one JSON object a line, with the run, stage, team
    and step it is about (devfactory --log-format)."""

    @model_validator(mode="after")
    def _expand(self) -> StorageSettings:
        object.__setattr__(self, "data_dir", self.data_dir.expanduser().resolve())
        if self.runs_dir is not None:
            object.__setattr__(self, "runs_dir", self.runs_dir.expanduser().resolve())
        return self

    def run_folder(self, run_id: str) -> Path:
        """Return the folder a run gets when it is given none (``runs_dir``/<run-id>)."""
        return (self.runs_dir or self.data_dir / "runs") / run_id
