"""The sandbox that runs generated code.

Its mode and limits (each limit also by its flat name: ``FLAT_LIMITS``), the
install step and the package indexes it may reach (docs/sandbox.md).

``Settings.sandboxing`` (``settings/__init__.py``): each field is given by its flat name,
``DEVFACTORY_<NAME>``, as every setting is.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator

from devfactory.sandbox.index_proxy import parse_networks
from devfactory.sandbox.indexes import parse_hosts
from devfactory.sandbox.limits import INSTALL_SECONDS, INSTALL_SECONDS_RANGE, Limits
from devfactory.settings.concern import Concern


class SandboxSettings(Concern):
    """The sandbox that runs generated code."""

    # The sandbox that runs generated code (docs/sandbox.md).
    sandbox: Literal["bwrap", "unsandboxed"] = "bwrap"
    """'bwrap' isolates generated code with bubblewrap; 'unsandboxed' runs it with limits but no
    isolation (trusted code only; every result says so)."""
    sandbox_limits: Limits = Field(default_factory=Limits)
    """What one sandboxed command may use (defaults and bounds: sandbox/limits.py); each limit is
    also read by its flat name (sandbox_cpu_seconds, DEVFACTORY_SANDBOX_CPU_SECONDS, ...)."""
    sandbox_install_seconds: int = Field(
        default=INSTALL_SECONDS, ge=INSTALL_SECONDS_RANGE[0], le=INSTALL_SECONDS_RANGE[1]
    )
    """Time to build one dependency environment."""
    sandbox_cache_dir: Path | None = None
    """Environments and uv's cache (default: <data_dir>/sandbox)."""
    sandbox_index_hosts: tuple[str, ...] = Field(default=(), max_length=50)
    """host or host:port (443 when none) an install may reach besides the hosts of its indexes
    (UV_DEFAULT_INDEX, UV_INDEX_URL, UV_EXTRA_INDEX_URL, UV_INDEX; files.pythonhosted.org with
    PyPI): a mirror's file host (sandbox/index_proxy.py)."""
    sandbox_index_networks: tuple[str, ...] = Field(default=(), max_length=50)
    """Address ranges (10.0.0.0/8, an address) an install may reach though they are loopback,
    link-local, private or reserved: where a private index lives."""

    @field_validator("sandbox_index_hosts")
    @classmethod
    def _index_hosts(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        parse_hosts(value)  # a typo is an error at start-up, not a refused install later
        return value

    @field_validator("sandbox_index_networks")
    @classmethod
    def _index_networks(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        parse_networks(value)
        return value
