"""Who may do what in the chat, decided afresh at every action (no Chainlit here).

A sign-in token only says who signed in and when. Whether that person may
still act, and in which role, is read from the users file at each action, so
removing someone or lowering their role takes effect at once. People a trusted
proxy names (header sign-in) are taken as the proxy said, per request.

Runs are visible to their owner and to the roles the policy's
``see_all_runs`` lists; nobody else may attach to, follow, answer, resume or
download from a run, whatever run id a button's payload carries.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from devfactory.control.policy import ROLES, Policy
from devfactory.users import Person, UserStore


def recheck(
    name: str, metadata: Mapping[str, Any] | None, store: UserStore, *, header_auth: bool
) -> Person | None:
    """Return who ``name`` is now, with their current role, or None if they may no longer act."""
    provider = (metadata or {}).get("provider")
    if provider == "password":
        return store.find(name)
    if provider == "header" and header_auth:
        role = str((metadata or {}).get("role", "viewer"))
        return Person(name, role if role in ROLES else "viewer")
    return None


def may_see_run(person: Person, owner: str | None, policy: Policy) -> bool:
    """Say whether ``person`` may see a run that ``owner`` started."""
    return policy.may_see_run(person.name, person.role, owner)
