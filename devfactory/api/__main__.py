"""Serve the API: ``python -m devfactory.api [--host H] [--port P] [--workers N]``.

``devfactory serve`` runs it. With ``--workers N`` over 1, uvicorn's own
supervisor binds the address once and starts N processes that accept on it;
each builds its app (``served``) with its own factory, database pool and event
listener. Nothing a request depends on is kept in one process only: sessions,
sign-in throttles, runs and events are in Postgres, API keys in the users file
(re-read when it changes), and the operator's controls are re-read every
``operations_cache_s``.

Only the ``trusted_proxies`` may name a client in ``X-Forwarded-For`` (none by
default; uvicorn's own default trusts 127.0.0.1): the address sign-in failures
are counted under is the peer's, never one the client picked.
"""

from __future__ import annotations

import argparse
import logging

import uvicorn
from fastapi import FastAPI

from devfactory.api.app import create_app
from devfactory.logs import configure
from devfactory.private_files import keep_private
from devfactory.settings import get_settings
from devfactory.webguard import forwarded_allow_ips

APP_FACTORY = "devfactory.api.__main__:served"
"""What each server process imports and calls to build its app."""
ANY_ADDRESS = ("0.0.0.0", "::", "")  # served on every address: shown as this machine's
log = logging.getLogger("devfactory.api")


def served() -> FastAPI:
    """Build the app one server process serves: its files private, its log lines the factory's."""
    settings = get_settings()
    configure(settings.storage.log_format, level=logging.INFO)
    keep_private(
        settings.storage.data_dir, settings.storage.runs_dir
    )  # before the app writes anything
    return create_app(settings)


def console_url(host: str, port: int) -> str:
    """Return the address a person opens the console at, for a server on ``host``:``port``."""
    shown = "127.0.0.1" if host in ANY_ADDRESS else host
    if ":" in shown:  # an IPv6 address is written in brackets
        shown = f"[{shown}]"
    return f"http://{shown}:{port}/console"


def main() -> None:
    """Parse the address and the processes, and serve until stopped."""
    settings = get_settings()
    parser = argparse.ArgumentParser(prog="devfactory serve")
    parser.add_argument("--host", default=settings.service.api_host)
    parser.add_argument("--port", type=int, default=settings.service.api_port)
    parser.add_argument("--workers", type=int, default=1, help="server processes")
    args = parser.parse_args()
    try:
        workers = settings.service.api_processes(args.workers)
    except ValueError as exc:
        parser.error(str(exc))
    configure(settings.storage.log_format, level=logging.INFO)
    url = console_url(args.host, args.port)
    docs = url.removesuffix("console") + "docs"
    log.info("the console: %s (the API's documentation: %s)", url, docs)
    # log_config=None: uvicorn's own lines go through the same handler, in the same format
    uvicorn.run(
        APP_FACTORY,
        factory=True,
        host=args.host,
        port=args.port,
        workers=workers,
        log_config=None,
        proxy_headers=bool(settings.service.trusted_proxies),
        forwarded_allow_ips=forwarded_allow_ips(settings.service.trusted_proxies),
    )


if __name__ == "__main__":
    main()
