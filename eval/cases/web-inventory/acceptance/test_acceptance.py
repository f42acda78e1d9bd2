"""Acceptance tests for the FastAPI app `inventory.app`, written from the requirement alone.

Items live for the whole process, so each test uses skus of its own.
"""

import uuid

import pytest
from fastapi.testclient import TestClient
from inventory import app


@pytest.fixture(scope="module")
def client() -> TestClient:
    return TestClient(app)


def fresh_sku() -> str:
    return "T-" + uuid.uuid4().hex[:10].upper()


def add(client: TestClient, sku: str, quantity: int = 5, name: str = "widget") -> dict:
    response = client.post("/items", json={"sku": sku, "name": name, "quantity": quantity})
    assert response.status_code == 201, response.text
    return response.json()


def test_add_returns_201_and_get_returns_the_item(client: TestClient) -> None:
    sku = fresh_sku()
    assert add(client, sku, 7, "hex bolt") == {"sku": sku, "name": "hex bolt", "quantity": 7}
    fetched = client.get(f"/items/{sku}")
    assert fetched.status_code == 200
    assert fetched.json() == {"sku": sku, "name": "hex bolt", "quantity": 7}


@pytest.mark.parametrize(
    "item",
    [
        {"sku": "lower-case", "name": "x", "quantity": 1},
        {"sku": "A" * 21, "name": "x", "quantity": 1},
        {"sku": "", "name": "x", "quantity": 1},
        {"sku": "OK-1", "name": "", "quantity": 1},
        {"sku": "OK-2", "name": "n" * 101, "quantity": 1},
        {"sku": "OK-3", "name": "x", "quantity": -1},
        {"sku": "OK-4", "name": "x"},
    ],
)
def test_invalid_items_give_422(client: TestClient, item: dict) -> None:
    response = client.post("/items", json=item)
    assert response.status_code == 422
    assert "detail" in response.json()


def test_a_sku_that_exists_gives_409(client: TestClient) -> None:
    sku = fresh_sku()
    add(client, sku)
    again = client.post("/items", json={"sku": sku, "name": "other", "quantity": 1})
    assert again.status_code == 409
    assert client.get(f"/items/{sku}").json()["name"] == "widget"


def test_list_is_sorted_by_sku_with_a_total(client: TestClient) -> None:
    prefix = fresh_sku()
    for suffix, quantity in (("B", 2), ("A", 3), ("C", 4)):
        add(client, f"{prefix}{suffix}", quantity)
    listing = client.get("/items")
    assert listing.status_code == 200
    body = listing.json()
    skus = [item["sku"] for item in body["items"]]
    assert skus == sorted(skus)
    assert {f"{prefix}A", f"{prefix}B", f"{prefix}C"} <= set(skus)
    assert body["total_quantity"] == sum(item["quantity"] for item in body["items"])


def test_below_keeps_only_items_under_n(client: TestClient) -> None:
    low, high = fresh_sku(), fresh_sku()
    add(client, low, 1)
    add(client, high, 1000)
    body = client.get("/items", params={"below": 50}).json()
    skus = [item["sku"] for item in body["items"]]
    assert low in skus and high not in skus
    assert all(item["quantity"] < 50 for item in body["items"])
    assert body["total_quantity"] == sum(item["quantity"] for item in body["items"])


def test_adjust_adds_delta_and_returns_the_item(client: TestClient) -> None:
    sku = fresh_sku()
    add(client, sku, 5)
    up = client.post(f"/items/{sku}/adjust", json={"delta": 10})
    assert up.status_code == 200
    assert up.json()["quantity"] == 15
    down = client.post(f"/items/{sku}/adjust", json={"delta": -15})
    assert down.status_code == 200
    assert down.json() == {"sku": sku, "name": "widget", "quantity": 0}


def test_adjust_refuses_negative_stock_zero_delta_and_unknown_skus(client: TestClient) -> None:
    sku = fresh_sku()
    add(client, sku, 2)
    refused = client.post(f"/items/{sku}/adjust", json={"delta": -3})
    assert refused.status_code == 409
    assert "detail" in refused.json()
    assert client.get(f"/items/{sku}").json()["quantity"] == 2
    assert client.post(f"/items/{sku}/adjust", json={"delta": 0}).status_code == 422
    assert client.post(f"/items/{fresh_sku()}/adjust", json={"delta": 1}).status_code == 404


def test_delete_returns_204_then_404(client: TestClient) -> None:
    sku = fresh_sku()
    add(client, sku)
    deleted = client.delete(f"/items/{sku}")
    assert deleted.status_code == 204
    assert deleted.content == b""
    missing = client.get(f"/items/{sku}")
    assert missing.status_code == 404
    assert "detail" in missing.json()
    assert client.delete(f"/items/{sku}").status_code == 404
