"""One-time grants behind the chat's buttons.

A button's payload comes back from the browser, so nothing in it is trusted.
When the chat shows buttons (a pause's approve/reject/..., a resume) it keeps
what they are for (the kind of action, the run, the pause, the allowed verbs)
in a ``Grant`` in *this session's* ``Grants`` under a random token, and puts
only the token (and the verb) in the payload. An action is honoured only if its
token is in the session that receives it, for that kind of action; the token is
consumed on arrival, so a replayed or copied button, or one from another
session, is refused and nothing is resumed.
"""

from __future__ import annotations

import secrets
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Grant:
    """What one set of buttons may do."""

    kind: str  # "decide" | "resume" | "open_run"
    run_id: str
    interrupt_id: str = ""
    pause_kind: str = ""
    verbs: tuple[str, ...] = ()
    pause: Any = None  # the Pause shown, to show it again if the person backs out
    action_ids: list[str] = field(default_factory=list, compare=False)


class Grants:
    """A session's outstanding grants (bounded: the oldest are dropped first)."""

    def __init__(self, limit: int = 200) -> None:
        self.limit = limit
        self._open: OrderedDict[str, Grant] = OrderedDict()

    def issue(self, grant: Grant) -> str:
        """Keep ``grant``; return the token its buttons carry."""
        token = secrets.token_urlsafe(24)
        self._open[token] = grant
        while len(self._open) > self.limit:
            self._open.popitem(last=False)
        return token

    def redeem(self, payload: Any, kind: str) -> Grant | None:
        """Consume and return the grant a payload's token names, if it is for ``kind``."""
        token = payload.get("token") if isinstance(payload, dict) else None
        if not isinstance(token, str):
            return None
        grant = self._open.get(token)
        if grant is None or grant.kind != kind:
            return None
        del self._open[token]
        return grant

    def __len__(self) -> int:
        return len(self._open)
