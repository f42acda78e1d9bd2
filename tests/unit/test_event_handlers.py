"""Every kind of run event has an entry in every table that dispatches on it.

A table names the kinds it leaves alone too (a handler that does nothing, or
the audit view's ``AS_STORED``), so a new kind cannot be passed over unseen:
these tests name each table that lacks it, and a kind no table knows is
refused loudly instead of being skipped.
"""

from __future__ import annotations

import asyncio
import io
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Literal

import pytest

from devfactory import events, tracing
from devfactory.chat.run_steps import RunView
from devfactory.cli import timeline
from devfactory.cli.progress import Progress
from devfactory.cli.terminal import SafeConsole
from devfactory.events import EVENT_TYPES, Event
from devfactory.factory.recorder import RunRecorder


class Synthetic(Event):
    """A kind added to the events without a handler anywhere."""

    event: Literal["synthetic"] = "synthetic"


def recorder(tmp_path: Path) -> RunRecorder:
    row = SimpleNamespace(run_id="r1", out_dir=str(tmp_path), pipeline="mvp", project="default")
    return RunRecorder(None, None, row, None)  # type: ignore[arg-type]  # no event reaches them


def progress() -> Progress:
    return Progress("mvp", SafeConsole(file=io.StringIO()))


def tables(tmp_path: Path) -> dict[str, set[type[Event]]]:
    """Return the kinds each table names, by where it is."""
    return {
        "recorder.py RunRecorder.handlers": set(recorder(tmp_path).handlers),
        "cli/progress.py Progress._handlers": set(progress()._handlers),
        "chat/run_steps.py RunView.handlers": set(RunView("r1").handlers),
        "cli/timeline.py LINES and AS_STORED": set(timeline.LINES) | timeline.AS_STORED,
        "tracing.py DESCRIBE": set(tracing.DESCRIBE),
    }


def missing(
    named: dict[str, set[type[Event]]], kinds: tuple[type[Event], ...]
) -> dict[str, list[str]]:
    """Return, for each table that lacks some of ``kinds``, the names of those it lacks."""
    lacking = {where: [k.__name__ for k in kinds if k not in keys] for where, keys in named.items()}
    return {where: names for where, names in lacking.items() if names}


def test_every_event_class_is_a_kind_of_run_event() -> None:
    defined = {
        value
        for value in vars(events).values()
        if isinstance(value, type) and issubclass(value, Event) and value is not Event
    }
    assert defined == set(EVENT_TYPES)
    assert len({kind.model_fields["event"].default for kind in EVENT_TYPES}) == len(EVENT_TYPES)


def test_every_table_names_every_kind_of_run_event(tmp_path: Path) -> None:
    assert missing(tables(tmp_path), EVENT_TYPES) == {}


def test_no_table_names_a_kind_that_is_not_a_run_event(tmp_path: Path) -> None:
    for where, keys in tables(tmp_path).items():
        assert keys <= set(EVENT_TYPES), where


def test_the_audit_view_shows_each_kind_one_way() -> None:
    assert not set(timeline.LINES) & timeline.AS_STORED


def test_a_new_kind_without_handlers_is_named_in_every_table(tmp_path: Path) -> None:
    named = tables(tmp_path)
    assert missing(named, (*EVENT_TYPES, Synthetic)) == {where: ["Synthetic"] for where in named}


def test_a_kind_no_table_knows_is_refused_not_skipped(tmp_path: Path) -> None:
    new = Synthetic()
    dispatch: list[Any] = [
        lambda: recorder(tmp_path).record(new),
        lambda: progress()(new),
        lambda: asyncio.run(RunView("r1").apply(new)),
        lambda: tracing.describe(new),
    ]
    for call in dispatch:
        with pytest.raises(KeyError, match="Synthetic"):
            call()


def test_kinds_a_view_leaves_alone_print_and_keep_nothing(tmp_path: Path) -> None:
    out = io.StringIO()
    shown = Progress("mvp", SafeConsole(file=out))
    kept = recorder(tmp_path)
    usage = events.UsageRecorded(
        team="qa", model="m", input_tokens=1, output_tokens=2, calls=1, cost_usd=0.0, seconds=1.0
    )
    shown(events.Recalled(team="qa", memories=3))
    shown(usage)
    kept.record(events.StageStarted(team="qa", model="m", attempt=1))  # no store is touched
    assert out.getvalue() == ""
    assert tracing.describe(usage) is None
    assert timeline.what("notice", {"kind": "k", "team": "t", "message": "m"}) == str(
        {"kind": "k", "team": "t", "message": "m"}
    )
