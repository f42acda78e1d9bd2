"""Sign-in lockouts kept in Postgres: they outlive the chat process and no flood clears them."""

from __future__ import annotations

import pytest

from devfactory.control.signin import LockedError, SignInThrottle
from devfactory.factory.runner import Factory
from devfactory.settings import Settings
from devfactory.store.signins import SignInStore


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
                max_failures=5, window_s=300, lockout_s=900, store=store, clock=clock
            )

        first = chat_process()
        for n in range(5):
            first.failed(first.attempt("alice", f"10.0.0.{n}"))
        flood = chat_process()
        for n in range(300):
            flood.failed(flood.attempt(f"made-up-{n}", f"10.9.{n // 200}.{n % 200}"))
        restarted = chat_process()
        with pytest.raises(LockedError):
            restarted.attempt("alice", "10.1.1.1")
        clock.now += 901
        assert store.size() > 300
        restarted.succeeded(restarted.attempt("alice", "10.1.1.1"))
        assert store.size() == 2  # the expired counts are gone; alice's success cleared hers
