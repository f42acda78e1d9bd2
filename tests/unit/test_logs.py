"""Log lines say what they are about: the run, and inside the graph its stage, team and step."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any, TypedDict

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph

from devfactory.logs import bound_run, configure
from tests.logged import log_stream

log = logging.getLogger("devfactory.test")


@pytest.fixture
def lines() -> Iterator[io.StringIO]:
    with log_stream() as stream:
        yield stream


def parsed(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


class S(TypedDict):
    n: int


def test_a_json_line_names_its_run_level_logger_and_time(lines: io.StringIO) -> None:
    configure("json", level=logging.INFO, stream=lines)
    log.info("outside any run")
    with bound_run("20261123-000000-abcdef"):
        log.warning("a %s line", "formatted")
    first, second = parsed(lines)
    assert "run_id" not in first
    assert second["event"] == "a formatted line"
    assert second["run_id"] == "20261123-000000-abcdef"
    assert (second["level"], second["logger"]) == ("warning", "devfactory.test")
    assert second["timestamp"].endswith("Z")


def test_the_embedded_postgres_mechanics_stay_out_of_an_info_log(lines: io.StringIO) -> None:
    configure("json", level=logging.INFO, stream=lines)
    logging.getLogger("pgserver").info("Successful postgres command initdb\nstdout:\n...")
    logging.getLogger("pgserver").warning("Failed to stop server, killing it instead.")
    log.info("served")
    assert [line["event"] for line in parsed(lines)] == [
        "Failed to stop server, killing it instead.",
        "served",
    ]


def test_text_lines_carry_the_same_context(lines: io.StringIO) -> None:
    configure("text", level=logging.WARNING, stream=lines)
    log.info("below the level: not written")
    with bound_run("r-1"):
        try:
            raise ValueError("bad thing")
        except ValueError:
            log.exception("it failed")
    text = lines.getvalue()
    assert text.startswith("ERROR devfactory.test: it failed [run_id=r-1]\n")
    assert "ValueError: bad thing" in text and "below the level" not in text


def test_lines_logged_inside_the_graph_name_the_stage_team_and_step(lines: io.StringIO) -> None:
    """The context comes from LangGraph's running config; the nodes pass nothing."""

    def governance(state: S) -> S:
        log.warning("screening")
        return {"n": state["n"] + 1}

    def draft(state: S) -> S:
        log.warning("drafting")
        return {"n": state["n"] + 1}

    stage = StateGraph(S)
    stage.add_node("draft", draft)
    stage.add_edge(START, "draft")
    stage.add_edge("draft", END)
    run = StateGraph(S)
    run.add_node("governance", governance)
    run.add_node("backend-engineering", stage.compile())
    run.add_edge(START, "governance")
    run.add_edge("governance", "backend-engineering")
    run.add_edge("backend-engineering", END)
    graph = run.compile(checkpointer=InMemorySaver())

    configure("json", level=logging.INFO, stream=lines)
    with bound_run("run-7"):
        log.warning("driving")
        graph.invoke({"n": 0}, {"configurable": {"thread_id": "run-7"}})
    by_event = {line["event"]: line for line in parsed(lines)}
    assert by_event["driving"]["run_id"] == "run-7" and "stage" not in by_event["driving"]
    assert by_event["screening"]["stage"] == "governance"
    assert "team" not in by_event["screening"]
    drafting = by_event["drafting"]
    assert (drafting["run_id"], drafting["stage"], drafting["team"], drafting["step"]) == (
        "run-7",
        "backend-engineering",
        "backend-engineering",
        "draft",
    )


HOSTILE = "name \x1b[2J\x1b]0;owned\x07 \u202egnp.exe\nFAKE LINE \u2066x\u2069\r"


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_a_line_carrying_controls_is_one_line_of_visible_text(lines: io.StringIO, fmt: str) -> None:
    configure(fmt, level=logging.INFO, stream=lines)
    log.warning("project %s failed", HOSTILE, extra={"project": HOSTILE, "tags": [HOSTILE]})
    written = lines.getvalue()
    assert written.count("\n") == 1 and written.endswith("\n")
    for raw in ("\x1b", "\x07", "\u202e", "\u2066", "\r"):
        assert raw not in written
    line = written if fmt == "text" else json.dumps(json.loads(written), ensure_ascii=False)
    assert "<U+202E>gnp.exe" in line and "FAKE LINE" in line  # shown, not acted on
    if fmt == "json":  # a reader that decodes the line gets no control character either
        decoded = json.loads(written)
        for value in (decoded["event"], decoded["project"], decoded["tags"][0]):
            assert value.isprintable() and "\\n" in value


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_a_traceback_keeps_its_lines_but_none_can_pass_for_a_record(
    lines: io.StringIO, fmt: str
) -> None:
    configure(fmt, level=logging.INFO, stream=lines)
    try:
        raise ValueError("bad\nCRITICAL devfactory.api: forged \x1b[31m")
    except ValueError:
        log.exception("it failed")
    written = lines.getvalue()
    assert "\x1b" not in written
    if fmt == "text":
        first, *rest = written.splitlines()
        assert first == "ERROR devfactory.test: it failed"
        assert rest and all(line.startswith("  | ") for line in rest)
    else:
        assert len(written.splitlines()) == 1
        exception = json.loads(written)["exception"]  # a reader decodes no control either
        assert "\x1b" not in exception
        assert exception.splitlines()[-1] == "CRITICAL devfactory.api: forged \\x1b[31m"


AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_a_logged_exception_is_redacted_as_stored_text_is(lines: io.StringIO, fmt: str) -> None:
    """Issue 58 item 6: a line masked only URL credentials; keys and passwords went through."""
    configure(fmt, level=logging.INFO, stream=lines)
    said = f"403 for AKIAIOSFODNN7EXAMPLE\n{AWS_SECRET} after mysql -uroot -pHunter2db shop"
    try:
        raise RuntimeError(said)
    except RuntimeError as exc:
        log.warning("model call failed: %s", exc)
        log.exception("retrying after %s", "PGPASSWORD=Hunter2pg psql", extra={"tool": said})
    written = lines.getvalue()
    for secret in ("AKIAIOSFODNN7EXAMPLE", AWS_SECRET, "Hunter2db", "Hunter2pg"):
        assert secret not in written, written
    if fmt == "text":
        first, second, *traceback = written.splitlines()
        assert first == (
            "WARNING devfactory.test: model call failed: 403 for [REDACTED:aws-key]\\n"
            "[REDACTED:aws-secret-key] after mysql -uroot -p[REDACTED:mysql-password] shop"
        )
        assert second.startswith(
            "ERROR devfactory.test: retrying after PGPASSWORD=[REDACTED:password-variable] psql"
        )
    else:
        first, second = parsed(lines)
        assert "-p[REDACTED:mysql-password] shop" in first["event"]
        assert second["tool"] == first["event"].removeprefix("model call failed: ")
        traceback = second["exception"].splitlines()
    # the traceback is redacted whole: the pair is seen though its secret is on a line of its own
    assert traceback[-2:] == [
        f"{'  | ' if fmt == 'text' else ''}RuntimeError: 403 for [REDACTED:aws-key]",
        f"{'  | ' if fmt == 'text' else ''}[REDACTED:aws-secret-key] after mysql -uroot"
        " -p[REDACTED:mysql-password] shop",
    ]
