"""Serve the API: ``python -m devfactory.api [--host H] [--port P]`` (``devfactory serve``)."""

from __future__ import annotations

import argparse

import uvicorn

from devfactory.api.app import create_app
from devfactory.settings import get_settings


def main() -> None:
    """Parse the address and serve until stopped."""
    settings = get_settings()
    parser = argparse.ArgumentParser(prog="devfactory serve")
    parser.add_argument("--host", default=settings.api_host)
    parser.add_argument("--port", type=int, default=settings.api_port)
    args = parser.parse_args()
    uvicorn.run(create_app(settings), host=args.host, port=args.port, log_level="info")


if __name__ == "__main__":
    main()
