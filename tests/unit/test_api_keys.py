"""API keys in the users file: made once, stored hashed, acting in their person's role now."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from devfactory.api.auth import Allowed, Permission
from devfactory.api.errors import ApiError
from devfactory.users import Person, UserError, UserStore

PASSWORD = "correct horse battery staple 42"


def test_a_key_acts_for_its_person_in_their_current_role(tmp_path: Path) -> None:
    store = UserStore(tmp_path / "users.yaml")
    store.add("ann", PASSWORD, "reviewer")
    key, token = store.create_key("ann")
    assert token.startswith(f"dfk_{key.id}_")
    assert store.by_key(token) == store.find("ann")
    assert store.by_key(token).role == "reviewer"  # type: ignore[union-attr]
    store.add("ann", PASSWORD, "approver")  # a new role takes effect on the next request
    assert store.by_key(token).role == "approver"  # type: ignore[union-attr]
    text = (tmp_path / "users.yaml").read_text()
    secret = token.removeprefix(f"dfk_{key.id}_")
    assert len(secret) >= 32 and secret not in text  # only the hash is kept
    assert (tmp_path / "users.yaml").stat().st_mode & 0o777 == 0o600


def test_revoked_keys_and_removed_people_act_for_nobody(tmp_path: Path) -> None:
    store = UserStore(tmp_path / "users.yaml")
    first, one = store.create_key("bot", "operator")
    _, two = store.create_key("bot")
    assert store.by_key(one) is not None and store.by_key(two) is not None
    assert store.revoke_key(first.id) and not store.revoke_key(first.id)
    assert store.by_key(one) is None and store.by_key(two) is not None
    assert store.remove("bot")
    assert store.by_key(two) is None and store.keys() == []


@pytest.mark.parametrize(
    "token",
    ["", "dfk_", "dfk_000000000000_" + "A" * 43, "Bearer x", "dfk_../../etc_" + "A" * 43],
)
def test_malformed_or_unknown_keys_are_refused(tmp_path: Path, token: str) -> None:
    store = UserStore(tmp_path / "users.yaml")
    _, good = store.create_key("bot", "operator")
    assert store.by_key(token) is None
    assert store.by_key(good[:-1] + ("B" if good[-1] != "B" else "C")) is None  # one char off


def test_an_api_only_person_cannot_sign_in_to_the_chat(tmp_path: Path) -> None:
    store = UserStore(tmp_path / "users.yaml")
    store.create_key("bot", "operator")
    assert store.find("bot") is not None
    assert store.verify("bot", "") is None and store.verify("bot", PASSWORD) is None


def test_a_key_keeps_its_person_s_role_and_a_new_person_needs_one(tmp_path: Path) -> None:
    store = UserStore(tmp_path / "users.yaml")
    store.add("ann", PASSWORD, "viewer")
    with pytest.raises(UserError, match="ann is a viewer"):
        store.create_key("ann", "admin")  # a key never raises its person's role
    store.add("alice", PASSWORD, "approver")
    with pytest.raises(UserError, match="alice is an approver in .*: leave --role out"):
        store.create_key("alice", "operator")  # the README's example, for someone in the file
    assert store.create_key("alice")[0].name == "alice"  # in her role
    with pytest.raises(UserError, match="give their --role"):
        store.create_key("nobody")
    with pytest.raises(UserError, match="unknown role"):
        store.create_key("nobody", "root")
    assert [p.name for p in store.people()] == ["alice", "ann"]  # nothing half-written


@pytest.mark.parametrize(
    ("permission", "role", "said"),
    [
        (
            Permission.METRICS,
            "viewer",
            "role 'viewer' may not read the metrics; it needs the operator role or above",
        ),
        (
            Permission.PURGE,
            "approver",
            "role 'approver' may not purge runs; it needs the admin role or above",
        ),
        (
            Permission.START,
            "viewer",
            "role 'viewer' may not start runs; it needs the operator role or above",
        ),
    ],
)
def test_a_refused_role_is_told_in_a_sentence(permission: Permission, role: str, said: str) -> None:
    with pytest.raises(ApiError) as refused:
        asyncio.run(Allowed(permission)(Person("vic", role)))
    assert refused.value.status == 403 and refused.value.message == said


def refusals() -> dict[tuple[str, str], str]:
    """Return what each route's role check names when it refuses, by (method, path)."""
    from fastapi.routing import APIRoute

    from devfactory.api import console
    from devfactory.api import operation_routes as operations
    from devfactory.api import run_routes as runs

    def checks(dependant: object) -> list[Allowed]:
        found = []
        for dep in getattr(dependant, "dependencies", []):
            if isinstance(dep.call, Allowed):
                found.append(dep.call)
            found += checks(dep)
        return found

    said = {}
    for module in (operations, runs, console):
        for route in module.router.routes:
            if isinstance(route, APIRoute):
                for check in checks(route.dependant):
                    for method in route.methods:
                        said[(method, route.path)] = check.does
    return said


def test_each_refused_action_is_named_by_its_route() -> None:
    said = refusals()
    assert said[("POST", "/operations/stop")] == "use the emergency stop"
    assert said[("POST", "/operations/release")] == "release the emergency stop"
    assert said[("POST", "/teams/{slug}/pause")] == "pause a team"
    assert said[("POST", "/projects/{project}/pause")] == "pause a project"
    assert said[("POST", "/incidents/{ident}/{action}")] == "resume, roll back or close an incident"
    assert said[("GET", "/operations")] == "read the operations"
    assert said[("GET", "/incidents")] == "read the incidents"
    assert said[("GET", "/incidents/{ident}")] == "read the incidents"
    assert said[("POST", "/runs/{run_id}/cancel")] == "cancel runs"
    assert said[("POST", "/runs/{run_id}/resume")] == "resume runs"
    assert said[("DELETE", "/runs/{run_id}")] == "purge runs"
    assert said[("PUT", "/console/api/settings/projects/{project}")] == "set a project's budgets"
    # no admin action is refused as another one
    admin = [path for (_, path), does in said.items() if does == "purge runs"]
    assert admin == ["/runs/{run_id}"], admin


def test_the_emergency_stop_refusal_says_so() -> None:
    with pytest.raises(ApiError) as refused:
        asyncio.run(Allowed(Permission.PURGE, "use the emergency stop")(Person("olga", "operator")))
    assert refused.value.message == (
        "role 'operator' may not use the emergency stop; it needs the admin role or above"
    )
