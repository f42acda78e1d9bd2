"""The repairs layer: each registered repair fires where it should and only there."""

from __future__ import annotations

import ast
import copy
import re
from typing import Any

import pytest
import yaml

from devfactory.contracts import Artifact, ArtifactKind
from devfactory.repairs import repair as layer
from devfactory.repairs.app_calls import Handler, route_handlers
from devfactory.repairs.plan_repair import PlanContext
from devfactory.repairs.repair import REGISTRY, ProjectNames, RepairKind, plan_normaliser, repair
from devfactory.software.plan import FileRole

OWNERS = {"dev": [FileRole.CODE], "qa": [FileRole.TESTS]}
PLAN = PlanContext(OWNERS)
STARTED = PlanContext(
    OWNERS, start={"kind": "cli", "entry_point": "python -m x", "files": [], "modules": []}
)
ALIASED = "class Version:\n    @classmethod\n    def parse(cls, text):\n        return cls()\n"
WHOLE_TESTS = "from m import f\n\n\ndef test_a():\n    assert f(1) == 2\n"
CUT_TESTS = WHOLE_TESTS + '\n\ndef test_b():\n    assert f("x) == 3\n'
MARKED_TESTS = WHOLE_TESTS + "\n\n\n[...]\n"  # a file shown cut, its mark copied
BROKEN_BY_A_MARK = WHOLE_TESTS + "\n\ndef test_b():\n[...]\n    assert f(2) == 3\n"
MARK_IN_A_LIST = 'ITEMS = [\n    ...\n]\nprint("[...]")\n'  # an ellipsis, a string: no mark
UNTYPED = "# Design\n\n```mermaid\nA --> B\n```\n"
TYPED = "# Design\n\n```mermaid\nflowchart LR\nA --> B\n```\n"
FLAGGED = """openapi: 3.1.0
info: {title: Recipes, version: 1.0.0}
paths:
  /recipes:
    get:
      parameters:
      - {name: q, in: query, required: true, schema: {type: string}}
      responses:
        '200':
          description: all
          content:
            application/json:
              schema:
                type: object
                required: true
                properties:
                  title: {type: string, required: true}
                  note:
                  servings: {type: integer, required: false}
"""
LISTED = """openapi: 3.1.0
info:
  title: Recipes
  version: 1.0.0
paths:
  /recipes:
    get:
      parameters:
      - name: q
        in: query
        required: true
        schema:
          type: string
      responses:
        '200':
          description: all
          content:
            application/json:
              schema:
                type: object
                required:
                - title
                properties:
                  title:
                    type: string
                  note: {}
                  servings:
                    type: integer
"""


def code(path: str, owner: str = "dev", **more: Any) -> dict[str, Any]:
    return {"path": path, "role": "code", "owner": owner, "depends_on": [], **more}


def doc(content: str) -> list[Artifact]:
    return [Artifact(path="design/architecture.md", kind=ArtifactKind.MARKDOWN, content=content)]


def api(content: str) -> list[Artifact]:
    return [Artifact(path="api/openapi.yaml", kind=ArtifactKind.YAML, content=content)]


MOCKED = (
    "def test_a():\n    with patch.object(sys, 'argv', []):\n        assert MagicMock()\n\n\n"
    "@patch('os.getcwd')\ndef test_b(cwd):\n    assert cwd\n"
)
SHARED = "def test_a():\n    made = 1\n    assert made == 1\n"  # a name another test assigns
CAUGHT = (  # the name of `except ... as e` read after the block: a NameError as written
    "def test_a():\n    try:\n        int('x')\n    except ValueError as e:\n        pass\n"
    "    assert 'x' in str(e)\n"
)
KEPT = CAUGHT.replace("as e:\n", "as e_caught:\n        e = e_caught\n")
CAUGHT_NOTE = ("`e` of `except ... as e` kept bound for its read after the block (line 4)",)
READ_INSIDE = "try:\n    int('x')\nexcept ValueError as e:\n    print(e)\nprint('done')\n"
TESTS_OF_CHECKSUM = ProjectNames({"checksum": ["digest"]}, [], tests=True)
PLANNED = frozenset({"checksum", "tests.test_checksum", "tests.conftest", "tests.helpers"})
TESTS_PLANNED = ProjectNames({"checksum": ["digest"]}, [], tests=True, every=PLANNED)
ABSENT = (  # a helper of the tests' own package that nothing plans, and a checksum module
    '"""Tests."""\nimport os\nfrom tests.common import write_file\nimport checksum.util as u\n'
    "from checksum import digest\n\n\ndef test_a():\n    assert digest(b'') == 0\n"
)
PRESENT = (  # each module planned: a module, a package's module, a name of a module
    "import os\nimport json.decoder\nfrom tests.helpers import write_file\n"
    "from tests import helpers, conftest\nfrom checksum import digest\nimport checksum\n"
    "from .common import x\n"
)
RELATIVE = "from .checksum import digest\nfrom . import checksum as c\nfrom .helpers import make\n"
LOOSE_CHECKS = WHOLE_TESTS + "\nassert f(2) == 3\nX = 1\nassert f(\n    X) == 2\n"
CHECKS_AS_TESTS = WHOLE_TESTS + (  # X = 1 feeds line 9's check alone: it goes with it
    "\n\n\ndef test_check_line_7():\n    assert f(2) == 3\n\n\n\n\n"
    "def test_check_line_9():\n    X = 1\n    assert f(\n        X) == 2\n\n\n"
)
UNFIXTURED = SHARED + "\n\ndef test_split(bill, people, tip, expected):\n    assert bill\n"
FIXTURED = (
    "import pytest\n\n\n@pytest.fixture\ndef bill():\n    return 10\n\n\n"
    "@pytest.fixture(name='tip')\ndef _tip():\n    return 1\n\n\n"
    "@pytest.mark.parametrize('expected, rest', [(1, 2)])\n@pytest.mark.slow\n"
    "def test_split(bill, people, tip, expected, rest, tmp_path, scale=2):\n    assert bill\n\n\n"
    "@patch('os.getcwd')\ndef test_other(cwd):\n    assert cwd\n"
)  # a fixture of the file, by name, of the project's conftest, parametrized, pytest's, a default
ON_THE_APP = (  # a route requested from the app itself: FastAPI's app.post declares one
    "from shop import app\n\n\ndef test_add():\n"
    "    r = app.post('/items', json={'name': 'pen'})\n    assert r.status_code == 201\n"
    "    assert app.get('/items/1').json() == {'name': 'pen'}\n"
)
THROUGH_THE_CLIENT = "from fastapi.testclient import TestClient\n" + ON_THE_APP.replace(
    "app.post(", "TestClient(app).post("
).replace("app.get(", "TestClient(app).get(")
SHOP = (  # a web service's module: its handlers on its FastAPI() app
    "from fastapi import Body, FastAPI, Request\n\napp = FastAPI()\nITEMS = {}\n\n\n"
    "@app.post('/items', status_code=201)\ndef add_item(item: dict = Body(...)):\n"
    "    ITEMS[len(ITEMS) + 1] = item\n    return item\n\n\n"
    "@app.get('/items/{n}')\nasync def get_item(n: int, upper: bool = False):\n"
    "    return {k: v.upper() if upper else v for k, v in ITEMS[n].items()}\n\n\n"
    "@app.get('/seen')\ndef seen(request: Request):\n    return {'host': request.url.hostname}\n"
)
HANDLERS = ProjectNames({"shop": ["app", "add_item", "get_item", "seen"]}, [], tests=True,
                        sources={"shop": SHOP})  # fmt: skip
CALLED = (  # the handlers called as if they answered requests
    "from shop import add_item, get_item\n\n\ndef test_add():\n"
    "    r = add_item({'name': 'pen'})\n    assert r.status_code == 201\n"
    "    n = 1\n    assert get_item(n, upper=True).json() == {'name': 'PEN'}\n"
)
REQUESTED = "from shop import app\nfrom fastapi.testclient import TestClient\n" + CALLED.replace(
    "add_item({'name': 'pen'})", "TestClient(app).post('/items', json={'name': 'pen'})"
).replace("get_item(n, upper=True)", "TestClient(app).get(f'/items/{n}', params={'upper': True})")
COUNTER = (  # a command line's module: main parses the words, run does the work
    "import argparse\n\n\ndef build_parser():\n    parser = argparse.ArgumentParser()\n"
    "    parser.add_argument('files', nargs='+')\n    return parser\n\n\n"
    "def run(args: argparse.Namespace) -> int:\n    return len(args.files)\n\n\n"
    "def main(argv: list[str] | None = None) -> int:\n"
    "    return run(build_parser().parse_args(argv))\n"
)
ENTRIES = ProjectNames({"counter": ["run", "main"]}, [], tests=True, sources={"counter": COUNTER})
MIXED = (  # each entry given what the other takes
    "import argparse\nimport counter as c\nfrom counter import run\n\n\ndef test_a():\n"
    "    assert run(['a', 'b']) == 2\n"
    "    assert c.main(argparse.Namespace(files=['a'])) == 1\n"
)
SENT = "from counter import main\n" + MIXED.replace("run(['a', 'b'])", "main(['a', 'b'])").replace(
    "c.main(", "c.run("
)
PROGRAM = (  # main given the program's words first, as sys.argv holds them
    "import sys\n\nimport counter\nfrom counter import main\n\n\ndef test_a():\n"
    "    assert main(['counter', 'a']) == 1\n"
    "    assert counter.main(('python', '-m', 'counter.py', 'a', 'b')) == 2\n"
    "    assert main([sys.executable, '-m', 'counter', 'c']) == 1\n"
)
WORDS = (
    PROGRAM.replace("['counter', 'a']", "['a']")
    .replace("('python', '-m', 'counter.py', 'a', 'b')", "('a', 'b')")
    .replace("[sys.executable, '-m', 'counter', 'c']", "['c']")
)
NO_WORDS = (  # main() parses sys.argv: under pytest, pytest's own words
    "import counter\nfrom counter import main\n\n\ndef test_a():\n"
    "    assert main() == 0 and counter.main() == 0\n"
)
NO_RUNNER = ProjectNames(  # its run takes no Namespace
    {}, [], tests=True, sources={"counter": COUNTER.replace("args: argparse.Namespace", "args")}
)
SELF_FIXTURES = (  # each fixture's def binds the imported name again: it returns itself
    "import pytest\nfrom shop import app, add_item as add\n\n\n@pytest.fixture\ndef app():\n"
    '    return app\n\n\n@pytest.fixture()\ndef add():\n    """The handler."""\n'
    "    return add\n\n\ndef test_a(app, add):\n    assert callable(add) and app.title\n"
)
FIXTURES_RETURNING_IMPORTS = "import shop\n" + SELF_FIXTURES.replace(
    "    return app\n", "    return shop.app\n"
).replace("    return add\n", "    return shop.add_item\n")
EMPTY_APP = (  # the app's fixture makes a new app: no route answers
    "import pytest\nfrom fastapi import FastAPI\nfrom fastapi.testclient import TestClient\n"
    "from shop import app\n\n\n@pytest.fixture\ndef app():\n    return FastAPI(title='t')\n\n\n"
    "def test_a(app):\n    assert TestClient(app).post('/items', json={}).status_code == 201\n"
)
APP_RETURNED = "import shop\n" + EMPTY_APP.replace("FastAPI(title='t')", "shop.app")
BOUND_BEFORE = "e = None\n" + READ_INSIDE.replace("'done'", "e")  # bound elsewhere: left alone

# (kind, name, context, input, output, notes): the repair fires
FIRES: list[tuple[RepairKind, str, Any, Any, Any, tuple[str, ...]]] = [
    (RepairKind.PYTHON, "quotes", None, 'print("use {"a": 1} here")\n',
     'print("use {\\"a\\": 1} here")\n', ("quotes inside a string escaped (line 1)",)),
    (RepairKind.PYTHON, "stdlib-imports", None, "x = os.getcwd()",
     "import os\nx = os.getcwd()", ("`import os` added (used, never imported)",)),
    (RepairKind.PYTHON_TESTS, "quotes", None, 'print("use {"a": 1} here")\n',
     'print("use {\\"a\\": 1} here")\n', ("quotes inside a string escaped (line 1)",)),
    (RepairKind.PYTHON_TESTS, "stdlib-imports", None, "x = os.getcwd()",
     "import os\nx = os.getcwd()", ("`import os` added (used, never imported)",)),
    (RepairKind.PYTHON_TESTS, "pytest-import", None,
     '"""Tests."""\n\n\n@pytest.mark.slow\ndef test_a():\n    pass\n',
     '"""Tests."""\nimport pytest\n\n\n@pytest.mark.slow\ndef test_a():\n    pass\n',
     ("`import pytest` added (used, never imported)",)),
    (RepairKind.PYTHON_TESTS, "mock-imports", None, MOCKED,
     "from unittest.mock import MagicMock, patch\n" + MOCKED,
     ("`from unittest.mock import MagicMock, patch` added (used, never imported)",)),
    (RepairKind.PYTHON_TESTS, "app-calls", None, ON_THE_APP, THROUGH_THE_CLIENT,
     ("route requests on `app` sent through TestClient",)),
    (RepairKind.PYTHON_TESTS, "self-fixtures", None, SELF_FIXTURES, FIXTURES_RETURNING_IMPORTS,
     ("fixtures returning themselves (or a new FastAPI()) made to return their import: "
      "`app`, `add`",)),
    (RepairKind.PYTHON_TESTS, "self-fixtures", None, EMPTY_APP, APP_RETURNED,
     ("fixtures returning themselves (or a new FastAPI()) made to return their import: "
      "`app`",)),
    (RepairKind.PYTHON_TESTS, "broken-tests", None, CUT_TESTS, WHOLE_TESTS,
     ("the file did not parse: kept its complete tests, dropped `test_b`",)),
    (RepairKind.PYTHON_TESTS, "module-checks", None, LOOSE_CHECKS, CHECKS_AS_TESTS,
     ("checks outside any test made tests (line 7, 9)",)),
    (RepairKind.PYTHON, "cut-marks", None, "x = 1\n[...]\n", "x = 1\n",
     ("`[...]` copied from a file shown cut dropped (line 2)",)),
    (RepairKind.PYTHON, "except-names", None, CAUGHT, KEPT, CAUGHT_NOTE),
    (RepairKind.PYTHON_TESTS, "except-names", None, CAUGHT, KEPT, CAUGHT_NOTE),
    (RepairKind.PYTHON_TESTS, "cut-marks", None, MARKED_TESTS, WHOLE_TESTS + "\n\n\n",
     ("`[...]` copied from a file shown cut dropped (line 9)",)),
    (RepairKind.PYTHON_TESTS, "cut-marks", None, BROKEN_BY_A_MARK,
     WHOLE_TESTS + "\n\ndef test_b():\n    assert f(2) == 3\n",
     ("`[...]` copied from a file shown cut dropped (line 9)",)),
    (RepairKind.PYTHON_IN_PROJECT, "relative-imports", TESTS_OF_CHECKSUM, RELATIVE,
     "from checksum import digest\nimport checksum as c\nfrom .helpers import make\n",
     ("`from .checksum import digest` -> `from checksum import digest` (a relative import)",
      "`from . import checksum as c` -> `import checksum as c` (a relative import)")),
    (RepairKind.PYTHON_IN_PROJECT, "absent-imports", TESTS_PLANNED, ABSENT,
     ABSENT.replace("from tests.common import write_file\nimport checksum.util as u\n", "\n\n"),
     ("`from tests.common import write_file` (tests.common is no module of the project) taken out",
      "`import checksum.util as u` (checksum.util is no module of the project) taken out")),
    (RepairKind.PYTHON_IN_PROJECT, "project-imports",
     ProjectNames({"chessmoves": ["parse_move"]}, []), 'print(parse_move("e4"))\n',
     'from chessmoves import parse_move\nprint(parse_move("e4"))\n',
     ("`from chessmoves import parse_move` added (used, never imported)",)),
    (RepairKind.PYTHON_IN_PROJECT, "handler-calls", HANDLERS, CALLED, REQUESTED,
     ("calls of `add_item`, `get_item` read as responses sent as requests",)),
    (RepairKind.PYTHON_IN_PROJECT, "entry-calls", ENTRIES, MIXED, SENT,
     ("calls of `main -> run` (what the other entry takes)",
      "calls of `run -> main` (what the other entry takes)")),
    (RepairKind.PYTHON_IN_PROJECT, "entry-calls", ENTRIES, PROGRAM, WORDS,
     ("calls of `main` given the program's name first: its words only",)),
    (RepairKind.PYTHON_IN_PROJECT, "entry-calls", ENTRIES, NO_WORDS,
     NO_WORDS.replace("main()", "main([])"),
     ("calls of `main()` given no words (not pytest's own)",)),
    (RepairKind.PYTHON_IN_PROJECT, "method-aliases", ProjectNames({}, ["parse"]), ALIASED,
     ALIASED + "\nparse = Version.parse\n",
     ("`parse = Version.parse` added (planned here, written as a method)",)),
    (RepairKind.PYTHON_IN_PROJECT, "unbound-tests", ProjectNames({}, [], tests=True),
     SHARED + "\n\ndef test_b():\n    assert made == 1\n", SHARED,
     ("tests reading a name bound nowhere dropped: test_b (reads `made`)",)),
    (RepairKind.PYTHON_IN_PROJECT, "unknown-fixtures", ProjectNames({}, [], tests=True),
     UNFIXTURED, SHARED,
     ("tests asking for a fixture nothing defines dropped: test_split (asks for `bill`)",)),
    (RepairKind.PLAN, "starting-plan", STARTED,
     {"kind": "cli", "files": [code("x.py")], "modules": []},
     {"kind": "cli", "files": [code("x.py")], "modules": [], "entry_point": "python -m x"},
     ("entry_point taken from the starting plan",)),
    (RepairKind.PLAN, "plan-shape", PLAN, {"kind": "CLI"}, {"kind": "cli", "entry_point": ""},
     ("kind lower-cased",)),
    (RepairKind.PLAN, "unwritten-files", PLAN,
     {"files": [code("x.py"), {"path": "README.md", "role": "docs", "owner": "dev"}],
      "modules": [{"path": "README.md"}]},
     {"files": [code("x.py")], "modules": []},
     ("['README.md'] dropped: no team of this pipeline writes them",)),
    (RepairKind.PLAN, "tests-by-name", PLAN, {"files": [code("tests/test_x.py")]},
     {"files": [{**code("tests/test_x.py"), "role": "tests"}]},
     ("tests/test_x.py: role code -> tests (a tests file by its name)",)),
    (RepairKind.PLAN, "module-files", PLAN, {"files": [], "modules": [{"path": "x.py"}]},
     {"files": [code("x.py", purpose="the module's public functions and classes")],
      "modules": [{"path": "x.py"}]},
     ("x.py: planned for dev (a module missing from the files)",)),
    (RepairKind.PLAN, "python-m-main", PLAN,
     {"entry_point": "python -m pkg", "files": [code("pkg/__init__.py")]},
     {"entry_point": "python -m pkg",
      "files": [code("pkg/__init__.py"),
                code("pkg/__main__.py", depends_on=["pkg/__init__.py"],
                     purpose="the command line run as `python -m pkg`")]},
     ("pkg/__main__.py: planned for dev (`python -m` runs a package)",)),
    (RepairKind.PLAN, "missing-tests", PLAN, {"files": [code("x.py")]},
     {"files": [code("x.py"),
                {"path": "tests/test_x.py", "role": "tests", "owner": "qa",
                 "depends_on": ["x.py"],
                 "purpose": "tests of every behaviour the requirement names"}]},
     ("tests/test_x.py: planned for qa (the plan had no tests file)",)),
    (RepairKind.PLAN, "owners", PLAN, {"files": [code("x.py", owner="qa")]},
     {"files": [code("x.py")]}, ("x.py: owner 'qa' -> 'dev'",)),
    (RepairKind.REPORT, "unknown-fields", None, {"status": "COMPLETE", "mood": "good"},
     {"status": "COMPLETE"}, ("dropped unknown fields ['mood']",)),
    (RepairKind.REPORT, "confidence", None, {"confidence": "85%"}, {"confidence": 0.85},
     ("confidence parsed from text",)),
    (RepairKind.REPORT, "lists", None, {"blockers": "no key", "artifacts": None},
     {"blockers": ["no key"], "artifacts": []}, ("blockers wrapped in a list",)),
    (RepairKind.REPORT, "no-question", None, {"clarification_needed": "none"},
     {"clarification_needed": None}, ()),  # a silent repair: an empty question is none
    (RepairKind.DIAGRAM, "diagram", None, doc(UNTYPED),
     doc(UNTYPED.replace("```mermaid\n", "```mermaid\nflowchart TD\n")),
     ("design/architecture.md: `flowchart TD` added to its untyped mermaid block",)),
    (RepairKind.OPENAPI, "openapi-required", None, api(FLAGGED), api(LISTED),
     ("api/openapi.yaml: paths./recipes.get.responses.200.content.application/json.schema."
      "properties.note: no schema, given the empty one {}; paths./recipes.get.responses.200."
      "content.application/json.schema: `required: true` on title moved into the object's "
      "required list",)),
]  # fmt: skip

# (kind, name, context, input): nothing to repair
LEAVES: list[tuple[RepairKind, str, Any, Any]] = [
    (RepairKind.PYTHON, "quotes", None, 'print("use {\\"a\\": 1} here")\n'),
    (RepairKind.PYTHON, "stdlib-imports", None, "import os\nx = os.getcwd()"),
    (RepairKind.PYTHON_TESTS, "quotes", None, 'print("use {\\"a\\": 1} here")\n'),
    (RepairKind.PYTHON_TESTS, "stdlib-imports", None, "import os\nx = os.getcwd()"),
    (RepairKind.PYTHON_TESTS, "pytest-import", None,
     "import pytest\n\n\n@pytest.mark.slow\ndef test_a():\n    pass\n"),
    (RepairKind.PYTHON_TESTS, "mock-imports", None,
     "from unittest import mock\nfrom unittest.mock import patch\n\n" + MOCKED.replace(
         "MagicMock", "mock.MagicMock")),
    (RepairKind.PYTHON_TESTS, "mock-imports", None,  # a version's patch, called plainly
     "def test_a():\n    assert patch('1.2.3') == 3\n"),
    (RepairKind.PYTHON_TESTS, "app-calls", None,  # a store's get, a route declared, a client
     "from kv import store\n\n\ndef test_get():\n    assert store.get('/a') == 1\n"
     + "from shop import app\n\n\n@app.get('/x')\ndef x():\n    return 1\n"
     + "def test_ok(client):\n    assert client.get('/x').status_code == 200\n"
     + "from conftest import api_client\n\n\ndef test_c():\n"
     + "    assert api_client.get('/x', params={}).status_code == 200\n"),
    (RepairKind.PYTHON_TESTS, "self-fixtures", None,  # its own value; a plain function; shop taken
     "import pytest\nfrom shop import app\n\n\n@pytest.fixture\ndef app():\n"
     "    return make_app()\n\n\ndef store():\n    return store\n"),
    (RepairKind.PYTHON_TESTS, "self-fixtures", None,  # FastAPI's own name for the class
     "import pytest\nfrom fastapi import applications\n\n\n@pytest.fixture\n"
     "def applications():\n    return FastAPI()\n"),
    (RepairKind.PYTHON_TESTS, "self-fixtures", None,
     "import pytest\nfrom shop import app\nshop = 1\n\n\n@pytest.fixture\ndef app():\n"
     "    return app\n"),
    (RepairKind.PYTHON_TESTS, "broken-tests", None, WHOLE_TESTS),
    (RepairKind.PYTHON_TESTS, "module-checks", None,  # a check in a test, one across lines
     WHOLE_TESTS + 'assert f("""a\nb""") == 2\n'),
    (RepairKind.PYTHON, "cut-marks", None, MARK_IN_A_LIST),
    (RepairKind.PYTHON_TESTS, "cut-marks", None, "def test_a():\n    [...]\n"),  # all it has
    (RepairKind.PYTHON, "except-names", None, READ_INSIDE),
    (RepairKind.PYTHON_TESTS, "except-names", None, BOUND_BEFORE),
    (RepairKind.PYTHON_IN_PROJECT, "relative-imports",  # not a tests file: a package's own
     ProjectNames({"checksum": ["digest"]}, []), RELATIVE),
    (RepairKind.PYTHON_IN_PROJECT, "relative-imports", TESTS_OF_CHECKSUM,
     "from checksum import digest\nfrom .helpers import make\n"),
    (RepairKind.PYTHON_IN_PROJECT, "project-imports",
     ProjectNames({"chessmoves": ["parse_move"]}, []),
     "def parse_move(m):\n    return m\n\nprint(parse_move('e4'))\n"),
    (RepairKind.PYTHON_IN_PROJECT, "handler-calls", HANDLERS,  # read as data, raising, given
     "from shop import add_item, get_item, seen\n\n\ndef test_a():\n"
     "    assert add_item({'a': 1}) == {'a': 1}\n    with pytest.raises(KeyError):\n"
     "        get_item(9)\n    assert seen(object()).status_code == 200\n"
     "    assert get_item().status_code == 200\n"),  # a path parameter not given
    (RepairKind.PYTHON_IN_PROJECT, "handler-calls", HANDLERS,  # a fixture of its name; app given
     "import pytest\nfrom shop import add_item, app, get_item\n\n\n@pytest.fixture\n"
     "def add_item():\n    return 1\n\n\ndef test_a(add_item):\n"
     "    assert add_item({'a': 1}).status_code == 201\n\n\ndef test_b(app):\n"
     "    assert get_item(1).status_code == 200\n"),
    (RepairKind.PYTHON_IN_PROJECT, "handler-calls",  # not a tests file
     ProjectNames({}, [], sources=HANDLERS.sources), CALLED),
    (RepairKind.PYTHON_IN_PROJECT, "handler-calls", HANDLERS,  # a name of its own, no import
     "def add_item(x):\n    return x\n\n\ndef test_a():\n"
     "    assert add_item(1).status_code == 1\n"),
    (RepairKind.PYTHON_IN_PROJECT, "entry-calls", ENTRIES,  # what each takes, a name of its own
     "from counter import run, main\nfrom argparse import Namespace\n\n\ndef test_a():\n"
     "    assert main(['a']) == 1 and run(Namespace(files=[])) == 0\n"
     "    assert run(words) == 1 and main(['a'], extra=1) == 1\n\n\n"
     "def main(x):\n    return x\n"),
    (RepairKind.PYTHON_IN_PROJECT, "entry-calls", ENTRIES,  # main's name taken by the file's own
     "from counter import run\n\n\ndef main(x):\n    return x\n\n\n"
     "def test_a():\n    assert run(['a']) == 1\n"),
    (RepairKind.PYTHON_IN_PROJECT, "entry-calls", ENTRIES,  # a word that is no program's first
     "from counter import main\n\n\ndef test_a():\n"
     "    assert main(['a', 'counter']) == 2 and main([name, 'a']) == 2\n"
     "    assert main(['python', 'a']) == 2 and main(['-m']) == 1\n"
     "    assert main([sys.executable, 'a']) == 2 and main(['a', sys.executable]) == 2\n"),
    (RepairKind.PYTHON_IN_PROJECT, "entry-calls", ENTRIES,  # sys.argv set for main() to read
     "import sys\nfrom counter import main\n\n\ndef test_a(monkeypatch):\n"
     "    monkeypatch.setattr(sys, 'argv', ['counter', 'a'])\n    assert main() == 1\n"),
    (RepairKind.PYTHON_IN_PROJECT, "entry-calls",  # no runner taking a Namespace
     NO_RUNNER, MIXED),
    (RepairKind.PYTHON_IN_PROJECT, "absent-imports", TESTS_PLANNED, PRESENT),
    (RepairKind.PYTHON_IN_PROJECT, "absent-imports",  # not a tests file
     ProjectNames({}, [], every=PLANNED), ABSENT),
    (RepairKind.PYTHON_IN_PROJECT, "absent-imports",  # `from tests import` a module unplanned
     TESTS_PLANNED, "from tests import helpers, common\n"),
    (RepairKind.PYTHON_IN_PROJECT, "method-aliases", ProjectNames({}, ["bump"]), ALIASED),
    (RepairKind.PYTHON_IN_PROJECT, "unbound-tests", ProjectNames({}, []),  # not a tests file
     SHARED + "\n\ndef test_b():\n    assert made == 1\n"),
    (RepairKind.PYTHON_IN_PROJECT, "unbound-tests", ProjectNames({}, [], tests=True), SHARED),
    (RepairKind.PYTHON_IN_PROJECT, "unknown-fixtures",  # each argument given by something
     ProjectNames({}, [], tests=True, fixtures=frozenset({"people"})), FIXTURED),
    (RepairKind.PYTHON_IN_PROJECT, "unknown-fixtures", ProjectNames({}, []),  # not a tests file
     UNFIXTURED),
    (RepairKind.PLAN, "starting-plan", PLAN, {"kind": "cli", "files": [code("x.py")]}),
    (RepairKind.PLAN, "plan-shape", PLAN, {"kind": "cli", "entry_point": ""}),
    (RepairKind.PLAN, "unwritten-files", PLAN, {"files": [code("x.py")]}),
    (RepairKind.PLAN, "tests-by-name", PLAN, {"files": [code("x.py")]}),
    (RepairKind.PLAN, "module-files", PLAN,
     {"files": [code("x.py")], "modules": [{"path": "x.py"}]}),
    (RepairKind.PLAN, "python-m-main", PLAN,
     {"entry_point": "python -m pkg", "files": [code("pkg/__init__.py"), code("pkg/__main__.py")]}),
    (RepairKind.PLAN, "missing-tests", PLAN,
     {"files": [code("x.py"), {**code("tests/t.py", owner="qa"), "role": "tests"}]}),
    (RepairKind.PLAN, "owners", PLAN, {"files": [code("x.py")]}),
    (RepairKind.REPORT, "unknown-fields", None, {"status": "COMPLETE"}),
    (RepairKind.REPORT, "confidence", None, {"confidence": 0.85}),
    (RepairKind.REPORT, "lists", None, {"blockers": ["no key"]}),
    (RepairKind.REPORT, "no-question", None, {"clarification_needed": None}),
    (RepairKind.DIAGRAM, "diagram", None, doc(TYPED)),
    (RepairKind.OPENAPI, "openapi-required", None, api(FLAGGED.replace("openapi: 3.1.0", "a: 1"))),
]  # fmt: skip


def entry(kind: RepairKind, name: str) -> layer.Repair:
    return next(r for r in REGISTRY[kind] if r.name == name)


@pytest.mark.parametrize(
    ("kind", "name", "context", "given", "fixed", "notes"),
    FIRES,
    ids=[f"{k}:{n}" for k, n, *_ in FIRES],
)
def test_each_repair_fires_on_its_fixture(
    kind: RepairKind, name: str, context: Any, given: Any, fixed: Any, notes: tuple[str, ...]
) -> None:
    done = entry(kind, name).apply(copy.deepcopy(given), context)
    assert done.content == fixed
    assert done.notes == notes


@pytest.mark.parametrize(
    ("kind", "name", "context", "given"), LEAVES, ids=[f"{k}:{n}" for k, n, *_ in LEAVES]
)
def test_each_repair_leaves_what_needs_none(
    kind: RepairKind, name: str, context: Any, given: Any
) -> None:
    done = entry(kind, name).apply(copy.deepcopy(given), context)
    assert done.content == given
    assert done.notes == ()


def test_every_repair_has_both_fixtures() -> None:
    registered = {(k, r.name) for k, entries in REGISTRY.items() for r in entries}
    assert {(k, n) for k, n, *_ in FIRES} == registered
    assert {(k, n) for k, n, *_ in LEAVES} == registered


def documented() -> dict[str, list[str]]:
    """Read each kind's repairs, in order, from the layer's docstring."""
    found: dict[str, list[str]] = {}
    kind = ""
    for line in (layer.__doc__ or "").splitlines():
        header = re.match(r"^``([\w-]+)``, ", line)
        if header:
            kind = header[1]
            found[kind] = []
        step = re.match(r"^\s+(\d+)\. ``([\w-]+)``", line)
        if step and kind:
            assert int(step[1]) == len(found[kind]) + 1, line
            found[kind].append(step[2])
    return found


def test_the_registry_lists_every_repair_once_in_the_documented_order() -> None:
    assert list(REGISTRY) == list(RepairKind)
    for kind, entries in REGISTRY.items():
        names = [r.name for r in entries]
        assert len(names) == len(set(names)), kind
        assert all(r.kind is kind for r in entries)
    assert documented() == {k.value: [r.name for r in REGISTRY[k]] for k in RepairKind}


def test_a_kind_applies_its_repairs_in_order_and_says_each() -> None:
    source = 'print("use {"a": 1} here", os.getcwd())\n'
    done = repair(RepairKind.PYTHON, source)
    assert done.content == 'import os\nprint("use {\\"a\\": 1} here", os.getcwd())\n'
    assert done.notes == (
        "quotes inside a string escaped (line 1) [quotes]",
        "`import os` added (used, never imported) [stdlib-imports]",
    )  # the quotes first (an import is only added to a file that parses), each note naming
    # its repair, the name `repairs_off` takes
    assert repair(RepairKind.PYTHON, done.content) == layer.Repaired(done.content)


def test_a_caught_name_read_after_its_block_runs_once_kept() -> None:
    def run(source: str) -> None:
        scope: dict[str, Any] = {}
        exec(compile(source, "<draft>", "exec"), scope)  # noqa: S102 - the fixture's own text
        scope["test_a"]()

    with pytest.raises(NameError):
        run(CAUGHT)
    run(KEPT)
    inline = "try:\n    int('x')\nexcept ValueError as e: pass\nprint(e)\n"
    done = repair(RepairKind.PYTHON, inline)
    assert (
        done.content
        == "try:\n    int('x')\nexcept ValueError as e_caught: e = e_caught; pass\nprint(e)\n"
    )
    taken = CAUGHT.replace("int('x')", "e_caught = int('x')")  # the new name is free in the file
    assert "as e_caught1:" in repair(RepairKind.PYTHON, taken).content
    assert repair(RepairKind.PYTHON, CAUGHT, off={"except-names"}).content == CAUGHT


def test_the_diagram_repair_leaves_the_callers_drafts_as_they_were() -> None:
    drafts = doc(UNTYPED)
    done = repair(RepairKind.DIAGRAM, drafts, None)
    assert drafts == doc(UNTYPED) and done.content != drafts


def test_an_openapi_document_with_required_flags_validates_once_repaired() -> None:
    # the 1.5B wrote Swagger 2's `required: true` on every property, 3 of 3 attempts, on a
    # dev web service; the validator refused each (`True is not of type 'array'`)
    from openapi_spec_validator import validate
    from openapi_spec_validator.validation.exceptions import OpenAPIValidationError

    given = yaml.safe_load(FLAGGED)
    with pytest.raises(OpenAPIValidationError):
        validate(given)
    done = repair(RepairKind.OPENAPI, api(FLAGGED), None)
    validate(yaml.safe_load(done.content[0].content))
    assert api(FLAGGED)[0].content == FLAGGED  # the caller's drafts stay as they were
    assert repair(RepairKind.OPENAPI, api(FLAGGED), None, off={"openapi-required"}).notes == ()


INSIDE = """openapi: 3.1.0
info: {title: Recipes, version: 1.0.0}
paths:
  /recipes:
    get:
      responses:
        '200':
          description: all
          content:
            application/json:
              schema:
                type: array
                items:
                  type: object
                  properties:
                    id: {type: integer}
                    title: {type: string}
                    required: [id, title]
"""


def test_a_required_list_written_among_the_properties_moves_to_its_object() -> None:
    # the same model in a fix round: the list one level too deep, 2 attempts of 3
    from openapi_spec_validator import validate
    from openapi_spec_validator.validation.exceptions import OpenAPIValidationError

    with pytest.raises(OpenAPIValidationError):
        validate(yaml.safe_load(INSIDE))
    done = repair(RepairKind.OPENAPI, api(INSIDE), None)
    fixed = yaml.safe_load(done.content[0].content)
    validate(fixed)
    items = fixed["paths"]["/recipes"]["get"]["responses"]["200"]["content"]["application/json"][
        "schema"
    ]["items"]
    assert items["required"] == ["id", "title"] and set(items["properties"]) == {"id", "title"}
    assert done.notes == (
        "api/openapi.yaml: paths./recipes.get.responses.200.content.application/json.schema."
        "items: the required list written among the properties moved out [openapi-required]",
    )


def test_the_plan_normaliser_is_the_plan_registry() -> None:
    data = {"kind": "CLI", "files": [code("tests/test_x.py", owner="qa"), code("x.py")]}
    notes: list[str] = []
    got = plan_normaliser(OWNERS)(copy.deepcopy(data), notes)
    done = repair(RepairKind.PLAN, copy.deepcopy(data), PLAN)
    assert got == done.content and tuple(notes) == done.notes
    assert notes == [
        "kind lower-cased [plan-shape]",
        "tests/test_x.py: role code -> tests (a tests file by its name) [tests-by-name]",
    ]


def test_the_settings_name_every_repair_and_no_other() -> None:
    """``repairs_off`` takes exactly the registry's names: a typo is refused at start-up."""
    from typing import get_args

    from pydantic import ValidationError

    from devfactory.repairs.repair import NAMES
    from devfactory.settings import RepairName, Settings

    registered = {r.name for rs in REGISTRY.values() for r in rs}
    assert (
        set(get_args(RepairName))
        == set(NAMES)
        == registered | {"repeats", "cut-tests", "refuted-tests"}
    )
    assert len(NAMES) == len(set(NAMES))  # one name, one repair
    assert Settings().generation.repairs_off == ()  # every repair made by default
    assert Settings(repairs_off=("quotes", "owners")).generation.repairs_off == ("quotes", "owners")
    with pytest.raises(ValidationError, match="stdlib-imports"):
        Settings(repairs_off=("stdlib-import",))  # type: ignore[arg-type]


def test_a_repair_switched_off_is_left_out_and_the_others_still_made() -> None:
    source = 'print("use {"a": 1} here", os.getcwd())\n'
    done = repair(RepairKind.PYTHON, source, off=("stdlib-imports",))
    assert done.content == 'print("use {\\"a\\": 1} here", os.getcwd())\n'
    assert done.notes == ("quotes inside a string escaped (line 1) [quotes]",)
    assert repair(RepairKind.PYTHON, source, off=("quotes", "stdlib-imports")) == layer.Repaired(
        source
    )
    data = {"kind": "CLI", "files": [code("tests/test_x.py", owner="qa"), code("x.py")]}
    notes: list[str] = []
    got = plan_normaliser(OWNERS, off=("tests-by-name",))(copy.deepcopy(data), notes)
    assert notes[0] == "kind lower-cased [plan-shape]" and got["files"][0]["role"] == "code"
    assert not any("role code -> tests" in note for note in notes)


def test_a_failing_check_outside_any_test_fails_alone_once_made_a_test(tmp_path: Any) -> None:
    import subprocess
    import sys

    (tmp_path / "m.py").write_text("def f(x):\n    return 2 if x == 1 else 0\n")
    tests = tmp_path / "test_m.py"
    run = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tests)]
    tests.write_text(LOOSE_CHECKS)  # line 7's check fails as pytest imports the file
    before = subprocess.run(run, cwd=tmp_path, capture_output=True, text=True, check=False)
    assert "1 error" in before.stdout and " passed" not in before.stdout
    tests.write_text(
        entry(RepairKind.PYTHON_TESTS, "module-checks").apply(LOOSE_CHECKS, None).content
    )
    after = subprocess.run(run, cwd=tmp_path, capture_output=True, text=True, check=False)
    assert "1 failed, 2 passed" in after.stdout, after.stdout


SCRIPTED_CHECKS = (  # a test file written as a script: each check after the call it checks
    "from m import main\n\n"
    "client = main([])\n"
    "assert client == 0\n\n"
    "# a usage error exits\n"
    "result = main(['--bad'])\n"
    "assert result == 2\n"
    "result = main(['ok'])\n"
    "assert result == 0\n"
    "n = 1\n"
    "doubled = n * 2\n"
    "assert doubled == 2\n"
    "n = 5\n"
    "count = 0\n"
    "count += 1\n"
    "assert count == 1\n\n\n"
    "def test_client():\n"
    "    assert client == 0\n"
)


def test_the_statements_feeding_a_check_outside_any_test_go_into_its_test(
    tmp_path: Any,
) -> None:
    import subprocess
    import sys

    repaired = entry(RepairKind.PYTHON_TESTS, "module-checks").apply(SCRIPTED_CHECKS, None)
    tree = ast.parse(repaired.content)
    top = [ast.unparse(node).split("\n")[0] for node in tree.body]
    assert top == [
        "from m import main",
        "client = main([])",  # a test reads it: it stays
        "def test_check_line_4():",
        "def test_check_line_8():",  # with the call whose usage error exits
        "def test_check_line_10():",
        "n = 1",
        "doubled = n * 2",  # it reads n, bound again after the check: it stays
        "def test_check_line_13():",
        "n = 5",
        "count = 0",
        "count += 1",  # it reads what it binds: in a test, an unbound local
        "def test_check_line_17():",
        "def test_client():",
    ]
    moved = {node.name: ast.unparse(node.body[0]) for node in tree.body[2:5]}
    assert moved == {
        "test_check_line_4": "assert client == 0",
        "test_check_line_8": "result = main(['--bad'])",
        "test_check_line_10": "result = main(['ok'])",
    }
    (tmp_path / "m.py").write_text(
        "def main(argv):\n    if '--bad' in argv:\n        raise SystemExit(2)\n    return 0\n"
    )
    tests = tmp_path / "test_m.py"
    run = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tests)]
    tests.write_text(SCRIPTED_CHECKS)  # line 7's call exits as pytest imports the file
    before = subprocess.run(run, cwd=tmp_path, capture_output=True, text=True, check=False)
    assert " passed" not in before.stdout, before.stdout
    tests.write_text(repaired.content)
    after = subprocess.run(run, cwd=tmp_path, capture_output=True, text=True, check=False)
    assert "1 failed, 5 passed" in after.stdout, after.stdout  # the exit fails its test alone


# (repair, kind, module, its code, the tests file, context, how it fails before the repair)
RUN_BEFORE_AND_AFTER = [
    ("handler-calls", RepairKind.PYTHON_IN_PROJECT, "shop", SHOP, CALLED, HANDLERS,
     "no attribute 'status_code'"),  # a dict is no response
    ("self-fixtures", RepairKind.PYTHON_TESTS, "shop", SHOP, SELF_FIXTURES, None,
     "no attribute 'title'"),  # the fixture function is no app
    ("self-fixtures", RepairKind.PYTHON_TESTS, "shop", SHOP, EMPTY_APP, None,
     "assert 404 == 201"),  # a new app has no route
    ("entry-calls", RepairKind.PYTHON_IN_PROJECT, "counter", COUNTER, MIXED, ENTRIES,
     "no attribute 'files'"),  # a list is no Namespace
    ("entry-calls", RepairKind.PYTHON_IN_PROJECT, "counter", COUNTER,
     PROGRAM.replace("    assert counter.main", "    assert 2 or counter.main"), ENTRIES,
     "assert 2 == 1"),  # the program's name counted as a file
]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "kind", "module", "code", "given", "context", "failure"),
    RUN_BEFORE_AND_AFTER,
    ids=[r[0] for r in RUN_BEFORE_AND_AFTER],
)
def test_a_repaired_tests_file_passes_where_it_failed(
    tmp_path: Any, name: str, kind: RepairKind, module: str, code: str, given: str,
    context: Any, failure: str,
) -> None:  # fmt: skip
    import subprocess
    import sys

    (tmp_path / f"{module}.py").write_text(code)
    tests = tmp_path / f"test_{module}.py"
    run = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tests)]
    tests.write_text(given)
    before = subprocess.run(run, cwd=tmp_path, capture_output=True, text=True, check=False)
    assert "1 failed" in before.stdout and failure in before.stdout, before.stdout
    tests.write_text(entry(kind, name).apply(given, context).content)
    after = subprocess.run(run, cwd=tmp_path, capture_output=True, text=True, check=False)
    assert "1 passed" in after.stdout, after.stdout


def test_a_tests_file_importing_an_unplanned_helper_runs_its_other_tests_once_repaired(
    tmp_path: Any,
) -> None:
    import subprocess
    import sys

    (tmp_path / "checksum.py").write_text("def digest(data):\n    return sum(data) % 256\n")
    (tmp_path / "tests").mkdir()
    tests = tmp_path / "tests" / "test_checksum.py"
    given = ABSENT.replace("import checksum.util as u\n", "") + (
        "\n\ndef test_b(tmp_path):\n    assert write_file(tmp_path, b'ab')\n"
    )
    run = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tests)]
    tests.write_text(given)
    before = subprocess.run(run, cwd=tmp_path, capture_output=True, text=True, check=False)
    assert "No module named 'tests.common'" in before.stdout, before.stdout
    done = repair(RepairKind.PYTHON_IN_PROJECT, given, TESTS_PLANNED)
    assert done.notes == (
        "`from tests.common import write_file` (tests.common is no module of the project) "
        "taken out [absent-imports]",
        "tests reading a name bound nowhere dropped: test_b (reads `write_file`) [unbound-tests]",
    )
    tests.write_text(done.content)
    after = subprocess.run(run, cwd=tmp_path, capture_output=True, text=True, check=False)
    assert "1 passed" in after.stdout and "error" not in after.stdout, after.stdout


def test_handlers_are_read_where_fastapi_reads_their_parameters() -> None:
    source = (
        "from fastapi import FastAPI, Depends, Query\nfrom pydantic import BaseModel\n"
        "api = FastAPI()\nrouter = object()\n\n\nclass Item(BaseModel):\n    name: str\n\n\n"
        "@api.put('/items/{sku}')\ndef put(sku: str, item: Item, tags: list[str] = Query([]),"
        " dry: 'bool | None' = None, db=Depends(object), *, note: str = ''):\n    pass\n\n\n"
        "@router.get('/other')\ndef other():\n    pass\n\n\n"
        "def plain(x):\n    pass\n"
    )
    handlers = route_handlers("shop", source)
    assert list(handlers) == ["put"]  # a router's, and a plain function, are no app's handlers
    assert handlers["put"] == Handler("shop", "api", "put", "/items/{sku}", (
        ("sku", "path"), ("item", "body"), ("tags", "query"), ("dry", "query"), ("db", "given"),
        ("note", "query"),
    ))  # fmt: skip
    assert route_handlers("shop", "def broken(:\n") == {}


def test_route_requests_on_the_app_pass_once_sent_through_its_client(tmp_path: Any) -> None:
    import subprocess
    import sys

    (tmp_path / "shop.py").write_text(
        "from fastapi import FastAPI\n\napp = FastAPI()\nITEMS = {}\n\n\n"
        "@app.post('/items', status_code=201)\ndef add(item: dict):\n"
        "    ITEMS[1] = item\n    return item\n\n\n"
        "@app.get('/items/{n}')\ndef one(n: int):\n    return ITEMS[n]\n"
    )
    tests = tmp_path / "test_shop.py"
    run = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tests)]
    tests.write_text(ON_THE_APP)  # FastAPI.post() got an unexpected keyword argument 'json'
    before = subprocess.run(run, cwd=tmp_path, capture_output=True, text=True, check=False)
    assert "1 failed" in before.stdout and "unexpected keyword argument 'json'" in before.stdout
    tests.write_text(entry(RepairKind.PYTHON_TESTS, "app-calls").apply(ON_THE_APP, None).content)
    after = subprocess.run(run, cwd=tmp_path, capture_output=True, text=True, check=False)
    assert "1 passed" in after.stdout, after.stdout
