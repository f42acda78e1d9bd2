"""Acceptance tests for the FastAPI app recipebox.app, written from the requirement alone.

Recipes live for the whole process, so every test creates the recipes it uses.
"""

import itertools

import pytest
from fastapi.testclient import TestClient
from recipebox import app

UNKNOWN = 987654321
_marks = itertools.count(1)

PANCAKES = {
    "title": "Pancakes",
    "servings": 4,
    "ingredients": [
        {"name": "flour", "amount": 250, "unit": "g"},
        {"name": "eggs", "amount": 2, "unit": "piece"},
        {"name": "milk", "amount": 0.4, "unit": "l"},
    ],
}


@pytest.fixture(scope="module")
def client() -> TestClient:
    return TestClient(app)


def create(client: TestClient, recipe: dict | None = None) -> dict:
    response = client.post("/recipes", json=recipe or PANCAKES)
    assert response.status_code == 201, response.text
    return response.json()


def test_a_recipe_is_created_with_the_next_id(client: TestClient) -> None:
    first = create(client)
    assert first == {"id": first["id"], **PANCAKES}
    assert create(client)["id"] == first["id"] + 1
    response = client.get(f"/recipes/{first['id']}")
    assert response.status_code == 200
    assert response.json() == first


@pytest.mark.parametrize(
    "change",
    [
        {"title": ""},
        {"servings": 0},
        {"ingredients": [{"name": "salt", "amount": 0, "unit": "g"}]},
        {"ingredients": [{"name": "salt", "amount": -1, "unit": "g"}]},
    ],
)
def test_an_invalid_recipe_gives_422(client: TestClient, change: dict) -> None:
    assert client.post("/recipes", json={**PANCAKES, **change}).status_code == 422


@pytest.mark.parametrize(
    ("servings", "amounts"),
    [(6, [375, 3, 0.6]), (3, [187.5, 1.5, 0.3]), (2, [125, 1, 0.2])],
)
def test_a_recipe_is_scaled_to_servings(
    client: TestClient, servings: int, amounts: list[float]
) -> None:
    recipe = create(client)
    response = client.get(f"/recipes/{recipe['id']}", params={"servings": servings})
    assert response.status_code == 200
    scaled = response.json()
    assert scaled["servings"] == servings
    assert [i["amount"] for i in scaled["ingredients"]] == amounts
    assert [(i["name"], i["unit"]) for i in scaled["ingredients"]] == [
        ("flour", "g"),
        ("eggs", "piece"),
        ("milk", "l"),
    ]
    assert (scaled["id"], scaled["title"]) == (recipe["id"], "Pancakes")


@pytest.mark.parametrize(("servings", "amount"), [(1, 33.33), (2, 66.67)])
def test_scaled_amounts_are_rounded_to_two_decimals(
    client: TestClient, servings: int, amount: float
) -> None:
    recipe = create(
        client,
        {
            "title": "Syrup",
            "servings": 3,
            "ingredients": [{"name": "sugar", "amount": 100, "unit": "g"}],
        },
    )
    scaled = client.get(f"/recipes/{recipe['id']}", params={"servings": servings}).json()
    assert scaled["ingredients"][0]["amount"] == amount


def test_scaling_leaves_the_stored_recipe_alone(client: TestClient) -> None:
    recipe = create(client)
    client.get(f"/recipes/{recipe['id']}", params={"servings": 8})
    assert client.get(f"/recipes/{recipe['id']}").json() == recipe


@pytest.mark.parametrize("servings", [0, -2])
def test_servings_below_1_give_422(client: TestClient, servings: int) -> None:
    recipe = create(client)
    response = client.get(f"/recipes/{recipe['id']}", params={"servings": servings})
    assert response.status_code == 422


def test_an_unknown_id_gives_404(client: TestClient) -> None:
    assert client.get(f"/recipes/{UNKNOWN}").status_code == 404


def test_all_recipes_are_listed_in_id_order(client: TestClient) -> None:
    made = [create(client) for _ in range(3)]
    response = client.get("/recipes")
    assert response.status_code == 200
    listed = response.json()
    ids = [r["id"] for r in listed]
    assert ids == sorted(ids)
    assert all(r in listed for r in made)


def test_the_ingredient_parameter_keeps_recipes_using_it(client: TestClient) -> None:
    spice = f"Saffron {next(_marks)}"
    ingredient = {"name": spice, "amount": 0.5, "unit": "g"}
    with_it = [
        create(client, {**PANCAKES, "title": "Risotto", "ingredients": [ingredient]}),
        create(client, {**PANCAKES, "ingredients": [*PANCAKES["ingredients"], ingredient]}),
    ]
    create(client)
    response = client.get("/recipes", params={"ingredient": spice.upper()})
    assert response.status_code == 200
    assert response.json() == with_it
