"""Acceptance tests for the FastAPI app `todo_api.app`, written from the requirement alone.

The app keeps its todos for the life of the process, so every test makes its own todos
and never assumes the list is empty.
"""

import pytest
from fastapi.testclient import TestClient
from todo_api import app


@pytest.fixture(scope="module")
def client() -> TestClient:
    return TestClient(app)


def create(client: TestClient, title: str) -> dict:
    response = client.post("/todos", json={"title": title})
    assert response.status_code == 201, response.text
    return response.json()


def test_create_returns_201_and_the_new_todo(client: TestClient) -> None:
    todo = create(client, "  buy milk  ")
    assert todo == {"id": todo["id"], "title": "buy milk", "done": False}
    assert isinstance(todo["id"], int) and todo["id"] >= 1


def test_ids_increase_by_one_and_are_never_reused(client: TestClient) -> None:
    first = create(client, "first")
    assert client.delete(f"/todos/{first['id']}").status_code == 204
    second = create(client, "second")
    third = create(client, "third")
    assert second["id"] == first["id"] + 1
    assert third["id"] == second["id"] + 1


@pytest.mark.parametrize("body", [{}, {"title": ""}, {"title": "   "}, {"title": "x" * 201}])
def test_invalid_titles_give_422(client: TestClient, body: dict) -> None:
    response = client.post("/todos", json=body)
    assert response.status_code == 422
    assert "detail" in response.json()


def test_a_200_character_title_is_accepted(client: TestClient) -> None:
    assert create(client, "y" * 200)["title"] == "y" * 200


def test_list_is_in_id_order_and_filters_by_done(client: TestClient) -> None:
    a, b = create(client, "list a"), create(client, "list b")
    assert client.patch(f"/todos/{b['id']}", json={"done": True}).status_code == 200
    everything = client.get("/todos")
    assert everything.status_code == 200
    ids = [t["id"] for t in everything.json()]
    assert ids == sorted(ids) and a["id"] in ids and b["id"] in ids
    done = client.get("/todos", params={"done": "true"}).json()
    open_ = client.get("/todos", params={"done": "false"}).json()
    assert all(t["done"] for t in done) and b["id"] in [t["id"] for t in done]
    assert not any(t["done"] for t in open_) and a["id"] in [t["id"] for t in open_]


def test_get_one_todo_or_404(client: TestClient) -> None:
    todo = create(client, "read me")
    assert client.get(f"/todos/{todo['id']}").json() == todo
    missing = client.get("/todos/987654321")
    assert missing.status_code == 404
    assert "detail" in missing.json()


def test_patch_changes_only_the_given_fields(client: TestClient) -> None:
    todo = create(client, "old title")
    done = client.patch(f"/todos/{todo['id']}", json={"done": True})
    assert done.status_code == 200
    assert done.json() == {"id": todo["id"], "title": "old title", "done": True}
    renamed = client.patch(f"/todos/{todo['id']}", json={"title": " new title "})
    assert renamed.json() == {"id": todo["id"], "title": "new title", "done": True}
    assert client.get(f"/todos/{todo['id']}").json()["title"] == "new title"


def test_patch_validates_the_title_and_unknown_ids(client: TestClient) -> None:
    todo = create(client, "keep me")
    assert client.patch(f"/todos/{todo['id']}", json={"title": "  "}).status_code == 422
    assert client.get(f"/todos/{todo['id']}").json()["title"] == "keep me"
    assert client.patch("/todos/987654321", json={"done": True}).status_code == 404


def test_delete_returns_204_then_404(client: TestClient) -> None:
    todo = create(client, "delete me")
    deleted = client.delete(f"/todos/{todo['id']}")
    assert deleted.status_code == 204
    assert deleted.content == b""
    assert client.get(f"/todos/{todo['id']}").status_code == 404
    assert client.delete(f"/todos/{todo['id']}").status_code == 404
