"""Acceptance tests for the FastAPI app `kvstore.app`, written from the requirement alone.

Entries live for the whole process, so each test uses keys of its own.
"""

import uuid

import pytest
from fastapi.testclient import TestClient
from kvstore import app


@pytest.fixture(scope="module")
def client() -> TestClient:
    return TestClient(app)


def fresh() -> str:
    return "k-" + uuid.uuid4().hex[:16]


def test_a_new_key_gives_201_and_version_1(client: TestClient) -> None:
    key = fresh()
    created = client.put(f"/kv/{key}", json={"value": {"colour": "blue"}})
    assert created.status_code == 201
    assert created.json() == {"key": key, "value": {"colour": "blue"}, "version": 1}
    fetched = client.get(f"/kv/{key}")
    assert fetched.status_code == 200
    assert fetched.json() == created.json()


def test_replacing_a_value_gives_200_and_the_next_version(client: TestClient) -> None:
    key = fresh()
    client.put(f"/kv/{key}", json={"value": 1})
    replaced = client.put(f"/kv/{key}", json={"value": "two"})
    assert replaced.status_code == 200
    assert replaced.json() == {"key": key, "value": "two", "version": 2}
    assert client.put(f"/kv/{key}", json={"value": 3}).json()["version"] == 3
    assert client.get(f"/kv/{key}").json()["value"] == 3


@pytest.mark.parametrize(
    "value", [{"a": [1, 2], "b": {"c": None}}, [1, "x", None], "text", 3.5, True, None]
)
def test_any_json_value_is_stored(client: TestClient, value: object) -> None:
    key = fresh()
    assert client.put(f"/kv/{key}", json={"value": value}).status_code == 201
    assert client.get(f"/kv/{key}").json() == {"key": key, "value": value, "version": 1}


def test_a_write_with_version_needs_the_current_version(client: TestClient) -> None:
    key = fresh()
    assert client.put(f"/kv/{key}?version=1", json={"value": "x"}).status_code == 409
    assert client.get(f"/kv/{key}").status_code == 404
    assert client.put(f"/kv/{key}?version=0", json={"value": "a"}).status_code == 201
    updated = client.put(f"/kv/{key}", params={"version": 1}, json={"value": "b"})
    assert updated.status_code == 200
    assert updated.json()["version"] == 2
    stale = client.put(f"/kv/{key}", params={"version": 1}, json={"value": "c"})
    assert stale.status_code == 409
    assert "detail" in stale.json()
    assert client.put(f"/kv/{key}?version=0", json={"value": "d"}).status_code == 409
    assert client.get(f"/kv/{key}").json() == {"key": key, "value": "b", "version": 2}


def test_delete_gives_204_then_404_and_a_rewrite_starts_at_version_1(
    client: TestClient,
) -> None:
    key = fresh()
    client.put(f"/kv/{key}", json={"value": 1})
    client.put(f"/kv/{key}", json={"value": 2})
    deleted = client.delete(f"/kv/{key}")
    assert deleted.status_code == 204
    assert deleted.content == b""
    missing = client.get(f"/kv/{key}")
    assert missing.status_code == 404
    assert "detail" in missing.json()
    assert client.delete(f"/kv/{key}").status_code == 404
    again = client.put(f"/kv/{key}", json={"value": 3})
    assert again.status_code == 201
    assert again.json()["version"] == 1


def test_list_keys_sorted_and_by_prefix(client: TestClient) -> None:
    prefix = "p" + uuid.uuid4().hex[:12]
    for suffix in (".b", ".a", "-c"):
        client.put(f"/kv/{prefix}{suffix}", json={"value": suffix})
    everything = client.get("/kv")
    assert everything.status_code == 200
    keys = everything.json()["keys"]
    assert keys == sorted(keys)
    assert {f"{prefix}.a", f"{prefix}.b", f"{prefix}-c"} <= set(keys)
    chosen = client.get("/kv", params={"prefix": prefix})
    assert chosen.json() == {"keys": [f"{prefix}-c", f"{prefix}.a", f"{prefix}.b"]}
    assert client.get("/kv", params={"prefix": prefix + ".a"}).json() == {"keys": [f"{prefix}.a"]}


@pytest.mark.parametrize("key", ["bad key", "x" * 65, "semi;colon", "ünï"])
def test_keys_that_do_not_match_give_422(client: TestClient, key: str) -> None:
    response = client.put(f"/kv/{key}", json={"value": 1})
    assert response.status_code == 422
    assert "detail" in response.json()


def test_a_64_character_key_is_fine_and_a_body_needs_value(client: TestClient) -> None:
    key = "K." + uuid.uuid4().hex + "_" * 30
    assert len(key) == 64
    assert client.put(f"/kv/{key}", json={"value": "ok"}).status_code == 201
    assert client.put(f"/kv/{fresh()}", json={"data": 1}).status_code == 422
