"""A URL shortener served over HTTP with FastAPI, links kept in memory."""

from __future__ import annotations

import re
import secrets
import string
from typing import Annotated

from fastapi import FastAPI, HTTPException, Response
from fastapi.responses import RedirectResponse
from pydantic import BaseModel, Field, field_validator

_ALPHABET = string.ascii_letters + string.digits
_URL = re.compile(r"https?://[^/?#\s]+.*", re.DOTALL)


class NewLink(BaseModel):
    """What a client sends to shorten a url."""

    url: str
    code: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{3,32}$")] | None = None

    @field_validator("url")
    @classmethod
    def _http_url(cls, url: str) -> str:
        if not _URL.fullmatch(url):
            raise ValueError("url must start with http:// or https:// and name a host")
        return url


class Link(BaseModel):
    """A stored link."""

    code: str
    url: str
    visits: int = 0


app = FastAPI(title="shortener")
_links: dict[str, Link] = {}


def _get(code: str) -> Link:
    if code not in _links:
        raise HTTPException(status_code=404, detail=f"no link with code {code!r}")
    return _links[code]


def _new_code() -> str:
    while True:
        code = "".join(secrets.choice(_ALPHABET) for _ in range(6))
        if code not in _links:
            return code


@app.post("/links", status_code=201)
def create_link(body: NewLink) -> dict[str, str]:
    """Shorten a url, with the client's code or a random one."""
    if body.code is not None and body.code in _links:
        raise HTTPException(status_code=409, detail=f"code {body.code!r} is in use")
    link = Link(code=body.code or _new_code(), url=body.url)
    _links[link.code] = link
    return {"code": link.code, "url": link.url}


@app.get("/links/{code}")
def link_stats(code: str) -> Link:
    """Describe a link and its visits."""
    return _get(code)


@app.delete("/links/{code}", status_code=204)
def delete_link(code: str) -> Response:
    """Forget a link."""
    _get(code)
    del _links[code]
    return Response(status_code=204)


@app.get("/{code}")
def follow(code: str) -> RedirectResponse:
    """Redirect to the link's url and count the visit."""
    link = _get(code)
    link.visits += 1
    return RedirectResponse(link.url, status_code=307)
