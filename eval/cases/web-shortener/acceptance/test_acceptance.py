"""Acceptance tests for the FastAPI app `shortener.app`, written from the requirement alone.

Links live for the whole process, so each test uses codes of its own.
"""

import re
import uuid

import pytest
from fastapi.testclient import TestClient
from shortener import app


@pytest.fixture(scope="module")
def client() -> TestClient:
    return TestClient(app)


def fresh_code() -> str:
    return "t_" + uuid.uuid4().hex[:12]


def test_create_with_a_code_returns_201(client: TestClient) -> None:
    code = fresh_code()
    response = client.post("/links", json={"url": "https://example.org/a?b=c", "code": code})
    assert response.status_code == 201
    assert response.json() == {"code": code, "url": "https://example.org/a?b=c"}


def test_create_without_a_code_picks_six_letters_and_digits(client: TestClient) -> None:
    codes = set()
    for _ in range(5):
        response = client.post("/links", json={"url": "http://example.com"})
        assert response.status_code == 201
        code = response.json()["code"]
        assert re.fullmatch(r"[A-Za-z0-9]{6}", code)
        codes.add(code)
    assert len(codes) == 5


@pytest.mark.parametrize(
    "url", ["ftp://example.org", "example.org", "http://", "https://", "", "javascript:alert(1)"]
)
def test_urls_must_be_http_or_https_with_a_host(client: TestClient, url: str) -> None:
    response = client.post("/links", json={"url": url})
    assert response.status_code == 422
    assert "detail" in response.json()


@pytest.mark.parametrize("code", ["ab", "x" * 33, "has space", "semi;colon", "ünï"])
def test_invalid_codes_give_422(client: TestClient, code: str) -> None:
    response = client.post("/links", json={"url": "https://example.org", "code": code})
    assert response.status_code == 422


def test_a_code_in_use_gives_409(client: TestClient) -> None:
    code = fresh_code()
    assert client.post("/links", json={"url": "https://a.example", "code": code}).status_code == 201
    again = client.post("/links", json={"url": "https://b.example", "code": code})
    assert again.status_code == 409
    assert "detail" in again.json()


def test_following_a_code_redirects_with_307(client: TestClient) -> None:
    code = fresh_code()
    client.post("/links", json={"url": "https://example.org/target", "code": code})
    response = client.get(f"/{code}", follow_redirects=False)
    assert response.status_code == 307
    assert response.headers["location"] == "https://example.org/target"


def test_stats_count_visits_but_reading_them_does_not(client: TestClient) -> None:
    code = fresh_code()
    client.post("/links", json={"url": "https://example.org/x", "code": code})
    assert client.get(f"/links/{code}").json() == {
        "code": code,
        "url": "https://example.org/x",
        "visits": 0,
    }
    for _ in range(3):
        client.get(f"/{code}", follow_redirects=False)
    stats = client.get(f"/links/{code}")
    assert stats.status_code == 200
    assert stats.json()["visits"] == 3
    assert client.get(f"/links/{code}").json()["visits"] == 3


def test_unknown_codes_give_404(client: TestClient) -> None:
    code = fresh_code()
    for response in (
        client.get(f"/{code}", follow_redirects=False),
        client.get(f"/links/{code}"),
        client.delete(f"/links/{code}"),
    ):
        assert response.status_code == 404
        assert "detail" in response.json()


def test_delete_frees_the_code(client: TestClient) -> None:
    code = fresh_code()
    client.post("/links", json={"url": "https://one.example", "code": code})
    deleted = client.delete(f"/links/{code}")
    assert deleted.status_code == 204
    assert deleted.content == b""
    assert client.get(f"/{code}", follow_redirects=False).status_code == 404
    reused = client.post("/links", json={"url": "https://two.example", "code": code})
    assert reused.status_code == 201
