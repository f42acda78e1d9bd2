"""Sign-in locks kept in Postgres: they outlive the process, no flood clears them, an admin may."""

from __future__ import annotations

from pathlib import Path

import pytest

from devfactory.control.overrides import OperationsRefusedError
from devfactory.control.signin_throttle import LockedError, SignInThrottle
from devfactory.factory.facade import Factory
from devfactory.settings import Settings
from devfactory.store.signins import SignInStore, throttle
from devfactory.users import UserStore
from tests.integration.cli import cli_env, run


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def test_a_lockout_outlives_a_restart_and_a_flood_of_names(pg_settings: Settings) -> None:
    clock = Clock()
    with Factory(pg_settings) as factory:
        store = SignInStore(factory.pool)

        def chat_process() -> SignInThrottle:  # a new process: nothing in its memory
            return SignInThrottle(
                max_failures=5,
                flood_failures=50,
                window_s=300,
                lockout_s=60,
                max_lockout_s=900,
                store=store,
                clock=clock,
            )

        first = chat_process()
        for _ in range(2):  # locked twice: the second lock is twice as long
            for _ in range(5):
                first.failed(first.attempt("alice", "10.0.0.1"))
            clock.now += 61
        flood = chat_process()
        for n in range(300):
            flood.failed(flood.attempt(f"made-up-{n}", f"10.9.{n // 200}.{n % 200}"))
        restarted = chat_process()
        with pytest.raises(LockedError) as locked:
            restarted.attempt("alice", "10.0.0.1")
        assert locked.value.retry_after_s == 120 - 61
        clock.now += 120 + 900  # the lock ended and she was quiet as long as the longest
        assert store.size() > 300
        restarted.succeeded(restarted.attempt("alice", "10.1.1.1"))
        assert store.size() == 3  # the expired counts are gone; alice's success cleared hers


def test_an_admin_unlocks_a_name_from_the_command_line_and_it_is_audited(
    pg_settings: Settings, database_url: str, tmp_path: Path
) -> None:
    env = cli_env(database_url, tmp_path)
    people = UserStore(tmp_path / "data" / "users.yaml")
    people.add("ann", "ann administers the factory 42", "admin")
    people.add("olly", "olly operates the factory 42", "operator")
    settings = pg_settings.with_overrides(data_dir=tmp_path / "data")
    with Factory(settings) as factory:
        limits = throttle(settings, factory.pool)
        for _ in range(settings.service.chat_login_max_failures):
            limits.failed(limits.attempt("alice", "10.0.0.1"))
        with pytest.raises(LockedError):
            limits.attempt("alice", "10.0.0.1")
        with pytest.raises(OperationsRefusedError, match="may not unlock a sign-in"):
            factory.switchboard.unlock_sign_in("alice", by="olly", role="operator")
        code, _, err = run(env, "users", "unlock", "alice", "--as", "olly")
        assert code == 2 and "may not unlock a sign-in" in err, err
        code, out, err = run(env, "users", "unlock", "alice", "--as", "ann")
        assert code == 0 and "alice may sign in again" in out, err
        limits.succeeded(limits.attempt("alice", "10.0.0.1"))
        events = [(e.kind, e.actor, e.payload) for e in factory.audit.events("factory:operations")]
        ((kind, actor, payload),) = events
        assert (kind, actor, payload["name"]) == ("signin_unlocked", "ann (admin)", "alice")
        assert payload["cleared"] == 2
