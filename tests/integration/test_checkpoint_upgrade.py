"""A checkpoint an earlier version wrote to Postgres is read back as today's typed state."""

from __future__ import annotations

import json
from base64 import b64decode
from pathlib import Path
from typing import Any

import psycopg
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import empty_checkpoint
from langgraph.checkpoint.postgres import PostgresSaver
from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool

from devfactory.contracts import Hop
from devfactory.graph.builder import build_graph
from devfactory.graph.checkpoints import RunCheckpoints, upgrade
from tests.unit.test_checkpoints import EARLIER_HOP, _stored

FIXTURE = Path(__file__).resolve().parents[1] / "data" / "checkpoint_40f3527.json"


def _insert(conn: psycopg.Connection[Any], run_id: str, saved: dict[str, Any]) -> None:
    """Write one stored checkpoint back as the earlier version's saver left it."""
    ns = saved["checkpoint_ns"]
    conn.execute(
        "INSERT INTO checkpoints (thread_id, checkpoint_ns, checkpoint_id, checkpoint, metadata)"
        " VALUES (%s, %s, %s, %s, %s)",
        (run_id, ns, saved["checkpoint_id"], Jsonb(saved["checkpoint"]), Jsonb({})),
    )
    for blob in saved["blobs"]:
        conn.execute(
            "INSERT INTO checkpoint_blobs (thread_id, checkpoint_ns, channel, version, type, blob)"
            " VALUES (%s, %s, %s, %s, %s, %s)",
            (run_id, ns, blob["channel"], blob["version"], blob["type"], b64decode(blob["blob"])),
        )
    for write in saved["writes"]:
        conn.execute(
            "INSERT INTO checkpoint_writes (thread_id, checkpoint_ns, checkpoint_id, task_id, idx,"
            " channel, type, blob, task_path) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, '')",
            (
                run_id,
                ns,
                saved["checkpoint_id"],
                write["task_id"],
                write["idx"],
                write["channel"],
                write["type"],
                b64decode(write["blob"]),
            ),
        )


def test_the_checkpointer_reads_an_earlier_version_s_checkpoint_as_today_s_state(
    database_url: str,
) -> None:
    doc = json.loads(FIXTURE.read_text())
    with ConnectionPool(database_url, kwargs={"autocommit": True}) as pool:
        saver = RunCheckpoints(pool)
        saver.setup()
        with psycopg.connect(database_url, autocommit=True) as conn:
            _insert(conn, "done", doc["completed"]["root"])
            _insert(conn, "paused", doc["paused"]["root"])
            _insert(conn, "paused", doc["paused"]["stage"])
        graph = build_graph("mvp").compile(checkpointer=saver)

        done = graph.get_state({"configurable": {"thread_id": "done"}})
        stage = saver.get_tuple(
            {
                "configurable": {
                    "thread_id": "paused",
                    "checkpoint_ns": doc["paused"]["stage"]["checkpoint_ns"],
                }
            }
        )
        [listed] = saver.list({"configurable": {"thread_id": "done"}})

    completed = _stored(doc["completed"]["root"])[0]
    assert done.values == upgrade(completed)
    assert done.values["outcome"] == upgrade(completed)["outcome"]
    assert stage is not None
    assert stage.checkpoint["channel_values"] == upgrade(_stored(doc["paused"]["stage"])[0])
    assert listed.checkpoint["channel_values"] == upgrade(completed)


def test_an_earlier_version_s_clarification_hops_are_read_as_hops(database_url: str) -> None:
    # the earlier version kept each hop as a dict (tests/unit/test_checkpoints.EARLIER_HOP)
    entry = {
        "asker": "backend-engineering",
        "target": "api-design",
        "question": "Which timestamp format?",
        "attempt": 1,
        "outcome": "answered",
        "reason": "",
        "hops": [EARLIER_HOP],
        "answered_by": "api-design",
    }
    config: RunnableConfig = {"configurable": {"thread_id": "asked", "checkpoint_ns": ""}}
    checkpoint = empty_checkpoint()
    checkpoint["channel_values"] = {"clarifications": {"r0:backend-engineering:q1": entry}}
    checkpoint["channel_versions"] = {"clarifications": 1}
    with ConnectionPool(database_url, kwargs={"autocommit": True}) as pool:
        saver = RunCheckpoints(pool)
        saver.setup()
        PostgresSaver(pool).put(config, checkpoint, {}, {"clarifications": 1})  # type: ignore[arg-type]
        found = saver.get_tuple({"configurable": {"thread_id": "asked"}})

    assert found is not None
    [kept] = found.checkpoint["channel_values"]["clarifications"].values()
    assert kept["hops"] == [Hop.model_validate(EARLIER_HOP)]
    assert type(kept["hops"][0]) is Hop and kept["answered_by"] == "api-design"
