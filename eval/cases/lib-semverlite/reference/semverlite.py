"""Parse, order and bump Semantic Versioning 2.0 versions (no build metadata)."""

from __future__ import annotations

import re
from dataclasses import dataclass

_NUMBER = r"(?:0|[1-9][0-9]*)"
_IDENT = r"(?:0|[1-9][0-9]*|[0-9]*[A-Za-z-][0-9A-Za-z-]*)"
_VERSION = re.compile(
    rf"(?P<major>{_NUMBER})\.(?P<minor>{_NUMBER})\.(?P<patch>{_NUMBER})"
    rf"(?:-(?P<pre>{_IDENT}(?:\.{_IDENT})*))?"
)


@dataclass(frozen=True)
class Version:
    """One parsed version."""

    major: int
    minor: int
    patch: int
    prerelease: tuple[str, ...] = ()

    def __str__(self) -> str:
        core = f"{self.major}.{self.minor}.{self.patch}"
        return f"{core}-{'.'.join(self.prerelease)}" if self.prerelease else core


def parse(text: str) -> Version:
    """Parse ``text`` or raise ``ValueError``."""
    found = _VERSION.fullmatch(text) if isinstance(text, str) else None
    if found is None:
        raise ValueError(f"not a semantic version: {text!r}")
    pre = found["pre"]
    return Version(
        int(found["major"]),
        int(found["minor"]),
        int(found["patch"]),
        tuple(pre.split(".")) if pre else (),
    )


def _identifier_key(ident: str) -> tuple[int, int, str]:
    return (0, int(ident), "") if ident.isdigit() else (1, 0, ident)


def _key(version: Version) -> tuple[object, ...]:
    core = (version.major, version.minor, version.patch)
    if not version.prerelease:
        return (*core, 1, ())
    return (*core, 0, tuple(_identifier_key(i) for i in version.prerelease))


def compare(a: str, b: str) -> int:
    """Return -1, 0 or 1 as ``a`` is lower than, equal to or higher than ``b``."""
    left, right = _key(parse(a)), _key(parse(b))
    return (left > right) - (left < right)


def bump(text: str, part: str) -> str:
    """Increment ``part`` of ``text``, zero the lower fields and drop the prerelease."""
    v = parse(text)
    if part == "major":
        return str(Version(v.major + 1, 0, 0))
    if part == "minor":
        return str(Version(v.major, v.minor + 1, 0))
    if part == "patch":
        return str(Version(v.major, v.minor, v.patch + 1))
    raise ValueError(f"part must be major, minor or patch, not {part!r}")
