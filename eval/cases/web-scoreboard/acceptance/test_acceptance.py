"""Acceptance tests for the FastAPI app scoreboard.app, written from the requirement alone.

Players live for the whole process, so every test adds players of its own, with
lower-case names, and the leaderboard tests check the order of the whole list.
"""

import itertools

import pytest
from fastapi.testclient import TestClient
from scoreboard import app

_names = itertools.count(1)


@pytest.fixture(scope="module")
def client() -> TestClient:
    return TestClient(app)


def add(client: TestClient, name: str | None = None) -> str:
    name = name or f"player{next(_names):04d}"
    response = client.post("/players", json={"name": name})
    assert response.status_code == 201, response.text
    assert response.json() == {"name": name, "score": 0}
    return name


def score(client: TestClient, name: str, points: int) -> dict:
    response = client.post(f"/players/{name}/points", json={"points": points})
    assert response.status_code == 200, response.text
    return response.json()


def test_a_new_player_starts_at_zero(client: TestClient) -> None:
    name = add(client)
    response = client.get(f"/players/{name}")
    assert response.status_code == 200
    assert response.json() == {"name": name, "score": 0}
    add(client, "x" * 30)


@pytest.mark.parametrize("name", ["", "y" * 31])
def test_a_name_of_the_wrong_length_gives_422(client: TestClient, name: str) -> None:
    assert client.post("/players", json={"name": name}).status_code == 422


def test_a_taken_name_gives_409(client: TestClient) -> None:
    name = add(client)
    assert client.post("/players", json={"name": name}).status_code == 409


@pytest.mark.parametrize(
    ("points", "final"),
    [([5], 5), ([5, 3], 8), ([10, -4], 6), ([3, -10], 0), ([3, -10, 4], 4)],
)
def test_points_are_added_and_the_score_stops_at_zero(
    client: TestClient, points: list[int], final: int
) -> None:
    name = add(client)
    for value in points:
        player = score(client, name, value)
    assert player == {"name": name, "score": final}
    assert client.get(f"/players/{name}").json() == player


def test_the_leaderboard_has_the_highest_score_first_then_names(client: TestClient) -> None:
    top = [add(client) for _ in range(4)]
    for name, points in zip(top, [7000, 9000, 7000, 8000], strict=True):
        score(client, name, points)
    response = client.get("/leaderboard")
    assert response.status_code == 200
    board = response.json()
    assert board[:4] == [
        {"name": top[1], "score": 9000},
        {"name": top[3], "score": 8000},
        {"name": top[0], "score": 7000},
        {"name": top[2], "score": 7000},
    ]
    assert board == sorted(board, key=lambda p: (-p["score"], p["name"]))


@pytest.mark.parametrize("limit", [1, 2, 3])
def test_limit_keeps_the_top_of_the_list(client: TestClient, limit: int) -> None:
    for _ in range(3):
        add(client)
    board = client.get("/leaderboard").json()
    response = client.get("/leaderboard", params={"limit": limit})
    assert response.status_code == 200
    assert response.json() == board[:limit]


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [("GET", "/players/nobody-here", None), ("POST", "/players/nobody-here/points", {"points": 1})],
)
def test_an_unknown_name_gives_404(
    client: TestClient, method: str, path: str, body: dict | None
) -> None:
    assert client.request(method, path, json=body).status_code == 404
