"""The console's pages: its HTML under a policy that runs only its own scripts, and sign-in.

The pages (``console_static/``: HTML, one script, one stylesheet, and DOMPurify
vendored under ``vendor/`` with its version and SHA-256 recorded; nothing from
another host) hold no data: what they show comes from the API's routes and
``console.py``'s, with the sign-in cookie. Every page is served with
``PAGE_POLICY``, a Content-Security-Policy that runs only the console's own
script files: no inline script, no handler attribute, no ``javascript:`` URL,
whatever a page came to hold. A person signs in with the users file's name and
password, throttled per name and address like the chat, the password checked
in threads of its own (``users.PasswordChecks``: a flood of sign-ins is refused
with 503, never holds the threads the API's routes need); the sign-in is a row
of the database (``console_signin.py``), which signing out deletes.

Signing in and out are refused (403) unless the form was posted from a page of
the console's own origin (``api_public_origin``, else the address the request
was sent to), by the rule the chat applies to every request
(``webguard.cross_origin``): another site's page can neither sign a browser in
as someone else (login CSRF) nor sign it out.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, Final
from urllib.parse import parse_qs

import psycopg
from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from psycopg_pool import PoolTimeout

from devfactory.api.auth import users
from devfactory.api.console_signin import COOKIE, ConsoleSessions
from devfactory.api.run_routes import factory_of
from devfactory.control.signin_throttle import LockedError, SignInThrottle
from devfactory.store.signins import throttle as signin_throttle
from devfactory.users import BusyError
from devfactory.webguard import cross_origin, origin_of

log = logging.getLogger(__name__)
STATIC = Path(__file__).resolve().parent / "console_static"
PAGE_POLICY: Final = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'"
)
"""The Content-Security-Policy of every console page (the edge adds ``frame-ancestors``).

Scripts run only from the console's own files (``console.js``, ``signin.js`` and the
vendored DOMPurify): an inline script, an ``on...`` attribute or a ``javascript:`` URL
that reached a page never runs. Styles come only from ``console.css`` (the script
sizes bars through the CSSOM, which the policy allows); the run graph Graphviz draws
colours its shapes with presentation attributes, which no policy governs.
"""


class ConsolePage(APIRoute):
    """A route of the console's pages: its every response carries ``PAGE_POLICY``."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        """Wrap the route's handler so that what it answers carries the page policy."""
        handler = super().get_route_handler()

        async def with_policy(request: Request) -> Response:
            response = await handler(request)
            response.headers.setdefault("Content-Security-Policy", PAGE_POLICY)
            return response

        return with_policy


pages = APIRouter(include_in_schema=False, route_class=ConsolePage)
MAX_FORM = 4096  # the largest sign-in form read


def sessions(request: Request) -> ConsoleSessions:
    """Return the app's console sessions."""
    found: ConsoleSessions = request.app.state.console_sessions
    return found


def _throttle(request: Request) -> SignInThrottle:
    found = getattr(request.app.state, "console_throttle", None)
    if found is None:
        settings = request.app.state.settings
        found = signin_throttle(settings, factory_of(request).pool)
        request.app.state.console_throttle = found
    return found


def console_origins(request: Request) -> frozenset[str]:
    """Return the origins whose pages may sign in and out of the console.

    ``api_public_origin`` when it is set; otherwise the origin the request was
    sent to (its scheme and ``Host``), which a browser posting another site's
    form cannot choose: it sends the address the form posts to.
    """
    settings = getattr(request.app.state, "settings", None)
    public = settings.service.api_public_origin if settings is not None else None
    if public:
        return frozenset({public})
    host = request.headers.get("host")
    try:
        return frozenset({origin_of(f"{request.url.scheme}://{host}")}) if host else frozenset()
    except ValueError:
        return frozenset()


def _refused(request: Request, action: str) -> Response | None:
    """Return the 403 that refuses ``action`` from another origin's page, or None."""
    why = cross_origin(request.scope, console_origins(request), form=True)
    if why is None:
        return None
    message = f"{action} refused: only a form on the console's own pages may do it ({why})"
    log.warning("console: %s", message)
    return JSONResponse({"error": {"status": 403, "message": message}}, 403)


@pages.get("/console")
@pages.get("/console/")
def console_page() -> FileResponse:
    """Serve the console (it signs in on its own page when there is no sign-in)."""
    return FileResponse(STATIC / "console.html", headers={"Cache-Control": "no-store"})


@pages.get("/console/signin")
def signin_page() -> FileResponse:
    """Serve the sign-in form."""
    return FileResponse(STATIC / "signin.html", headers={"Cache-Control": "no-store"})


def _back_to_signin(problem: str, wait_s: float | None = None) -> RedirectResponse:
    wait = f"&wait={int(wait_s)}" if wait_s is not None else ""
    return RedirectResponse(f"/console/signin?problem={problem}{wait}", status_code=303)


@pages.post("/console/signin")
async def sign_in(request: Request) -> Response:
    """Check a name and password from the form; on success set the sign-in cookie.

    A refusal goes back to the form with why: ``wrong``, ``locked`` (with ``wait``,
    the seconds the lock still lasts) or ``unavailable`` (the database is down).
    A form posted from another origin's page is refused (403), and a sign-in
    past the password checks' places (``BusyError``) at once (503), counted nowhere.
    """
    refused = _refused(request, "signing in")
    if refused is not None:
        return refused
    body = await request.body()
    if len(body) > MAX_FORM:
        return _back_to_signin("form")
    form = parse_qs(body.decode("utf-8", errors="replace"), max_num_fields=4)
    name = (form.get("name") or [""])[0].strip()[:120]
    password = (form.get("password") or [""])[0][:1000]
    if not name or not password:
        return _back_to_signin("empty")
    throttle = _throttle(request)
    # the peer, or the client a trusted proxy names (uvicorn's forwarded_allow_ips)
    address = request.client.host if request.client else "unknown"
    try:
        person = await users(request).check_sign_in(name, password, address, throttle)
        if person is None:
            return _back_to_signin("wrong")
        found = sessions(request)
        token = await run_in_threadpool(found.issue, person)
    except BusyError as exc:
        wait = str(exc.retry_after_s)
        said = {"error": {"status": 503, "message": f"signing in refused for now: {exc}"}}
        return JSONResponse(said, 503, headers={"Retry-After": wait})
    except LockedError as exc:
        return _back_to_signin("locked", exc.retry_after_s)
    except (psycopg.Error, PoolTimeout) as exc:
        log.warning("console: sign-in unavailable: %s", type(exc).__name__)
        return _back_to_signin("unavailable")
    done = RedirectResponse("/console", status_code=303)
    done.set_cookie(
        COOKIE,
        token,
        max_age=int(found.lifetime_s),
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
    )
    log.info("console: %s signed in (%s)", person.name, person.role)
    return done


@pages.post("/console/signout")
async def sign_out(request: Request) -> Response:
    """End the sign-in the cookie stands for, in the database, and forget the cookie.

    The sign-in ends for good: a copy of the cookie kept elsewhere no longer works.
    A form posted from another origin's page is refused (403): the sign-in stands.
    """
    refused = _refused(request, "signing out")
    if refused is not None:
        return refused
    token = request.cookies.get(COOKIE)
    if token:
        ended = await run_in_threadpool(sessions(request).end, token)
        if ended:
            log.info("console: a sign-in ended (signed out)")
    done = RedirectResponse("/console/signin", status_code=303)
    done.delete_cookie(
        COOKIE,
        path="/",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return done
