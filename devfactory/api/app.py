"""The FastAPI app: the factory as a service (``devfactory serve``).

The app shares the factory with the CLI and the chat (one ``Factory`` per
process, opened in the lifespan) and never drives a run itself: runs are
queued for ``devfactory worker`` processes. Routes live in ``run_routes.py``
(runs, answers, pending), ``live_events.py`` (Server-Sent Events), ``records.py``
(files, audit, usage), ``info.py`` (teams, graphs, memory, health, metrics) and
``operation_routes.py`` (the emergency stop, held teams and projects, thresholds,
incidents).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI
from fastapi.concurrency import run_in_threadpool
from fastapi.staticfiles import StaticFiles
from fastapi_offline import FastAPIOffline

from devfactory.api import (
    console,
    console_pages,
    errors,
    info,
    records,
)
from devfactory.api import (
    docs_pages as docs,
)
from devfactory.api import (
    live_events as live,
)
from devfactory.api import (
    operation_routes as operations,
)
from devfactory.api import (
    run_routes as runs,
)
from devfactory.api.auth import DOCS_ASSETS, signed_gate
from devfactory.api.console_signin import ConsoleSessions
from devfactory.api.finished import FinishedRuns
from devfactory.api.live_events import Listener
from devfactory.control.policy import load_policy
from devfactory.factory.facade import Factory
from devfactory.settings import Settings, get_settings
from devfactory.store.db import open_pool
from devfactory.store.sessions import SessionStore
from devfactory.users import UserStore
from devfactory.webguard import BodyLimit, SecurityHeaders

LEGACY_CONSOLE_SECRET = "console-secret"  # under the data directory; removed at start
DESCRIPTION = """\
Submit requirements, follow runs live, answer what they wait on, and fetch what
they built. Send an API key as a bearer token (`devfactory keys create NAME
--role ROLE`); the key's person and role decide what each route allows. Runs
execute in `devfactory worker` processes, never in the API.
"""


def create_app(settings: Settings | None = None, *, factory: Factory | None = None) -> FastAPI:
    """Build the app; ``factory`` (else one opened from ``settings``) serves it."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        own = factory is None
        app.state.factory = factory or await run_in_threadpool(Factory, settings)
        if own:  # the API's routes run in threads: enough connections for them to query at once
            app.state.factory.pool.resize(min_size=2, max_size=settings.service.api_db_pool_size)
        # console sign-ins are looked up at the edge, on the event loop: a pool of their
        # own, so that a lookup never waits behind the routes' threads for a connection
        wait_s = settings.storage.database_connect_timeout_s
        sign_ins = await run_in_threadpool(
            open_pool, app.state.factory.dsn, max_size=2, timeout=wait_s
        )
        app.state.session_store = SessionStore(sign_ins, wait_s=wait_s)
        # earlier versions signed console cookies with a key kept in this file; nothing
        # reads it any more, and a copy of it must not outlive the version that trusted it
        (settings.storage.data_dir / LEGACY_CONSOLE_SECRET).unlink(missing_ok=True)
        app.state.listener = Listener(app.state.factory.dsn, app.state.finished)
        app.state.listener.start()
        try:
            yield
        finally:
            await app.state.listener.stop()
            await run_in_threadpool(sign_ins.close)
            if own:
                await run_in_threadpool(app.state.factory.close)

    # Swagger UI and ReDoc from assets the package carries (no CDN: /docs works offline)
    app = FastAPIOffline(
        title="devfactory",
        version="0.1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        dependencies=[Depends(errors.no_nul)],
        static_url=DOCS_ASSETS,
        redoc_url=None,  # docs.py serves ReDoc, its logo from here rather than a CDN
        swagger_ui_parameters={"validatorUrl": None},  # no badge fetched from swagger.io
    )
    app.state.settings = settings
    app.state.users = UserStore.of(settings)
    app.state.finished = FinishedRuns(  # served only while the lifespan's listener hears
        settings.service.api_finished_runs_kept, settings.service.api_finished_run_kept_s
    )
    # The edge, outermost last: every response refuses framing; a body past the cap, or
    # any request without a valid key, is refused before its body is read.
    max_body = settings.service.web_max_body_kb * 1024
    # the console signs people in with the chat's users file and session length; each
    # sign-in is a row of the database (revocable), opened in the lifespan above
    app.state.console_sessions = ConsoleSessions(
        app.state.users,
        store=lambda: app.state.session_store,
        lifetime_s=settings.service.chat_session_minutes * 60.0,
        per_person=settings.service.console_sessions_per_person,
    )
    gate = signed_gate(app.state.users, app.state.console_sessions)
    app.add_middleware(BodyLimit, max_bytes=max_body, gate=gate)
    app.add_middleware(SecurityHeaders, frame_ancestors=settings.service.web_frame_ancestors)
    app.state.policy = load_policy(settings.runs.policy_file)
    errors.install(app)
    for module in (runs, live, records, info, console, operations):
        app.include_router(module.router)
    app.include_router(console_pages.pages)
    app.include_router(docs.router)
    app.mount("/console/static", StaticFiles(directory=console_pages.STATIC), name="console-static")
    return app
