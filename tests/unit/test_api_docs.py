"""The API's documentation pages work offline: every asset they load is served by the API."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from devfactory.api.app import create_app
from devfactory.settings import Settings

# every URL a page makes the browser load: src/href attributes and the JS/CSS URLs in scripts
REFERENCED = re.compile(
    r"""(?:src|href|spec-url)\s*=\s*["']([^"']+)["']|\burl:\s*["']([^"']+)["']"""
)


@pytest.fixture
def client(tmp_path: Path) -> TestClient:
    # no lifespan: the pages need no factory, and no request below carries a key
    return TestClient(create_app(Settings(data_dir=tmp_path / "data")))


def referenced(page: str) -> list[str]:
    return [a or b for a, b in REFERENCED.findall(page)]


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_the_docs_pages_load_nothing_from_another_host_and_every_asset_is_served(
    client: TestClient, page: str
) -> None:
    response = client.get(page)
    assert response.status_code == 200
    html = response.text
    assert not re.findall(r"(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}", html, re.I), html
    urls = referenced(html)
    assert urls, html  # the pattern finds the page's assets: the check below is not vacuous
    assert all(url.startswith("/") and not url.startswith("//") for url in urls), urls
    assets = [url for url in urls if url != "/openapi.json"]
    assert any(url.endswith(".js") for url in assets), urls
    for url in urls:
        served = client.get(url)  # without a key, as a browser opening /docs asks
        assert served.status_code == 200, url
        assert served.content, url


def test_the_swagger_ui_asks_no_validator_on_another_host(client: TestClient) -> None:
    assert '"validatorUrl": null' in client.get("/docs").text


def test_a_route_that_is_not_documentation_still_needs_a_key(client: TestClient) -> None:
    assert client.get("/docs/assets/nope.js").status_code == 401
    assert client.get("/runs").status_code == 401
