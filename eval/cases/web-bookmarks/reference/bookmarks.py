"""Tagged bookmarks kept in memory and served over HTTP with FastAPI."""

from __future__ import annotations

import re
from collections import Counter
from typing import Annotated

from fastapi import FastAPI, HTTPException, Response
from pydantic import BaseModel, StringConstraints, field_validator

TAG = re.compile(r"^[a-z0-9-]{1,30}$")
Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class NewBookmark(BaseModel):
    """What a client sends to create a bookmark."""

    url: str
    title: Title
    tags: list[str] = []

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        for scheme in ("http://", "https://"):
            if value.startswith(scheme) and len(value) > len(scheme):
                return value
        raise ValueError("url must start with http:// or https:// and name a host")

    @field_validator("tags")
    @classmethod
    def _clean_tags(cls, value: list[str]) -> list[str]:
        tags = {tag.strip().lower() for tag in value}
        bad = sorted(tag for tag in tags if not TAG.match(tag))
        if bad:
            raise ValueError(f"invalid tags: {bad}")
        return sorted(tags)


class Bookmark(BaseModel):
    """A stored bookmark."""

    id: int
    url: str
    title: str
    tags: list[str]


app = FastAPI(title="bookmarks")
_bookmarks: dict[int, Bookmark] = {}
_last_id = 0


def _get(bookmark_id: int) -> Bookmark:
    if bookmark_id not in _bookmarks:
        raise HTTPException(status_code=404, detail=f"bookmark {bookmark_id} not found")
    return _bookmarks[bookmark_id]


@app.post("/bookmarks", status_code=201)
def create_bookmark(body: NewBookmark) -> Bookmark:
    """Create a bookmark; a url may be bookmarked once."""
    global _last_id
    if any(b.url == body.url for b in _bookmarks.values()):
        raise HTTPException(status_code=409, detail=f"{body.url} is already bookmarked")
    _last_id += 1
    bookmark = Bookmark(id=_last_id, url=body.url, title=body.title, tags=body.tags)
    _bookmarks[bookmark.id] = bookmark
    return bookmark


@app.get("/bookmarks")
def list_bookmarks(tag: str | None = None, q: str | None = None) -> list[Bookmark]:
    """List bookmarks in id order, optionally by tag and by text in the title."""
    found = sorted(_bookmarks.values(), key=lambda b: b.id)
    if tag is not None:
        found = [b for b in found if tag in b.tags]
    if q is not None:
        needle = q.casefold()
        found = [b for b in found if needle in b.title.casefold()]
    return found


@app.get("/bookmarks/{bookmark_id}")
def get_bookmark(bookmark_id: int) -> Bookmark:
    """Return one bookmark."""
    return _get(bookmark_id)


@app.delete("/bookmarks/{bookmark_id}", status_code=204)
def delete_bookmark(bookmark_id: int) -> Response:
    """Delete a bookmark."""
    _get(bookmark_id)
    del _bookmarks[bookmark_id]
    return Response(status_code=204)


@app.get("/tags")
def tag_counts() -> dict[str, int]:
    """Count the bookmarks carrying each tag in use."""
    counts = Counter(tag for b in _bookmarks.values() for tag in b.tags)
    return dict(sorted(counts.items()))
