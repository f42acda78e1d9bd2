"""A club's scoreboard: players, their points and a leaderboard."""

from __future__ import annotations

from typing import Annotated

from fastapi import FastAPI, HTTPException, Query
from pydantic import BaseModel, Field


class NewPlayer(BaseModel):
    """What a client sends to add a player."""

    name: str = Field(min_length=1, max_length=30)


class Points(BaseModel):
    """Points to add to a score (negative ones take away)."""

    points: int


class Player(BaseModel):
    """A player and their score."""

    name: str
    score: int = 0


app = FastAPI(title="scoreboard")
_players: dict[str, Player] = {}


def _found(name: str) -> Player:
    if name not in _players:
        raise HTTPException(status_code=404, detail=f"no player named {name!r}")
    return _players[name]


@app.post("/players", status_code=201)
def add_player(new: NewPlayer) -> Player:
    """Add a player with a score of 0."""
    if new.name in _players:
        raise HTTPException(status_code=409, detail=f"{new.name!r} is taken")
    _players[new.name] = Player(name=new.name)
    return _players[new.name]


@app.post("/players/{name}/points")
def add_points(name: str, points: Points) -> Player:
    """Add points to a player's score, which never goes below zero."""
    player = _found(name)
    player.score = max(0, player.score + points.points)
    return player


@app.get("/players/{name}")
def get_player(name: str) -> Player:
    """Return one player."""
    return _found(name)


@app.get("/leaderboard")
def leaderboard(limit: Annotated[int | None, Query()] = None) -> list[Player]:
    """List the players by score, highest first, then by name."""
    board = sorted(_players.values(), key=lambda p: (-p.score, p.name))
    return board if limit is None else board[:limit]
