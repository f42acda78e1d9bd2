"""The service people drive.

The API and its workers, the console, the chat, and their sign-in (sessions,
throttling, trusted proxies, the origins a page may be framed by).

``Settings.service`` (``settings/__init__.py``): each field is given by its flat name,
``DEVFACTORY_<NAME>``, as every setting is.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator

from devfactory.settings.concern import Concern
from devfactory.webguard import check_origin, check_proxy


class ServiceSettings(Concern):
    """The service people drive."""

    # Workers (devfactory worker): the run queue and its watchdog.
    worker_poll_s: float = Field(default=5.0, gt=0, le=300)
    """How often an idle worker looks at the queue (a NOTIFY wakes it sooner)."""
    watchdog_interval_s: float = Field(default=15.0, gt=0, le=3600)
    """How often the watchdog requeues runs whose worker died."""
    api_host: str = "127.0.0.1"
    """Where `devfactory serve` listens."""
    api_port: int = Field(default=8080, ge=1, le=65535)
    """Where `devfactory serve` listens."""
    api_public_origin: str | None = None
    """The console's address as browsers open it (scheme://host[:port]); only forms on its pages
    may sign in and out. Default: the address each request was sent to (its Host header)."""
    api_events_poll_s: float = Field(default=5.0, gt=0, le=300)
    """How often a live event stream looks for new events without a NOTIFY."""
    api_finished_runs_kept: int = Field(default=256, ge=0, le=100_000)
    """How many finished runs' details (GET /runs/{id}) each `devfactory serve` process keeps
    rendered, served with no query until the database announces a change of the run; the least
    recently read goes first. 0: none are kept."""
    api_finished_run_kept_s: float = Field(default=300.0, gt=0, le=86_400)
    """The longest a finished run's detail is served as kept, should a change of it ever go
    unheard; then it is read again."""
    api_db_pool_size: int = Field(default=16, ge=2, le=100)
    """The most database connections one `devfactory serve` process holds; its routes run in
    threads, each holding one while it queries."""
    api_workers_max: int = Field(default=4, ge=1, le=64)
    """The most processes `devfactory serve --workers N` may start. Each holds up to
    api_db_pool_size + 3 database connections (its routes' pool, two for console sign-ins, one
    LISTEN) and its own password_checks_at_once: keep N times that under the database's
    max_connections and the machine's memory."""
    web_max_body_kb: int = Field(default=1024, ge=1, le=1_048_576)
    """The largest request body the API and the chat accept (KiB); 413 past it, refused before it
    is read."""
    web_frame_ancestors: tuple[str, ...] = ()
    """Origins (scheme://host[:port]) whose pages may show the chat and the API in a frame (JSON
    list in the environment); none by default, so no page can lay them under a decoy button."""
    trusted_proxies: tuple[str, ...] = Field(default=(), max_length=64)
    """Addresses or networks (10.0.0.0/8) of the reverse proxies in front of the API and the chat
    (JSON list in the environment): only a request from one of them may name its client in
    X-Forwarded-For (and its scheme in X-Forwarded-Proto). None by default: the address a
    connection comes from is the client's, whatever it sends."""
    chat_attachment_bytes: int = Field(
        default=20 * 1024 * 1024, ge=64 * 1024, le=1024 * 1024 * 1024
    )
    """Bytes of a finished run's files the chat attaches to its message in all; the files past it
    are named in the message, not attached."""

    # The chat (devfactory chat).
    chat_host: str = "127.0.0.1"
    """Where the chat listens."""
    chat_port: int = Field(default=8000, ge=1, le=65535)
    """Where `devfactory chat` listens."""
    users_file: Path | None = None
    """People who may sign in (default: <data_dir>/users.yaml)."""
    chat_header_auth: bool = False
    """Trust chat_header_user/role set by a proxy in front of the chat."""
    chat_header_user: str = "X-Forwarded-User"
    """The proxy's header naming the person (with `chat_header_auth`)."""
    chat_header_role: str = "X-Forwarded-Role"
    """The proxy's header naming their role (with `chat_header_auth`)."""
    chat_public_origin: str | None = None
    """The chat's address as browsers open it (scheme://host[:port]); only pages from it may call
    the chat. Default: http://<chat_host>:<chat_port>."""
    chat_session_minutes: int = Field(default=60, ge=1, le=7 * 24 * 60)
    """How long a chat sign-in lasts."""
    console_sessions_per_person: int = Field(default=10, ge=1, le=1000)
    """Console sign-ins one person may hold at once (browsers, devices); signing in past it ends
    their oldest."""
    chat_login_max_failures: int = Field(default=5, ge=1, le=100)
    """Wrong passwords for one name from one address (chat and console) before that name is
    locked at that address; others there may still sign in."""
    chat_login_flood_failures: int = Field(default=50, ge=2, le=10_000)
    """Wrong passwords from one address across names, or for one name across addresses, before
    the whole address, or the name everywhere, is locked (a flood)."""
    chat_login_window_s: int = Field(default=300, ge=1, le=86_400)
    """The window those failures are counted in."""
    chat_login_lockout_s: int = Field(default=60, ge=1, le=86_400)
    """How long a name's first lock at an address lasts; each next one lasts twice as long, up to
    chat_login_lockout_max_s."""
    chat_login_lockout_max_s: int = Field(default=3600, ge=1, le=86_400)
    """The longest sign-in lock, and how long a flood locks an address or a name; a name at an
    address starts afresh once quiet this long."""
    password_checks_at_once: int = Field(default=4, ge=1, le=64)
    """Password hashes a process works at once (each Argon2id check takes 64 MiB), in threads of
    their own: sign-ins never hold the threads other requests need."""
    password_checks_waiting: int = Field(default=16, ge=0, le=1024)
    """Sign-ins that may wait for a password check past password_checks_at_once; one more is
    refused at once (503, try again), never queued without bound."""
    chat_secret_recheck_s: float = Field(default=1.0, ge=0.1, le=60)
    """How old the chat's copy of its signing secret may grow before it reads the database again:
    a rotation ends every chat sign-in within this time."""
    chat_max_active_runs: int = Field(default=2, ge=1, le=32)
    """Runs the chat drives at once; more wait in line."""
    chat_group_rounds: int = Field(default=4, ge=1, le=12)
    """Turns in a group chat before the moderator sums up."""
    chat_history_turns: int = Field(default=8, ge=0, le=50)
    """Earlier turns a team sees in a direct chat."""

    @field_validator("web_frame_ancestors")
    @classmethod
    def _origins(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(check_origin(origin) for origin in value)

    @field_validator("api_public_origin")
    @classmethod
    def _api_origin(cls, value: str | None) -> str | None:
        return check_origin(value) if value else None

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(check_proxy(entry) for entry in value)

    def api_processes(self, workers: int) -> int:
        """Return ``workers`` if `devfactory serve` may start that many processes, else raise.

        Raises:
            ValueError: ``workers`` is under 1 or over ``api_workers_max``, saying why.

        """
        if workers < 1:
            raise ValueError(f"--workers {workers}: serve runs at least one process")
        if workers > self.api_workers_max:
            raise ValueError(
                f"--workers {workers} is over api_workers_max ({self.api_workers_max}): each "
                f"process holds up to {self.api_db_pool_size + 3} database connections; raise "
                "DEVFACTORY_API_WORKERS_MAX if the database and the memory have room"
            )
        return workers
