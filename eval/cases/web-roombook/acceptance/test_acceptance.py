"""Acceptance tests for the FastAPI app roombook.app, written from the requirement alone.

Bookings live for the whole process, so every test books rooms of its own.
"""

import itertools

import pytest
from fastapi.testclient import TestClient
from roombook import app

DAY = "2026-03-14"
UNKNOWN = 987654321
_rooms = itertools.count(1)


@pytest.fixture(scope="module")
def client() -> TestClient:
    return TestClient(app)


def new_room() -> str:
    return f"room-{next(_rooms)}"


def book(client: TestClient, room: str, start: int, end: int, day: str = DAY) -> dict:
    body = {"room": room, "day": day, "start": start, "end": end}
    response = client.post("/bookings", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def test_a_booking_is_created_with_the_next_id(client: TestClient) -> None:
    room = new_room()
    first = book(client, room, 9, 10)
    assert first == {"id": first["id"], "room": room, "day": DAY, "start": 9, "end": 10}
    second = book(client, room, 10, 11)
    assert second["id"] == first["id"] + 1


@pytest.mark.parametrize(
    "change",
    [
        {"start": -1},
        {"end": 25},
        {"start": 25, "end": 26},
        {"start": 12, "end": 12},
        {"start": 14, "end": 13},
        {"day": "2026-02-30"},
        {"day": "next friday"},
    ],
)
def test_bad_hours_or_days_give_422(client: TestClient, change: dict) -> None:
    body = {"room": new_room(), "day": DAY, "start": 9, "end": 10, **change}
    assert client.post("/bookings", json=body).status_code == 422


def test_the_whole_day_from_0_to_24_can_be_booked(client: TestClient) -> None:
    booking = book(client, new_room(), 0, 24)
    assert (booking["start"], booking["end"]) == (0, 24)


@pytest.mark.parametrize(
    ("start", "end", "status"),
    [
        (10, 12, 409),
        (8, 10, 409),
        (9, 11, 409),
        (8, 12, 409),
        (11, 13, 201),
        (7, 9, 201),
    ],
)
def test_overlapping_hours_in_the_same_room_give_409(
    client: TestClient, start: int, end: int, status: int
) -> None:
    room = new_room()
    book(client, room, 9, 11)
    body = {"room": room, "day": DAY, "start": start, "end": end}
    assert client.post("/bookings", json=body).status_code == status


def test_the_same_hours_in_another_room_or_on_another_day_are_free(client: TestClient) -> None:
    room = new_room()
    book(client, room, 9, 11)
    book(client, new_room(), 9, 11)
    book(client, room, 9, 11, day="2026-03-15")


def test_a_booking_is_read_and_deleted_by_id(client: TestClient) -> None:
    room = new_room()
    booking = book(client, room, 15, 16)
    response = client.get(f"/bookings/{booking['id']}")
    assert response.status_code == 200
    assert response.json() == booking
    assert client.delete(f"/bookings/{booking['id']}").status_code == 204
    assert client.get(f"/bookings/{booking['id']}").status_code == 404
    book(client, room, 15, 16)  # the hours are free again


@pytest.mark.parametrize("method", ["GET", "DELETE"])
def test_an_unknown_id_gives_404(client: TestClient, method: str) -> None:
    assert client.request(method, f"/bookings/{UNKNOWN}").status_code == 404


def test_a_room_s_bookings_for_a_day_are_listed_by_start_hour(client: TestClient) -> None:
    room = new_room()
    late = book(client, room, 14, 15)
    early = book(client, room, 8, 9)
    middle = book(client, room, 11, 13)
    book(client, room, 8, 9, day="2026-03-15")
    book(client, new_room(), 10, 11)
    response = client.get(f"/rooms/{room}/bookings", params={"day": DAY})
    assert response.status_code == 200
    assert response.json() == [early, middle, late]
