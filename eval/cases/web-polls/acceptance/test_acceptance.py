"""Acceptance tests for the FastAPI app `polls.app`, written from the requirement alone.

Polls live for the whole process, so every test creates the polls it uses.
"""

import pytest
from fastapi.testclient import TestClient
from polls import app

UNKNOWN = 987654321


@pytest.fixture(scope="module")
def client() -> TestClient:
    return TestClient(app)


def create(client: TestClient, options: list[str] | None = None) -> dict:
    body = {"question": "Tea or coffee?", "options": options or ["Tea", "Coffee"]}
    response = client.post("/polls", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def vote(client: TestClient, poll: dict, option: int) -> dict:
    response = client.post(f"/polls/{poll['id']}/votes", json={"option": option})
    assert response.status_code == 200, response.text
    return response.json()


def test_create_returns_201_and_an_open_poll_without_votes(client: TestClient) -> None:
    poll = create(client, ["Tea", "Coffee", "Juice"])
    assert poll == {
        "id": poll["id"],
        "question": "Tea or coffee?",
        "options": [
            {"text": "Tea", "votes": 0},
            {"text": "Coffee", "votes": 0},
            {"text": "Juice", "votes": 0},
        ],
        "open": True,
    }
    assert client.get(f"/polls/{poll['id']}").json() == poll
    assert create(client)["id"] == poll["id"] + 1


@pytest.mark.parametrize(
    "body",
    [
        {"question": "", "options": ["a", "b"]},
        {"question": "q" * 201, "options": ["a", "b"]},
        {"question": "One?", "options": ["only"]},
        {"question": "Many?", "options": [f"o{n}" for n in range(11)]},
        {"question": "Same?", "options": ["Tea", "Tea"]},
        {"question": "Empty?", "options": ["", "x"]},
        {"question": "Long?", "options": ["x" * 101, "y"]},
    ],
)
def test_invalid_polls_give_422(client: TestClient, body: dict) -> None:
    response = client.post("/polls", json=body)
    assert response.status_code == 422
    assert "detail" in response.json()


def test_ten_options_of_100_characters_are_accepted(client: TestClient) -> None:
    options = [f"{n}" * 100 for n in range(10)]
    poll = create(client, options)
    assert [o["text"] for o in poll["options"]] == options


def test_votes_add_one_to_the_chosen_option(client: TestClient) -> None:
    poll = create(client)
    vote(client, poll, 1)
    vote(client, poll, 0)
    updated = vote(client, poll, 1)
    assert updated["options"] == [{"text": "Tea", "votes": 1}, {"text": "Coffee", "votes": 2}]
    assert client.get(f"/polls/{poll['id']}").json() == updated


@pytest.mark.parametrize("option", [2, -1])
def test_an_option_index_out_of_range_gives_422(client: TestClient, option: int) -> None:
    poll = create(client)
    response = client.post(f"/polls/{poll['id']}/votes", json={"option": option})
    assert response.status_code == 422
    assert client.get(f"/polls/{poll['id']}").json()["options"][0]["votes"] == 0


def test_a_closed_poll_refuses_votes_with_409(client: TestClient) -> None:
    poll = create(client)
    vote(client, poll, 0)
    closed = client.post(f"/polls/{poll['id']}/close")
    assert closed.status_code == 200
    assert closed.json()["open"] is False
    refused = client.post(f"/polls/{poll['id']}/votes", json={"option": 1})
    assert refused.status_code == 409
    assert "detail" in refused.json()
    assert [o["votes"] for o in client.get(f"/polls/{poll['id']}").json()["options"]] == [1, 0]
    assert client.post(f"/polls/{poll['id']}/close").status_code == 200


def test_results_give_the_total_and_a_single_winner(client: TestClient) -> None:
    poll = create(client, ["Red", "Green", "Blue"])
    results = f"/polls/{poll['id']}/results"
    assert client.get(results).json() == {"total": 0, "winner": None}
    vote(client, poll, 0)
    vote(client, poll, 2)
    assert client.get(results).json() == {"total": 2, "winner": None}
    vote(client, poll, 2)
    response = client.get(results)
    assert response.status_code == 200
    assert response.json() == {"total": 3, "winner": "Blue"}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/polls/{id}"),
        ("POST", "/polls/{id}/votes"),
        ("POST", "/polls/{id}/close"),
        ("GET", "/polls/{id}/results"),
    ],
)
def test_an_unknown_id_gives_404_everywhere(client: TestClient, method: str, path: str) -> None:
    body = {"option": 0} if path.endswith("/votes") else None
    response = client.request(method, path.format(id=UNKNOWN), json=body)
    assert response.status_code == 404
    assert "detail" in response.json()
