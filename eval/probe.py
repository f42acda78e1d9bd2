"""The start every probe of one step shares: the cases, the settings, the model.

A probe (``eval.reading``, ``eval.proposed_tests``) asks one step of a run of
each case, as a run would, without running the factory. They all take the same
command line (``--split``, ``--cases``, ``--model``, ``--set``, ``--out``) and
start the same way: the cases loaded, the settings made as the baseline makes
them (``eval.baseline.settings_for``, every chat alias on ``--model`` when
given), the model resolved once so a missing model stops the probe before any
case. ``start`` returns the ``Probe`` or the exit code to stop with.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from eval import baseline
from eval.catalog import Case, CaseError, UnknownCaseError, load_cases
from eval.factory import models_file

EXIT_OK, EXIT_USAGE, EXIT_ENV = 0, 2, 4


@dataclass
class Probe:
    """What a probe works with: the cases, its results folder, the settings and the model."""

    cases: list[Case]
    out: Path
    settings: Any
    source: Any
    label: str  # the model that serves the probed alias

    def keep(self, name: str, rows: Sequence[Any]) -> None:
        """Write ``rows`` (dataclasses) to ``<out>/<name>.json`` with the model that answered.

        Called after every case, so a probe stopped halfway keeps what it asked.
        """
        doc = {"model": self.label, "rows": [asdict(r) for r in rows]}
        (self.out / f"{name}.json").write_text(json.dumps(doc, indent=1), encoding="utf-8")


def parser(prog: str, description: str | None, split: str) -> argparse.ArgumentParser:
    """Return the probes' common options; ``split`` is the default ``--split``."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("--split", default=split, help=f"dev, holdout or all (default {split})")
    parser.add_argument("--cases", default="", help="comma-separated case ids")
    parser.add_argument("--model", default="", help="serve every chat alias with this model")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE")
    parser.add_argument("--out", type=Path, help="results folder (default eval/results/<stamp>)")
    return parser


def start(args: argparse.Namespace, prog: str, kind: str, alias: str) -> Probe | int:
    """Load the cases and resolve ``alias``'s model, or say why not and return the exit code.

    ``kind`` names the default results folder (``eval/results/<stamp>-<kind>``).
    """
    from devfactory.models.router import ModelUnavailableError, model_source

    try:
        cases = load_cases([c for c in args.cases.split(",") if c] or None, split=args.split)
        overrides = dict(item.split("=", 1) for item in args.set)
    except (CaseError, UnknownCaseError, ValueError) as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    out = args.out or Path("eval/results") / f"{datetime.now(UTC):%Y%m%d-%H%M%S}-{kind}"
    out.mkdir(parents=True, exist_ok=True)
    models = models_file(args.model, out / "models.yaml") if args.model else None
    settings = baseline.settings_for(overrides, models)
    source = model_source(settings)
    try:
        label = str(source.resolve(alias).label)
    except ModelUnavailableError as exc:
        print(f"{prog}: no model: {exc}", file=sys.stderr)
        return EXIT_ENV
    return Probe(cases, out, settings, source, label)
