"""Two services sharing only the data volume: what a worker writes, the API serves.

In the compose stack the API and each worker are containers of their own: each
has its own working directory, and they share only the database and the data
volume. Here each is a process started in a working directory of its own; the
run's folder must be made under the shared data directory, never under either.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from devfactory.settings import Settings
from devfactory.users import UserStore
from tests.integration.cli import cli_env
from tests.integration.databases import fresh_database
from tests.integration.test_api import LOW
from tests.servers import free_port, health_ok, launch, stop, wait_ready


@pytest.fixture
def shared_database(server_dsn: str) -> Iterator[str]:
    with fresh_database(server_dsn) as database:
        yield database


def test_a_run_driven_by_a_worker_is_served_by_the_api_files_included(
    shared_database: str, tmp_path: Path
) -> None:
    env = cli_env(shared_database, tmp_path)  # the data dir: tmp_path/data, shared by both
    env.update(DEVFACTORY_WORKER_POLL_S="0.5", DEVFACTORY_REVIEW_REQUIRED="false")
    data_dir = Path(env["DEVFACTORY_DATA_DIR"])
    key = UserStore.of(Settings(data_dir=data_dir)).create_key("op-1", "operator")[1]
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    for home in ("api", "worker"):  # each its own working directory, as in its container
        (tmp_path / home).mkdir()
    api = launch(env, ["serve", "--port", str(port)], tmp_path / "api.log", tmp_path / "api")
    worker = launch(env, ["worker"], tmp_path / "worker.log", tmp_path / "worker")
    try:
        wait_ready(api, tmp_path / "api.log", lambda: health_ok(base), what="the API")
        with httpx.Client(
            base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=30
        ) as http:
            run_id = http.post("/runs", json={"requirement": LOW}).json()["run_id"]
            deadline = time.monotonic() + 180
            while (run := http.get(f"/runs/{run_id}").json())["status"] != "COMPLETED":
                assert run["status"] not in ("FAILED", "REJECTED"), run
                assert worker.poll() is None, "the worker died"
                assert time.monotonic() < deadline, run
                time.sleep(0.5)
            listed = http.get(f"/runs/{run_id}/artifacts")
            assert listed.status_code == 200
            served = {
                item["path"]: http.get(f"/runs/{run_id}/artifacts/{item['path']}")
                for item in listed.json()["files"]
            }
    finally:
        stop(worker, api)
    folder = data_dir / "runs" / run_id
    assert Path(run["out_dir"]) == folder
    written = {
        str(path.relative_to(folder))
        for path in folder.rglob("*")
        if path.is_file() and ".git" not in path.relative_to(folder).parts
    }
    assert {"run.json", "SUMMARY.md"} <= written
    assert any(path.endswith(".md") and "/" in path for path in written)  # a stage's file
    assert set(served) == written
    for path, response in served.items():
        assert response.status_code == 200, path
        assert response.content == (folder / path).read_bytes(), path
    # neither service wrote anything into its own working directory
    assert list((tmp_path / "api").iterdir()) == []
    assert list((tmp_path / "worker").iterdir()) == []
