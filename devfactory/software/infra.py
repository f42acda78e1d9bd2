"""A planned Python project's container image and CI workflow, written by tools.

Tools before models: what a ``Dockerfile`` and a CI workflow hold for a project
the build plan describes (its kind, its entry point, its dependencies, its test
command) is a template, not a judgement. The image installs the declared
dependencies without pip's cache, copies the project, runs as a user that is
not root and starts the entry point (a web service on its port through uvicorn,
a program with ``python -m``); the workflow installs the same and runs the
tests on every push and pull request, with read-only permissions. Both pass the
checks DevOps' files are judged by (``checks/tools/devops.py``: hadolint,
check-jsonschema), and the tests hold them to those tools.
"""

from __future__ import annotations

import shlex
import sys

from devfactory.software.kinds import shape_for
from devfactory.software.plan import BuildPlan

PYTHON = f"{sys.version_info.major}.{sys.version_info.minor}"
"""The Python the image and the workflow use: the one the sandbox runs the project on."""
PORT = 8000
DOCKERFILE = "Dockerfile"
WORKFLOW = "infra/ci.yml"


def _installs(plan: BuildPlan, extra: tuple[str, ...] = ()) -> list[str]:
    """Return the packages to install: the plan's dependencies, then ``extra`` not among them."""
    named = list(dict.fromkeys(plan.dependencies))
    lowered = {d.lower() for d in named}
    return named + [e for e in extra if e.lower() not in lowered]


def _command(plan: BuildPlan) -> list[str] | None:
    """Return the container's command for the plan's entry point, or None where none runs."""
    entry = plan.entry_point.strip()
    if shape_for(plan).serves and ":" in entry:
        if any(d.lower().startswith(("flask", "django")) for d in plan.dependencies):
            return None  # a WSGI application: which server runs it is a choice, not a template
        return ["uvicorn", entry, "--host", "0.0.0.0", "--port", str(PORT)]  # noqa: S104
    if entry.startswith(("python -m ", "python3 -m ", "python ")):
        return ["python", *shlex.split(entry)[1:]]
    return None


def dockerfile(plan: BuildPlan) -> str | None:
    """Return the project's Dockerfile, or None when the plan gives nothing to run."""
    command = _command(plan)
    if command is None:
        return None
    service = command[0] == "uvicorn"
    packages = _installs(plan, ("uvicorn",) if service else ())
    lines = [
        "# The project's image, written by tools from its build plan.",
        f"FROM python:{PYTHON}-slim",
        "ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1",
        "WORKDIR /app",
    ]
    if packages:
        lines.append(f"RUN pip install --no-cache-dir {' '.join(map(shlex.quote, packages))}")
    lines += [
        "COPY . /app",
        "RUN useradd --create-home --uid 10001 app",
        "USER 10001",
    ]
    if service:
        lines.append(f"EXPOSE {PORT}")
    quoted = ", ".join(f'"{part}"' for part in command)
    lines.append(f"{'CMD' if service else 'ENTRYPOINT'} [{quoted}]")
    return "\n".join(lines) + "\n"


def workflow(plan: BuildPlan) -> str:
    """Return the GitHub Actions workflow that installs the project and runs its tests."""
    packages = " ".join(map(shlex.quote, _installs(plan, ("pytest",))))
    return (
        "# The project's CI, written by tools from its build plan: copy it to\n"
        "# .github/workflows/ to run it on GitHub.\n"
        "name: ci\n"
        "on:\n"
        "  push:\n"
        "  pull_request:\n"
        "permissions:\n"
        "  contents: read\n"
        "jobs:\n"
        "  test:\n"
        "    runs-on: ubuntu-24.04\n"
        "    steps:\n"
        "      - uses: actions/checkout@v4\n"
        "      - uses: actions/setup-python@v5\n"
        "        with:\n"
        f'          python-version: "{PYTHON}"\n'
        "      - name: Install\n"
        f"        run: python -m pip install {packages}\n"
        "      - name: Test\n"
        f"        run: python -m {plan.test_command.removeprefix('python -m ')}\n"
    )
