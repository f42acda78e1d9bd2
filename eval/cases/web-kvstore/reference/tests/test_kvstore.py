from fastapi.testclient import TestClient
from kvstore import app

client = TestClient(app)


def test_versions_grow() -> None:
    assert client.put("/kv/unit", json={"value": 1}).json()["version"] == 1
    assert client.put("/kv/unit", json={"value": 2}).json()["version"] == 2


def test_stale_version_is_409() -> None:
    client.put("/kv/stale", json={"value": 1})
    assert client.put("/kv/stale?version=5", json={"value": 2}).status_code == 409
