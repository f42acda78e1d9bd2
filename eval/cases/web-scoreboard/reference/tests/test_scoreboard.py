from fastapi.testclient import TestClient
from scoreboard import app

client = TestClient(app)


def test_a_score_never_goes_below_zero() -> None:
    client.post("/players", json={"name": "ada"})
    response = client.post("/players/ada/points", json={"points": -3})
    assert response.json() == {"name": "ada", "score": 0}


def test_the_leaderboard_is_limited() -> None:
    for name in ("bo", "cy"):
        client.post("/players", json={"name": name})
    assert len(client.get("/leaderboard", params={"limit": 1}).json()) == 1
