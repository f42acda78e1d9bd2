"""The compose file: the API and the workers run beside Postgres, each watched and restarted."""

from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def test_api_and_workers_are_services_with_healthchecks_and_restarts() -> None:
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    assert services["api"]["command"][0] == "serve"
    assert services["worker"]["command"] == ["worker"]
    for name in ("api", "worker"):
        service = services[name]
        assert service["restart"] == "unless-stopped"
        assert service["healthcheck"]["test"][0] == "CMD"
        assert service["depends_on"]["postgres"]["condition"] == "service_healthy"
        assert service["environment"]["DATABASE_URL"].startswith("postgresql://")
