"""The checks that judge a run's work: one protocol (``Check``), one registry (``catalogue.py``).

Every check, whatever it reads, has a name (what a ``team.yaml`` and its records
call it) and a promise (the sentence its team is told it must meet). What it reads
makes its kind, and how it runs: artifact checks read a stage's files as text
(``artifact.py``), tool checks run a pinned tool on one team's files and build
checks on the built software (``tools/``), code checks run the software against
its build plan (``code/``). ``catalogue.CHECKS`` holds every one of them.
"""

from __future__ import annotations

from typing import Protocol


class Check(Protocol):
    """What every check is, whatever it reads: a name and the promise its team is told."""

    @property
    def name(self) -> str:
        """Its name: what a ``team.yaml`` and its records call it."""
        ...

    @property
    def promise(self) -> str:
        """What it holds the files to, in a sentence the team is told."""
        ...
