"""What the chat's sign-in form says when it refuses: a wrong password, a lock, a database down.

Chainlit's page shows a refused sign-in twice: a note with the answer's status
and words ("Too Many Requests: ... try again in 2 minutes"), and, under the
form's title, the sentence its translations give for the status text
(``auth.login.errors.<status text>``). So each refusal has a status of its own
(401, 429, 503) and words that say what to do, and ``frontend.build`` writes a
sentence for each status into the translations (``with_refusals``).
"""

from __future__ import annotations

from typing import Any, Final

from fastapi import HTTPException

from devfactory.control.signin_throttle import LockedError, how_long

WRONG: Final = "wrong"
UNAVAILABLE: Final = "unavailable"
BUSY: Final = "busy"

_REFUSED: Final[dict[str, tuple[int, str]]] = {
    WRONG: (401, "That user name and password do not match."),
    UNAVAILABLE: (
        503,
        "Sign-in is unavailable right now: the database cannot be reached. Try again in a moment.",
    ),
    BUSY: (
        503,
        "Sign-in is unavailable right now: too many sign-ins are being checked. "
        "Try again in a moment.",
    ),
}

FORM_SAYS: Final[dict[str, str]] = {
    "Unauthorized": "That user name and password do not match.",
    "Too Many Requests": "Too many failed sign-ins: this sign-in is locked for a while "
    "(the note says how long).",
    "Service Unavailable": "Sign-in is unavailable right now (the database cannot be "
    "reached, or too many sign-ins are being checked); try again in a moment.",
}
"""The form's sentence for each refusal, by the status text the browser reads."""


def signin_refusal(why: str | LockedError) -> HTTPException:
    """Return the answer to a refused sign-in: ``WRONG``, ``UNAVAILABLE``, ``BUSY`` or a lock."""
    if isinstance(why, LockedError):
        wait = int(why.retry_after_s)
        return HTTPException(
            429,
            f"Too many failed sign-ins; try again in {how_long(wait)}.",
            headers={"Retry-After": str(wait)},
        )
    status, words = _REFUSED[why]
    headers = {"Retry-After": "1" if why == BUSY else "30"} if status == 503 else None
    return HTTPException(status, words, headers=headers)


def with_refusals(translation: dict[str, Any]) -> dict[str, Any]:
    """Return a Chainlit translation whose sign-in form says why a sign-in was refused."""
    errors = translation.setdefault("auth", {}).setdefault("login", {}).setdefault("errors", {})
    errors.update(FORM_SAYS)
    return translation
