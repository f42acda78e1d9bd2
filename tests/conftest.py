"""Shared fixtures: settings isolated in a temporary data directory."""

from __future__ import annotations

from pathlib import Path

import pytest

from devfactory.settings import Settings


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings that write only under ``tmp_path`` and never probe a real Ollama."""
    return Settings(
        data_dir=tmp_path / "data",
        ollama_host="http://127.0.0.1:9",
        probe_timeout_s=0.2,
        max_stage_attempts=3,
        max_parse_retries=2,
        # graph-logic tests end at validation and block without asking;
        # the control-plane tests turn review and human retries on
        review_required=False,
        max_human_retries=0,
    )
