"""Polls kept in memory and served over HTTP with FastAPI: create, vote, close, results."""

from __future__ import annotations

from typing import Annotated

from fastapi import FastAPI, HTTPException
from pydantic import BaseModel, Field, StringConstraints, field_validator

Question = Annotated[str, StringConstraints(min_length=1, max_length=200)]
OptionText = Annotated[str, StringConstraints(min_length=1, max_length=100)]


class NewPoll(BaseModel):
    """What a client sends to create a poll."""

    question: Question
    options: list[OptionText] = Field(min_length=2, max_length=10)

    @field_validator("options")
    @classmethod
    def _distinct(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("options must all differ")
        return value


class Vote(BaseModel):
    """A vote for the option at a 0-based index."""

    option: int


class Option(BaseModel):
    """One option of a poll and its votes."""

    text: str
    votes: int = 0


class Poll(BaseModel):
    """A stored poll."""

    id: int
    question: str
    options: list[Option]
    open: bool = True


class Results(BaseModel):
    """The votes cast and the single leading option, if any."""

    total: int
    winner: str | None


app = FastAPI(title="polls")
_polls: dict[int, Poll] = {}
_last_id = 0


def _get(poll_id: int) -> Poll:
    if poll_id not in _polls:
        raise HTTPException(status_code=404, detail=f"poll {poll_id} not found")
    return _polls[poll_id]


@app.post("/polls", status_code=201)
def create_poll(body: NewPoll) -> Poll:
    """Create an open poll with no votes."""
    global _last_id
    _last_id += 1
    poll = Poll(id=_last_id, question=body.question, options=[Option(text=t) for t in body.options])
    _polls[poll.id] = poll
    return poll


@app.get("/polls/{poll_id}")
def get_poll(poll_id: int) -> Poll:
    """Return one poll."""
    return _get(poll_id)


@app.post("/polls/{poll_id}/votes")
def cast_vote(poll_id: int, body: Vote) -> Poll:
    """Add one vote to an option of an open poll."""
    poll = _get(poll_id)
    if not 0 <= body.option < len(poll.options):
        raise HTTPException(status_code=422, detail=f"no option {body.option} in this poll")
    if not poll.open:
        raise HTTPException(status_code=409, detail=f"poll {poll_id} is closed")
    poll.options[body.option].votes += 1
    return poll


@app.post("/polls/{poll_id}/close")
def close_poll(poll_id: int) -> Poll:
    """Close a poll to further votes."""
    poll = _get(poll_id)
    poll.open = False
    return poll


@app.get("/polls/{poll_id}/results")
def results(poll_id: int) -> Results:
    """Return the total votes and the option with the most votes, unless shared."""
    poll = _get(poll_id)
    counts = [option.votes for option in poll.options]
    total = sum(counts)
    top = max(counts)
    leaders = [option.text for option in poll.options if option.votes == top]
    winner = leaders[0] if total and len(leaders) == 1 else None
    return Results(total=total, winner=winner)
