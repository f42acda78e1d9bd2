"""The CLI's commands and exit codes, and the graph served to LangGraph Studio."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
from pathlib import Path

import httpx

from devfactory.factory.drawing import pipeline_view, to_mermaid
from devfactory.graph import build_graph
from devfactory.graph.oversight.interrupts import WAITS_FOR
from devfactory.pipelines import load_pipeline
from tests.e2e.conftest import BIN, ROOT, cli, dot_available


def test_graph_prints_the_compiled_mermaid(env: dict[str, str]) -> None:
    done = cli("graph", "--pipeline", "full", env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout == to_mermaid(pipeline_view("full"))
    assert "n_api_design --> n_frontend_engineering" in done.stdout
    assert build_graph("full").compile().get_graph().nodes.keys() <= {
        b.id for b in pipeline_view("full").boxes
    }


def test_graph_png(env: dict[str, str], tmp_path: Path) -> None:
    assert dot_available(), "make setup installs Graphviz"
    done = cli(
        "graph", "--pipeline", "mvp", "--format", "png", "-o", str(tmp_path / "g.png"), env=env
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "g.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_usage_errors_exit_2(env: dict[str, str]) -> None:
    bad = cli("run", "build a thing", "--pipeline", "nope", env=env)
    assert bad.returncode == 2
    assert "unknown pipeline 'nope'" in bad.stderr
    empty = cli("run", "   ", env=env)
    assert empty.returncode == 2 and "requirement is empty" in empty.stderr


def test_unknown_run_exits_3_and_list_works(env: dict[str, str]) -> None:
    missing = cli("status", "no-such-run", env=env)
    assert missing.returncode == 3
    assert "no run with id 'no-such-run'" in missing.stderr
    assert cli("resume", "no-such-run", env=env).returncode == 3
    assert cli("audit", "verify", "no-such-run", env=env).returncode == 3
    assert cli("approve", "no-such-run", env=env).returncode == 3
    searched = cli("audit", "search", "zeppelin", env=env)
    assert searched.returncode == 0 and "no events match" in searched.stdout
    waiting = cli("pending", env=env)
    assert waiting.returncode == 0 and "nothing is waiting for a person" in waiting.stdout
    listed = cli("list", env=env)
    assert listed.returncode == 0, listed.stderr
    assert "requirement" in listed.stdout


def test_the_cli_takes_its_models_from_the_models_factory_hook(env: dict[str, str]) -> None:
    scripted = {
        **env,
        "DEVFACTORY_MODELS_FACTORY": "tests.browser.models:scripted",
        "DEVFACTORY_RUN_CODE": "false",  # scripted files are not meant to run
        "PYTHONPATH": str(ROOT),
    }
    done = cli("run", "A todo list for one person", "--no-input", env=scripted)
    assert done.returncode == 6, done.stderr  # every stage passed; the final review waits
    finished = [line for line in done.stdout.splitlines() if line.startswith("■ ")]
    assert len(finished) == 5 and all("model=scripted:fake" in line for line in finished)
    assert "final review" in done.stdout


def test_run_json_prints_one_report_and_the_progress_on_stderr(
    env: dict[str, str], tmp_path: Path
) -> None:
    scripted = {
        **env,
        "DEVFACTORY_MODELS_FACTORY": "tests.browser.models:scripted",
        "DEVFACTORY_RUN_CODE": "false",
        "PYTHONPATH": str(ROOT),
    }
    out = tmp_path / "run"
    args = ("run", "A todo list for one person", "--unattended", "--json", "--out", str(out))
    done = cli(*args, env=scripted)
    assert done.returncode == 0, done.stderr  # the policy approved the final review
    report = json.loads(done.stdout)  # stdout is one JSON object and nothing else
    assert report["status"] == "COMPLETED" and report["out_dir"] == str(out)
    assert [s["outcome"] for s in report["stages"]] == ["PASSED"] * 5
    assert report["usage"]["calls"] > 0 and report["usage"]["tokens"] > 0
    assert report["pending"] == []
    assert sum(line.startswith("■ ") for line in done.stderr.splitlines()) == 5


def test_models_shows_the_chain(env: dict[str, str]) -> None:
    shown = cli("models", env=env)
    assert shown.returncode == 0, shown.stderr
    assert "embedded:qwen2.5-coder-0.5b-instruct-q4_k_m" in shown.stdout
    assert "embedded:qwen2.5-coder-1.5b-instruct-q4_k_m" in shown.stdout  # coder, architect
    assert "ollama:qwen2.5-coder:7b" in shown.stdout
    # the embedded embedder serves here (no Ollama): shown as available
    (embedder,) = [line for line in shown.stdout.splitlines() if "all-minilm-l6-v2" in line]
    assert "local/embed" in embedder and "yes" in embedder


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_langgraph_dev_runs_a_pipeline_to_its_approval_and_on_with_the_sdk(
    env: dict[str, str], tmp_path: Path
) -> None:
    """Studio's server (``langgraph dev``), driven by the official SDK: a thread, a run
    that stops at the governance approval (a person's), the approval, the end."""
    from langgraph_sdk import get_sync_client

    port = _free_port()
    studio_env = {
        **env,
        "LANGGRAPH_CLI_NO_ANALYTICS": "1",
        "DEVFACTORY_MODELS_FACTORY": "tests.integration.models:logged",
        "DEVFACTORY_TEST_CALL_LOG": str(tmp_path / "calls.log"),
        "DEVFACTORY_MEMORY_ENABLED": "false",
        "DEVFACTORY_FACT_MEMORY": "false",
        "DEVFACTORY_RUN_CODE": "false",
        "DEVFACTORY_REVIEW_REQUIRED": "false",
        "PYTHONPATH": str(ROOT),
    }
    proc = subprocess.Popen(
        [str(BIN / "langgraph"), "dev", "--port", str(port), "--no-browser", "--no-reload"],
        cwd=ROOT,
        env=studio_env,
        stdout=subprocess.DEVNULL,
        stderr=(tmp_path / "studio.log").open("wb"),
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/ok", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(1)
        client = get_sync_client(url=base)
        by_graph = {a["graph_id"]: a["assistant_id"] for a in client.assistants.search()}
        assert set(by_graph) == {"factory_mvp", "factory_full"}
        drawn = client.assistants.get_graph(by_graph["factory_full"])
        ids = {node["id"] for node in drawn["nodes"]}
        assert set(load_pipeline("full").teams) | {"governance", "approval", "review"} <= ids
        waits = {n["id"] for n in drawn["nodes"] if (n.get("metadata") or {}).get(WAITS_FOR)}
        assert waits == {"approval", "review", "merge"}  # merge: a run with a repository

        thread = client.threads.create()
        start = {
            "run_id": "studio-1",
            "requirement": "A REST API to store patients' medical records",
            "pipeline": "mvp",
        }
        client.runs.wait(thread["thread_id"], by_graph["factory_mvp"], input=start)
        paused = client.threads.get_state(thread["thread_id"])
        assert paused["next"] == ["approval"], paused
        (task,) = [t for t in paused["tasks"] if t["interrupts"]]
        assert task["interrupts"][0]["value"]["kind"] == "governance"
        approve = {"action": "approve", "by": "studio-user", "role": "approver"}
        final = client.runs.wait(
            thread["thread_id"], by_graph["factory_mvp"], command={"resume": approve}
        )
        assert isinstance(final, dict)
        assert final["phase"] == "COMPLETED", final.get("outcome")
        assert set(final["stages"]) == set(load_pipeline("mvp").teams)
        assert client.threads.get_state(thread["thread_id"])["next"] == []

        # the server's store indexes with the factory's embedder (langgraph.json store.index)
        notes = ("notes", "studio")
        client.store.put_item(notes, "db", {"text": "Todos are stored in Postgres tables"})
        client.store.put_item(notes, "ui", {"text": "The button colour is a warm orange"})
        found = client.store.search_items(notes, query="which database keeps the data?")
        assert [item["key"] for item in found["items"]][0] == "db"
        assert found["items"][0]["score"] > found["items"][1]["score"]
    finally:
        os.killpg(proc.pid, 15)
        proc.wait(timeout=30)


def test_memory_commands_search_describe_and_reindex(env: dict[str, str], e2e_home: Path) -> None:
    from devfactory.factory.facade import Factory
    from devfactory.memory.facts import ExtractedFact, Extraction
    from devfactory.memory.live import MemoryItem
    from devfactory.models.io import Answer
    from devfactory.settings import Settings

    settings = Settings(data_dir=e2e_home, ollama_host="http://127.0.0.1:9", probe_timeout_s=0.3)
    with Factory(settings) as factory:
        factory.memory.live.retain(
            "team:e2e-cli",
            [
                MemoryItem("fact", "Invoices are numbered per calendar year", {"run": "r-e2e"}),
                MemoryItem("fact", "The frontend is written in TypeScript", {"run": "r-e2e"}),
            ],
            owner="e2e",
        )
        extracted = Extraction(memory=[ExtractedFact(text="Refunds are issued within 14 days")])
        assert factory.memory.facts is not None
        factory.memory.facts.extract(
            "e2e-cli",
            "digest",
            {"run": "r-facts"},
            lambda existing, new: Answer(extracted),
            owner="e2e",
        )
    fact = cli("memory", "search", "facts:e2e-cli", "how long do refunds take?", env=env)
    assert fact.returncode == 0, fact.stderr
    assert "Refunds are issued within 14 days" in fact.stdout and "run=r-facts" in fact.stdout
    found = cli("memory", "search", "team:e2e-cli", "how are invoice numbers assigned?", env=env)
    assert found.returncode == 0, found.stderr
    assert found.stdout.index("Invoices are numbered") < found.stdout.index("TypeScript")
    assert "run=r-e2e" in found.stdout
    described = cli("memory", "stats", env=env)
    assert described.returncode == 0
    assert "team:e2e-cli" in described.stdout and "embedded:all-minilm-l6-v2" in described.stdout
    assert "facts:e2e-cli" in described.stdout
    redone = cli("memory", "reindex", "team:e2e-cli", env=env)
    assert redone.returncode == 0 and "re-embedded 2 memories of team:e2e-cli" in redone.stdout
    assert cli("memory", "reindex", "team:nobody", env=env).returncode == 3


def test_keys_are_made_listed_and_revoked_from_the_command_line(
    env: dict[str, str], tmp_path: Path
) -> None:
    mine = {**env, "DEVFACTORY_USERS_FILE": str(tmp_path / "users.yaml")}
    made = cli("keys", "create", "robot", "--role", "operator", env=mine)
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip()
    assert token.startswith("dfk_") and token not in (tmp_path / "users.yaml").read_text()
    ident = token.split("_")[1]
    listed = cli("keys", "list", env=mine)
    assert ident in listed.stdout and "robot" in listed.stdout and "operator" in listed.stdout
    refused = cli("keys", "create", "robot", "--role", "admin", env=mine)
    assert refused.returncode == 2 and "a key acts in its person's role" in refused.stderr
    assert cli("keys", "revoke", ident, env=mine).returncode == 0
    assert cli("keys", "revoke", ident, env=mine).returncode == 2
    assert ident not in cli("keys", "list", env=mine).stdout
