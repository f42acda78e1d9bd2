"""langgraph.json names what ``langgraph dev`` loads so that it is found from any directory."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CONFIG = json.loads((ROOT / "langgraph.json").read_text("utf-8"))


def test_the_store_embedder_resolves_from_another_directory(tmp_path: Path) -> None:
    # langgraph_api reads its settings from the environment when imported: a child, as
    # `langgraph dev --config <repo>/langgraph.json` started from another directory
    resolve = (
        "import json, sys; from langgraph_api.graph import resolve_embeddings; "
        "e = resolve_embeddings(json.loads(sys.argv[1])); print(callable(e.embed_documents))"
    )
    env = {
        **os.environ,
        "MIGRATIONS_PATH": "__inmem",
        "DATABASE_URI": ":memory:",
        "REDIS_URI": "fake",
        "LANGSMITH_LANGGRAPH_API_VARIANT": "local_dev",
    }
    index = json.dumps(CONFIG["store"]["index"])
    done = subprocess.run(
        [sys.executable, "-c", resolve, index],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "True"


@pytest.mark.parametrize("graph_id", sorted(CONFIG["graphs"]))
def test_each_graph_is_named_by_module_and_loads_from_another_directory(
    graph_id: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    module, variable = CONFIG["graphs"][graph_id].rsplit(":", 1)
    assert "/" not in module, "a file path is resolved against the current directory"
    graph = getattr(importlib.import_module(module), variable)
    assert graph.name == graph_id
