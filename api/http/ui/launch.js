// The launch kit's gate cards: scripts, thumbnails to test, and the A/B test's dashboard
// (CTR bars with intervals, a confidence meter with the 95% mark, live over the event stream),
// the start form's launch fields, and the CSV upload of real A/B figures.

import { tokenFor } from "./api.js";
import { el } from "./dom.js";

export const LAUNCH_GATES = ["script", "selection", "experiment"];

export const LAUNCH_TITLES = {
  script: "Choose a script",
  selection: "Choose the thumbnails to test",
  experiment: "A/B test",
  results: "A/B test result",
};

const pct = (x, digits = 1) => `${(100 * (x || 0)).toFixed(digits)}%`;
const minutes = (s) => `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;

/** Render a launch gate into `card` (the card's title and message are already there). */
export function renderLaunchGate(card, value, act, assetUrl) {
  if (value.gate === "script") scriptGate(card, value, act);
  else if (value.gate === "selection") selectionGate(card, value, act, assetUrl);
  else experimentGate(card, value, act, assetUrl);
  if (value.error) card.append(el("p", { class: "notice error", role: "alert" }, value.error));
}

function scriptGate(card, value, act) {
  const scripts = value.scripts || [];
  const list = el("div", { class: "scripts", role: "radiogroup", "aria-label": "scripts" });
  scripts.forEach((s, i) =>
    list.append(
      el(
        "label",
        { class: "script", "data-script": s.id },
        el("input", { type: "radio", name: "script", value: s.id, checked: i === 0 }),
        el("strong", {}, s.title),
        el("span", { class: "hint" }, ` ${s.id} · ${minutes(s.length_seconds)} · ${s.angle || ""}`),
        el("p", { class: "hook" }, `“${s.hook}”`),
        el("ol", {}, (s.outline || []).map((b) => el("li", {}, b))),
        el("p", { class: "cta" }, s.call_to_action),
      ),
    ),
  );
  const feedback = el("textarea", { name: "feedback", rows: "2", "aria-label": "What should change in the scripts?", placeholder: "What should change in the scripts?" });
  const chosen = () => list.querySelector("input:checked")?.value;
  card.append(
    list,
    feedback,
    el(
      "div",
      { class: "actions" },
      el("button", { class: "primary", onclick: (e) => act({ action: "approve", deliverable: chosen() }, e.target) }, "Use this script"),
      el("button", { onclick: (e) => (feedback.value.trim() ? act({ action: "revise", feedback: feedback.value.trim() }, e.target) : feedback.focus()) }, "Revise"),
      el("button", { class: "danger", onclick: (e) => act({ action: "stop" }, e.target) }, "Stop"),
    ),
  );
}

function selectionGate(card, value, act, assetUrl) {
  const thumbs = value.thumbnails || [];
  const grid = el("div", { class: "outputs thumbs" });
  for (const t of thumbs) {
    const score = t.readability ? `${t.readability.score}/10 at ${t.readability.at}` : "not read";
    grid.append(
      el(
        "figure",
        { class: "output", "data-variant": t.variant },
        el("img", { src: assetUrl(t.asset_id), alt: `${t.style} thumbnail` }),
        el(
          "figcaption",
          {},
          el("label", {}, el("input", { type: "checkbox", name: "tested", value: t.variant, checked: true }), ` ${t.style}`),
          el("span", { class: "score", title: (t.readability?.reasons || []).join("; ") }, ` readability ${score}`),
        ),
      ),
    );
  }
  const feedback = el("textarea", { name: "feedback", rows: "2", "aria-label": "Feedback for new thumbnails", placeholder: "Feedback for new thumbnails (optional)" });
  const tested = () => [...grid.querySelectorAll("input:checked")].map((i) => i.value);
  card.append(
    grid,
    feedback,
    el(
      "div",
      { class: "actions" },
      el("button", { class: "primary", onclick: (e) => act({ action: "approve", answer: tested().join(", ") }, e.target) }, "Start the A/B test"),
      el("button", { onclick: (e) => act({ action: "regenerate", ...(feedback.value.trim() && { feedback: feedback.value.trim() }) }, e.target) }, "Regenerate"),
      el("button", { class: "danger", onclick: (e) => act({ action: "stop" }, e.target) }, "Stop"),
    ),
  );
}

/** The dashboard's figures from a gate's `experiment`, an `experiment` event, or the saved
 * test (`values.launch.experiment`, whose figures sit under `analysis`). */
export function testView(test) {
  if (!test) return null;
  const a = test.analysis || test;
  return {
    ...test,
    variants: a.variants || [],
    leader: a.leader ?? test.leader,
    confidence: a.confidence ?? test.confidence ?? 0,
    impressions: a.impressions ?? test.impressions ?? 0,
    clicks: a.clicks ?? test.clicks ?? 0,
    data: test.data || (test.simulated ? "simulated" : "observed"),
    can_declare: !!test.can_declare,
  };
}

function experimentGate(card, value, act, assetUrl) {
  const board = el("section", { class: "dashboard", "aria-label": "A/B test dashboard" });
  board.thumbnails = value.thumbnails || [];
  board.assetUrl = assetUrl;
  card.append(board);
  drawDashboard(board, testView(value.experiment));
  if (value.experiment && !value.experiment.simulated) card.append(uploadForm());
  card.append(
    el(
      "div",
      { class: "actions" },
      el("button", { class: "primary declare", onclick: (e) => act({ action: "declare" }, e.target) }, "Declare winner"),
      el("button", { class: "danger", onclick: (e) => act({ action: "stop" }, e.target) }, "Stop test"),
    ),
  );
  syncDeclare(card, testView(value.experiment));
}

function syncDeclare(card, view) {
  const button = card.querySelector("button.declare");
  if (!button) return;
  button.disabled = !(view.status === "running" && view.can_declare);
  button.title = button.disabled
    ? `Possible from 90% confidence (now ${pct(view.confidence)})`
    : `Declare ${view.leader} the winner now`;
}

/** The result once the test has ended (no gate waits): the same dashboard, with its winner. */
export function renderLaunchResult(card, launch, assetUrl) {
  const view = testView(launch.experiment);
  card.replaceChildren();
  card.hidden = false;
  card.dataset.gate = "results";
  card.append(el("h3", { id: "gate-title" }, LAUNCH_TITLES.results));
  const board = el("section", { class: "dashboard", "aria-label": "A/B test dashboard" });
  board.thumbnails = (launch.thumbnails || []).filter((t) => (launch.experiment.variants || []).includes(t.variant));
  board.assetUrl = assetUrl;
  card.append(board);
  drawDashboard(board, view);
}

/** Redraw the dashboard in `card` from an `experiment` event (live). */
export function updateDashboard(card, data) {
  const board = card.querySelector(".dashboard");
  if (!board) return;
  const view = testView(data);
  drawDashboard(board, view);
  syncDeclare(card, view);
}

function drawDashboard(board, view) {
  if (!view) return;
  board.replaceChildren();
  const thumbs = new Map((board.thumbnails || []).map((t) => [t.variant, t]));
  const top = Math.max(0.02, ...view.variants.map((v) => v.ci_high || 0));
  const winner = view.winner;
  const status =
    view.status === "running"
      ? `running · ${view.impressions.toLocaleString()} impressions, ${view.clicks.toLocaleString()} clicks`
      : winner
        ? `winner: ${winner}`
        : view.status === "timed_out"
          ? "ended at its deadline, no winner"
          : "stopped, no winner";
  board.append(
    el(
      "p",
      { class: "test-status", "data-status": view.status },
      el("span", { class: `badge data ${view.data}` }, view.data),
      " ",
      status,
    ),
  );
  const bars = el("ul", { class: "ctr-bars" });
  for (const v of view.variants) {
    const t = thumbs.get(v.variant);
    const isWinner = winner === v.variant;
    bars.append(
      el(
        "li",
        { class: `variant-row${v.leading ? " leading" : ""}${isWinner ? " winner" : ""}`, "data-variant": v.variant },
        t ? el("img", { src: board.assetUrl(t.asset_id), alt: `${v.variant} thumbnail` }) : null,
        el(
          "div",
          { class: "bar-col" },
          el(
            "div",
            { class: "bar-head" },
            el("strong", {}, v.variant),
            v.leading ? el("span", { class: "badge leading" }, "leading") : null,
            isWinner ? el("span", { class: "badge winner" }, "winner") : null,
            el("span", { class: "ctr" }, `CTR ${pct(v.ctr, 2)}`),
          ),
          el(
            "div",
            { class: "bar", role: "img", "aria-label": `CTR ${pct(v.ctr, 2)}, 95% interval ${pct(v.ci_low, 2)} to ${pct(v.ci_high, 2)}` },
            el("span", { class: "fill", style: `width:${(100 * v.ctr) / top}%` }),
            el("span", { class: "interval", style: `left:${(100 * v.ci_low) / top}%;width:${(100 * (v.ci_high - v.ci_low)) / top}%` }),
          ),
          el("p", { class: "counts" }, `${v.impressions.toLocaleString()} impressions · ${v.clicks.toLocaleString()} clicks` + (v.p_value != null ? ` · p ${v.p_value.toFixed(4)} vs leader` : "")),
        ),
      ),
    );
  }
  board.append(bars);
  board.append(
    el(
      "div",
      { class: "meter", role: "meter", "aria-label": "confidence", "aria-valuemin": "0", "aria-valuemax": "100", "aria-valuenow": String(Math.round(100 * view.confidence)) },
      el("span", { class: "fill", style: `width:${100 * view.confidence}%` }),
      el("span", { class: "mark m90", title: "declare by hand from 90%" }),
      el("span", { class: "mark m95", title: "winner declared at 95%" }, "95%"),
    ),
    el("p", { class: "confidence" }, `confidence ${pct(view.confidence)} (always-valid, corrected for peeking)`),
  );
}

/** The thread this page shows (`/t/{id}`). */
function threadId() {
  return decodeURIComponent(location.pathname.split("/t/")[1]?.split("/")[0] || "");
}

/** A CSV of real figures (`variant,impressions,clicks`) posted to the test; a refused file
 * (a 422 naming its bad row) is said here, and nothing of it is added. */
function uploadForm() {
  const file = el("input", { type: "file", name: "observations", accept: ".csv,text/csv", "aria-label": "CSV of impressions and clicks" });
  const status = el("p", { class: "upload-status", role: "status" });
  const button = el("button", { type: "submit" }, "Add figures");
  const form = el(
    "form",
    { class: "upload", "aria-label": "Add real figures" },
    el("label", { class: "field" }, "Add real figures ", el("span", { class: "hint" }, "(a CSV: variant,impressions,clicks — each row adds to the totals)"), file),
    el("div", { class: "actions" }, button),
    status,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const chosen = file.files?.[0];
    status.classList.remove("error");
    if (!chosen) {
      status.textContent = "Choose a CSV file first.";
      return;
    }
    button.disabled = true;
    status.textContent = `Sending ${chosen.name}…`;
    try {
      status.textContent = await postObservations(await chosen.text(), chosen.name);
      file.value = "";
    } catch (error) {
      status.classList.add("error");
      status.setAttribute("role", "alert");
      status.textContent = error.message;
    } finally {
      button.disabled = false;
    }
  });
  return form;
}

async function postObservations(text, name) {
  const tid = threadId();
  let response;
  try {
    response = await fetch(`/threads/${encodeURIComponent(tid)}/experiment/observations`, {
      method: "POST",
      headers: { "Content-Type": "text/csv", Accept: "application/json", Authorization: `Bearer ${tokenFor(tid)}` },
      body: text,
    });
  } catch {
    throw new Error("Cannot reach the studio server; try again when it is back.");
  }
  const data = await response.json().catch(() => ({}));
  if (!response.ok) {
    const why = data.error?.message || (typeof data.detail === "string" ? data.detail : response.statusText);
    throw new Error(`${name} was not added: ${why}`);
  }
  return `Added ${data.rows} row${data.rows === 1 ? "" : "s"} from ${name}; the dashboard updates as they are counted.`;
}

/** `settings.launch` from the start form's launch fields (only what the person filled in). */
export async function launchSettings(form) {
  const out = {};
  const text = (name) => (form.elements[name]?.value || "").trim();
  if (text("niche")) out.niche = text("niche");
  if (text("audience")) out.audience = text("audience");
  const keywords = text("keywords").split(",").map((k) => k.trim()).filter(Boolean);
  if (keywords.length) out.keywords = keywords;
  const file = form.elements.trends?.files?.[0];
  if (file) out.figures_csv = await file.text();
  if (text("provider") === "manual") out.provider = "manual";
  return out;
}

/** Show the launch fields only while the Format is the launch kit. */
export function wireLaunchFields(form) {
  const fields = form.querySelector(".launch-fields");
  if (!fields) return;
  const sync = () => (fields.hidden = form.elements.format.value !== "launch");
  form.elements.format.addEventListener("change", sync);
  sync();
}
