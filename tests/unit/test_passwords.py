"""Passwords: Argon2id, rehashed at sign-in when the parameters change; the file is private."""

from __future__ import annotations

import asyncio
import hashlib
import os
import stat
import threading
from pathlib import Path

import pytest
import yaml
from argon2 import PasswordHasher

from devfactory.redact import write_private
from devfactory.users import HASHER, BusyError, PasswordChecks, UserStore
from tests.password_checks import HeldHasher

PASSWORD = "correct horse battery staple"
CHEAP = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


def stored_hash(path: Path, name: str) -> str:
    return str(yaml.safe_load(path.read_text())["users"][name]["password"])


def scrypt_of_an_earlier_version(password: str) -> str:
    """A hash as the factory wrote it before (scrypt, N=2^14, r=8, p=1)."""
    salt = os.urandom(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=2**14, r=8, p=1, dklen=32)
    return f"scrypt${2**14}$8$1${salt.hex()}${digest.hex()}"


def test_new_passwords_get_argon2id_with_rfc_9106s_low_memory_profile(tmp_path: Path) -> None:
    store = UserStore(tmp_path / "users.yaml")
    store.add("ann", PASSWORD, "viewer")
    kept = stored_hash(tmp_path / "users.yaml", "ann")
    assert kept.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert not HASHER.check_needs_rehash(kept)


def test_an_earlier_scrypt_hash_still_signs_in_and_is_replaced_by_argon2id(
    tmp_path: Path,
) -> None:
    path = tmp_path / "users.yaml"
    old = scrypt_of_an_earlier_version(PASSWORD)
    write_private(path, yaml.safe_dump({"users": {"ann": {"role": "approver", "password": old}}}))
    store = UserStore(path, hasher=CHEAP)
    assert store.verify("ann", "a wrong password entirely") is None
    assert stored_hash(path, "ann") == old  # a failed sign-in changes nothing
    person = store.verify("ann", PASSWORD)
    assert person is not None and person.role == "approver"
    again = stored_hash(path, "ann")
    assert again.startswith("$argon2id$") and not CHEAP.check_needs_rehash(again)
    assert store.verify("ann", PASSWORD) == person  # the new hash signs in
    assert stored_hash(path, "ann") == again  # and is current: not rehashed again
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_hash_made_with_other_parameters_is_replaced_at_the_next_good_sign_in(
    tmp_path: Path,
) -> None:
    path = tmp_path / "users.yaml"
    UserStore(path, hasher=CHEAP).add("ann", PASSWORD, "viewer")
    weaker = stored_hash(path, "ann")
    stronger = PasswordHasher(time_cost=2, memory_cost=2048, parallelism=1)
    store = UserStore(path, hasher=stronger)
    assert stronger.check_needs_rehash(weaker)
    assert store.verify("ann", "not the password at all") is None
    assert stored_hash(path, "ann") == weaker
    assert store.verify("ann", PASSWORD) is not None
    assert "$m=2048,t=2,p=1$" in stored_hash(path, "ann")


def test_a_password_changed_during_a_sign_in_is_kept_not_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "users.yaml"
    UserStore(path, hasher=CHEAP).add("ann", PASSWORD, "viewer")
    stronger = PasswordHasher(time_cost=2, memory_cost=2048, parallelism=1)
    store = UserStore(path, hasher=stronger)
    hashing = store._hash

    def meanwhile(password: str) -> str:  # an admin resets ann's password mid-sign-in
        UserStore(path, hasher=CHEAP).add("ann", "a brand new passphrase here", "viewer")
        return hashing(password)

    store._hash = meanwhile  # type: ignore[method-assign]
    assert store.verify("ann", PASSWORD) is not None  # this sign-in was good when it began
    assert UserStore(path, hasher=CHEAP).verify("ann", "a brand new passphrase here")
    assert UserStore(path, hasher=CHEAP).verify("ann", PASSWORD) is None


def test_the_users_file_is_never_written_through_a_link_nor_made_private_afterwards(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("untouched")
    data = tmp_path / "data"
    data.mkdir()
    planted = {"users.tmp", "users.yaml.tmp", ".users.yaml.tmp"}
    for name in planted:
        (data / name).symlink_to(outside)  # names a fixed draft was written under

    def no_chmod(*args: object, **kwargs: object) -> None:
        raise AssertionError("a secret file is created 0600, never narrowed afterwards")

    monkeypatch.setattr(os, "chmod", no_chmod)
    monkeypatch.setattr(Path, "chmod", no_chmod)
    old_mask = os.umask(0)  # even so, nobody else may read it
    try:
        store = UserStore(data / "users.yaml", hasher=CHEAP)
        store.add("ann", PASSWORD, "viewer")
        store.create_key("ann")
    finally:
        os.umask(old_mask)
    assert outside.read_text() == "untouched"
    users = data / "users.yaml"
    assert users.is_file() and not users.is_symlink()
    assert stat.S_IMODE(users.stat().st_mode) == 0o600
    assert {p.name for p in data.iterdir()} == planted | {"users.yaml"}  # no draft left


def test_no_more_password_hashes_are_worked_at_once_than_the_setting_allows(
    tmp_path: Path,
) -> None:
    at_once, most = [0], [0]
    lock = threading.Condition()

    class Counting(PasswordHasher):
        def verify(self, hash: str | bytes, password: str | bytes) -> bool:
            with lock:
                at_once[0] += 1
                most[0] = max(most[0], at_once[0])
                lock.notify_all()
                # the first waits for a second, however late a loaded machine starts it
                lock.wait_for(lambda: most[0] >= 2, timeout=30)
            try:
                return super().verify(hash, password)
            finally:
                with lock:
                    at_once[0] -= 1

    counting = Counting(time_cost=1, memory_cost=1024, parallelism=1)
    store = UserStore(tmp_path / "users.yaml", hasher=counting, checks_at_once=2)
    store.add("ann", PASSWORD, "viewer")
    threads = [threading.Thread(target=store.verify, args=("ann", "wrong")) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert most[0] == 2


def test_password_checks_past_their_places_are_refused_at_once_and_none_runs_past_the_cap() -> None:
    """Issue 58 item 8: checks run in their own threads, at most at_once, a bounded queue."""
    held = HeldHasher()
    checks = PasswordChecks(at_once=2, waiting=1)
    stored = CHEAP.hash(PASSWORD)

    async def flood() -> tuple[list[bool], int]:
        admitted = [
            asyncio.ensure_future(checks.run(lambda: held.verify(stored, PASSWORD)))
            for _ in range(3)
        ]
        await asyncio.to_thread(held.wait_entered, 2)
        refused = 0
        for _ in range(5):  # every place is taken: no wait, nothing queued
            with pytest.raises(BusyError, match="3 sign-ins are being checked or waiting"):
                await checks.run(lambda: held.verify(stored, PASSWORD))
            refused += 1
        held.go.set()
        return list(await asyncio.gather(*admitted)), refused

    checked, refused = asyncio.run(flood())
    assert checked == [True, True, True] and refused == 5
    assert held.most == 2 and len(held.threads) == 3
    assert all(name.startswith("password-check") for name in held.threads)
    assert asyncio.run(checks.run(lambda: "room again")) == "room again"


def test_a_caller_that_stops_waiting_frees_a_place_only_once_its_check_ends() -> None:
    """Issue 58 item 8: hanging up never lets more than at_once checks run at a time."""
    held = HeldHasher()
    checks = PasswordChecks(at_once=1, waiting=1)
    stored = CHEAP.hash(PASSWORD)

    async def hang_up() -> None:
        running = asyncio.ensure_future(checks.run(lambda: held.verify(stored, PASSWORD)))
        await asyncio.to_thread(held.wait_entered, 1)
        queued = asyncio.ensure_future(checks.run(lambda: "queued"))
        await asyncio.sleep(0)
        queued.cancel()  # it never started: its place is free again
        running.cancel()  # it is hashing: its place is held until the hash ends
        await asyncio.gather(running, queued, return_exceptions=True)
        again = asyncio.ensure_future(checks.run(lambda: "waited its turn"))
        await asyncio.sleep(0)
        with pytest.raises(BusyError):
            await checks.run(lambda: "one too many")
        held.go.set()
        assert await again == "waited its turn"

    asyncio.run(hang_up())
    assert held.most == 1
