"""Who calls, and what their role allows: API keys sent as bearer tokens.

A key acts for a person of the users file (``users.py``), in the role the file
gives them now, so removing someone or changing their role takes effect on the
next request. Each route names the ``Permission`` it needs; ``MIN_ROLE`` maps
it to the least trusted role that has it, in the policy's order of roles. Which
roles may answer which pause is the policy's ``roles``, checked per answer.
Runs are visible to their owner and the policy's ``see_all_runs`` roles; to
anyone else another's run does not exist (404). A project's name follows the
same rule (``visible_projects``): one sees the projects of the runs one may see.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Final

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from devfactory.api.console_signin import ConsoleSessions
from devfactory.api.errors import ApiError
from devfactory.control.policy import ROLES, Policy
from devfactory.store.runs_table import RunRow, RunStore
from devfactory.users import Person, UserStore
from devfactory.webguard import Gate, Refusal, Scope


class Permission(StrEnum):
    """What a route does, as far as roles are concerned."""

    READ = "read"  # look at runs (own, or all with see_all_runs), teams, graphs, memory
    START = "start"  # submit runs
    CONTROL = "control"  # cancel or resume a run one may see
    ANSWER = "answer"  # answer a pause; the policy's roles for that pause decide
    METRICS = "metrics"
    PURGE = "purge"  # delete an archived run's checkpoints, live events and folder


MIN_ROLE: dict[Permission, str] = {
    Permission.READ: "viewer",
    Permission.START: "operator",
    Permission.CONTROL: "operator",
    Permission.ANSWER: "viewer",
    Permission.METRICS: "operator",  # the factory's whole activity, whoever owns the runs
    Permission.PURGE: "admin",
}
DOES: dict[Permission, str] = {
    Permission.READ: "read runs",
    Permission.START: "start runs",
    Permission.CONTROL: "cancel or resume runs",
    Permission.ANSWER: "answer a run's questions",
    Permission.METRICS: "read the metrics",
    Permission.PURGE: "purge runs",
}
"""What each permission lets a caller do, as a refusal says it ("may not read the metrics")."""
_RANK = {role: rank for rank, role in enumerate(ROLES)}


def allows(role: str, permission: Permission) -> bool:
    """Whether ``role`` ranks at or above what ``permission`` needs (unknown roles never do)."""
    return _RANK.get(role, -1) >= _RANK[MIN_ROLE[permission]]


BEARER = {"WWW-Authenticate": 'Bearer realm="devfactory"'}
_BEARER_HEADER = tuple(BEARER.items())


def users(request: Request) -> UserStore:
    """Return the users file the app was started with."""
    store: UserStore = request.app.state.users
    return store


# The dependencies below do no I/O: async, they run on the event loop instead of each
# taking a thread of the pool that the routes' database reads wait for.
async def policy(request: Request) -> Policy:
    """Return the policy the app was started with."""
    found: Policy = request.app.state.policy
    return found


_BEARER = HTTPBearer(auto_error=False, description="An API key: `devfactory keys create`.")


DOCS_ASSETS: Final = "/docs/assets"
"""Where the Swagger UI and ReDoc assets are served (from the ``fastapi-offline`` package)."""

# Routes anyone may call: the front door (a redirect to the console), the favicon,
# liveness, readiness, the API's own documentation, and the console's pages, sign-in
# form and assets (they hold no data: what the console shows comes from the other
# routes, with its sign-in cookie).
PUBLIC_PATHS = frozenset(
    {
        "/",
        "/favicon.ico",
        "/health",
        "/ready",
        "/docs",
        "/docs/oauth2-redirect",
        "/redoc",
        "/docs/redoc.js",
        "/openapi.json",
        *(
            f"{DOCS_ASSETS}/{name}"
            for name in (
                "swagger-ui-bundle.js",
                "swagger-ui.css",
                "redoc.standalone.js",
                "favicon.png",
            )
        ),
        "/console",
        "/console/",
        "/console/signin",
        "/console/signout",
    }
)
PUBLIC_PREFIXES = ("/console/static/",)


def identify(store: UserStore, authorization: str | None) -> Person | Refusal:
    """Return who an ``Authorization: Bearer`` header acts for, or the 401 that refuses it."""
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return Refusal(401, "send an API key: Authorization: Bearer dfk_...", _BEARER_HEADER)
    person = store.by_key(token.strip())
    if person is None:
        return Refusal(401, "that API key is not valid (revoked, or never made)", _BEARER_HEADER)
    return person


def signed_gate(store: UserStore, sessions: ConsoleSessions | None = None) -> Gate:
    """Return the edge check that refuses a request without a valid key before its body is read.

    A request without an ``Authorization`` header may instead carry the
    console's sign-in cookie (``sessions``). The person found is kept in the
    request's state, so the route's ``caller`` does not look them up again.
    """

    def gate(scope: Scope) -> Refusal | None:
        path = scope["path"]
        if path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES):
            return None
        header = next((v for k, v in scope["headers"] if k.lower() == b"authorization"), None)
        found = sessions.identify(scope) if header is None and sessions is not None else None
        if found is None:  # no cookie either: the key decides
            found = identify(store, header.decode("latin-1") if header is not None else None)
        if isinstance(found, Refusal):
            return found
        scope.setdefault("state", {})["person"] = found
        return None

    return gate


async def caller(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_BEARER)],
) -> Person:
    """Return who the bearer key acts for (as the edge found it); 401 without a valid key."""
    known = getattr(request.state, "person", None)
    if isinstance(known, Person):
        return known
    header = f"Bearer {credentials.credentials}" if credentials is not None else None
    found = identify(users(request), header)
    if isinstance(found, Refusal):
        raise ApiError(found.status, found.message, dict(found.headers))
    return found


class Allowed:
    """A dependency: the caller, if their role has ``permission`` (else 403).

    The refusal names what was refused: ``does`` where the route gives it (``may not
    use the emergency stop``), else what the permission lets a caller do.
    """

    def __init__(self, permission: Permission, does: str = "") -> None:
        self.permission = permission
        self.does = does or DOES[permission]

    async def __call__(self, person: Annotated[Person, Depends(caller)]) -> Person:
        """Return the caller, or refuse them."""
        if not allows(person.role, self.permission):
            need = MIN_ROLE[self.permission]
            raise ApiError(
                403,
                f"role {person.role!r} may not {self.does}; it needs the {need} role or above",
            )
        return person


def visible(row: RunRow, person: Person, rules: Policy) -> RunRow:
    """Return the run if ``person`` may see it; else 404, as if it did not exist."""
    may_see(row.run_id, row.owner, person, rules)
    return row


def may_see(run_id: str, owner: str, person: Person, rules: Policy) -> None:
    """Refuse (404, as if it did not exist) a run of ``owner`` that ``person`` may not see."""
    if not rules.may_see_run(person.name, person.role, owner):
        raise ApiError(404, f"no run with id {run_id!r}")


def visible_projects(runs: RunStore, person: Person, rules: Policy) -> set[str] | None:
    """Return the projects whose names ``person`` may read (None: every project).

    The runs' rule: a ``see_all_runs`` role sees every project; anyone else only
    the projects of their own runs, so a project another owner holds or caps
    does not exist for them, as that owner's runs do not.
    """
    owners = rules.visible_owners(person.name, person.role)
    return None if owners is None else runs.projects(owners)


Reader = Annotated[Person, Depends(Allowed(Permission.READ))]
Starter = Annotated[Person, Depends(Allowed(Permission.START))]
Answerer = Annotated[Person, Depends(Allowed(Permission.ANSWER))]
MetricsReader = Annotated[Person, Depends(Allowed(Permission.METRICS))]
Admin = Annotated[Person, Depends(Allowed(Permission.PURGE))]


def may(permission: Permission, does: str) -> Any:
    """Return the route's dependency on ``permission``, its refusal naming what it ``does``."""
    return Depends(Allowed(permission, does))


Rules = Annotated[Policy, Depends(policy)]
