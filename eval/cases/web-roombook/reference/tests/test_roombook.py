from fastapi.testclient import TestClient
from roombook import app

client = TestClient(app)


def test_adjacent_bookings_do_not_overlap() -> None:
    for start in (9, 10):
        body = {"room": "Attic", "day": "2026-01-05", "start": start, "end": start + 1}
        assert client.post("/bookings", json=body).status_code == 201


def test_an_overlap_is_refused() -> None:
    body = {"room": "Cellar", "day": "2026-01-05", "start": 9, "end": 12}
    assert client.post("/bookings", json=body).status_code == 201
    assert client.post("/bookings", json={**body, "start": 11, "end": 13}).status_code == 409
