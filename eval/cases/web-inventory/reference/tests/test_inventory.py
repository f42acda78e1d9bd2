from fastapi.testclient import TestClient
from inventory import app

client = TestClient(app)


def test_add_and_adjust() -> None:
    assert (
        client.post("/items", json={"sku": "REF-1", "name": "bolt", "quantity": 3}).status_code
        == 201
    )
    assert client.post("/items/REF-1/adjust", json={"delta": -2}).json()["quantity"] == 1
    assert client.post("/items/REF-1/adjust", json={"delta": -2}).status_code == 409
