"use strict";
// The devfactory console: one page, seven views (runs, a new run, a run, costs, memory,
// settings, operations), and on every page the emergency stop: a banner while it holds (or while
// incidents are open), and for admins the button that turns it on or off.
// Everything shown comes from the API with the sign-in cookie; text is always set with
// textContent, never parsed as HTML. The run graph is SVG that the server drew with
// Graphviz from names and text a run wrote: DOMPurify (vendored, loaded before this
// script) cleans it with its SVG profile before it is shown. The page's
// Content-Security-Policy runs no inline script and no inline style, so styles are set
// through the CSSOM (``el``'s ``style`` takes an object), never as an attribute.

const CONSOLE_HEADER = { "X-Devfactory-Console": "1" };
const MAX_REQUIREMENT_CHARS = 100000; // what POST /runs takes (control/ceilings.py)
const FEED_MAX = 500; // feed lines kept on screen
const FLUSH_MS = 400; // events are drawn in batches, at most this often
const REFRESH_MS = 1200; // the graph, pending questions and files are read again at most this often
let me = null;
let leave = () => {}; // closes what the current view holds open (an event stream, timers)

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key === "style") Object.assign(node.style, value);
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

async function api(path, options) {
  const opts = Object.assign({ credentials: "same-origin" }, options || {});
  const method = (opts.method || "GET").toUpperCase();
  if (method !== "GET") {
    opts.headers = Object.assign({ "Content-Type": "application/json" }, CONSOLE_HEADER, opts.headers || {});
  }
  const response = await fetch(path, opts);
  if (response.status === 401) {
    window.location.assign("/console/signin");
    throw new Error("signed out");
  }
  if (!response.ok) {
    let message = response.statusText;
    try {
      const body = await response.json();
      message = (body.error && body.error.message) || body.detail || message;
    } catch (e) { /* not JSON */ }
    const failed = new Error(`${response.status}: ${message}`);
    failed.status = response.status;
    throw failed;
  }
  const type = response.headers.get("content-type") || "";
  return type.includes("json") ? response.json() : response.text();
}

function view() {
  return document.getElementById("view");
}

// Show ``nodes`` as the view: lists are spread and null (a part left out) is skipped, as
// ``el`` does, since ``replaceChildren`` would write either as text.
function show(...nodes) {
  view().replaceChildren(...nodes.flat().filter((node) => node !== null && node !== undefined));
}

// Each route counts: a view that reads the API draws with ``shower()``'s function, which
// draws nothing once another view was opened (a slow answer never covers the newer view).
let routeSeq = 0;
function shower() {
  const own = routeSeq;
  const draw = (...nodes) => {
    if (draw.current()) show(...nodes);
  };
  draw.current = () => own === routeSeq;
  return draw;
}

function problem(error) {
  return el("p", { class: "problem", text: String(error.message || error) });
}

function money(value) {
  return `$${Number(value || 0).toFixed(4)}`;
}

function count(value) {
  return Number(value || 0).toLocaleString("en");
}

function age(iso) {
  return span((Date.now() - Date.parse(iso)) / 1000);
}

// How long until ``iso`` (0 s when it has passed).
function until(iso) {
  return span((Date.parse(iso) - Date.now()) / 1000);
}

function span(length) {
  const seconds = Math.max(0, length);
  if (seconds < 90) return `${Math.round(seconds)} s`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min`;
  if (seconds < 172800) return `${Math.round(seconds / 3600)} h`;
  return `${Math.round(seconds / 86400)} d`;
}

function statusBadge(status) {
  return el("span", { class: `status status-${String(status).toLowerCase()}`, text: status });
}

function table(headers, rows) {
  return el(
    "table",
    {},
    el("thead", {}, el("tr", {}, headers.map((h) => el("th", { text: h })))),
    el("tbody", {}, rows),
  );
}

// ---------------------------------------------------------------- a new run
// Who may start runs (operators and up) gets the form; the API checks the role again.
function mayStart() {
  return Boolean(me && me.may && me.may.start);
}

function newRunView() {
  if (!mayStart()) {
    return show(el("h1", { text: "New run" }),
      el("p", { class: "problem", id: "not-yours", text: `Starting runs is for operators and above; your role (${me.role}) may not.` }));
  }
  const result = el("p", { class: "problem", id: "new-run-result" });
  const requirement = el("textarea", { name: "requirement", id: "requirement", rows: 12, maxlength: MAX_REQUIREMENT_CHARS, required: true, placeholder: "What to build, in your own words" });
  const file = el("input", { type: "file", name: "file", id: "requirement-file", accept: ".md,.txt,text/plain,text/markdown" });
  file.addEventListener("change", async () => {
    const chosen = file.files && file.files[0];
    if (!chosen) return;
    const text = await chosen.text();
    if (text.length > MAX_REQUIREMENT_CHARS) {
      result.textContent = `${chosen.name} has ${count(text.length)} characters; a requirement takes at most ${count(MAX_REQUIREMENT_CHARS)}.`;
      file.value = "";
      return;
    }
    requirement.value = text;
    result.textContent = "";
  });
  const pipelines = me.pipelines || ["mvp"];
  const form = el("form", { id: "new-run", class: "new-run" },
    el("label", { for: "requirement", text: "Requirement" }), requirement,
    el("label", {}, "or a file ", file),
    el("div", { class: "filters" },
      el("label", {}, "Pipeline ", el("select", { name: "pipeline" },
        pipelines.map((p) => el("option", { value: p, selected: p === "mvp", text: p })))),
      el("label", {}, "Project ", el("input", { name: "project", value: "default", required: true, maxlength: 120 })),
      el("label", {}, "Token budget ", el("input", { name: "budget_tokens", type: "number", min: 1, max: 100000000, step: 1, class: "cap" })),
      el("label", {}, "Cost budget $ ", el("input", { name: "budget_cost_usd", type: "number", min: 0.01, max: 100000, step: 0.01, class: "cap" })),
      el("label", {}, el("input", { name: "unattended", type: "checkbox" }), " unattended (the policy's rules answer every pause)")),
    el("button", { type: "submit", id: "start-run", text: "Start the run" }),
    result);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const body = {
      requirement: String(data.get("requirement") || ""),
      pipeline: String(data.get("pipeline")),
      project: String(data.get("project") || "default").trim(),
    };
    if (data.get("unattended") === "on") body.unattended = true; // else the setting's
    if (data.get("budget_tokens")) body.budget_tokens = Number(data.get("budget_tokens"));
    if (data.get("budget_cost_usd")) body.budget_cost_usd = Number(data.get("budget_cost_usd"));
    if (!body.requirement.trim()) {
      result.textContent = "Write the requirement, or choose a file that holds it.";
      return;
    }
    try {
      const queued = await post("/runs", body);
      window.location.hash = `#/run/${encodeURIComponent(queued.run_id)}`;
    } catch (error) {
      result.textContent = String(error.message || error);
    }
  });
  show(el("h1", { text: "New run" }),
    el("p", { class: "hint", text: "The run is queued for a worker and shown live as it goes." }),
    form);
}

// ---------------------------------------------------------------- runs
async function runsView(params) {
  const draw = shower(); // dropped once another view is opened
  const status = params.get("status") || "";
  const project = params.get("project") || "";
  const q = params.get("q") || "";
  const form = el(
    "form",
    { class: "filters", id: "run-filters" },
    el("label", {}, "Status ",
      el("select", { name: "status" },
        ["", "QUEUED", "RUNNING", "PAUSED", "COMPLETED", "FAILED", "REJECTED", "CANCELLED", "INTERRUPTED"].map(
          (s) => el("option", { value: s, selected: s === status, text: s || "any" })))),
    el("label", {}, "Project ", el("input", { name: "project", value: project, maxlength: 120 })),
    el("label", {}, "Search ", el("input", { name: "q", value: q, maxlength: 200, type: "search" })),
    el("button", { type: "submit", text: "Filter" }),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const data = new URLSearchParams(new FormData(form));
    for (const [key, value] of [...data.entries()]) if (!value) data.delete(key);
    window.location.hash = `#/runs?${data}`;
  });
  draw(el("h1", { text: "Runs" }), form, el("p", { text: "Loading…" }));
  const query = new URLSearchParams();
  if (status) query.set("status", status);
  if (project) query.set("project", project);
  if (q) query.set("q", q);
  try {
    const found = await api(`/console/api/runs?${query}`);
    const rows = found.runs.map((run) =>
      el("tr", { "data-run": run.run_id },
        el("td", {}, el("a", { href: `#/run/${encodeURIComponent(run.run_id)}`, class: "run-id", text: run.run_id })),
        el("td", {}, statusBadge(run.status)),
        el("td", { text: run.project }),
        el("td", { text: run.owner || "—" }),
        el("td", { class: "num", text: money(run.spent.cost_usd) }),
        el("td", { class: "num", text: count(run.spent.tokens) }),
        el("td", { text: age(run.created_at) }),
        el("td", { class: "requirement", text: run.requirement }),
      ));
    draw(
      el("h1", { text: "Runs" }), form,
      el("p", { class: "hint", text: found.more ? `the newest ${found.matched} runs that match` : `${found.matched} run${found.matched === 1 ? "" : "s"}` }),
      table(["Run", "Status", "Project", "Owner", "Cost", "Tokens", "Age", "Requirement"], rows),
    );
  } catch (error) {
    draw(el("h1", { text: "Runs" }), form, problem(error));
  }
}

// ---------------------------------------------------------------- one run
const SVG_NS = "http://www.w3.org/2000/svg";
// What Graphviz draws (shapes, text, titles; ids and classes, which the page and its tests
// find nodes by) is all the graph keeps. Beyond DOMPurify's SVG profile, which drops
// scripts, handlers, foreignObject, animate, set and javascript: URLs, the graph needs no
// link, image or style of its own, so none is let in.
const GRAPH_PURIFY = {
  USE_PROFILES: { svg: true, svgFilters: true },
  FORBID_TAGS: ["a", "image", "feimage", "style"],
  FORBID_ATTR: ["style", "href", "xlink:href"],
  RETURN_DOM_FRAGMENT: true,
};

function cleanSvg(text) {
  if (!window.DOMPurify || !window.DOMPurify.isSupported) throw new Error("the graph cannot be shown safely here");
  const cleaned = window.DOMPurify.sanitize(text, GRAPH_PURIFY);
  const svg = [...cleaned.children].find((node) => node.namespaceURI === SVG_NS && node.localName === "svg");
  if (!svg) throw new Error("the graph is not SVG");
  svg.removeAttribute("width");
  svg.removeAttribute("height");
  return document.importNode(svg, true);
}

// One check of a stage, as the CLI and SUMMARY.md say it: its mark, its tool and version, its counts.
function checkText(check) {
  const ran = check.ran !== false;
  const ok = ran && check.exit_code === 0 && !check.failed && !check.errors;
  const tool = check.tool ? ` [${check.tool}]` : "";
  const outcome = check.summary || (ran ? `exit ${check.exit_code}` : "not run");
  return `${ok ? "✓" : "✗"} ${check.name}${tool}: ${outcome} (${Number(check.seconds || 0).toFixed(1)} s)`;
}

// What a run's file listing left out, in words ("" when it listed everything): the files
// shown are then not taken for all there are.
function filesLeftOut(found) {
  const left = found.left_out || {};
  const plural = (n, one, many) => `${n} ${n === 1 ? one : many}`;
  const said = [
    found.more ? "more files than the listing's cap" : "",
    left.deep_folders ? `${plural(left.deep_folders, "folder", "folders")} too deep to enter` : "",
    left.not_regular ? `${plural(left.not_regular, "link, FIFO or device", "links, FIFOs or devices")} (not served)` : "",
    left.unsafe_names ? `${plural(left.unsafe_names, "file", "files")} whose name holds a control or invisible character (not served)` : "",
  ].filter(Boolean);
  return said.length ? `not listed: ${said.join("; ")}` : "";
}

function describe(kind, body) {
  switch (kind) {
    case "stage_started":
      return `▶ ${body.team}: attempt ${body.attempt} (${body.model})` +
        (body.because && body.because.length ? ` because ${body.because.join("; ")}` : "");
    case "stage_finished": {
      const record = body.record || {};
      const confidence = record.result ? `, confidence ${Number(record.result.confidence).toFixed(2)}` : "";
      const checks = (record.checks || []).map(checkText);
      return `■ ${record.team}: ${record.outcome} after ${record.attempts} attempt(s)${confidence}` +
        (record.reason ? ` — ${record.reason}` : "") + (checks.length ? `; checks: ${checks.join("; ")}` : "");
    }
    case "clarification":
      return `? ${body.asker} asked ${body.target}: “${body.question}” → ${body.outcome}` +
        (body.answered_by ? ` by ${body.answered_by}` : "");
    case "decision":
      return `✔ ${body.by} (${body.role}) ${body.action} ${body.pause}` + (body.text ? `: ${body.text}` : "");
    case "transition":
      return `→ ${body.from} to ${body.to}` + (body.reason ? `: ${body.reason}` : "");
    case "governance":
      return `⚖ governance: risk ${body.risk}, ${body.action}` + (body.reasons && body.reasons.length ? ` (${body.reasons.join("; ")})` : "");
    case "notice":
      return `! ${body.team}: ${body.message}`;
    case "usage":
      return `· ${body.team}: ${count(body.input_tokens + body.output_tokens)} tokens, ${body.calls} call(s), ${Number(body.seconds).toFixed(1)} s`;
    case "recalled":
      return `· ${body.team} recalled ${body.memories} memories`;
    case "draft_saved":
      return `✎ ${body.team}: ${body.path}, ${body.written} of ${body.units} units written, saved`;
    case "facts":
      return `· ${body.team}: ${body.added.length} new fact(s)` + (body.problem ? ` (${body.problem})` : "");
    case "task_result":
      return null; // the stage_finished line says it
    case "run_finished":
      return `■ run ${body.status}` + (body.reason ? `: ${body.reason}` : "");
    case "run_started":
      return "▶ run started";
    case "run_created":
      return "· run created";
    case "run_error":
      return `✖ ${body.error || body.message || "error"}`;
    default:
      return `· ${kind}`;
  }
}

// What a request says beside its question: priority, deadline, reasoning, estimate, sources.
function requestFacts(question) {
  const due = question.deadline
    ? (question.expired ? "EXPIRED: its rule applies at the watchdog's next round"
      : `expires in ${until(question.deadline)}`)
    : "no deadline";
  const facts = [
    el("p", { class: "request-head" },
      el("span", { class: `priority priority-${String(question.priority || "MEDIUM").toLowerCase()}`, text: question.priority || "MEDIUM" }),
      ` ${due}${question.rule ? ` · rule ${question.rule}` : ""}`),
  ];
  if (question.reasoning) facts.push(el("p", { class: "reasoning", text: question.reasoning }));
  const lines = [];
  if (question.estimate && question.estimate.basis) lines.push(question.estimate.basis);
  if (question.confidence !== null && question.confidence !== undefined) lines.push(`confidence ${Number(question.confidence).toFixed(2)}`);
  if (question.risk_factors && question.risk_factors.length) lines.push(`risk factors: ${question.risk_factors.join("; ")}`);
  if (question.sources && question.sources.length) lines.push(`sources: ${question.sources.slice(0, 8).join(", ")}${question.sources.length > 8 ? ", …" : ""}`);
  if (lines.length) facts.push(el("ul", { class: "request-facts" }, lines.map((line) => el("li", { text: line }))));
  return facts;
}

function pendingCard(run, question, onAnswered) {
  const mayAnswer = me && question.roles.includes(me.role);
  const text = el("textarea", { rows: 2, maxlength: 8000, placeholder: "Your answer, changes or guidance (when the action needs words)", class: "answer-text" });
  const result = el("p", { class: "hint" });
  const send = (action, alternative) => async () => {
    result.textContent = "Sending…";
    try {
      const body = { id: question.id, kind: question.kind, action, text: text.value };
      if (alternative) body.alternative = alternative;
      await api(`/runs/${encodeURIComponent(run)}/answer`, { method: "POST", body: JSON.stringify(body) });
      result.textContent = `${alternative ? `${alternative} chosen` : action} recorded; the run goes back to the workers.`;
      onAnswered();
    } catch (error) {
      result.textContent = String(error.message || error);
    }
  };
  const buttons = question.actions.map((action) =>
    el("button", { type: "button", class: `action action-${action}`, "data-action": action, text: action, onclick: send(action) }));
  // an alternative is picked with approve where the pause has it, else with answer (control/hitl.py)
  const picks = question.actions.includes("approve") ? "approve" : "answer";
  const alternatives = (question.alternatives || []).map((alt) =>
    el("li", { class: "alternative", "data-alternative": alt.id },
      el("strong", { text: alt.title || alt.id }),
      alt.estimated_cost_usd !== null && alt.estimated_cost_usd !== undefined ? ` (estimated $${Number(alt.estimated_cost_usd).toFixed(4)})` : "",
      el("ul", {},
        (alt.pros || []).map((p) => el("li", { class: "pro", text: `+ ${p}` })),
        (alt.cons || []).map((c) => el("li", { class: "con", text: `− ${c}` }))),
      mayAnswer ? el("button", { type: "button", class: "action choose", text: "choose this", onclick: send(picks, alt.id) }) : null));
  return el("div", { class: "pending", "data-pause": question.id },
    el("h3", { text: question.title }),
    ...requestFacts(question),
    // what went wrong first; the output it came from folded (GET /pending finds the line)
    question.error_line
      ? [el("p", { class: "error-line", text: question.error_line }),
        el("details", { class: "output" }, el("summary", { text: "the output it came from" }),
          el("pre", { class: "question", text: question.question }))]
      : el("p", { class: "question", text: question.question }),
    alternatives.length ? el("div", { class: "alternatives" }, el("h4", { text: "Alternatives" }), el("ul", {}, alternatives)) : null,
    mayAnswer
      ? el("div", {}, text, el("div", { class: "buttons" }, buttons), result)
      : el("p", { class: "hint waits-for", text: `Waits for: ${question.roles.join(", ")}. Your role (${me ? me.role : "?"}) may not answer it.` }),
  );
}

// ---------------------------------------------------------------- the run graph's zoom
const ZOOM_STEP = 1.25;
const ZOOM_MIN = 0.1;
const ZOOM_MAX = 4;
const READABLE_PX = 11; // the smallest text the default zoom shows
const FIT_MAX = 1.5; // the default zoom never enlarges a small graph more than this

// Zoom and pan for the graph in ``canvas``: buttons (out, fit, in), Ctrl or ⌘ with the
// wheel, and dragging. The default zoom fits the canvas's width, unless the text would
// then be smaller than READABLE_PX: then the text is READABLE_PX and the graph is panned.
// Everything is listeners and CSSOM sizes: nothing the page's policy refuses.
function graphZoom(canvas) {
  let chosen = null; // null: the default zoom, worked out again as the page resizes
  const level = el("span", { id: "zoom-level", class: "hint" });
  const svg = () => canvas.querySelector("svg");
  const scale = () => Number(canvas.dataset.scale || 1);

  function fontSize(drawn) {
    const text = drawn.querySelector("text[font-size]");
    return text ? Number.parseFloat(text.getAttribute("font-size")) || 14 : 14;
  }

  function defaultScale(drawn) {
    const style = getComputedStyle(canvas);
    const room = canvas.clientWidth - Number.parseFloat(style.paddingLeft) - Number.parseFloat(style.paddingRight);
    const fit = room / drawn.viewBox.baseVal.width;
    return Math.min(FIT_MAX, Math.max(fit, READABLE_PX / fontSize(drawn)));
  }

  function apply() {
    const drawn = svg();
    if (!drawn || !drawn.viewBox.baseVal || !drawn.viewBox.baseVal.width) return;
    const box = drawn.viewBox.baseVal;
    const factor = chosen === null ? defaultScale(drawn) : chosen;
    Object.assign(drawn.style, { width: `${box.width * factor}px`, height: `${box.height * factor}px` });
    canvas.dataset.scale = factor.toFixed(4);
    canvas.dataset.zoom = chosen === null ? "default" : "chosen";
    level.textContent = `${Math.round(factor * 100)} %`;
  }

  // Zoom to ``next`` (null: the default), keeping the point under ``at`` (else the centre).
  function zoomTo(next, at) {
    if (!svg()) return;
    const before = scale();
    const frame = canvas.getBoundingClientRect();
    const x = at ? at.clientX - frame.left : canvas.clientWidth / 2;
    const y = at ? at.clientY - frame.top : canvas.clientHeight / 2;
    const gx = (canvas.scrollLeft + x) / before;
    const gy = (canvas.scrollTop + y) / before;
    chosen = next === null ? null : Math.min(ZOOM_MAX, Math.max(ZOOM_MIN, next));
    apply();
    canvas.scrollLeft = gx * scale() - x;
    canvas.scrollTop = gy * scale() - y;
  }

  const tools = el("div", { class: "graph-tools" },
    el("button", { type: "button", id: "zoom-out", title: "Zoom out", text: "−", onclick: () => zoomTo(scale() / ZOOM_STEP) }),
    el("button", { type: "button", id: "zoom-fit", title: "Fit the width", text: "Fit", onclick: () => zoomTo(null) }),
    el("button", { type: "button", id: "zoom-in", title: "Zoom in", text: "+", onclick: () => zoomTo(scale() * ZOOM_STEP) }),
    level,
    el("span", { class: "hint", text: "Ctrl + wheel zooms; drag to move" }));

  canvas.addEventListener("wheel", (event) => {
    if (!event.ctrlKey && !event.metaKey) return; // a plain wheel scrolls
    event.preventDefault();
    zoomTo(scale() * (event.deltaY < 0 ? ZOOM_STEP : 1 / ZOOM_STEP), event);
  }, { passive: false });
  let drag = null;
  canvas.addEventListener("pointerdown", (event) => {
    if (event.button !== 0) return;
    drag = { x: event.clientX, y: event.clientY, left: canvas.scrollLeft, top: canvas.scrollTop, moved: false };
  });
  canvas.addEventListener("pointermove", (event) => {
    if (!drag) return;
    const dx = event.clientX - drag.x;
    const dy = event.clientY - drag.y;
    if (!drag.moved) {
      if (Math.abs(dx) + Math.abs(dy) < 4) return; // a click, not a drag
      drag.moved = true;
      canvas.classList.add("panning");
      canvas.setPointerCapture(event.pointerId);
    }
    canvas.scrollLeft = drag.left - dx;
    canvas.scrollTop = drag.top - dy;
  });
  const stop = () => {
    drag = null;
    canvas.classList.remove("panning");
  };
  canvas.addEventListener("pointerup", stop);
  canvas.addEventListener("pointercancel", stop);
  const resized = () => { if (chosen === null) apply(); };
  window.addEventListener("resize", resized);

  return {
    tools,
    // Show a newly drawn graph at the zoom and place the person left the last one at.
    draw(drawn) {
      const left = canvas.scrollLeft;
      const top = canvas.scrollTop;
      canvas.replaceChildren(drawn);
      apply();
      canvas.scrollLeft = left;
      canvas.scrollTop = top;
    },
    close() {
      window.removeEventListener("resize", resized);
    },
  };
}

// A run the person may not see answers 404, as a missing one does: one clear page, and
// nothing more is asked for it (no graph, no event stream).
function runNotFound(draw, runId) {
  draw(
    el("h1", { text: "Run not found" }),
    el("p", { class: "problem", id: "not-found", text: `There is no run ${runId} that you may see: it does not exist, or another person owns it.` }),
    el("p", {}, el("a", { href: "#/runs", text: "Back to the runs" })),
  );
}

async function runView(runId) {
  const draw = shower(); // dropped once another view is opened
  draw(el("p", { text: "Loading…" }));
  let known;
  try {
    known = await api(`/runs/${encodeURIComponent(runId)}`);
  } catch (error) {
    if (error.status === 404) runNotFound(draw, runId);
    else draw(el("h1", { text: "Run" }), problem(error));
    return;
  }
  if (!draw.current()) return; // another view was opened meanwhile: no stream for this one
  const graph = el("div", { id: "graph", class: "graph" }, el("p", { text: "Drawing…" }));
  const zoom = graphZoom(graph);
  const pending = el("section", { id: "pending" });
  const feed = el("ol", { id: "feed", class: "feed" });
  const files = el("ul", { id: "files", class: "files" });
  const fileShown = el("pre", { id: "file", class: "file", hidden: true });
  const diffs = el("div", { id: "diffs" });
  const head = el("div", { id: "run-head" });
  // the graph takes the page's width: its text stays readable where it fits
  draw(
    head,
    pending,
    el("section", { class: "pipeline" }, el("h2", { text: "Pipeline" }), zoom.tools, graph),
    el("div", { class: "run" },
      el("section", { class: "left" }, el("h2", { text: "Activity" }), feed),
      el("section", { class: "right" },
        el("h2", { text: "Files" }), files, fileShown,
        el("h2", { text: "What each stage changed" }), diffs)),
  );
  let closed = false;
  let refreshTimer = null;
  let flushTimer = null;
  const buffer = [];

  async function drawHead() {
    const run = known || await api(`/runs/${encodeURIComponent(runId)}`);
    known = null; // read again on every refresh after the first
    head.replaceChildren(
      el("h1", {}, "Run ", el("span", { class: "run-id", text: run.run_id }), " ", statusBadge(run.status)),
      el("p", { class: "requirement", text: run.requirement }),
      el("p", { class: "hint", text: `pipeline ${run.pipeline} · project ${run.project} · owner ${run.owner || "—"}` +
        (run.usage && run.usage.total ? ` · ${count(run.usage.total.tokens)} tokens, ${money(run.usage.total.cost_usd)}` : "") +
        (run.reason ? ` · ${run.reason}` : "") }),
    );
  }

  async function drawGraph() {
    let text;
    try {
      text = await api(`/runs/${encodeURIComponent(runId)}/graph?format=svg`);
    } catch (error) {
      if (!graph.querySelector("svg")) graph.replaceChildren(problem(error)); // not "Drawing…" forever
      throw error;
    }
    zoom.draw(cleanSvg(text));
    graph.dataset.drawn = String(Number(graph.dataset.drawn || 0) + 1);
  }

  async function drawPending() {
    const all = await api("/pending");
    const mine = all.filter((q) => q.run_id === runId);
    pending.replaceChildren(...(mine.length
      ? [el("h2", { text: "Waiting for a person" }), ...mine.map((q) => pendingCard(runId, q, schedule))]
      : []));
  }

  async function drawFiles() {
    const found = await api(`/runs/${encodeURIComponent(runId)}/artifacts`);
    files.replaceChildren(...found.files.map((f) =>
      el("li", {},
        el("a", {
          href: "#", text: f.path, "data-path": f.path,
          onclick: async (event) => {
            event.preventDefault();
            const path = f.path.split("/").map(encodeURIComponent).join("/");
            fileShown.hidden = false;
            fileShown.textContent = await api(`/runs/${encodeURIComponent(runId)}/artifacts/${path}`).catch((e) => String(e.message));
          },
        }),
        el("span", { class: "hint", text: ` ${count(f.bytes)} bytes` }))));
    const leftOut = filesLeftOut(found);
    if (leftOut) files.append(el("li", { class: "hint", id: "files-left-out", text: leftOut }));
    const changed = await api(`/console/api/runs/${encodeURIComponent(runId)}/diffs`);
    diffs.replaceChildren(...changed.stages.map((s) =>
      el("details", {}, el("summary", { text: s.team + (s.cut ? " (cut)" : "") }), el("pre", { class: "diff", text: s.diff }))));
  }

  async function refresh() {
    refreshTimer = null;
    if (closed) return;
    const steps = [drawHead(), drawGraph(), drawPending(), drawFiles()];
    const results = await Promise.allSettled(steps);
    const failed = results.find((r) => r.status === "rejected");
    if (failed && !closed) graph.prepend(problem(failed.reason));
  }

  function schedule() {
    if (refreshTimer === null && !closed) refreshTimer = setTimeout(refresh, REFRESH_MS);
  }

  function flush() {
    flushTimer = null;
    const lines = buffer.splice(0).map(([kind, body, id]) => {
      const text = describe(kind, body);
      return text === null ? null : el("li", { class: `ev ev-${kind}`, "data-id": id, text });
    }).filter(Boolean);
    feed.append(...lines);
    while (feed.childElementCount > FEED_MAX) feed.firstElementChild.remove();
    feed.scrollTop = feed.scrollHeight;
  }

  const stream = new EventSource(`/runs/${encodeURIComponent(runId)}/events`);
  const kinds = ["run_created", "run_started", "run_finished", "run_error", "transition", "governance", "notice",
    "stage_started", "stage_finished", "recalled", "draft_saved", "clarification", "facts", "decision", "task_result", "usage"];
  for (const kind of kinds) {
    stream.addEventListener(kind, (message) => {
      let body = {};
      try { body = JSON.parse(message.data); } catch (e) { /* shown as its kind */ }
      buffer.push([kind, body, message.lastEventId]);
      if (flushTimer === null) flushTimer = setTimeout(flush, FLUSH_MS);
      schedule();
    });
  }
  stream.onerror = () => {
    // the server ends the stream when the run ends; read the final state once more
    if (stream.readyState === EventSource.CLOSED) schedule();
  };
  leave = () => {
    closed = true;
    zoom.close();
    stream.close();
    clearTimeout(refreshTimer);
    clearTimeout(flushTimer);
  };
  await refresh();
}

// ---------------------------------------------------------------- costs
function bars(rows, total, label) {
  const biggest = Math.max(1, ...rows.map((r) => r.tokens));
  return table([label, "Tokens", "", "Cost", "Model time", "Calls"], rows.map((r) =>
    el("tr", {},
      el("td", { text: r.name }),
      el("td", { class: "num", text: count(r.tokens) }),
      el("td", { class: "bar-cell" }, el("span", { class: "bar", style: { width: `${Math.round((100 * r.tokens) / biggest)}%` } })),
      el("td", { class: "num", text: money(r.cost_usd) }),
      el("td", { class: "num", text: `${Number(r.seconds).toFixed(1)} s` }),
      el("td", { class: "num", text: count(r.calls) }))));
}

function capsLine(caps) {
  const parts = Object.entries(caps || {}).filter(([, v]) => v !== null).map(([k, v]) => `${k} ${count(v)}`);
  return parts.length ? parts.join(", ") : "no cap";
}

async function costsView() {
  const draw = shower(); // dropped once another view is opened
  draw(el("h1", { text: "Costs" }), el("p", { text: "Loading…" }));
  try {
    const c = await api("/console/api/costs");
    draw(
      el("h1", { text: "Costs" }),
      el("p", { class: "hint", text: `The ${c.runs} newest runs you may see. Budgets: each run ${capsLine(c.caps.run)}; each project ${capsLine(c.caps.project)}.` }),
      el("h2", { text: "By project" }), bars(c.by_project, null, "Project"),
      el("h2", { text: "By team" }),
      el("p", { class: "hint", text: "Teams and models: every model call of each run, as the run recorded it when it last stopped." }),
      bars(c.by_team, null, "Team"),
      el("h2", { text: "By model" }), bars(c.by_model, null, "Model"),
      el("h2", { text: "By day" }), bars(c.by_day, null, "Day"),
    );
  } catch (error) {
    draw(el("h1", { text: "Costs" }), problem(error));
  }
}

// ---------------------------------------------------------------- memory
async function memoryView() {
  const draw = shower(); // dropped once another view is opened
  draw(el("h1", { text: "Memory" }), el("p", { text: "Loading…" }));
  try {
    const m = await api("/console/api/memory?recent=5");
    const results = el("div", { id: "memory-results" });
    const bankSelect = el("select", { name: "bank" }, m.banks.map((b) => el("option", { value: b.bank, text: b.bank })),
      Object.keys(m.facts).map((team) => el("option", { value: `facts:${team}`, text: `facts:${team}` })));
    const query = el("input", { name: "q", type: "search", maxlength: 2000, placeholder: "What to look for" });
    const form = el("form", { class: "filters", id: "memory-search" }, bankSelect, query, el("button", { type: "submit", text: "Search" }));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      if (!query.value.trim()) return;
      results.textContent = "Searching…";
      try {
        const found = await api(`/memory/${encodeURIComponent(bankSelect.value)}/search?q=${encodeURIComponent(query.value)}&k=10`);
        results.replaceChildren(found.memories.length
          ? table(["Score", "Kind", "Memory"], found.memories.map((x) =>
            el("tr", {}, el("td", { class: "num", text: x.score.toFixed(2) }), el("td", { text: x.kind }), el("td", { text: x.text }))))
          : el("p", { text: "Nothing close enough." }));
      } catch (error) {
        results.replaceChildren(problem(error));
      }
    });
    draw(
      el("h1", { text: "Memory" }),
      el("p", { class: "hint", text: `Embedder ${m.embedder} (${m.dims} dimensions).` }),
      form, results,
      el("h2", { text: "Banks" }),
      table(["Bank", "Memories", "Kinds", "Newest"], m.banks.map((b) =>
        el("tr", {},
          el("td", { text: b.bank }),
          el("td", { class: "num", text: count(b.memories) }),
          el("td", { text: Object.entries(b.kinds).map(([k, v]) => `${k} ${v}`).join(", ") }),
          el("td", {}, el("ul", {}, b.recent.map((r) => el("li", { text: `${r.kind}: ${r.text}` }))))))),
      el("h2", { text: "Facts (mem0)" }),
      table(["Team", "Facts"], Object.entries(m.facts).map(([team, n]) => el("tr", {}, el("td", { text: team }), el("td", { class: "num", text: count(n) })))),
    );
  } catch (error) {
    draw(el("h1", { text: "Memory" }), problem(error));
  }
}

// ---------------------------------------------------------------- settings
// One link of an alias's chain: available or not, its place now, its health.
function linkLine(c) {
  if (!c.available) return "not available";
  if (c.over_ceiling) return "over the alias's price ceiling";
  const place = c.order ? `tried ${c.order}${c.order === 1 ? "st" : c.order === 2 ? "nd" : c.order === 3 ? "rd" : "th"}` : "not tried now";
  const h = c.health;
  if (!h) return `${place}; no calls yet`;
  const p50 = h.p50_ms == null ? "" : `, p50 ${h.p50_ms} ms`;
  return `${place}; score ${Number(h.score).toFixed(2)}, circuit ${h.breaker}, ${h.calls} call(s), ${h.errors} error(s)${p50}`;
}

async function settingsView() {
  const draw = shower(); // dropped once another view is opened
  draw(el("h1", { text: "Settings" }), el("p", { text: "Loading…" }));
  try {
    const s = await api("/console/api/settings");
    const ollama = s.providers.ollama;
    draw(
      el("h1", { text: "Settings" }),
      el("h2", { text: "Which model serves each alias" }),
      table(["Alias", "Serves now", "Why", "Fallback chain"], s.routing.map((r) =>
        el("tr", {},
          el("td", { text: r.alias }),
          el("td", { text: r.serves || "nothing" }),
          el("td", { text: r.why }),
          el("td", {}, el("ul", {}, r.chain.map((c) => el("li", { class: c.available && c.order ? "ok" : "off", "data-circuit": c.health ? c.health.breaker : "closed", text: `${c.model}: ${linkLine(c)}` }))))))),
      el("h2", { text: "Providers" }),
      el("p", { id: "ollama-health", text: `Ollama at ${ollama.host}: ` + (ollama.reachable
        ? `reachable in ${ollama.ms} ms, ${ollama.models.length} model(s)${ollama.models.length ? ": " + ollama.models.join(", ") : ""}`
        : `not reachable (${ollama.problem}, after ${ollama.ms} ms)`) }),
      el("p", { id: "embedded-health", text: `The embedded model: ${s.providers.embedded.available ? "available" : "not built or not downloaded (make setup)"}` }),
      el("h2", { text: "Budgets a new run gets" }),
      el("p", { text: `By default, each run: ${capsLine(s.caps.run)}. Each project: ${capsLine(s.caps.project)}. A warning at ${Math.round(100 * s.budget_warn_at)} %.` }),
      table(["Project", "Each run", "The project", "Set by", "When"], s.projects.map((p) =>
        el("tr", { "data-project": p.project },
          el("td", { text: p.project }),
          el("td", { text: p.caps.run ? capsLine(p.caps.run) : "the default" }),
          el("td", { text: p.caps.project ? capsLine(p.caps.project) : "the default" }),
          el("td", { text: `${p.set_by} (${p.role})` }),
          el("td", { text: age(p.at) + " ago" })))),
      me && me.may.purge ? capsForm() : el("p", { class: "hint", text: "Only an admin may change a project's budgets." }),
      el("p", { class: "hint", text: s.change }),
    );
  } catch (error) {
    draw(el("h1", { text: "Settings" }), problem(error));
  }
}

function capsForm() {
  const field = (name, label, step) => el("label", {}, `${label} `, el("input", { name, type: "number", min: step, step, class: "cap" }));
  const result = el("p", { class: "hint", id: "caps-result" });
  const form = el("form", { id: "caps-form", class: "filters" },
    el("label", {}, "Project ", el("input", { name: "project", required: true, maxlength: 120 })),
    field("run_tokens", "Run tokens", 1), field("run_cost", "Run $", 0.01),
    field("project_tokens", "Project tokens", 1), field("project_cost", "Project $", 0.01),
    el("button", { type: "submit", text: "Set budgets" }), result);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const caps = (tokens, cost) => {
      const found = {};
      if (data.get(tokens)) found.tokens = Number(data.get(tokens));
      if (data.get(cost)) found.cost_usd = Number(data.get(cost));
      return Object.keys(found).length ? found : null;
    };
    const body = { run: caps("run_tokens", "run_cost"), project: caps("project_tokens", "project_cost") };
    try {
      await api(`/console/api/settings/projects/${encodeURIComponent(data.get("project"))}`, { method: "PUT", body: JSON.stringify(body) });
      await settingsView();
    } catch (error) {
      result.textContent = String(error.message || error);
    }
  });
  return el("div", {}, el("h3", { text: "Set a project's budgets (recorded in the audit log)" }), form);
}

// ---------------------------------------------------------------- operations
function isAdmin() {
  return Boolean(me && me.role === "admin");
}

// Operations (the stop, holds, incidents) are read by the roles that may control runs.
function mayOperate() {
  return Boolean(me && me.may && me.may.control);
}

async function post(path, body) {
  return api(path, { method: "POST", body: JSON.stringify(body || {}) });
}

// The banner and the stop button, read again on every page (operators and above see them).
async function operationsBanner() {
  const alert = document.getElementById("alert");
  const control = document.getElementById("stop-control");
  let state;
  let open = [];
  if (!mayOperate()) { // a viewer reads no operations: nothing is asked for them
    alert.hidden = true;
    control.replaceChildren();
    return;
  }
  try {
    state = await api("/operations");
    open = await api("/incidents?status=open");
  } catch (error) {
    alert.hidden = true;
    control.replaceChildren();
    return;
  }
  if (state.stopped) {
    alert.className = "";
    alert.replaceChildren(`EMERGENCY STOP by ${state.stop.by}: ${state.stop.reason} — no run takes a step until it is released.`);
    alert.hidden = false;
  } else if (open.length) {
    alert.className = "incidents";
    alert.replaceChildren(
      `${open.length} open incident${open.length > 1 ? "s" : ""}: projects on hold (${[...new Set(open.map((i) => i.project))].join(", ")}). `,
      el("a", { href: "#/operations", text: "Decide" }),
    );
    alert.hidden = false;
  } else {
    alert.hidden = true;
  }
  if (!isAdmin()) {
    control.replaceChildren();
    return;
  }
  const button = state.stopped
    ? el("button", { id: "release", class: "release", type: "button", text: "Release the stop" })
    : el("button", { id: "emergency-stop", class: "emergency", type: "button", text: "Emergency stop" });
  button.addEventListener("click", async () => {
    try {
      if (state.stopped) {
        if (!window.confirm("Release the emergency stop? Queued runs go on.")) return;
        await post("/operations/release", {});
      } else {
        const reason = window.prompt("Emergency stop: every run halts at its next step. Why?");
        if (!reason || !reason.trim()) return;
        await post("/operations/stop", { reason: reason.trim() });
      }
      await route();
    } catch (error) {
      window.alert(String(error.message || error));
    }
  });
  control.replaceChildren(button);
}

function holdsTable(holds) {
  if (!holds.length) return el("p", { class: "hint", text: "none" });
  return table(["Held", "By", "Why", "Since"], holds.map((h) => el("tr", {},
    el("td", { text: h.target || h.kind }), el("td", { text: h.by }),
    el("td", { text: h.reason }), el("td", { text: age(h.at) }))));
}

function incidentCard(incident) {
  const note = el("textarea", { rows: 2, maxlength: 2000, placeholder: "why (kept with the decision)" });
  const result = el("span", { class: "problem" });
  const decide = (action) => async () => {
    try {
      await post(`/incidents/${incident.id}/${action}`, { note: note.value });
      await route();
    } catch (error) {
      result.textContent = String(error.message || error);
    }
  };
  const since = incident.spend.since_last_gate || {};
  return el("div", { class: "incident", id: `incident-${incident.id}` },
    el("h3", { text: `Incident ${incident.id}: ${incident.trigger} — project ${incident.project}` }),
    el("p", { text: incident.summary }),
    el("p", { class: "hint", text: `run ${incident.run_id || "-"}, opened ${age(incident.opened_at)} ago; spend since the last gate: ${count(since.tokens)} tokens, ${money(since.cost_usd)}` }),
    el("ul", {}, incident.last_actions.map((a) => el("li", { text: `${a.kind} by ${a.actor}: ${a.what || ""}` }))),
    isAdmin() ? el("div", {}, note, el("div", { class: "buttons" },
      el("button", { type: "button", text: "Resume", onclick: decide("resume") }),
      el("button", { type: "button", text: "Roll back", class: "action-reject", onclick: decide("rollback") }),
      el("button", { type: "button", text: "Close", onclick: decide("close") }),
      result)) : el("p", { class: "hint", text: "an admin decides" }));
}

function teamForm(state) {
  const result = el("span", { class: "problem" });
  const form = el("form", { class: "filters", id: "team-form" },
    el("label", {}, "Team ", el("input", { name: "team", required: true, maxlength: 80 })),
    el("label", {}, "Why ", el("input", { name: "reason", maxlength: 2000 })),
    el("button", { type: "submit", name: "pause", text: "Pause team" }),
    el("button", { type: "button", name: "resume", text: "Resume team" }),
    el("label", {}, "Confidence threshold ", el("input", { name: "threshold", type: "number", min: 0, max: 1, step: 0.01 })),
    el("button", { type: "button", name: "set-threshold", text: "Set threshold" }),
    result);
  const act = async (what) => {
    const data = new FormData(form);
    const team = encodeURIComponent(String(data.get("team") || "").trim());
    try {
      if (what === "pause") await post(`/teams/${team}/pause`, { reason: data.get("reason") || "" });
      if (what === "resume") await post(`/teams/${team}/resume`, {});
      if (what === "threshold") {
        const value = data.get("threshold");
        await post("/thresholds", { team: decodeURIComponent(team), confidence: value === "" ? null : Number(value) });
      }
      await route();
    } catch (error) {
      result.textContent = String(error.message || error);
    }
  };
  form.addEventListener("submit", (event) => { event.preventDefault(); act("pause"); });
  form.querySelector("[name=resume]").addEventListener("click", () => act("resume"));
  form.querySelector("[name=set-threshold]").addEventListener("click", () => act("threshold"));
  return el("div", {}, el("h3", { text: "Teams (recorded in the audit log)" }), form);
}

async function operationsView() {
  const draw = shower(); // dropped once another view is opened
  draw(el("h1", { text: "Operations" }), el("p", { text: "Loading…" }));
  try {
    const [state, open, recent] = await Promise.all([
      api("/operations"), api("/incidents?status=open"), api("/incidents?limit=20"),
    ]);
    const thresholds = Object.entries(state.thresholds);
    draw(
      el("h1", { text: "Operations" }),
      el("p", { text: state.stopped ? `Emergency stop ON: ${state.stop.by}: ${state.stop.reason}` : "Emergency stop off." }),
      el("h2", { text: "Open incidents" }),
      ...(open.length ? open.map(incidentCard) : [el("p", { class: "hint", text: "none" })]),
      el("h2", { text: "Paused teams" }), holdsTable(state.teams),
      el("h2", { text: "Projects on hold" }), holdsTable(state.projects),
      el("h2", { text: "Confidence thresholds set at run time" }),
      thresholds.length
        ? table(["Team", "Threshold"], thresholds.map(([t, v]) => el("tr", {}, el("td", { text: t }), el("td", { class: "num", text: v }))))
        : el("p", { class: "hint", text: "none: each team's own" }),
      isAdmin() ? teamForm(state) : null,
      el("h2", { text: "Recent incidents" }),
      table(["Id", "Status", "Trigger", "Project", "Decision"], recent.map((i) => el("tr", {},
        el("td", { class: "num", text: i.id }), el("td", {}, statusBadge(i.status)),
        el("td", { text: i.trigger }), el("td", { text: i.project }),
        el("td", { text: i.decision || "" })))),
    );
  } catch (error) {
    draw(el("h1", { text: "Operations" }), problem(error));
  }
}

// ---------------------------------------------------------------- routing
async function route() {
  leave();
  leave = () => {};
  routeSeq += 1;
  const [path, query] = (window.location.hash.slice(1) || "/runs").split("?");
  const params = new URLSearchParams(query || "");
  const parts = path.split("/").filter(Boolean);
  operationsBanner();
  for (const link of document.querySelectorAll("[data-nav]")) {
    link.classList.toggle("current", link.dataset.nav === parts[0] || (parts[0] === "run" && link.dataset.nav === "runs"));
  }
  if (parts[0] === "run" && parts[1]) return runView(decodeURIComponent(parts[1]));
  if (parts[0] === "new") return newRunView();
  if (parts[0] === "costs") return costsView();
  if (parts[0] === "memory") return memoryView();
  if (parts[0] === "settings") return settingsView();
  if (parts[0] === "operations") {
    if (mayOperate()) return operationsView();
    return show(el("h1", { text: "Operations" }),
      el("p", { class: "problem", id: "not-yours", text: `Operations are for operators, approvers and admins; your role (${me.role}) may not use them.` }));
  }
  return runsView(params);
}

async function start() {
  try {
    me = await api("/console/api/me");
  } catch (error) {
    show(problem(error));
    return;
  }
  document.getElementById("who").textContent = `${me.name} (${me.role})`;
  // each role is shown only the views it may use
  for (const link of document.querySelectorAll("[data-nav=operations]")) link.hidden = !mayOperate();
  for (const link of document.querySelectorAll("[data-nav=new]")) link.hidden = !mayStart();
  window.addEventListener("hashchange", route);
  await route();
}

start();
