"""Log lines for every entry point: text for people, one JSON object a line for machines.

``configure`` installs one handler on the root logger (``--log-format`` or
``DEVFACTORY_LOG_FORMAT``), so the CLI, the workers, the API (uvicorn's own
lines included) and the chat all write the same format. Every line says what
it is about, with nothing passed by the code that logs:

- ``run_id``: bound for the length of a drive (``bound_run``), and read from
  LangGraph's running config (its thread id) inside the graph;
- ``stage``, ``team`` and ``step``: the graph node the line was logged in,
  read from LangGraph's running config (its checkpoint namespace:
  ``backend-engineering:<task>|draft:<task>`` is the stage and team
  ``backend-engineering``, step ``draft``). Nodes never log their own context.

JSON lines are rendered by structlog's ``ProcessorFormatter`` over the
standard library's records, with an ISO timestamp, the level and the logger;
a record's ``extra`` fields become the line's own keys (``run_event_fields``
gives a run event's), and Python's warnings are log lines too, so that under
``json`` every line a process logs is one JSON object.

What a line says may come from anyone (a project's name, a model's reply, a
request's path), so both formats write every value as one line of visible
text, controls and bidi controls as escapes (``shown.one_line``), after the
same redaction as stored text (``redact.redact``: keys, passwords, the
credentials of any URL): a value can neither act on the terminal that shows
the log, nor start a line of its own, nor carry a secret (an exception's text
logged as ``log.warning("model call failed: %s", exc)`` often holds one). A
traceback keeps its lines, each marked as the continuation of its record
(``  | ``), and is redacted whole, so a secret over several lines is seen.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from devfactory.events import Event

CONTEXT = ("run_id", "stage", "team", "step")
# The keys every line has; the others a line has are its record's ``extra`` fields.
_OWN_KEYS = frozenset({"event", "level", "logger", "timestamp", "exception", *CONTEXT})
# A record's own attributes (those formatting adds too): the others are its ``extra``.
_RECORD_KEYS = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}
# What a run event's field may not be named in a line: the record's own attributes, the
# line's own keys, and the two a worker's event line adds (the event's kind, the worker).
# Its run, stage and team are the line's context, and keep their names.
_TAKEN = _RECORD_KEYS | {"kind", "worker"} | (_OWN_KEYS - set(CONTEXT))
_LONGEST = 300  # characters of one field's value in a log line
# what is not a line's extra field: the record's own, and uvicorn's copy of its message with
# terminal colours in it
_NOT_EXTRAS = _RECORD_KEYS | {"color_message"}


HANDLER = "devfactory"  # the name of the handler ``configure`` installs
_MULTILINE = ("exception", "stack")  # values kept as lines, each made safe
CONTINUED = "  | "  # how a text line that continues its record (a traceback) starts


def graph_context(
    logger: Any, method: str, event: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """Add the run, stage, team and step of the graph node running now (if any)."""
    runnables = sys.modules.get("langchain_core.runnables.config")
    if runnables is None:  # never loaded, so no graph node runs: a CLI read stays light
        return event
    config = runnables.var_child_runnable_config.get()
    if not config:
        return event
    configurable = config.get("configurable") or {}
    if configurable.get("thread_id"):
        event.setdefault("run_id", str(configurable["thread_id"]))
    path = [part.split(":")[0] for part in str(configurable.get("checkpoint_ns", "")).split("|")]
    path = [part for part in path if part]
    if path:
        event.setdefault("stage", path[0])
        if len(path) > 1:  # a node inside a stage: the stage is a team's
            event.setdefault("team", path[0])
            event.setdefault("step", path[-1])
    return event


def record_extras(
    logger: Any, method: str, event: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """Add the record's ``extra`` fields (``log.info(..., extra={...})``) to the line."""
    record = event.get("_record")
    if record is not None:
        event.update((k, v) for k, v in vars(record).items() if k not in _NOT_EXTRAS)
    return event


def _safe(value: Any) -> Any:
    """Return a line's value as visible text on one line, secrets masked; numbers kept."""
    from devfactory.redact import redact
    from devfactory.shown import one_line

    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, list | tuple):
        return [_safe(v) for v in value]
    if isinstance(value, dict):
        return {_safe(k): _safe(v) for k, v in value.items()}
    return one_line(redact(str(value)))  # redacted first: a shape may span a line's end


def safe_values(
    logger: Any, method: str, event: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """Make every key and value of the line safe to show (``_safe``); tracebacks keep lines."""
    from devfactory.redact import redact
    from devfactory.shown import one_line

    safe: dict[str, Any] = {}
    for key, value in event.items():
        if key.startswith("_"):  # structlog's own (the record), never rendered
            safe[key] = value
        elif key in _MULTILINE and isinstance(value, str):
            safe[key] = "\n".join(one_line(line) for line in redact(value).split("\n"))
        else:
            safe[_safe(key)] = _safe(value)
    return safe


def _text(logger: Any, method: str, event: MutableMapping[str, Any]) -> str:
    """Render a line for people: ``LEVEL logger: message [run=... team=...]``."""
    about = " ".join(
        [f"{key}={event[key]}" for key in CONTEXT if event.get(key)]
        + [f"{key}={value}" for key, value in event.items() if key not in _OWN_KEYS]
    )
    line = f"{event.get('level', method).upper()} {event.get('logger', '')}: {event['event']}"
    if about:
        line += f" [{about}]"
    for key in _MULTILINE:
        if event.get(key):
            line += "".join(f"\n{CONTINUED}{part}" for part in str(event[key]).split("\n"))
    return line


def formatter(fmt: str) -> logging.Formatter:
    """Return the formatter of ``fmt`` ("text" or "json")."""
    import structlog

    chain: list[Any] = [
        structlog.contextvars.merge_contextvars,
        graph_context,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        record_extras,
    ]
    if fmt == "json":
        chain.append(structlog.processors.TimeStamper(fmt="iso", utc=True))
        render: Any = structlog.processors.JSONRenderer()
    else:
        render = _text
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=chain,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            safe_values,
            render,
        ],
    )


class _Deferred(logging.Formatter):
    """``formatter(fmt)``, built when the first line is formatted.

    structlog (and the renderer it loads) costs a command that logs nothing
    a quarter of a second, and the redaction of the first line loads
    detect-secrets: ``devfactory list`` never pays either.
    """

    def __init__(self, fmt: str) -> None:
        super().__init__()
        self.kind = fmt
        self._built: logging.Formatter | None = None

    def format(self, record: logging.LogRecord) -> str:
        """Format ``record`` with the formatter of this handler's format."""
        if self._built is None:
            self._built = formatter(self.kind)
        return self._built.format(record)


QUIET = ("pgserver",)
"""Libraries whose INFO lines are their own mechanics (initdb's whole output, pg_ctl's
arguments): only their warnings and errors are logged, at any level."""


def configure(
    fmt: str = "text", *, level: int = logging.WARNING, stream: TextIO | None = None
) -> None:
    """Send every log line to ``stream`` (stderr) in ``fmt`` at ``level`` and above."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if handler.get_name() == HANDLER:  # configured before: this call replaces it
            root.removeHandler(handler)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.set_name(HANDLER)
    handler.setFormatter(_Deferred(fmt))
    root.addHandler(handler)
    root.setLevel(level)
    logging.captureWarnings(True)  # a warning is a line in the same format, not raw stderr
    for name in QUIET:
        logging.getLogger(name).setLevel(max(level, logging.WARNING))


@contextmanager
def bound_run(run_id: str) -> Iterator[None]:
    """Say ``run_id`` on every line logged in this block (and in the graph's threads)."""
    import structlog

    with structlog.contextvars.bound_contextvars(run_id=run_id):
        yield


def run_event_fields(event: Event) -> dict[str, Any]:
    """Return a run event as a log line's ``extra`` fields: its kind and its short values.

    Scalars (and lists of them) are kept, clipped and redacted; a nested
    object's (a stage's record) are lifted to the top, where the event's own
    win. A name the line already uses is prefixed with the kind
    (``error_message``).
    """
    fields: dict[str, Any] = {"kind": event.event}
    body = event.body()
    nested = [value for value in body.values() if isinstance(value, dict)]
    for source in (body, *nested):
        for key, value in source.items():
            shown = _short(value)
            if shown is None:
                continue
            name = f"{event.event}_{key}" if key in _TAKEN else key
            fields.setdefault(name, shown)
    return fields


def _short(value: Any) -> Any:
    """Return ``value`` as a log line shows it (None: not shown)."""
    if isinstance(value, str):
        # imported here: a process that logs no run event never loads detect-secrets
        from devfactory.redact import redact

        return redact(value[:_LONGEST])
    if isinstance(value, bool | int | float):
        return value
    if isinstance(value, list) and all(isinstance(v, str | bool | int | float) for v in value):
        return [_short(v) for v in value[:10]]
    return None
