from fastapi.testclient import TestClient
from todo_api import app

client = TestClient(app)


def test_create_and_get() -> None:
    created = client.post("/todos", json={"title": " milk "})
    assert created.status_code == 201
    assert client.get(f"/todos/{created.json()['id']}").json()["title"] == "milk"


def test_unknown_is_404() -> None:
    assert client.get("/todos/999999").status_code == 404
