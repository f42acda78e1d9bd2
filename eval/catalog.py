"""The evaluation cases: one folder per case under ``eval/cases/``.

A case folder holds ``requirement.md`` (the only text the factory sees),
``case.yaml`` (what the case is, validated by ``Case``), ``acceptance/`` (the
hidden tests) and ``reference/`` (a correct solution, laid out as a run's
output folder would be, with its ``architecture/plan.json``).
"""

from __future__ import annotations

import ast
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

CASES_DIR = Path(__file__).parent / "cases"
KINDS = ("cli", "library", "web-service", "data")
Kind = Literal["cli", "library", "web-service", "data"]
SPLITS = ("dev", "holdout")
STYLES = ("marked", "prose")


class UnknownCaseError(LookupError):
    """A case was asked for by a name no folder has."""


class CaseError(ValueError):
    """A case folder is incomplete or its ``case.yaml`` is invalid."""


class Case(BaseModel):
    """One evaluation case, read from its ``case.yaml``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{2,40}$")
    module: str = Field(
        pattern=r"^[a-z_][a-z0-9_]*$", description="The module the requirement names."
    )
    kind: Kind
    title: str = Field(min_length=3, max_length=80)
    interface: str = Field(min_length=10, max_length=300, description="The interface, one line.")
    names: tuple[str, ...] = Field(
        min_length=1, description="Names the requirement states and the acceptance tests use."
    )
    dependencies: tuple[str, ...] = Field(
        default=(), description="What the acceptance tests import beyond the stdlib (PEP 508)."
    )
    test_timeout: int = Field(ge=10, le=1800, description="Seconds for one acceptance run.")
    split: Literal["dev", "holdout"] = Field(
        default="dev",
        description="dev: cases changes may be tuned on; holdout: never tuned on, the figure "
        "that counts.",
    )
    style: Literal["marked", "prose"] = Field(
        default="marked",
        description="marked: the interface is written in code spans; prose: names, formats "
        "and examples are stated in words, as people write tickets.",
    )
    folder: Path = Field(exclude=True)

    @property
    def requirement(self) -> str:
        """The requirement text given to the factory."""
        return (self.folder / "requirement.md").read_text(encoding="utf-8")

    @property
    def acceptance_dir(self) -> Path:
        """The hidden acceptance tests."""
        return self.folder / "acceptance"

    @property
    def reference_dir(self) -> Path:
        """The hand-written solution, laid out as a run's output folder."""
        return self.folder / "reference"

    def acceptance_count(self) -> int:
        """Count the acceptance test items pytest will collect (parametrised ones apart)."""
        return sum(
            count_test_items(path.read_text(encoding="utf-8"))
            for path in sorted(self.acceptance_dir.glob("test_*.py"))
        )


def load_case(folder: Path) -> Case:
    """Read the case in ``folder``; its id must be the folder's name.

    Raises:
        CaseError: if ``case.yaml`` is not valid.

    """
    try:
        data = yaml.safe_load((folder / "case.yaml").read_text(encoding="utf-8")) or {}
        case = Case.model_validate({**data, "folder": folder})
    except (OSError, yaml.YAMLError, ValidationError) as exc:
        raise CaseError(f"{folder.name}/case.yaml: {exc}") from None
    if case.id != folder.name:
        raise CaseError(f"{folder.name}/case.yaml says id {case.id!r}, not {folder.name!r}")
    return case


def load_cases(
    selected: Sequence[str] | None = None, root: Path = CASES_DIR, split: str = "all"
) -> list[Case]:
    """Return the cases in ``root`` (only ``selected`` ones, in that order, when given).

    ``split`` (``dev``, ``holdout`` or ``all``) keeps only that split's cases: with
    ``selected``, the cases named that are in the split (both filters apply).

    Raises:
        UnknownCaseError: a selected name has no folder, or no selected case is in ``split``.

    """
    if split != "all" and split not in SPLITS:
        raise UnknownCaseError(
            f"no split named {split!r}; the splits are: all, {', '.join(SPLITS)}"
        )
    folders = {p.name: p for p in sorted(root.iterdir()) if (p / "case.yaml").is_file()}
    unknown = [name for name in selected or () if name not in folders]
    if unknown:
        raise UnknownCaseError(
            f"no case named {', '.join(unknown)}; the cases are: {', '.join(folders)}"
        )
    cases = [load_case(folders[name]) for name in selected or folders]
    chosen = [case for case in cases if split in ("all", case.split)]
    if cases and not chosen:
        raise UnknownCaseError(f"none of {', '.join(c.id for c in cases)} is in split {split!r}")
    return chosen


def count_test_items(source: str) -> int:
    """Count the test items in a test module, multiplying out literal ``parametrize`` lists.

    The acceptance tests keep their parameters literal so that the number of tests a
    broken build should have passed is known without importing anything.

    Raises:
        ValueError: if a ``parametrize`` argument list is not a literal list or tuple.

    """
    total = 0
    for node in ast.parse(source).body:
        if not isinstance(node, ast.FunctionDef) or not node.name.startswith("test"):
            continue
        items = 1
        for decorator in node.decorator_list:
            if (
                isinstance(decorator, ast.Call)
                and isinstance(decorator.func, ast.Attribute)
                and decorator.func.attr == "parametrize"
            ):
                values = decorator.args[1] if len(decorator.args) > 1 else None
                if not isinstance(values, ast.List | ast.Tuple):
                    raise ValueError(f"{node.name}: parametrize values must be a literal list")
                items *= len(values.elts)
        total += items
    return total
