"""The operator's console in a real browser: a `devfactory serve` and a worker, followed live.

The models are scripted (``tests.browser.models:console_scripted``): governance
rates a requirement about patients HIGH, so the run waits for an approver, and
Backend Engineering's first report asks Solution Architecture a question. A
viewer owns the run (the local CLI submits it in their name), so they see it
but may not answer; an approver answers from the console, and the graph turns
green stage by stage without a reload. Screenshots go to
``test-output/browser/<test>/``; two of them, copied by hand, illustrate the README.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import PASSWORDS, ROOT, add_user, devfactory
from tests.servers import serving

HIGH_RISK = "A REST API for a small clinic to store patient appointment notes"
PASSED_FILL = "#d9f2d9"
WAITING_FILL = "#ffe8a3"
NOT_RUN_FILL = "#ffffff"
Shot = Callable[[Page, str], Path]


@pytest.fixture(scope="module")
def console_env(pg_root: Path) -> Iterator[dict[str, str]]:
    """The environment of the module's API, worker and CLI: one database, scripted models."""
    import pgserver

    folder = pg_root / "console"
    (folder / "pg").mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(folder / "pg" / "data", cleanup_mode="stop")
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEVFACTORY_")}
    env.update(
        DATABASE_URL=server.get_uri(),
        DEVFACTORY_DATA_DIR=str(folder / "home"),
        DEVFACTORY_MODELS_FACTORY="tests.browser.models:console_scripted",
        DEVFACTORY_REVIEW_REQUIRED="false",
        DEVFACTORY_RUN_CODE="false",
        DEVFACTORY_MEMORY_ENABLED="false",
        DEVFACTORY_WORKER_POLL_S="0.5",
        OLLAMA_HOST="http://127.0.0.1:9",
        PYTHONPATH=str(ROOT),
    )
    yield env
    server.cleanup()


@pytest.fixture(scope="module")
def console_server(console_env: dict[str, str], pg_root: Path) -> Iterator[str]:
    """Start ``devfactory serve`` and one ``devfactory worker``; return the API's base URL."""
    for name in PASSWORDS:
        add_user(console_env, name)
    with serving(console_env, pg_root / "console-logs", workers=1, timeout=120) as base:
        yield base


def console_sign_in(browser: Browser, base: str, name: str) -> tuple[Page, list[str]]:
    """Sign ``name`` in to the console; return the page and every URL it requested.

    A script error on the page fails the test (``errors`` in the page's context).
    """
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(60_000)
    page = context.new_page()
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.on("pageerror", lambda error: requested.append(f"error: {error}"))
    page.goto(f"{base}/console/signin")
    expect(page.locator("label[for=name]")).to_have_text("User name")
    page.fill("#name", name)
    page.fill("#password", PASSWORDS[name])
    page.click("#signin")
    expect(page.locator("#who")).to_contain_text(name)
    return page, requested


def fill_of(page: Page, node: str) -> str:
    """Return the fill colour Graphviz gave the graph node ``node`` (its first shape)."""
    shape = page.locator(f'#graph g[id="node-{node}"]').locator("path, polygon, ellipse").first
    return str(shape.get_attribute("fill"))


@pytest.fixture(scope="module")
def paused_run(console_server: str, console_env: dict[str, str]) -> str:
    """Submit the HIGH-risk requirement in the viewer's name; wait until it pauses."""
    submitted = devfactory(console_env, "submit", HIGH_RISK, "--as", "vic", "--pipeline", "mvp")
    assert submitted.returncode == 0, submitted.stderr
    run_id = re.search(r"\d{8}-\d{6}-[0-9a-f]{6}", submitted.stdout)
    assert run_id, submitted.stdout
    deadline = time.monotonic() + 120
    while True:
        shown = devfactory(console_env, "pending")
        if run_id.group(0) in shown.stdout:
            return run_id.group(0)
        assert time.monotonic() < deadline, shown.stdout + shown.stderr
        time.sleep(1)


def test_a_viewer_follows_their_run_and_sees_no_buttons(
    browser: Browser, console_server: str, paused_run: str, shots: Shot
) -> None:
    page, requested = console_sign_in(browser, console_server, "vic")
    expect(page.locator(f'tr[data-run="{paused_run}"]')).to_be_visible()
    page.click(f'a.run-id:text("{paused_run}")')
    expect(page.locator(".pending h3")).to_be_visible()
    expect(page.locator(".waits-for")).to_contain_text("approver")
    # the request says how urgent it is and what else could be done (governance-high rule)
    expect(page.locator(".pending .priority")).to_have_text("HIGH")
    expect(page.locator(".pending .request-head")).to_contain_text("rule governance-high")
    narrow = page.locator('.pending .alternative[data-alternative="narrow_scope"]')
    expect(narrow).to_be_visible()
    expect(narrow.locator(".pro").first).to_be_visible()
    assert page.locator("button.action").count() == 0  # nor a button to choose it
    expect(page.locator('#graph g[id="node-approval"]')).to_be_visible()
    assert fill_of(page, "approval") == WAITING_FILL
    assert fill_of(page, "business-analysis") == NOT_RUN_FILL
    shots(page, "viewer-waits")
    assert not [u for u in requested if u.startswith("error:")], requested
    hosts = {urlsplit(u).netloc for u in requested if not u.startswith(("data:", "blob:"))}
    assert hosts == {urlsplit(console_server).netloc}, hosts


def test_an_approver_answers_from_the_console_and_the_graph_turns_green_live(
    browser: Browser, console_server: str, paused_run: str, shots: Shot
) -> None:
    page, requested = console_sign_in(browser, console_server, "alice")
    page.click(f'a.run-id:text("{paused_run}")')
    expect(page.locator("button.action-approve")).to_be_visible()
    choose = page.locator('.alternative[data-alternative="narrow_scope"] button.choose')
    expect(choose).to_be_visible()
    assert fill_of(page, "business-analysis") == NOT_RUN_FILL
    drawn = int(page.locator("#graph").get_attribute("data-drawn") or 0)
    shots(page, "approver-sees-the-question")
    page.click("button.action-approve")
    # no reload: the event stream redraws the graph as stages pass
    expect(page.locator('#graph g[id="node-documentation"] path').first).to_have_attribute(
        "fill", PASSED_FILL, timeout=120_000
    )
    assert int(page.locator("#graph").get_attribute("data-drawn") or 0) > drawn
    for team in ("business-analysis", "solution-architecture", "backend-engineering"):
        assert fill_of(page, team) == PASSED_FILL
    asked = page.locator('#graph g[id="asked-backend-engineering-solution-architecture"]')
    expect(asked).to_be_visible()
    expect(page.locator("#feed li.ev-clarification")).to_contain_text("asked solution-architecture")
    assert not [u for u in requested if u.startswith("error:")], requested
    expect(
        page.locator("#feed li.ev-transition", has_text="APPROVED: approve by alice (approver)")
    ).to_be_visible()
    expect(page.locator("#run-head .status")).to_have_text("COMPLETED", timeout=60_000)
    expect(page.locator("#files a", has_text="SUMMARY.md")).to_be_visible()
    page.locator("#files a", has_text="SUMMARY.md").click()
    expect(page.locator("#file")).to_contain_text("# ")
    shots(page, "approved-and-completed")  # docs/img/console-run.png
    page.click("a[data-nav=runs]")
    expect(page.locator(f'tr[data-run="{paused_run}"] .status')).to_have_text("COMPLETED")
    shots(page, "runs")  # docs/img/console-runs.png
    page.click("a[data-nav=costs]")
    expect(page.locator("h2", has_text="By team")).to_be_visible()
    expect(page.locator("td", has_text="backend-engineering").first).to_be_visible()
    shots(page, "costs")
    page.click("a[data-nav=settings]")
    expect(page.locator("td", has_text="models_factory")).to_be_visible()
    expect(page.locator("#ollama-health")).to_contain_text("not reachable")  # port 9: nobody
    shots(page, "settings")
    assert not [u for u in requested if u.startswith("error:")], requested
    hosts = {urlsplit(u).netloc for u in requested if not u.startswith(("data:", "blob:"))}
    assert hosts == {urlsplit(console_server).netloc}, hosts


def test_a_wrong_password_is_refused_on_the_sign_in_page(
    browser: Browser, console_server: str
) -> None:
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{console_server}/console")
    expect(page).to_have_url(re.compile(r"/console/signin"))
    page.fill("#name", "alice")
    page.fill("#password", "not-her-password")
    page.click("#signin")
    expect(page.locator("#problem")).to_have_text("That name and password do not match.")
    assert not [c for c in context.cookies() if c["name"] == "devfactory_console"]
    context.close()


def test_only_an_admin_sets_a_projects_budgets_from_the_settings_page(
    browser: Browser, console_server: str, shots: Shot
) -> None:
    approver, _ = console_sign_in(browser, console_server, "alice")
    approver.click("a[data-nav=settings]")
    expect(approver.get_by_text("Only an admin may change a project's budgets.")).to_be_visible()
    assert approver.locator("#caps-form").count() == 0
    page, requested = console_sign_in(browser, console_server, "adam")
    page.click("a[data-nav=settings]")
    page.fill("#caps-form input[name=project]", "shop")
    page.fill("#caps-form input[name=run_tokens]", "50000")
    page.fill("#caps-form input[name=project_cost]", "12.5")
    page.click("#caps-form button[type=submit]")
    row = page.locator('tr[data-project="shop"]')
    expect(row).to_contain_text("tokens 50,000")
    expect(row).to_contain_text("cost_usd 12.5")
    expect(row).to_contain_text("adam (admin)")
    shots(page, "budgets-set")
    assert not [u for u in requested if u.startswith("error:")], requested


def test_an_admin_stops_everything_with_the_button_and_releases_it(
    browser: Browser, console_server: str, console_env: dict[str, str], shots: Shot
) -> None:
    """Last in the module: the stop holds every run of the module's server while it is on."""
    approver, _ = console_sign_in(browser, console_server, "alice")
    expect(approver.locator("#alert")).to_be_hidden()
    assert approver.locator("#emergency-stop").count() == 0  # only an admin has the button
    page, requested = console_sign_in(browser, console_server, "adam")
    page.on("dialog", lambda dialog: dialog.accept("maintenance of the database"))
    try:
        page.click("#emergency-stop")
        expect(page.locator("#alert")).to_contain_text("EMERGENCY STOP by adam")
        expect(page.locator("#alert")).to_contain_text("maintenance of the database")
        expect(page.locator("#release")).to_be_visible()
        shots(page, "emergency-stop")
        refused = devfactory(console_env, "submit", "A command line that adds two numbers")
        assert refused.returncode == 7, refused.stdout + refused.stderr
        assert "emergency stop" in (refused.stdout + refused.stderr).lower()
        shown = devfactory(console_env, "controls", "--json")
        assert shown.returncode == 0 and '"stopped": true' in shown.stdout, shown.stdout
        approver.reload()  # every signed-in page shows the banner
        expect(approver.locator("#alert")).to_contain_text("EMERGENCY STOP by adam")
        page.click("#release")
        expect(page.locator("#alert")).to_be_hidden()
        expect(page.locator("#emergency-stop")).to_be_visible()
    finally:
        devfactory(console_env, "release", "--as", "adam", "--role", "admin")
    shown = devfactory(console_env, "controls", "--json")
    assert '"stopped": false' in shown.stdout, shown.stdout
    assert not [u for u in requested if u.startswith("error:")], requested
