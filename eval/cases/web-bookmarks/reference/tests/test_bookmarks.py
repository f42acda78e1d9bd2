from bookmarks import app
from fastapi.testclient import TestClient

client = TestClient(app)


def test_create_and_filter_by_tag() -> None:
    body = {"url": "https://example.com/unit", "title": "Unit", "tags": ["Z", "a"]}
    created = client.post("/bookmarks", json=body)
    assert created.status_code == 201
    assert created.json()["tags"] == ["a", "z"]
    assert client.get("/bookmarks", params={"tag": "z"}).json() == [created.json()]


def test_unknown_is_404() -> None:
    assert client.get("/bookmarks/999999").status_code == 404
