"""Repositories as their owners make them: git run as a plain user, outside the factory."""

from __future__ import annotations

import subprocess
from pathlib import Path


def git(*args: str, cwd: Path) -> str:
    """Run git in ``cwd`` as a plain user would; return its output."""
    env = {"PATH": "/usr/bin:/bin", "GIT_CONFIG_GLOBAL": "/dev/null", "GIT_CONFIG_NOSYSTEM": "1",
           "HOME": str(cwd)}  # fmt: skip
    return subprocess.run(
        ["git", "-c", "user.name=Owner", "-c", "user.email=owner@example.com", *args],
        cwd=cwd, env=env, capture_output=True, text=True, check=True, timeout=60,
    ).stdout.strip()  # fmt: skip
