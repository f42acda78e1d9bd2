"""A dependency's licence read from its metadata as SPDX, and judged against the policy."""

from __future__ import annotations

import pytest

from devfactory.teams.tool_checks.licences import declared, judged, satisfiable, spdx_of

MIT_TEXT = (
    "Copyright (c) 2024 Someone\n\nPermission is hereby granted, free of charge, to any person"
)


@pytest.mark.parametrize(
    ("found", "spdx"),
    [
        ({"expression": "mit OR apache-2.0"}, "MIT OR Apache-2.0"),
        ({"classifiers": ["License :: OSI Approved :: BSD License"]}, "BSD-3-Clause"),
        (
            {"classifiers": ["License :: OSI Approved :: GNU General Public License v3 (GPLv3)"]},
            "GPL-3.0-only",
        ),
        ({"license": "Apache 2.0"}, "Apache-2.0"),
        ({"license": "BSD-3-Clause"}, "BSD-3-Clause"),
        ({"license": MIT_TEXT}, "MIT"),
        ({"license": "see the file COPYING"}, ""),
        ({}, ""),
    ],
)
def test_a_licence_is_told_as_spdx_from_what_the_metadata_holds(found: dict, spdx: str) -> None:
    assert spdx_of(found) == spdx


def test_an_expression_passes_when_the_allowed_licences_can_meet_it() -> None:
    allowed = ["MIT", "Apache-2.0", "BSD-3-Clause"]
    assert satisfiable("MIT", allowed) and satisfiable("GPL-3.0-only OR MIT", allowed)
    assert satisfiable("(MIT OR GPL-2.0-only) AND Apache-2.0", allowed)
    assert satisfiable("Apache-2.0 WITH LLVM-exception", allowed)
    assert not satisfiable("GPL-3.0-only", allowed) and not satisfiable(
        "MIT AND GPL-3.0-only", allowed
    )
    assert not satisfiable("", allowed)


def test_each_declared_dependency_is_judged_and_said() -> None:
    assert declared(["httpx>=0.27", "Typing_Extensions", "not a requirement!", "httpx"]) == [
        "httpx",
        "typing-extensions",
    ]
    gpl = {
        "version": "1.0",
        "classifiers": ["License :: OSI Approved :: GNU General Public License v3 (GPLv3)"],
    }
    assert judged("gplthing", gpl, ["MIT"]) == (
        "dependency gplthing 1.0 is under GPL-3.0-only, which the licence policy "
        "(licence_allowed) does not allow"
    )
    assert judged("mitthing", {"version": "2", "license": "MIT"}, ["MIT"]) == ""
    assert judged("ghost", {"missing": True}, ["MIT"]).endswith(
        "not installed, so its licence is unknown"
    )
    assert (
        judged("blank", {"version": "3"}, ["MIT"])
        == "dependency blank 3: no licence in its metadata"
    )
