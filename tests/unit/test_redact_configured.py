"""Configured secrets: the environment and registered values as they are at each redact."""

from __future__ import annotations

import os
import secrets

import pytest

from devfactory.redact import redact, register

MASK = "[REDACTED:configured-secret]"


def fresh() -> str:
    return "cfg" + secrets.token_hex(12)  # no credential shape: only configuration finds it


def test_a_secret_set_in_the_environment_after_a_redact_is_redacted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    value = fresh()
    assert redact(f"value {value}") == f"value {value}"  # not configured yet
    monkeypatch.setenv("DEVFACTORY_TEST_LATE_TOKEN", value)
    assert redact(f"value {value}") == f"value {MASK}"


def test_a_changed_value_is_redacted_and_the_old_one_no_longer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    old, new = fresh(), fresh()
    monkeypatch.setenv("DEVFACTORY_TEST_ROTATED_SECRET", old)
    assert redact(old) == MASK
    os.environ["DEVFACTORY_TEST_ROTATED_SECRET"] = new  # the same name, a new value
    assert redact(f"{old} {new}") == f"{old} {MASK}"
    monkeypatch.delenv("DEVFACTORY_TEST_ROTATED_SECRET")
    assert redact(new) == new


def test_a_variable_replaced_by_another_of_the_same_count_is_seen(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first, second = fresh(), fresh()
    monkeypatch.setenv("DEVFACTORY_TEST_FIRST_PASSWORD", first)
    assert redact(first) == MASK
    monkeypatch.delenv("DEVFACTORY_TEST_FIRST_PASSWORD")
    monkeypatch.setenv("DEVFACTORY_TEST_SECOND_PASSWORD", second)  # as many variables as before
    assert redact(f"{first} {second}") == f"{first} {MASK}"


def test_a_value_registered_after_a_redact_is_redacted() -> None:
    value = fresh()
    assert redact(value) == value
    register([value])
    assert redact(f"<{value}>") == f"<{MASK}>"


def test_a_variable_whose_name_says_nothing_secret_is_kept(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    value = fresh()
    monkeypatch.setenv("DEVFACTORY_TEST_GREETING", value)
    assert redact(value) == value
