"""Serve the API: ``python -m devfactory.api [--host H] [--port P]`` (``devfactory serve``)."""

from __future__ import annotations

import argparse
import logging

import uvicorn

from devfactory.api.app import create_app
from devfactory.logs import configure
from devfactory.settings import get_settings


def main() -> None:
    """Parse the address and serve until stopped."""
    settings = get_settings()
    parser = argparse.ArgumentParser(prog="devfactory serve")
    parser.add_argument("--host", default=settings.api_host)
    parser.add_argument("--port", type=int, default=settings.api_port)
    args = parser.parse_args()
    configure(settings.log_format, level=logging.INFO)
    # log_config=None: uvicorn's own lines go through the same handler, in the same format
    uvicorn.run(create_app(settings), host=args.host, port=args.port, log_config=None)


if __name__ == "__main__":
    main()
