"""The operator's console in a real browser: a `devfactory serve` and a worker, followed live.

The models are scripted (``tests.browser.models:console_scripted``): governance
rates a requirement about patients HIGH, so the run waits for an approver, and
Backend Engineering's first report asks Solution Architecture a question. A
viewer owns the run (the local CLI submits it in their name), so they see it
but may not answer; an approver answers from the console, and the graph turns
green stage by stage without a reload. Screenshots go to
``test-output/browser/<test>/``; two of them, copied by hand, illustrate the README.

The console's pages run only their own script files (a Content-Security-Policy):
every page records the policy's refusals, and a test fails on any. A second
server on the same database draws every graph as an attacker's SVG
(``tests/browser/hostile_graph.py``): the console shows it and nothing in it runs.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import Browser, Page, Route, expect

from tests.browser.conftest import PASSWORDS, ROOT, add_user, devfactory, service_env, until
from tests.servers import free_port, health_ok, serving, stop, wait_ready

HIGH_RISK = "A REST API for a small clinic to store patient appointment notes"
PASSED_FILL = "#d9f2d9"
WAITING_FILL = "#ffe8a3"
NOT_RUN_FILL = "#ffffff"
Shot = Callable[[Page, str], Path]
# Every page of a signed-in context keeps what its Content-Security-Policy refused (a
# script Playwright adds this way is not subject to the page's policy).
RECORD_REFUSALS = """
window.refused = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.refused.push(`${event.effectiveDirective} ${event.blockedURI}`);
});
"""


@pytest.fixture(scope="module")
def console_env(pg_root: Path) -> Iterator[dict[str, str]]:
    """The environment of the module's API, worker and CLI: one database, scripted models."""
    models = "tests.browser.models:console_scripted"
    with service_env(pg_root / "console", models, DEVFACTORY_WORKER_POLL_S="0.5") as env:
        yield env


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
    context.add_init_script(RECORD_REFUSALS)
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


def refused(page: Page) -> list[str]:
    """Return what the page's Content-Security-Policy refused since it loaded."""
    return list(page.evaluate("window.refused"))


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
    assert refused(page) == []  # the graph and the page need nothing the policy refuses
    assert not [u for u in requested if u.startswith("error:")], requested
    hosts = {urlsplit(u).netloc for u in requested if not u.startswith(("data:", "blob:"))}
    assert hosts == {urlsplit(console_server).netloc}, hosts
    # a viewer is shown no operations, and no page asks for them on their behalf
    expect(page.locator("a[data-nav=operations]")).to_be_hidden()
    for view in ("costs", "memory", "settings", "runs"):
        page.click(f"a[data-nav={view}]")
        expect(page.locator("main h1")).to_be_visible()
    page.goto(f"{console_server}/console#/operations")
    expect(page.locator("#not-yours")).to_contain_text("your role (viewer) may not use them")
    # a view whose answer comes late draws nothing over the view opened since
    held: list[Route] = []
    page.route(re.compile(r".*/console/api/costs$"), lambda route: held.append(route))
    page.click("a[data-nav=costs]")
    expect(page.locator("main h1")).to_have_text("Costs")
    until(page, lambda: held, "the costs' request")
    page.click("a[data-nav=settings]")
    expect(page.locator("#ollama-health")).to_be_visible()
    held[0].continue_()
    page.wait_for_timeout(1000)
    expect(page.locator("main h1")).to_have_text("Settings")
    expect(page.locator("#ollama-health")).to_be_visible()
    asked = [urlsplit(u).path for u in requested if not u.startswith("error:")]
    assert not [p for p in asked if p.startswith(("/operations", "/incidents"))], asked


def text_sizes(page: Page) -> list[float]:
    """Return the size, in CSS pixels as drawn, of every text of the graph's nodes."""
    return list(
        page.evaluate(
            """() => {
                const svg = document.querySelector("#graph svg");
                const scale = svg.getScreenCTM().a;
                return [...svg.querySelectorAll("g.node text")].map(
                    (t) => Number.parseFloat(t.getAttribute("font-size")) * scale);
            }"""
        )
    )


def test_the_run_graph_fits_the_width_with_readable_text_and_zooms_and_pans(
    browser: Browser, console_server: str, paused_run: str, shots: Shot
) -> None:
    """In a 1,400 px window the graph is as wide as its frame, its text 11 px or more."""
    page, requested = console_sign_in(browser, console_server, "vic")
    page.goto(f"{console_server}/console#/run/{paused_run}")
    expect(page.locator('#graph g[id="node-approval"]')).to_be_visible()
    sizes = text_sizes(page)
    assert sizes and min(sizes) >= 11, sizes
    frame, drawn = page.evaluate(
        """() => [document.querySelector("#graph").clientWidth,
                  document.querySelector("#graph svg").getBoundingClientRect().width]"""
    )
    assert drawn <= frame, (drawn, frame)  # the mvp pipeline fits: nothing to pan at first
    assert drawn >= 0.6 * frame, (drawn, frame)
    default = float(page.locator("#graph").get_attribute("data-scale") or 0)
    shots(page, "graph-default-zoom")
    page.click("#zoom-in")
    page.click("#zoom-in")
    expect(page.locator("#graph")).to_have_attribute("data-zoom", "chosen")
    zoomed = float(page.locator("#graph").get_attribute("data-scale") or 0)
    assert zoomed == pytest.approx(default * 1.25 * 1.25, rel=0.01)
    assert min(text_sizes(page)) == pytest.approx(min(sizes) * 1.5625, rel=0.02)
    expect(page.locator("#zoom-level")).to_have_text(f"{round(zoomed * 100)} %")
    # drag to pan the enlarged graph
    graph = page.locator("#graph")
    graph.evaluate("(g) => g.scrollIntoView({ block: 'start' })")
    box = graph.bounding_box()
    assert box is not None
    before = graph.evaluate("(g) => [g.scrollLeft, g.scrollTop]")
    x, y = box["x"] + box["width"] / 2, box["y"] + 300
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x - 150, y - 100, steps=8)
    page.mouse.up()
    after = graph.evaluate("(g) => [g.scrollLeft, g.scrollTop]")
    errors = [u for u in requested if u.startswith("error:")]
    assert after[0] > before[0] and after[1] > before[1], (before, after, errors)
    shots(page, "graph-zoomed-and-panned")
    # Ctrl and the wheel zoom out; Fit goes back to the default
    page.mouse.move(x, y)
    page.keyboard.down("Control")
    page.mouse.wheel(0, 200)
    page.keyboard.up("Control")
    expect(page.locator("#graph")).not_to_have_attribute("data-scale", f"{zoomed:.4f}")
    assert float(page.locator("#graph").get_attribute("data-scale") or 0) < zoomed
    page.click("#zoom-fit")
    expect(page.locator("#graph")).to_have_attribute("data-zoom", "default")
    assert float(page.locator("#graph").get_attribute("data-scale") or 0) == default
    assert refused(page) == []  # zoom and pan within the page's policy
    assert not [u for u in requested if u.startswith("error:")], requested


def test_running_blocked_and_waiting_stages_are_each_drawn_and_labelled_as_such(
    browser: Browser, console_server: str, paused_run: str, shots: Shot
) -> None:
    """The graph Graphviz draws for a run with a stage of each state, shown by the console."""
    from devfactory.contracts import StageOutcome, StageRecord
    from devfactory.factory.drawing import to_svg, view
    from devfactory.graph import build_graph
    from devfactory.teams import load_teams

    drawing = view(
        build_graph("mvp").compile(),
        load_teams(),
        title=f"run {paused_run}",
        records=[StageRecord(team="business-analysis", outcome=StageOutcome.PASSED, attempts=1)],
        waiting={"solution-architecture", "backend-engineering"},
        blocked={"backend-engineering"},
        running={"qa-engineering"},
    )
    svg = to_svg(drawing)
    page, requested = console_sign_in(browser, console_server, "vic")
    page.route(
        re.compile(r".*/runs/[^/]+/graph\?format=svg$"),
        lambda route: route.fulfill(status=200, content_type="image/svg+xml", body=svg),
    )
    page.goto(f"{console_server}/console#/run/{paused_run}")
    states = {
        "solution-architecture": ("state-waiting", "WAITING for a person"),
        "backend-engineering": ("state-blocked", "BLOCKED"),
        "qa-engineering": ("state-running", "RUNNING"),
        "business-analysis": ("state-passed", "PASSED · 1 attempt"),
        "documentation": ("state-not-run", "NOT RUN"),
    }
    fills = set()
    for team, (state, label) in states.items():
        node = page.locator(f'#graph g[id="node-{team}"]')
        expect(node).to_have_class(re.compile(rf"\b{state}\b"))
        expect(node.locator("text", has_text=label).first).to_be_visible()
        fills.add(fill_of(page, team))
    assert len(fills) == len(states)  # each state its own colour
    assert min(text_sizes(page)) >= 11
    shots(page, "graph-states")
    assert refused(page) == []
    assert not [u for u in requested if u.startswith("error:")], requested


GROUPS_AND_QUESTIONS = """([asks]) => {
    const rect = (e) => { const r = e.getBoundingClientRect();
                          return [r.left, r.top, r.right, r.bottom]; };
    const title = (g) => g.querySelector("title").textContent;
    const clusters = Object.fromEntries([...document.querySelectorAll("#graph g.cluster")]
        .map((g) => [title(g), rect(g.querySelector("path, polygon"))]));
    const nodes = Object.fromEntries([...document.querySelectorAll("#graph g.node")]
        .map((g) => [g.id, rect(g)]));
    const questions = [...document.querySelectorAll("#graph g.edge")]
        .filter((g) => g.querySelector("path").getAttribute("stroke") === asks)
        .map((g) => [title(g), g.querySelector("path").getAttribute("stroke-dasharray"),
                     g.querySelectorAll("ellipse").length]);
    return [clusters, nodes, questions];
}"""


def test_the_zoomable_graph_keeps_its_team_groups_and_its_question_edges(
    browser: Browser, console_server: str, paused_run: str, shots: Shot
) -> None:
    """Each team sits in its group's box, and each question edge is drawn dotted, at any zoom."""
    from devfactory.factory.drawing import ASKS
    from devfactory.pipelines import load_pipeline
    from devfactory.teams import load_teams

    known = load_teams()
    teams = load_pipeline("mvp").teams
    asks = {(t, target) for t in teams for target in known[t].may_ask}
    page, requested = console_sign_in(browser, console_server, "vic")
    page.goto(f"{console_server}/console#/run/{paused_run}")
    expect(page.locator('#graph g[id="node-approval"]')).to_be_visible()
    for zoom in ("default", "zoomed in"):
        clusters, nodes, questions = page.evaluate(GROUPS_AND_QUESTIONS, [ASKS])
        for team in teams:
            left, top, right, bottom = clusters[f"cluster_{known[team].cluster.value.title()}"]
            n_left, n_top, n_right, n_bottom = nodes[f"node-{team}"]
            inside = left <= n_left and n_right <= right and top <= n_top and n_bottom <= bottom
            assert inside, (zoom, team, clusters, nodes[f"node-{team}"])
        drawn = {
            tuple(t.removeprefix("n_").replace("_", "-") for t in title.split("->"))
            for title, _, _ in questions
        }
        assert drawn == asks, (zoom, drawn ^ asks)
        assert len(questions) == len(asks)  # each once
        assert {(dashes, heads) for _, dashes, heads in questions} == {("1,5", 1)}  # dotted, o
        shots(page, f"graph-groups-{zoom.replace(' ', '-')}")
        page.click("#zoom-in")
        expect(page.locator("#graph")).to_have_attribute("data-zoom", "chosen")
    assert refused(page) == []
    assert not [u for u in requested if u.startswith("error:")], requested


TRACEBACK = "\n".join(
    [
        "smoke: ModuleNotFoundError: No module named 'backend'",
        "Traceback (most recent call last):",
        *[f'  File "/srv/app/mod{n}.py", line {n}, in <module>' for n in range(1, 12)],
        "ModuleNotFoundError: No module named 'backend'",
    ]
)


def test_a_blocked_request_shows_its_error_line_first_and_its_output_folded(
    browser: Browser, console_server: str, paused_run: str, shots: Shot
) -> None:
    """What GET /pending says of a blocked stage (its error_line) is what the console leads with."""
    page, requested = console_sign_in(browser, console_server, "vic")

    def blocked(route: Route) -> None:
        found = route.fetch().json()
        for item in found:
            item.update(kind="blocked", question=TRACEBACK, reasoning="")
            item["error_line"] = "ModuleNotFoundError: No module named 'backend'"
        route.fulfill(json=found)

    page.route(re.compile(r".*/pending$"), blocked)
    page.goto(f"{console_server}/console#/run/{paused_run}")
    card = page.locator(".pending").first
    expect(card.locator(".error-line")).to_have_text(
        "ModuleNotFoundError: No module named 'backend'"
    )
    folded = card.locator("details.output")
    expect(folded).not_to_have_attribute("open", "")
    expect(folded.locator("pre")).to_be_hidden()
    order = card.evaluate(
        """(c) => [...c.querySelectorAll(".error-line, details.output, .reasoning")]
            .map((e) => e.className)"""
    )
    assert order == ["error-line", "output"], order  # the error first, no "why" again
    folded.locator("summary").click()
    expect(folded.locator("pre")).to_contain_text("Traceback (most recent call last)")
    assert card.inner_text().count("Traceback (most recent call last)") == 1
    shots(page, "blocked-request")
    assert not [u for u in requested if u.startswith("error:")], requested


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
    widths = page.locator(".bar").evaluate_all("(bars) => bars.map((b) => b.style.width)")
    assert (
        "100%" in widths
    )  # the largest bar is drawn full width, under a policy with no inline style
    shots(page, "costs")
    page.click("a[data-nav=settings]")
    expect(page.locator("td", has_text="models_factory")).to_be_visible()
    expect(page.locator("#ollama-health")).to_contain_text("not reachable")  # port 9: nobody
    shots(page, "settings")
    assert refused(page) == []  # every view, the costs' bars included, within the policy
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


@pytest.fixture(scope="module")
def hostile_server(
    console_server: str, console_env: dict[str, str], pg_root: Path
) -> Iterator[str]:
    """Serve the API a second time, on the module's database, drawing every graph as a trap."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = pg_root / "console-logs" / "hostile-graph.log"
    with log.open("ab") as sink:
        server = subprocess.Popen(
            [sys.executable, "-m", "tests.browser.hostile_graph", "--port", str(port)],
            cwd=ROOT,
            env=console_env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_ready(server, log, lambda: health_ok(base), what="the hostile graph's server")
        yield base
    finally:
        stop(server)


def test_a_graph_carrying_scripts_is_shown_and_nothing_in_it_runs(
    browser: Browser, hostile_server: str, paused_run: str, shots: Shot
) -> None:
    """A run graph with script, animate/set on links and handlers, foreignObject: all inert."""
    graph = httpx.get(
        f"{hostile_server}/runs/{paused_run}/graph",
        params={"format": "svg"},
        headers={"Authorization": "Bearer none"},
    )
    assert graph.status_code == 401  # the trap is behind the sign-in like every graph
    page, requested = console_sign_in(browser, hostile_server, "adam")
    page.click(f'a.run-id:text("{paused_run}")')
    shown = page.locator("#graph svg")
    expect(shown.locator('g[id="node-approval"] polygon')).to_have_attribute("fill", "#ffe8a3")
    expect(shown.locator("#trap-animate")).to_be_visible()  # the text stays; its link does not
    for trap in ("#trap-animate", "#trap-set", "#trap-onclick"):
        shown.locator(trap).click()
    shown.locator("#trap-hover").hover()
    page.wait_for_timeout(1500)  # what a click or a hover would start runs by then
    shots(page, "hostile-graph")
    assert page.evaluate("window.pwned") is None
    left = page.evaluate(
        """() => [...document.querySelectorAll("#graph *")].flatMap((node) => [
            ...["script", "foreignObject", "animate", "set", "a", "image", "iframe"]
                .filter((tag) => node.localName === tag),
            ...[...node.attributes].map((a) => a.name)
                .filter((name) => name.startsWith("on") || name.endsWith("href")),
        ])"""
    )
    assert left == []
    assert not [u for u in requested if "nowhere" in u or u.startswith("error:")], requested


def test_the_consoles_policy_refuses_an_inline_script_and_a_handler(
    browser: Browser, console_server: str
) -> None:
    """Should markup ever reach a console page, its script does not run."""
    page, requested = console_sign_in(browser, console_server, "vic")
    answer = page.goto(f"{console_server}/console")
    assert answer is not None
    policy = answer.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "object-src 'none'" in policy, policy
    assert "frame-ancestors 'none'" in policy and "unsafe-inline" not in policy, policy
    expect(page.locator("#who")).to_contain_text("vic")
    ran = page.evaluate(
        """() => new Promise((done) => {
            const script = document.createElement("script");
            script.textContent = "window.inlineRan = 'script'";
            document.body.append(script);
            const image = document.createElement("img");
            image.setAttribute("onerror", "window.inlineRan = 'handler'");
            image.src = "/nowhere.png";
            document.body.append(image);
            setTimeout(() => done(window.inlineRan || null), 1500);
        })"""
    )
    assert ran is None
    assert {line.split()[0] for line in refused(page)} == {"script-src-elem", "script-src-attr"}
    form = page.goto(f"{console_server}/console/signin?problem=locked")
    assert form is not None and form.headers["content-security-policy"] == policy
    expect(page.locator("#problem")).to_have_text("Too many failed sign-ins; try again later.")
    page.goto(f"{console_server}/console/signin?problem=locked&wait=120")
    expect(page.locator("#problem")).to_have_text(
        "Too many failed sign-ins; try again in 2 minutes."
    )
    page.goto(f"{console_server}/console/signin?problem=unavailable")
    expect(page.locator("#problem")).to_contain_text("the database cannot be reached")
    assert refused(page) == []  # the sign-in page's own script runs under the same policy


def test_signing_out_ends_the_sign_in_for_every_copy_of_the_cookie(
    browser: Browser, console_server: str
) -> None:
    page, _ = console_sign_in(browser, console_server, "olga")
    cookie = next(c for c in page.context.cookies() if c["name"] == "devfactory_console")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    copied = {"devfactory_console": cookie["value"]}
    assert httpx.get(f"{console_server}/console/api/me", cookies=copied).status_code == 200
    page.click("#signout")
    expect(page).to_have_url(re.compile(r"/console/signin"))
    gone = httpx.get(f"{console_server}/console/api/me", cookies=copied)
    assert gone.status_code == 401 and "sign in again" in gone.text
    page.context.close()


# A page of another origin (another port of the same host: the same *site*, so even a
# SameSite=Strict cookie rides along) whose form posts itself to the console at once.
POSTED_AT_ONCE = """<!doctype html><title>You won!</title>
<form id="f" method="post" action="{action}">{fields}</form>
<script>document.getElementById("f").submit();</script>"""


def test_another_pages_form_neither_signs_the_browser_in_nor_out(
    browser: Browser, console_server: str
) -> None:
    """Issue 58 item 7: login and logout CSRF, in Chromium, from another port of the host."""
    elsewhere = f"http://127.0.0.1:{free_port()}"
    attacker = "".join(
        f'<input type="hidden" name="{k}" value="{v}">'
        for k, v in (("name", "adam"), ("password", PASSWORDS["adam"]))
    )
    console = f"{console_server}/console"
    pages = {
        "/out.html": POSTED_AT_ONCE.format(action=f"{console}/signout", fields=""),
        "/in.html": POSTED_AT_ONCE.format(action=f"{console}/signin", fields=attacker),
    }

    def serve_elsewhere(route: Route) -> None:
        route.fulfill(content_type="text/html", body=pages[urlsplit(route.request.url).path])

    page, _ = console_sign_in(browser, console_server, "vic")
    page.context.route(f"{elsewhere}/**", serve_elsewhere)
    page.goto(f"{elsewhere}/out.html")
    expect(page.locator("body")).to_contain_text("signing out refused")
    page.goto(f"{console_server}/console")
    expect(page.locator("#who")).to_contain_text("vic")  # still signed in, as herself
    page.context.close()

    context = browser.new_context()
    context.route(f"{elsewhere}/**", serve_elsewhere)
    fresh = context.new_page()
    fresh.goto(f"{elsewhere}/in.html")
    expect(fresh.locator("body")).to_contain_text("signing in refused")
    assert not [c for c in context.cookies() if c["name"] == "devfactory_console"]
    fresh.goto(f"{console_server}/console")
    expect(fresh).to_have_url(re.compile(r"/console/signin"))  # not signed in as adam
    context.close()


# A run of olga's in a project of its own, held by a person first (so that no worker
# drives it), and an incident opened on it as the factory's watch opens one.
OPEN_INCIDENT = """
from devfactory.control.incidents import Trigger
from devfactory.factory.facade import Factory
from devfactory.factory.intake import StartRequest
from devfactory.settings import get_settings

factory = Factory(get_settings())
try:
    factory.switchboard.pause_project("ward", by="adam", role="admin", reason="kept for a test")
    asked = StartRequest("A command line that adds two numbers", project="ward", owner="olga")
    row = factory.submit(asked)
    spike = Trigger("budget_spike", "tokens 9x the usual in one stage")
    incident = factory.switchboard.open_incident(row, spike, {})
    print(row.run_id, incident.id)
finally:
    factory.close()
"""


@pytest.fixture(scope="module")
def incident(console_server: str, console_env: dict[str, str]) -> tuple[str, int]:
    """Open an incident on a run of olga's; return the run's id and the incident's."""
    opened = subprocess.run(
        [sys.executable, "-c", OPEN_INCIDENT],
        env=console_env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert opened.returncode == 0, opened.stderr
    run_id, ident = opened.stdout.split()[-2:]
    return run_id, int(ident)


def test_a_viewer_opening_another_owners_run_is_told_it_is_not_found_once(
    browser: Browser, console_server: str, incident: tuple[str, int], shots: Shot
) -> None:
    run_id, _ = incident
    page, requested = console_sign_in(browser, console_server, "vic")
    page.goto(f"{console_server}/console#/run/{run_id}")
    expect(page.locator("#not-found")).to_contain_text(f"There is no run {run_id} that you")
    expect(page.locator("main")).not_to_contain_text("Drawing")
    assert "404" not in page.locator("main").inner_text()
    page.wait_for_timeout(1500)  # what a refresh or the event stream would ask by then
    asked = [urlsplit(u).path for u in requested if run_id in u]
    assert asked == [f"/runs/{run_id}"], asked  # one question, then nothing more
    page.goto(f"{console_server}/console#/run/20990101-000000-abcdef")  # no such run
    expect(page.locator("#not-found")).to_contain_text("There is no run 20990101-000000-abcdef")
    shots(page, "not-found")
    assert not [u for u in requested if u.startswith("error:")], requested


def test_an_admin_decides_an_open_incident_from_the_console(
    browser: Browser,
    console_server: str,
    console_env: dict[str, str],
    incident: tuple[str, int],
    shots: Shot,
) -> None:
    _, ident = incident
    page, requested = console_sign_in(browser, console_server, "adam")
    expect(page.locator("#alert")).to_contain_text("1 open incident: projects on hold (ward)")
    page.click("#alert a:text('Decide')")
    card = page.locator(f"#incident-{ident}")
    expect(card).to_contain_text(f"Incident {ident}: budget_spike — project ward")
    expect(card).to_contain_text("tokens 9x the usual in one stage")
    for button in ("Resume", "Roll back", "Close"):
        expect(card.locator(f"button:text-is('{button}')")).to_be_visible()
    assert "[object" not in page.locator("#view").inner_text()
    assert "null" not in page.locator("#view").inner_text().split()
    shots(page, "incident-open")
    card.locator("textarea").fill("a one-off spike: the stage's retries")
    card.locator("button:text-is('Close')").click()
    expect(page.locator(f"#incident-{ident}")).to_have_count(0)
    expect(page.locator("#alert")).to_be_hidden()
    row = page.locator("tr", has=page.locator(f"td.num:text-is('{ident}')"))
    expect(row.locator(".status")).to_have_text("closed")
    shots(page, "incident-closed")
    shown = devfactory(console_env, "incidents", "show", str(ident), "--json")
    assert shown.returncode == 0, shown.stderr
    assert '"status":"closed"' in shown.stdout.replace(" ", ""), shown.stdout
    assert refused(page) == []
    assert not [u for u in requested if u.startswith("error:")], requested


def test_the_front_door_leads_to_the_console_and_the_docs_load_nothing_from_elsewhere(
    browser: Browser, console_server: str, pg_root: Path
) -> None:
    said = (pg_root / "console-logs" / "serve.log").read_text("utf-8", errors="replace")
    assert f"the console: {console_server}/console" in said  # serve says where it is
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    requested: list[str] = []
    answers: dict[str, int] = {}
    page.on("request", lambda request: requested.append(request.url))
    page.on("response", lambda response: answers.update({response.url: response.status}))
    page.goto(f"{console_server}/")
    expect(page).to_have_url(re.compile(r"/console/signin"))
    assert answers.get(f"{console_server}/favicon.ico") in (200, 304, None)
    assert httpx.get(f"{console_server}/favicon.ico").status_code == 200
    for docs in ("/redoc", "/docs"):
        page.goto(f"{console_server}{docs}")
        page.wait_for_load_state("networkidle")
    expect(page.locator(".swagger-ui")).to_be_visible()
    hosts = {urlsplit(u).netloc for u in requested if not u.startswith(("data:", "blob:"))}
    assert hosts == {urlsplit(console_server).netloc}, sorted(set(requested))
    assert f"{console_server}/docs/redoc.js" in requested
    context.close()


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
        assert refused.returncode == 8, refused.stdout + refused.stderr
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


def test_an_operator_starts_a_run_from_the_console_and_a_viewer_may_not(
    browser: Browser,
    console_server: str,
    console_env: dict[str, str],
    shots: Shot,
    tmp_path: Path,
) -> None:
    viewer, _ = console_sign_in(browser, console_server, "vic")
    expect(viewer.locator("a[data-nav=new]")).to_be_hidden()  # no form offered
    viewer.goto(f"{console_server}/console#/new")
    expect(viewer.locator("#not-yours")).to_contain_text("your role (viewer) may not")
    assert viewer.locator("#new-run").count() == 0
    posted = viewer.evaluate(
        """async () => (await fetch("/runs", {method: "POST", credentials: "same-origin",
            headers: {"Content-Type": "application/json", "X-Devfactory-Console": "1"},
            body: JSON.stringify({requirement: "A command line that counts words"})})).status"""
    )
    assert posted == 403  # the API refuses what the page does not offer
    page, requested = console_sign_in(browser, console_server, "olga")
    page.click("a[data-nav=new]")
    too_long = tmp_path / "long.md"
    too_long.write_text("x" * 100_001)
    page.set_input_files("#requirement-file", str(too_long))
    expect(page.locator("#new-run-result")).to_contain_text("at most 100,000")
    ticket = tmp_path / "ticket.md"
    ticket.write_text("# Word count\n\nA command line that counts the words of a file.\n")
    page.set_input_files("#requirement-file", str(ticket))
    expect(page.locator("#requirement")).to_have_value(ticket.read_text())
    page.select_option("#new-run select[name=pipeline]", "mvp")
    page.fill("#new-run input[name=project]", "tools")
    page.fill("#new-run input[name=budget_tokens]", "200000")
    page.check("#new-run input[name=unattended]")
    shots(page, "new-run")
    page.click("#start-run")
    expect(page).to_have_url(re.compile(r"#/run/\d{8}-\d{6}-[0-9a-f]{6}$"))
    run_id = page.url.rsplit("/", 1)[-1]
    expect(page.locator("main h1 .run-id")).to_have_text(run_id)
    expect(page.locator("#graph svg")).to_be_visible()
    listed = devfactory(console_env, "list", "--json")
    (row,) = [r for r in json.loads(listed.stdout) if r["run_id"] == run_id]
    assert (row["owner"], row["project"], row["pipeline"]) == ("olga", "tools", "mvp")
    assert row["requirement"].strip() == ticket.read_text().strip()
    assert refused(page) == [] and not [u for u in requested if u.startswith("error:")]
