"""ReDoc served with nothing from another host, and the service's favicon and front door.

``fastapi-offline`` carries Swagger UI's and ReDoc's files, but ReDoc's script
draws its "powered by" logo from its makers' host. The ReDoc page here loads a
copy of that script in which every image named by an absolute address is the
service's own favicon. ``/`` sends
a browser to the console, and ``/favicon.ico`` is a small file of the package.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Final

import fastapi_offline
from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_redoc_html
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response

from devfactory.api.auth import DOCS_ASSETS

REDOC_SCRIPT: Final = "/docs/redoc.js"
"""Where the ReDoc page loads its script (outside ``DOCS_ASSETS``, which the package serves)."""
FAVICON: Final = Path(__file__).resolve().parent / "console_static" / "favicon.png"
REMOTE_IMAGE: Final = re.compile(r"https?://[\w.-]+/[\w./-]+\.(?:svg|png|ico|gif|jpe?g)\b")
"""An image the script would fetch from another host."""
_REDOC = Path(fastapi_offline.__file__).resolve().parent / "static" / "redoc.standalone.js"

router = APIRouter(include_in_schema=False)


@cache
def redoc_script() -> str:
    """Return ReDoc's script with every image it names on another host read from this service.

    Raises:
        RuntimeError: the package's script names no such image any more (a new
            version): it may fetch something else from elsewhere, so look again.

    """
    script = _REDOC.read_text("utf-8")
    local, found = REMOTE_IMAGE.subn("/favicon.ico", script)
    if not found:
        raise RuntimeError(f"{_REDOC} names no image on another host now: check what it fetches")
    return local


@router.get("/redoc")
def redoc_page(request: Request) -> HTMLResponse:
    """Serve ReDoc's page: its script, the API's schema and its favicon, all from here."""
    return get_redoc_html(
        openapi_url=str(request.app.openapi_url),
        title=f"{request.app.title} - ReDoc",
        redoc_js_url=REDOC_SCRIPT,
        redoc_favicon_url=f"{DOCS_ASSETS}/favicon.png",
        with_google_fonts=False,
    )


@router.get(REDOC_SCRIPT)
def redoc_js() -> Response:
    """Serve ReDoc's script (the package's, its logo read from this service)."""
    return Response(
        redoc_script(),
        media_type="text/javascript; charset=utf-8",
        headers={"Cache-Control": "public, max-age=3600"},
    )


@router.get("/")
def front_door() -> RedirectResponse:
    """Send a browser to the console (it asks for a sign-in when there is none)."""
    return RedirectResponse("/console", status_code=307)


@router.get("/favicon.ico")
def favicon() -> FileResponse:
    """Serve the service's icon (a small PNG of the package)."""
    return FileResponse(
        FAVICON, media_type="image/png", headers={"Cache-Control": "public, max-age=86400"}
    )
