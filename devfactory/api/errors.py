"""One error format for every refusal: ``{"error": {"status": 404, "message": "..."}}``.

Every 4xx says in words what was wrong; nothing is half-written, because each
route checks everything it can before it changes anything. What the factory
refuses (a run not found, in the wrong state, a decision a role may not make)
is answered by its kind's status (``factory/refusals.py``), whatever route it
comes through: a run the emergency stop or its project's hold refuses is 423
(Locked) with who stopped it and why.
"""

from __future__ import annotations

from urllib.parse import unquote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from devfactory.factory.refusals import REFUSALS, Refusal, refusal

# The status each kind of refusal is answered with, whatever route it comes through.
STATUS: dict[Refusal, int] = {
    Refusal.INVALID: 400,
    Refusal.FORBIDDEN: 403,
    Refusal.NOT_FOUND: 404,
    Refusal.UNKNOWN: 404,
    Refusal.STATE: 409,
    Refusal.BUSY: 409,
    Refusal.HELD: 423,  # with who stopped the factory, or holds the project, and why
}


class ApiError(Exception):
    """A refusal with its HTTP status and a message for the caller."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.headers = status, message, headers


class ErrorBody(BaseModel):
    """What went wrong."""

    status: int
    message: str


class ErrorResponse(BaseModel):
    """The body of every 4xx and 5xx."""

    error: ErrorBody


async def no_nul(request: Request) -> None:
    """Refuse a path or query that holds a NUL character (nothing downstream can store one)."""
    if "\x00" in unquote(request.url.path) or "\x00" in unquote(request.url.query):
        raise ApiError(400, "the request's path or query holds a NUL character")


def _body(status: int, message: str) -> dict[str, dict[str, object]]:
    return {"error": {"status": status, "message": message}}


def install(app: FastAPI) -> None:
    """Answer every error in the one format."""

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse(_body(exc.status, exc.message), exc.status, headers=exc.headers)

    async def refused(request: Request, exc: Exception) -> JSONResponse:
        status = STATUS[refusal(exc) or Refusal.INVALID]  # registered for refusals alone
        return JSONResponse(_body(status, str(exc)), status)

    for kind in REFUSALS:
        app.add_exception_handler(kind, refused)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse(
            _body(exc.status_code, str(exc.detail)), exc.status_code, headers=exc.headers
        )

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e.get('loc', ()) if p != 'body') or 'body'}: "
            f"{e.get('msg', 'invalid')}"
            for e in exc.errors()
        )
        return JSONResponse(_body(422, f"invalid request: {problems}"[:2000]), 422)


# What each route may answer besides its success, for the OpenAPI document.
ERRORS: dict[int | str, dict[str, object]] = {
    code: {"model": ErrorResponse, "description": why}
    for code, why in (
        (400, "the request cannot be done as asked"),
        (401, "no API key, or not a valid one"),
        (403, "the key's role may not do this"),
        (404, "no such run, team or file"),
        (409, "the run is in a state that does not allow it"),
        (422, "the request is malformed"),
    )
}
