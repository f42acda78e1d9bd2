"""The build checks' caps are settings, each accepted at both its ends and refused past them."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from devfactory.settings import Settings

BOUNDS = {  # setting -> (lowest, highest, default)
    "readme_command_s": (1.0, 300.0, 20.0),
    "readme_commands_max": (1, 200, 20),
    "mutation_mutants_max": (1, 500, 12),
    "mutation_run_s": (1.0, 600.0, 30.0),
    "mutation_min_score": (0.0, 1.0, 0.0),
    "coverage_min": (0.0, 100.0, 0.0),
    "pipeline_run_s": (1, 3600, 60),
    "api_fuzz_examples": (1, 1000, 10),
}


@pytest.mark.parametrize("name", sorted(BOUNDS))
def test_each_cap_holds_at_both_ends_and_refuses_past_them(name: str) -> None:
    low, high, default = BOUNDS[name]
    assert Settings().flat()[name] == default
    assert Settings(**{name: low}).flat()[name] == low
    assert Settings(**{name: high}).flat()[name] == high
    step = 1 if isinstance(low, int) else 0.5
    for bad in (low - step, high + step):
        with pytest.raises(ValidationError):
            Settings(**{name: bad})
