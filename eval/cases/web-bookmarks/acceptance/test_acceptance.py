"""Acceptance tests for the FastAPI app `bookmarks.app`, written from the requirement alone.

Bookmarks live for the whole process, so each test uses urls and tags of its own.
"""

import uuid

import pytest
from bookmarks import app
from fastapi.testclient import TestClient


@pytest.fixture(scope="module")
def client() -> TestClient:
    return TestClient(app)


def unique(prefix: str = "t") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def url() -> str:
    return f"https://example.org/{unique('page')}"


def create(client: TestClient, **fields: object) -> dict:
    body = {"url": url(), "title": "A page", **fields}
    response = client.post("/bookmarks", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def test_create_returns_201_with_a_clean_title_and_sorted_tags(client: TestClient) -> None:
    link = url()
    response = client.post(
        "/bookmarks",
        json={"url": link, "title": "  Bread recipes ", "tags": ["Baking", " bread ", "baking"]},
    )
    assert response.status_code == 201
    made = response.json()
    assert made == {
        "id": made["id"],
        "url": link,
        "title": "Bread recipes",
        "tags": ["baking", "bread"],
    }


def test_ids_increase_by_one_and_tags_are_optional(client: TestClient) -> None:
    first = create(client)
    second = create(client)
    assert second["id"] == first["id"] + 1
    assert first["tags"] == []


@pytest.mark.parametrize(
    "fields",
    [
        {"url": "ftp://example.org/file"},
        {"url": "https://"},
        {"title": "   "},
        {"title": "x" * 201},
        {"tags": ["has space"]},
        {"tags": ["x" * 31]},
        {"url": None},
    ],
)
def test_invalid_fields_give_422(client: TestClient, fields: dict) -> None:
    body = {"url": url(), "title": "A page", **fields}
    body = {key: value for key, value in body.items() if value is not None}
    response = client.post("/bookmarks", json=body)
    assert response.status_code == 422
    assert "detail" in response.json()


def test_a_url_already_bookmarked_gives_409(client: TestClient) -> None:
    made = create(client)
    again = client.post("/bookmarks", json={"url": made["url"], "title": "Again"})
    assert again.status_code == 409
    assert "detail" in again.json()


def test_list_in_id_order_filtered_by_tag_and_title_text(client: TestClient) -> None:
    tag, word = unique("tag"), unique("word")
    a = create(client, title=f"Soup {word.upper()} ideas", tags=[tag])
    b = create(client, title="Salad ideas", tags=[tag])
    c = create(client, title=f"More {word} notes")
    everything = client.get("/bookmarks")
    assert everything.status_code == 200
    ids = [item["id"] for item in everything.json()]
    assert ids == sorted(ids) and {a["id"], b["id"], c["id"]} <= set(ids)
    assert client.get("/bookmarks", params={"tag": tag}).json() == [a, b]
    assert client.get("/bookmarks", params={"q": word}).json() == [a, c]
    assert client.get("/bookmarks", params={"tag": tag, "q": word}).json() == [a]


def test_get_one_bookmark_or_404(client: TestClient) -> None:
    made = create(client, tags=["reading"])
    assert client.get(f"/bookmarks/{made['id']}").json() == made
    missing = client.get("/bookmarks/987654321")
    assert missing.status_code == 404
    assert "detail" in missing.json()


def test_delete_returns_204_then_404(client: TestClient) -> None:
    made = create(client)
    deleted = client.delete(f"/bookmarks/{made['id']}")
    assert deleted.status_code == 204
    assert deleted.content == b""
    assert client.get(f"/bookmarks/{made['id']}").status_code == 404
    assert client.delete(f"/bookmarks/{made['id']}").status_code == 404
    assert made["id"] not in [item["id"] for item in client.get("/bookmarks").json()]


def test_tags_counts_the_bookmarks_carrying_each_tag(client: TestClient) -> None:
    common, rare = unique("common"), unique("rare")
    create(client, tags=[common])
    second = create(client, tags=[common, rare])
    counts = client.get("/tags")
    assert counts.status_code == 200
    assert counts.json()[common] == 2
    assert counts.json()[rare] == 1
    client.delete(f"/bookmarks/{second['id']}")
    after = client.get("/tags").json()
    assert after[common] == 1
    assert rare not in after
