from fastapi.testclient import TestClient
from shortener import app

client = TestClient(app)


def test_shorten_and_follow() -> None:
    code = client.post("/links", json={"url": "https://example.org"}).json()["code"]
    response = client.get(f"/{code}", follow_redirects=False)
    assert response.status_code == 307
    assert client.get(f"/links/{code}").json()["visits"] == 1


def test_rejects_ftp() -> None:
    assert client.post("/links", json={"url": "ftp://example.org"}).status_code == 422
