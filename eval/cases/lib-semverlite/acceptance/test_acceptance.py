"""Acceptance tests for the `semverlite` module, written from the requirement alone."""

import dataclasses

import pytest
from semverlite import Version, bump, compare, parse


def test_parse_returns_the_fields() -> None:
    version = parse("1.22.333-rc.1")
    assert (version.major, version.minor, version.patch) == (1, 22, 333)
    assert version.prerelease == ("rc", "1")
    assert parse("0.0.0").prerelease == ()


def test_version_is_a_frozen_dataclass() -> None:
    version = parse("1.2.3")
    assert isinstance(version, Version)
    assert dataclasses.is_dataclass(version)
    with pytest.raises(dataclasses.FrozenInstanceError):
        version.major = 2  # type: ignore[misc]


@pytest.mark.parametrize("text", ["1.2.3", "0.1.0-alpha", "1.0.0-x-y.7.z-9", "10.20.30-0.a"])
def test_str_gives_back_the_canonical_text(text: str) -> None:
    assert str(parse(text)) == text


@pytest.mark.parametrize(
    "text",
    [
        "",
        "1",
        "1.2",
        "1.2.3.4",
        "01.2.3",
        "1.02.3",
        "1.2.03",
        "1.2.3-",
        "1.2.3-01",
        "1.2.3-a..b",
        "1.2.3+build.5",
        "v1.2.3",
        "1.2.3-beta!",
        " 1.2.3",
        "-1.2.3",
    ],
)
def test_invalid_text_raises_value_error(text: str) -> None:
    with pytest.raises(ValueError):
        parse(text)


def test_precedence_follows_semver() -> None:
    ordered = [
        "1.0.0-alpha",
        "1.0.0-alpha.1",
        "1.0.0-alpha.beta",
        "1.0.0-beta",
        "1.0.0-beta.2",
        "1.0.0-beta.11",
        "1.0.0-rc.1",
        "1.0.0",
        "1.0.1",
        "1.9.0",
        "1.10.0",
        "2.0.0",
    ]
    for lower, higher in zip(ordered, ordered[1:], strict=False):
        assert compare(lower, higher) == -1, (lower, higher)
        assert compare(higher, lower) == 1, (higher, lower)


def test_equal_versions_compare_0() -> None:
    assert compare("1.2.3", "1.2.3") == 0
    assert compare("1.2.3-rc.1", "1.2.3-rc.1") == 0


@pytest.mark.parametrize(
    ("text", "part", "bumped"),
    [
        ("1.2.3", "major", "2.0.0"),
        ("1.2.3", "minor", "1.3.0"),
        ("1.2.3", "patch", "1.2.4"),
        ("1.2.3-rc.1", "patch", "1.2.4"),
        ("0.9.9-beta", "minor", "0.10.0"),
    ],
)
def test_bump_increments_and_resets(text: str, part: str, bumped: str) -> None:
    assert bump(text, part) == bumped


def test_bump_rejects_an_unknown_part() -> None:
    with pytest.raises(ValueError):
        bump("1.2.3", "build")
