"""The chat in a real browser: sign in, run the factory, answer pauses, talk to teams."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Browser, Page, expect

from devfactory.teams import load_teams
from tests.browser.conftest import GREETING, ROUNDS, greeted, pick_profile, send, sign_in

HIGH_RISK = "A REST API for a small clinic to store patient appointment notes"
STAGES = [
    "Business Analysis",
    "Solution Architecture",
    "Backend Engineering",
    "QA Engineering",
    "Documentation",
]
Shot = Callable[[Page, str], Path]


def test_a_high_risk_run_is_approved_completes_and_its_artifact_downloads(
    browser: Browser, chat_server: str, shots: Shot, tmp_path: Path
) -> None:
    page = sign_in(browser, chat_server, "alice")
    greeted(page)
    shots(page, "signed-in")
    send(page, HIGH_RISK)
    approve = page.get_by_role("button", name="Approve", exact=True)
    expect(approve).to_be_visible()
    expect(page.get_by_text("Governance rated the requirement HIGH")).to_be_visible()
    expect(page.get_by_role("button", name="Reject", exact=True)).to_be_visible()
    graph = page.locator('img[alt="pipeline"]')  # the run's graph, embedded and kept current
    expect(graph.first).to_be_visible()
    shots(page, "governance-pause")
    approve.click()
    expect(page.get_by_text(re.compile(r"Run \S+: COMPLETED"))).to_be_visible(timeout=120_000)
    expect(page.get_by_text("alice (approver): Approve.")).to_be_visible()
    # one step per stage, nested in the run's step, in pipeline order
    titles = [f"{name}: PASSED · confidence 0.95" for name in STAGES]  # the title says how
    for title in titles:
        expect(page.locator(f'[id="step-{title}"]')).to_have_count(1)
    headers = page.eval_on_selector_all(
        "[id^='step-']", "els => els.map(e => e.id).filter(i => !/^step-[0-9a-f-]{36}$/.test(i))"
    )
    assert [h.removeprefix("step-") for h in headers if not h.startswith("step-Run ")] == titles
    page.locator('[id="step-Backend Engineering: PASSED · confidence 0.95"]').click()
    expect(page.get_by_text("Claims (not verified)").first).to_be_visible()
    expect(page.get_by_text("src/backend/app.py").first).to_be_visible()
    expect(graph.first).to_be_visible()
    shots(page, "completed")
    link = page.locator('a.inline-file[download="src/backend/app.py"]')
    with page.expect_download() as download:
        link.click()
    saved = tmp_path / "app.py"
    download.value.save_as(saved)
    assert saved.read_text().startswith("def handler(event: dict) -> dict:")
    page.context.close()


def test_a_reload_shows_the_pending_question_and_only_an_approver_gets_the_buttons(
    browser: Browser, chat_server: str, shots: Shot
) -> None:
    olga = sign_in(browser, chat_server, "olga")  # an operator may start runs, not approve
    greeted(olga)
    send(olga, HIGH_RISK + " and billing")
    expect(olga.get_by_text("HIGH risk: approve this run?")).to_be_visible()
    expect(olga.get_by_text("You are signed in as operator")).to_be_visible()
    expect(olga.get_by_role("button", name="Approve", exact=True)).to_have_count(0)
    run_id = re.search(r"run (\d{8}-\d{6}-[0-9a-f]{6})", olga.locator("body").inner_text())
    assert run_id, "the pause names its run"
    shots(olga, "operator-sees-the-pause")
    olga.reload()  # closing or reloading the tab does not lose the run
    expect(olga.get_by_text(f"Your run {run_id.group(1)} is PAUSED")).to_be_visible()
    expect(olga.get_by_text("HIGH risk: approve this run?")).to_be_visible()
    expect(olga.get_by_role("button", name="Approve", exact=True)).to_have_count(0)
    shots(olga, "after-reload")

    alice = sign_in(browser, chat_server, "alice")  # the approver sees it waiting for her
    expect(
        alice.get_by_text(f"Run {run_id.group(1)} by olga waits for your answer")
    ).to_be_visible()
    shots(alice, "approver-sees-it")
    alice.get_by_role("button", name="Approve", exact=True).first.click()
    expect(alice.get_by_text(f"Run {run_id.group(1)}: COMPLETED")).to_be_visible(timeout=120_000)
    shots(alice, "approved")
    olga.reload()
    greeted(olga)
    expect(olga.get_by_text(f"Your run {run_id.group(1)}")).to_have_count(0)  # not open now
    olga.context.close()
    alice.context.close()


# Open the chat's socket for one session twice from the signed-in page, as Chainlit's
# page does while it loads: each socket closes once the greeting came (or after 20 s),
# so the second replaces a socket that was already greeted. Returns what each socket
# received as new messages.
TWO_SOCKETS = """async ([sessionId, greeting]) => {
  const open = () => new Promise((resolve) => {
    const got = [];
    const ws = new WebSocket(location.origin.replace("http", "ws")
                             + "/ws/socket.io/?EIO=4&transport=websocket");
    const done = () => { clearTimeout(timer); ws.close(); resolve(got); };
    const timer = setTimeout(done, 20000);
    ws.onmessage = (ev) => {
      const d = String(ev.data);
      if (d[0] === "0") {
        ws.send("40" + JSON.stringify({sessionId, clientType: "webapp",
          chatProfile: "Factory", threadId: "", userEnv: "{}"}));
      } else if (d === "2") { ws.send("3"); }
      else if (d.startsWith("40")) { ws.send('42["connection_successful"]'); }
      else if (d.startsWith("42")) {
        const [name, body] = JSON.parse(d.slice(2));
        if (name === "new_message") {
          got.push(body.output || "");
          if ((body.output || "").includes(greeting)) { done(); }
        }
      }
    };
  });
  const first = await open();
  const second = await open();
  return [first, second];
}"""


def test_a_session_whose_first_socket_closed_before_a_message_is_greeted_on_the_next(
    browser: Browser, chat_server: str
) -> None:
    page = sign_in(browser, chat_server, "alice")
    greeted(page)
    first, second = page.evaluate(TWO_SOCKETS, ["reconnected-before-writing", GREETING])
    assert any("Type a requirement to start a run." in text for text in first), first
    assert any("Type a requirement to start a run." in text for text in second), second
    page.context.close()


def test_a_viewer_may_not_start_a_run(browser: Browser, chat_server: str, shots: Shot) -> None:
    page = sign_in(browser, chat_server, "vic")
    greeted(page)
    send(page, "A todo list API")
    expect(page.get_by_text("Viewers may not start runs")).to_be_visible()
    shots(page, "viewer-refused")
    page.context.close()


def test_a_team_profile_answers_as_that_team(
    browser: Browser, chat_server: str, shots: Shot
) -> None:
    spec = load_teams()["backend-engineering"]
    why = spec.soul.split("## Why we exist\n", 1)[1].strip().split(". ")[0]
    page = sign_in(browser, chat_server, "alice")
    greeted(page)
    pick_profile(page, spec.name)
    expect(page.get_by_text(f"You are talking to the {spec.name} team")).to_be_visible()
    send(page, "What do you optimise for?")
    expect(page.get_by_text(f"{spec.name} here. {why}.")).to_be_visible()  # from its SOUL.md
    shots(page, "team-answers")
    page.context.close()


def test_a_group_chat_stops_at_the_round_cap_and_sums_up(
    browser: Browser, chat_server: str, shots: Shot
) -> None:
    page = sign_in(browser, chat_server, "alice")
    greeted(page)
    pick_profile(page, "Group chat")
    expect(page.get_by_text("Ask a question; the teams discuss it")).to_be_visible()
    send(page, "Should the todo API use SQLite or Postgres?")
    expect(page.get_by_text(f"The discussion ended after {ROUNDS} rounds.")).to_be_visible()
    expect(page.locator('[id^="step-Moderator: round"]')).to_have_count(ROUNDS)
    expect(page.get_by_text(f"Summary of {ROUNDS} contributions.")).to_be_visible()
    # each round one team spoke, and the moderator never picked the team that just spoke
    names = re.findall(r"^(\w[\w ]*?) here\. ", page.locator("body").inner_text(), re.M)
    assert len(names) == ROUNDS, names
    assert all(a != b for a, b in zip(names, names[1:], strict=False)), names
    shots(page, "group-chat")
    page.context.close()


def test_project_questions_cite_run_and_stage(
    browser: Browser, chat_server: str, shots: Shot
) -> None:
    page = sign_in(browser, chat_server, "alice")
    greeted(page)
    send(page, "A REST API for a personal todo list")  # a run for the project to remember
    expect(page.get_by_text(re.compile(r"Run \S+: COMPLETED"))).to_be_visible(timeout=120_000)
    pick_profile(page, "Project Q&A")
    expect(page.get_by_text("Ask about the project")).to_be_visible()
    send(page, "What does the backend handler return?")
    expect(page.get_by_text("From the sources: the project stores todos [1].")).to_be_visible()
    sources = page.get_by_text(re.compile(r"\[1\] run \d{8}-\d{6}-[0-9a-f]{6}, stage \S+"))
    expect(sources).to_be_visible()
    shots(page, "project-qa")
    page.context.close()
