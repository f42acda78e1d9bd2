"""The rules that read a requirement's names into a plan, and the plan's repairs.

Each on sentences and names of its own that no eval case has (see
``test_general_rules.py``, which also holds this file to quoting none).
"""

from __future__ import annotations

import pytest

from devfactory.graph.planning.plan_start import starting_plan
from devfactory.repairs import plan_repair
from devfactory.software.plan import FileRole, named_interfaces

# --- the names a plan must keep --------------------------------------------------------------


def test_the_plan_keeps_the_calls_routes_options_files_and_modules_the_text_names() -> None:
    named = named_interfaces(
        "Call `brew(cup)` then print(len(x)), e.g(1). Serve `GET /cups/{id}` and `POST /cups`. "
        "A log line `GET /cups HTTP/1.1 200` is data. Pass `--strong` to `python -m cafe.tools`; "
        "the helpers live in `cafe/grind.py`."
    )
    assert named.functions == ("brew",)
    assert named.endpoints == (("GET", "/cups/{id}"), ("POST", "/cups"))
    assert (named.options, named.files, named.modules) == (
        ("--strong",),
        ("cafe/grind.py",),
        ("cafe.tools",),
    )


def test_a_starting_plan_is_the_package_run_or_named_with_the_calls_as_written() -> None:
    owners = {"backend-engineering": [FileRole.CODE]}
    plan = starting_plan(
        "The package `brewer` makes tea.\n\n- `steep(leaf: str, secs: int = 90) -> str`: tea.\n",
        owners,
    )
    assert plan is not None and plan["kind"] == "library"
    assert plan["modules"][0]["symbols"] == [
        {"name": "steep", "signature": "def steep(leaf: str, secs: int = 90) -> str"}
    ]
    command = starting_plan("Run `python -m brewer --cups N` each morning.", owners)
    assert command is not None and command["entry_point"] == "python -m brewer"
    assert command["commands"] == [{"usage": "brewer --cups N"}]
    assert starting_plan("Tea, brewed well.", owners) is None


# --- the plan's repairs (model output, on names of no eval case) -----------------------------


@pytest.mark.parametrize(
    ("written", "path"),
    [
        ("PATCH /lamps/<int:lamp_id>/", "/lamps/{lamp_id}"),
        ("https://example.org/lamps/:bulb/dim?level=2", "/lamps/{bulb}/dim"),
        ("/lamps/{bulb:int} (dims it)", "/lamps/{bulb}"),
        ("`/lamps/[bulb]`", "/lamps/{bulb}"),
    ],
)
def test_a_planned_endpoint_path_is_written_in_one_pattern_whatever_the_framework(
    written: str, path: str
) -> None:
    notes: list[str] = []
    data = plan_repair.normalise_plan({"endpoints": [{"path": written, "method": "patch"}]}, notes)
    assert data["endpoints"] == [{"path": path, "method": "PATCH"}] and notes


def test_a_planned_object_in_a_module_becomes_the_modules_file() -> None:
    notes: list[str] = []
    files = [
        {"path": "lamps.web:server", "role": "code"},
        {"path": "t.py", "depends_on": ["lamps.web:server"]},
    ]
    data = plan_repair.normalise_plan({"files": files}, notes)
    assert [f["path"] for f in data["files"]] == ["lamps/web.py", "t.py"]
    assert data["files"][1]["depends_on"] == ["lamps/web.py"]


@pytest.mark.parametrize(
    ("path", "tests"),
    [("tests/test_lamps.py", True), ("lamps_test.py", True), ("conftest.py", True),
     ("lamps/testing.py", False), ("contest.py", False)],
)  # fmt: skip
def test_a_file_named_as_pytest_collects_tests_is_planned_as_tests(path: str, tests: bool) -> None:
    context = plan_repair.PlanContext({})
    data = plan_repair.retag_tests({"files": [{"path": path, "role": "code"}]}, context, [])
    assert (data["files"][0]["role"] == "tests") is tests


def test_python_dash_m_on_a_package_plans_its_main() -> None:
    context = plan_repair.PlanContext({"dev": [FileRole.CODE]})
    files = [{"path": "src/lamps/__init__.py", "role": "code"}]
    data = plan_repair.add_main({"entry_point": "python3 -m lamps", "files": files}, context, [])
    assert [f["path"] for f in data["files"]][-1] == "src/lamps/__main__.py"
    module = [{"path": "lamps.py", "role": "code"}]
    same = plan_repair.add_main({"entry_point": "python -m lamps", "files": module}, context, [])
    assert [f["path"] for f in same["files"]] == ["lamps.py"]
