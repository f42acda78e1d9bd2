from fastapi.testclient import TestClient
from recipebox import app

client = TestClient(app)
SOUP = {
    "title": "Soup",
    "servings": 2,
    "ingredients": [{"name": "Leek", "amount": 1.5, "unit": "piece"}],
}


def test_doubling_a_recipe() -> None:
    recipe = client.post("/recipes", json=SOUP).json()
    scaled = client.get(f"/recipes/{recipe['id']}", params={"servings": 4}).json()
    assert scaled["ingredients"][0]["amount"] == 3


def test_finding_by_ingredient_ignores_case() -> None:
    client.post("/recipes", json=SOUP)
    assert client.get("/recipes", params={"ingredient": "leek"}).json()
