"""Meeting room bookings: no two bookings of a room overlap on a day."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Annotated

from fastapi import FastAPI, HTTPException, Response
from pydantic import BaseModel, Field, model_validator

Hour = Annotated[int, Field(ge=0, le=24)]


class NewBooking(BaseModel):
    """What a client sends to book a room."""

    room: str
    day: dt.date
    start: Hour
    end: Hour

    @model_validator(mode="after")
    def start_before_end(self) -> NewBooking:
        """Refuse a booking that does not start before it ends."""
        if self.start >= self.end:
            raise ValueError("the start must be before the end")
        return self


class Booking(NewBooking):
    """A booking as stored and returned."""

    id: int


app = FastAPI(title="roombook")
_bookings: dict[int, Booking] = {}
_ids = itertools.count(1)


def _found(booking_id: int) -> Booking:
    if booking_id not in _bookings:
        raise HTTPException(status_code=404, detail=f"no booking {booking_id}")
    return _bookings[booking_id]


@app.post("/bookings", status_code=201)
def create_booking(new: NewBooking) -> Booking:
    """Book a room for some hours of a day, unless they overlap another booking."""
    for other in _bookings.values():
        same = (other.room, other.day) == (new.room, new.day)
        if same and new.start < other.end and other.start < new.end:
            raise HTTPException(status_code=409, detail=f"overlaps booking {other.id}")
    booking = Booking(id=next(_ids), **new.model_dump())
    _bookings[booking.id] = booking
    return booking


@app.get("/bookings/{booking_id}")
def get_booking(booking_id: int) -> Booking:
    """Return one booking."""
    return _found(booking_id)


@app.delete("/bookings/{booking_id}", status_code=204)
def delete_booking(booking_id: int) -> Response:
    """Remove a booking, freeing its hours."""
    del _bookings[_found(booking_id).id]
    return Response(status_code=204)


@app.get("/rooms/{room}/bookings")
def room_bookings(room: str, day: dt.date) -> list[Booking]:
    """List a room's bookings on a day by start hour."""
    found = [b for b in _bookings.values() if (b.room, b.day) == (room, day)]
    return sorted(found, key=lambda b: b.start)
