from fastapi.testclient import TestClient
from polls import app

client = TestClient(app)


def test_vote_and_results() -> None:
    poll = client.post("/polls", json={"question": "Q?", "options": ["a", "b"]}).json()
    client.post(f"/polls/{poll['id']}/votes", json={"option": 1})
    assert client.get(f"/polls/{poll['id']}/results").json() == {"total": 1, "winner": "b"}


def test_duplicate_options_are_refused() -> None:
    assert client.post("/polls", json={"question": "Q?", "options": ["a", "a"]}).status_code == 422
