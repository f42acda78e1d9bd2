"""The tool checks' bounds.

Licences allowed, pipelines, mutants, coverage, API fuzzing and the README's
commands.

``Settings.checks`` (``settings/__init__.py``): each field is given by its flat name,
``DEVFACTORY_<NAME>``, as every setting is.
"""

from __future__ import annotations

from pydantic import Field

from devfactory.settings.concern import Concern


class CheckSettings(Concern):
    """The tool checks' bounds."""

    licence_allowed: tuple[str, ...] = Field(
        default=(
            "MIT",
            "MIT-0",
            "BSD-2-Clause",
            "BSD-3-Clause",
            "Apache-2.0",
            "ISC",
            "0BSD",
            "PSF-2.0",
            "Python-2.0",
            "Unlicense",
            "Zlib",
            "MPL-2.0",
            "HPND",
            "CC0-1.0",
        ),
        max_length=200,
    )
    """The licences (SPDX identifiers) a run's declared dependencies may carry: Compliance &
    Legal's build check reads each one's licence from its installed metadata, and a dependency
    under any other licence, or one it cannot read, fails the run with the reason. An expression
    passes when it can be satisfied from this list (MIT OR GPL-3.0-only passes; MIT AND
    GPL-3.0-only does not)."""
    pipeline_run_s: int = Field(default=60, ge=1, le=3600)
    """Seconds each data or ML script (one with a __main__ block) may run on its sample data in
    Data and ML Engineering's build check before it fails."""
    mutation_mutants_max: int = Field(default=12, ge=1, le=500)
    """The most mutants of the built code QA Engineering's mutation check runs the tests on (one
    operator drawn per place, seeded, spread over the code modules); each costs one run of the
    tests."""
    mutation_run_s: float = Field(default=30.0, ge=1.0, le=600.0)
    """Seconds one run of the tests may take in the mutation check (the run on a mutant gets four
    times the first run's time, at least 5 s, at most this; one that runs past it counts as
    caught). All of them together stay within the sandbox's wall time."""
    mutation_min_score: float = Field(default=0.0, ge=0.0, le=1.0)
    """The share of the mutants the tests must catch (0.5: half). Tests that catch none fail
    whatever this is."""
    coverage_min: float = Field(default=0.0, ge=0.0, le=100.0)
    """The share (percent) of the code modules' lines the tests must run, measured by coverage.py
    on the mutation check's first run; the record always gives it. 0: reported, never sent back."""
    api_fuzz_examples: int = Field(default=10, ge=1, le=1000)
    """The most requests schemathesis generates for each operation and phase when API Design's
    document is run against the built service (seeded, deterministic); the run stays within the
    sandbox's wall time."""
    readme_command_s: float = Field(default=20.0, ge=1.0, le=300.0)
    """Seconds one example of the README (a shell command, a Python block, a doctest session) may
    run in Documentation's build check before it fails; one that has started a server by then is
    kept running for the examples after it. All of them together stay within the sandbox's wall
    time."""
    readme_commands_max: int = Field(default=20, ge=1, le=200)
    """The most examples of a README that Documentation's build check runs; the check's record
    says how many past it were not run."""
