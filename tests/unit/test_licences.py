"""A dependency's licence read from its metadata as SPDX, and judged against the policy."""

from __future__ import annotations

import pytest

from devfactory.checks.tools.licences import declared, judged, satisfiable, spdx_of

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


MIT_FILE = "MIT License\n\n" + MIT_TEXT + ", to deal in the Software without restriction.\n"


def licence_file(
    files: dict[str, str], allowed: tuple[str, ...] = ("MIT",)
) -> list[tuple[str, str]]:
    from devfactory.checks.tools import ToolContext
    from devfactory.checks.tools.licences import LicenceFileCheck
    from devfactory.settings import Settings

    context = ToolContext(
        sandbox=None,  # type: ignore[arg-type]  # nothing runs: the texts are read
        env=None,  # type: ignore[arg-type]
        workspace=None,  # type: ignore[arg-type]
        files=files,
        settings=Settings(licence_allowed=allowed),
    )
    report = LicenceFileCheck().run(context, sorted(files))
    return [(f.path, f.text) for f in report.findings]


@pytest.mark.parametrize(
    ("text", "spdx"),
    [
        (MIT_FILE, "MIT"),
        ("Apache License\nVersion 2.0, January 2004\n...", "Apache-2.0"),
        ("BSD-3-Clause\n\nRedistribution and use ...", "BSD-3-Clause"),
        ("Copyright 2026 me. All rights reserved.", ""),
    ],
)
def test_a_licence_files_licence_is_told(text: str, spdx: str) -> None:
    from devfactory.checks.tools.licences import licence_of_text

    assert licence_of_text(text) == spdx


def test_a_licence_its_metadata_and_headers_agree_with_passes() -> None:
    files = {
        "LICENSE": MIT_FILE,
        "pyproject.toml": '[project]\nname = "calc"\nlicense = "MIT"\n',
        "calc.py": "# SPDX-License-Identifier: MIT\ndef add(a, b):\n    return a + b\n",
    }
    assert licence_file(files) == []


def test_each_planted_licence_fault_is_found_where_it_is() -> None:
    assert licence_file({"calc.py": "x = 1\n"}) == [
        ("LICENSE", "the software carries no LICENSE: write the licence's full text")
    ]
    assert licence_file({"LICENSE": "All rights reserved.\n"}) == [
        ("LICENSE", "its licence cannot be told: give the full text of an SPDX licence")
    ]
    gpl = "GNU GENERAL PUBLIC LICENSE\nVersion 3\n\nThe GNU General Public License is a free..."
    assert licence_file({"LICENSE": gpl}) == [
        (
            "LICENSE",
            "is GPL-3.0-or-later, which the licence policy (licence_allowed) does not allow",
        )
    ]
    files = {
        "LICENSE": MIT_FILE,
        "pyproject.toml": '[project]\nname = "calc"\nlicense = "Apache-2.0"\n',
        "calc.py": "# SPDX-License-Identifier: GPL-3.0-only\n",
    }
    assert licence_file(files) == [
        ("pyproject.toml", "declares licence 'Apache-2.0', but LICENSE is MIT"),
        ("calc.py", "says SPDX-License-Identifier: GPL-3.0-only, but the licence is MIT"),
    ]
    assert licence_file({"LICENSE": MIT_FILE, "pyproject.toml": "[project]\nname = 'x'\n"}) == [
        ("pyproject.toml", 'declares no licence: add license = "MIT"')
    ]


def test_compliance_writes_the_licence_and_names_the_check() -> None:
    from devfactory.teams import load_teams

    spec = load_teams()["compliance-legal"]
    assert "LICENSE" in spec.deliverable_paths and "licence_file" in spec.build_checks
