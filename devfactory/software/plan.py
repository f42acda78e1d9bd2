"""The build plan: what a run builds, decided per requirement by Solution Architecture.

A ``BuildPlan`` says the kind of software, the language, the public interface
(modules and their symbols, CLI commands, HTTP endpoints), the files with the
team that owns each, the third-party dependencies, the test command and the
entry point. It is one pydantic model, so the JSON schema a constrained
decoder gets and the validation of the reply are the same contract.

``check_plan`` adds what needs the run's context: each owner is a team of the
pipeline that owns that kind of file, and every interface the requirement
itself names (a function, a CLI option, an endpoint, a file) is kept exactly.
``delivered_paths`` says which of its files a delivery's branch carries.

Why one module: the plan's model, the checks that need the run's context and
what the plan says of its files are one contract, read by the teams, the checks
and the delivery alike.
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Literal

from packaging.requirements import InvalidRequirement, Requirement
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from devfactory.contracts import ArtifactKind, StageOutcome, StageRecord, check_relative_path

PLAN_PATH = "architecture/plan.json"
MAX_PLANNED_FILES = 24
_IDENT = r"[A-Za-z_][A-Za-z0-9_]*"
_TEST_COMMAND = re.compile(r"^(pytest|python -m pytest)( [A-Za-z0-9_./:=\-]+)*$")
_ENTRY = re.compile(
    rf"^(python -m {_IDENT}(\.{_IDENT})*|python [\w./-]+\.py|{_IDENT}(\.{_IDENT})*:{_IDENT})$"
)


class SoftwareKind(StrEnum):
    """What kind of software a requirement asks for."""

    LIBRARY = "library"
    CLI = "cli"
    WEB_SERVICE = "web-service"
    SCRIPT = "script"


BUILT_AS: dict[str, SoftwareKind] = {
    "web-app": SoftwareKind.WEB_SERVICE,
    "data-pipeline": SoftwareKind.CLI,
}
"""Kinds a plan may still name that nothing builds as such, read as the kind that builds
them (a plan a model wrote, a run's state from an earlier version)."""


class Language(StrEnum):
    """The runtime; only Python is executed here, others are written but not run."""

    PYTHON = "python"
    TYPESCRIPT = "typescript"
    OTHER = "other"


class FileRole(StrEnum):
    """Kinds of files a team owns (``owns`` in ``team.yaml``)."""

    CODE = "code"
    TESTS = "tests"
    DOCS = "docs"
    API = "api"
    SCHEMA = "schema"
    FRONTEND = "frontend"
    DESIGN = "design"
    DATA = "data"
    ML = "ml"
    INFRA = "infra"
    OPS = "ops"
    INTEGRATION = "integration"


Text = Annotated[str, Field(min_length=1, max_length=300)]


class Symbol(BaseModel):
    """A public function, class or constant of a module."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=rf"^{_IDENT}(\.{_IDENT})?$", max_length=80)
    signature: str = Field(min_length=1, max_length=240)  # "def parse_move(text: str) -> Move"
    summary: str = Field(default="", max_length=300)


class Module(BaseModel):
    """A planned Python module and the symbols it must define."""

    model_config = ConfigDict(extra="forbid")

    path: str = Field(min_length=1, max_length=120)
    symbols: list[Symbol] = Field(default_factory=list, max_length=16)


class Command(BaseModel):
    """A command-line usage the software offers."""

    model_config = ConfigDict(extra="forbid")

    usage: str = Field(min_length=1, max_length=200)  # "chessmoves FILE... [--count] [--json]"
    summary: str = Field(default="", max_length=300)


class Endpoint(BaseModel):
    """An HTTP endpoint the software serves."""

    model_config = ConfigDict(extra="forbid")

    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"]
    path: str = Field(pattern=r"^/[A-Za-z0-9_{}/.:-]*$", max_length=120)
    summary: str = Field(default="", max_length=300)


RECORD_ROLES = frozenset({FileRole.DOCS, FileRole.DESIGN})
"""Roles of files that tell the run's reader about the software rather than make it up."""


class PlannedFile(BaseModel):
    """One file of the plan and the team that writes it."""

    model_config = ConfigDict(extra="forbid")

    path: str = Field(min_length=1, max_length=120, pattern=r"^[A-Za-z0-9_][A-Za-z0-9_./-]*$")
    role: FileRole
    owner: str = Field(pattern=r"^[a-z][a-z0-9-]{1,40}$")
    purpose: str = Field(min_length=1, max_length=300)
    depends_on: list[str] = Field(default_factory=list, max_length=8)

    @field_validator("path")
    @classmethod
    def _relative(cls, value: str) -> str:
        return check_relative_path(value)


class BuildPlan(BaseModel):
    """What a run builds: validated, machine-readable, saved as ``architecture/plan.json``."""

    model_config = ConfigDict(extra="forbid")

    kind: SoftwareKind
    language: Language = Language.PYTHON
    summary: Text
    modules: list[Module] = Field(default_factory=list, max_length=8)
    commands: list[Command] = Field(default_factory=list, max_length=8)
    endpoints: list[Endpoint] = Field(default_factory=list, max_length=16)
    files: list[PlannedFile] = Field(min_length=1, max_length=MAX_PLANNED_FILES)
    dependencies: list[str] = Field(default_factory=list, max_length=10)
    test_command: str = Field(default="pytest -q", max_length=120)
    entry_point: str = Field(default="", max_length=120)

    @field_validator("kind", mode="before")
    @classmethod
    def _built_as(cls, value: object) -> object:
        """Read a kind nothing builds as such as the kind that builds it (``BUILT_AS``)."""
        return BUILT_AS.get(value, value) if isinstance(value, str) else value

    @field_validator("dependencies")
    @classmethod
    def _requirements(cls, value: list[str]) -> list[str]:
        for dep in value:
            try:
                req = Requirement(dep)
            except InvalidRequirement as exc:
                raise ValueError(
                    f"dependency {dep!r} is not a PEP 508 requirement: {exc}"
                ) from None
            if req.url:
                raise ValueError(f"dependency {dep!r}: only packages from the index, no URLs")
        return value

    @field_validator("test_command")
    @classmethod
    def _pytest(cls, value: str) -> str:
        value = " ".join(value.split())
        if not _TEST_COMMAND.match(value):
            raise ValueError("test_command must be 'pytest [args]' or 'python -m pytest [args]'")
        return value

    @field_validator("entry_point")
    @classmethod
    def _entry(cls, value: str) -> str:
        value = " ".join(value.split())
        if value and not _ENTRY.match(value):
            raise ValueError(
                "entry_point must be 'python -m package', 'python script.py' or, for a "
                "web service, 'module:app' (an ASGI/WSGI object)"
            )
        return value

    @model_validator(mode="after")
    def _consistent(self) -> BuildPlan:
        paths = [f.path for f in self.files]
        dupes = sorted({p for p in paths if paths.count(p) > 1})
        if dupes:
            raise ValueError(f"file paths must be unique: {', '.join(dupes)}")
        for item in self.files:
            unknown = [d for d in item.depends_on if d not in paths]
            if unknown:
                raise ValueError(f"{item.path} depends on files not in the plan: {unknown}")
        for module in self.modules:
            if module.path not in paths:
                raise ValueError(f"module {module.path} is not in the plan's files")
        if self.language is Language.PYTHON:
            if not any(f.role is FileRole.CODE and f.path.endswith(".py") for f in self.files):
                raise ValueError("a Python plan needs at least one code file ending in .py")
            if self.kind is SoftwareKind.CLI and not self.entry_point:
                raise ValueError("a CLI needs an entry_point such as 'python -m package'")
            if self.kind is SoftwareKind.WEB_SERVICE and ":" not in self.entry_point:
                raise ValueError("a web service needs an entry_point 'module:app'")
        return self

    @property
    def executable(self) -> bool:
        """Whether this machine runs the plan's code (Python only)."""
        return self.language is Language.PYTHON

    def files_of(self, team: str) -> list[PlannedFile]:
        """Return the files ``team`` owns, in plan order."""
        return [f for f in self.files if f.owner == team]

    def owner_of(self, path: str) -> str:
        """Return the team that owns ``path`` ("" when the plan does not list it)."""
        return next((f.owner for f in self.files if f.path == path), "")

    def python_modules(self) -> list[str]:
        """Return the dotted names of the planned Python code modules (``src/`` stripped)."""
        code = (f.path for f in self.files if f.role is FileRole.CODE and f.path.endswith(".py"))
        return [name for name in map(module_name, code) if name]


def module_name(path: str) -> str:
    """Return the dotted module name of ``path`` (``src/pkg/__init__.py`` -> ``pkg``)."""
    parts = path.removesuffix(".py").split("/")
    if parts and parts[0] == "src":
        parts = parts[1:]
    if parts and parts[-1] == "__init__":
        parts = parts[:-1]
    if not parts or not all(p.isidentifier() and not keyword.iskeyword(p) for p in parts):
        return ""
    return ".".join(parts)


def kind_of(path: str) -> ArtifactKind:
    """Return the artifact kind a file's name implies."""
    name = path.rsplit("/", 1)[-1].lower()
    if name == "dockerfile" or name.endswith(".dockerfile"):
        return ArtifactKind.DOCKERFILE
    suffix = name.rsplit(".", 1)[-1] if "." in name else ""
    return {
        "py": ArtifactKind.PYTHON,
        "md": ArtifactKind.MARKDOWN,
        "yaml": ArtifactKind.YAML,
        "yml": ArtifactKind.YAML,
        "json": ArtifactKind.JSON,
        "sql": ArtifactKind.SQL,
        "ts": ArtifactKind.TYPESCRIPT,
        "tsx": ArtifactKind.TYPESCRIPT,
        "sh": ArtifactKind.SHELL,
    }.get(suffix, ArtifactKind.TEXT)


# --- what the requirement itself names ------------------------------------------------

_BUILTINS = frozenset(
    "print len str int float list dict set tuple open range sorted min max sum any all "
    "round abs type isinstance e.g i.e".split()
)
_CALL = re.compile(rf"(?<![\w.])({_IDENT})\(")
# an endpoint, but not a request line quoted from a log ("GET /index.html HTTP/1.1")
_ENDPOINT = re.compile(
    r"\b(GET|POST|PUT|PATCH|DELETE)\s+(/[A-Za-z0-9_{}/.:-]*+)(?![^\n]{0,3}HTTP/)"
)
_OPTION = re.compile(r"(?<![\w-])(--[a-z][a-z0-9-]*)")
_PY_FILE = re.compile(r"(?<![\w/.-])([A-Za-z_][\w/-]*\.py)\b")
_RUN_MODULE = re.compile(rf"python3? -m ({_IDENT}(?:\.{_IDENT})*)")


@dataclass(frozen=True)
class Named:
    """Interfaces a requirement names, which the plan must keep exactly."""

    functions: tuple[str, ...] = ()
    endpoints: tuple[tuple[str, str], ...] = ()
    options: tuple[str, ...] = ()
    files: tuple[str, ...] = ()
    modules: tuple[str, ...] = ()


def _unique(items: Sequence[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


def named_interfaces(requirement: str) -> Named:
    """Find the function names, endpoints, CLI options, files and modules a requirement names."""
    functions = [
        name
        for name in _CALL.findall(requirement)
        if name not in _BUILTINS and not keyword.iskeyword(name) and len(name) > 1
    ]
    endpoints = [(m.upper(), p.rstrip(".,;:")) for m, p in _ENDPOINT.findall(requirement)]
    return Named(
        functions=_unique(functions),
        endpoints=_unique(endpoints),  # type: ignore[arg-type]
        options=_unique(_OPTION.findall(requirement)),
        files=_unique(_PY_FILE.findall(requirement)),
        modules=_unique(_RUN_MODULE.findall(requirement)),
    )


def _norm_path(path: str) -> str:
    return re.sub(r"\{[^}]*\}", "{}", path.rstrip("/") or "/")


def missing_interfaces(plan: BuildPlan, requirement: str) -> list[str]:
    """List each interface the requirement names that the plan dropped or renamed."""
    named = named_interfaces(requirement)
    problems = []
    symbols = {s.name.rsplit(".", 1)[-1] for m in plan.modules for s in m.symbols}
    signatures = " ".join(s.signature for m in plan.modules for s in m.symbols)
    for name in named.functions:
        if name not in symbols and not re.search(rf"\b{re.escape(name)}\(", signatures):
            problems.append(f"the requirement names `{name}(...)`: add it to a module's symbols")
    planned = {(e.method, _norm_path(e.path)) for e in plan.endpoints}
    for method, path in named.endpoints:
        if (method, _norm_path(path)) not in planned:
            problems.append(f"the requirement names the endpoint {method} {path}: plan it")
    usages = " ".join(c.usage for c in plan.commands)
    for option in named.options:
        if not re.search(rf"(?<![\w-]){re.escape(option)}(?![\w-])", usages):
            problems.append(f"the requirement names the option {option}: put it in a command")
    paths = {f.path for f in plan.files}
    for name in named.files:
        if not any(p == name or p.endswith("/" + name) for p in paths):
            problems.append(f"the requirement names the file {name}: plan it under that name")
    runnable = {  # a package runs with -m only through its __main__
        name.removesuffix(".__main__")
        for f in plan.files
        if f.role is FileRole.CODE and not f.path.endswith("__init__.py")
        and (name := module_name(f.path))
    }  # fmt: skip
    for module in named.modules:
        if module not in runnable:
            problems.append(
                f"the requirement runs `python -m {module}`: plan a module {module} "
                f"(for example {module.replace('.', '/')}/__main__.py or {module}.py)"
            )
    return problems


def check_plan(
    plan: BuildPlan, requirement: str, *, owners: Mapping[str, Sequence[FileRole]]
) -> list[str]:
    """List what keeps ``plan`` from being used by this run.

    Args:
        plan: the parsed plan.
        requirement: the requirement text (its named interfaces must be kept).
        owners: for each team of the pipeline, the kinds of files it owns.

    """
    problems = []
    for item in plan.files:
        roles = owners.get(item.owner)
        if roles is None:
            problems.append(
                f"{item.path}: owner {item.owner!r} is not a team of this pipeline "
                f"({', '.join(sorted(owners))})"
            )
        elif item.role not in roles:
            who = [t for t, r in owners.items() if item.role in r]
            problems.append(
                f"{item.path}: {item.owner} does not write {item.role.value} files"
                + (f"; give it to {' or '.join(who)}" if who else "")
            )
    if plan.executable:
        writes_tests = any(FileRole.TESTS in r for r in owners.values())
        if writes_tests and not any(f.role is FileRole.TESTS for f in plan.files):
            problems.append("plan at least one tests file (role tests) for the test command")
    problems.extend(missing_interfaces(plan, requirement))
    return problems


def delivered_paths(plan: BuildPlan | None) -> frozenset[str]:
    """Return the files a delivery's branch carries: the plan's files that make or test it.

    A branch into someone's repository holds the change the requirement asked
    for and its tests. Everything else a stage writes is the run's own record
    and stays in the run's folder: what the factory wrote to get there (the
    analysis, the architecture documents, the plan itself) and what it wrote
    about the software for the run's reader (``RECORD_ROLES``: a README, design
    notes), which must never replace the repository's own. Without a plan
    nothing is the software's.
    """
    if plan is None:
        return frozenset()
    return frozenset(f.path for f in plan.files if f.role not in RECORD_ROLES)


def read_plan(content: str) -> BuildPlan | None:
    """Parse the text of a ``plan.json`` artifact (None when it is not a valid plan)."""
    try:
        return BuildPlan.model_validate_json(content)
    except ValueError:
        return None


def find_plan(stages: Mapping[str, StageRecord]) -> BuildPlan | None:
    """Return the run's build plan from the stage records' artifacts, if a stage passed one.

    The graph keeps the plan in run state when its stage passes
    (``graph/state.py``: ``build_plan_of``); this reads the records, as a
    checkpoint written before that holds it.
    """
    for record in stages.values():
        if record.outcome is not StageOutcome.PASSED or record.result is None:
            continue
        for art in record.result.artifacts:
            if art.path == PLAN_PATH:
                return read_plan(art.content)
    return None
