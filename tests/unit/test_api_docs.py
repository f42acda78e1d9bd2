"""The API's documentation pages work offline: every asset they load is served by the API."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from devfactory.api.__main__ import console_url
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


# what a script makes the browser fetch: an image or script whose source is a full URL
# (a link's href is fetched only when a person follows it)
FETCHED = re.compile(r"""\bsrc\s*[:=]\s*["'](?:https?:)?//[^"']+["']""")


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_the_docs_scripts_fetch_nothing_from_another_host(client: TestClient, page: str) -> None:
    scripts = [url for url in referenced(client.get(page).text) if url.endswith(".js")]
    assert scripts
    for url in scripts:
        script = client.get(url).text
        assert "cdn.redoc.ly" not in script and "cdn.jsdelivr" not in script, url
        assert not FETCHED.findall(script), (url, FETCHED.findall(script)[:5])


def test_redocs_logo_is_the_services_own_favicon(client: TestClient) -> None:
    script = client.get("/docs/redoc.js").text
    assert 'src:"/favicon.ico"' in script
    icon = client.get("/favicon.ico")
    assert icon.status_code == 200 and icon.headers["content-type"] == "image/png"
    assert icon.content.startswith(b"\x89PNG\r\n\x1a\n") and len(icon.content) < 4096


def test_the_front_door_sends_a_browser_to_the_console(client: TestClient) -> None:
    found = client.get("/", follow_redirects=False)
    assert found.status_code == 307 and found.headers["location"] == "/console"
    assert client.get("/").url.path == "/console"  # the page that signs a person in


@pytest.mark.parametrize(
    ("host", "url"),
    [
        ("0.0.0.0", "http://127.0.0.1:8000/console"),
        ("::", "http://127.0.0.1:8000/console"),
        ("10.1.2.3", "http://10.1.2.3:8000/console"),
        ("::1", "http://[::1]:8000/console"),
        ("factory.example", "http://factory.example:8000/console"),
    ],
)
def test_the_consoles_address_is_written_as_a_person_opens_it(host: str, url: str) -> None:
    assert console_url(host, 8000) == url


def test_serve_says_the_consoles_address_when_it_starts(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import devfactory.api.__main__ as served

    started: list[dict[str, object]] = []
    monkeypatch.setattr(served.uvicorn, "run", lambda *a, **kw: started.append(kw))
    monkeypatch.setattr(sys, "argv", ["devfactory serve", "--host", "0.0.0.0", "--port", "8123"])
    served.main()
    assert started and started[0]["port"] == 8123
    said = capsys.readouterr().err
    assert "the console: http://127.0.0.1:8123/console" in said, said
    assert "http://127.0.0.1:8123/docs" in said
