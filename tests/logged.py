"""What the factory's log renderers write, captured; the root logger restored afterwards."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from contextlib import contextmanager

from devfactory.logs import configure

FORMATS = ("text", "json")


@contextmanager
def log_stream() -> Iterator[io.StringIO]:
    """Yield a stream to ``configure`` logging into; remove the handlers it added after."""
    root = logging.getLogger()
    before, level = list(root.handlers), root.level
    stream = io.StringIO()
    try:
        yield stream
    finally:
        for handler in list(root.handlers):
            if handler not in before:
                root.removeHandler(handler)
        root.setLevel(level)


def logged_in_every_format(logger: str, message: str, *args: object) -> str:
    """Return what one warning logged by ``logger`` looks like in the text and the JSON format."""
    with log_stream() as stream:
        for fmt in FORMATS:
            configure(fmt, level=logging.INFO, stream=stream)
            logging.getLogger(logger).warning(message, *args)
        return stream.getvalue()
