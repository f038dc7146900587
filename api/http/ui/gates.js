// Gate cards: the plan, the outputs, a clarifying question. Each answer resumes the graph.

import { persona } from "./chat.js";
import { el } from "./dom.js";
import { LAUNCH_GATES, LAUNCH_TITLES, renderLaunchGate } from "./launch.js";
import { SKETCH_TITLE, isSketch, labMade } from "./variants.js";
import { VIDEO_TITLES, renderVideoGate } from "./video.js";

const TITLES = {
  plan: "Approve the plan",
  output: "Approve the outputs",
  clarify: "A question for you",
  consensus: "The team needs your call",
};

function swatches(palette = []) {
  return el(
    "span",
    { class: "swatches", "aria-label": `palette ${palette.join(", ")}` },
    palette.map((hex) => el("span", { class: "swatch", style: `background:${hex}`, title: hex })),
  );
}

const joined = (...parts) => parts.filter((p) => p !== null && p !== undefined && p !== "").join(" · ");
const known = (value, text) => (value === null || value === undefined || value === "" ? null : text);

/** How the image is made; a sketch shows no sampler settings (it has no sampler). */
function recipeText(spec, sketch) {
  const sampling = sketch
    ? ["sketch"]
    : [known(spec.steps, `${spec.steps} steps`), known(spec.cfg, `cfg ${spec.cfg}`), spec.sampler];
  return joined(spec.template, ...sampling, known(spec.seed, `seed ${spec.seed}`));
}

function sketchBadge() {
  return el("span", { class: "badge sketch", title: SKETCH_TITLE }, "sketch");
}

/** One spec as a person reads it: what, how it looks, how it is framed, how it is made. */
export function specCard(spec) {
  const sketch = isSketch(spec);
  const size = spec.width && spec.height ? `${spec.width}×${spec.height}` : null;
  const rows = [
    ["Looks", joined(spec.mood, known(spec.lighting, `${spec.lighting} light`), spec.weather)],
    ["Framing", joined(spec.subject, known(spec.camera, `camera ${spec.camera}`), size)],
    ["Recipe", recipeText(spec, sketch)],
  ];
  // what the person directed, carried into this spec's prompts (scope and source in brackets)
  if ((spec.directions || []).length) rows.push(["Your directions", spec.directions.join("; ")]);
  return el(
    "article",
    { class: "spec", "data-deliverable": spec.deliverable },
    el("h4", {}, spec.deliverable, " ", swatches(spec.palette), sketch ? [" ", sketchBadge()] : null),
    el("p", { class: "prompt", title: spec.prompt }, spec.prompt),
    el("dl", {}, rows.map(([k, v]) => [el("dt", {}, k), el("dd", {}, v)])),
  );
}

function deliverablePicker(ids, label) {
  return el(
    "label",
    { class: "field" },
    label,
    el(
      "select",
      { name: "deliverable" },
      el("option", { value: "" }, "all deliverables"),
      ids.map((id) => el("option", { value: id }, id)),
    ),
  );
}

function feedbackBox(placeholder) {
  return el("textarea", { name: "feedback", rows: "2", placeholder, "aria-label": placeholder });
}

/**
 * Render the waiting gate into `card`. `answer(decision)` resumes it and returns a promise;
 * `assetUrl(id)` gives an image URL; `onStop()` is the stop button's action.
 */
export function renderGate(card, value, { answer, assetUrl, current = {}, assets = new Map() }) {
  card.replaceChildren();
  if (!value) {
    card.hidden = true;
    return;
  }
  card.hidden = false;
  card.dataset.gate = value.gate;
  const status = el("p", { class: "gate-status", role: "status" });
  const act = async (decision, button) => {
    for (const b of card.querySelectorAll("button")) b.disabled = true;
    status.textContent = "Sending…";
    try {
      await answer(decision);
      status.textContent = "Sent — the team is on it.";
    } catch (error) {
      status.textContent = error.message;
      for (const b of card.querySelectorAll("button")) b.disabled = false;
      button?.focus();
    }
  };
  const title = el("h3", { id: "gate-title" }, TITLES[value.gate] || LAUNCH_TITLES[value.gate] || VIDEO_TITLES[value.gate] || "Your decision");
  card.setAttribute("aria-labelledby", "gate-title");
  card.append(title, el("p", { class: "gate-message" }, value.message || ""));
  if (value.gate === "plan") planGate(card, value, act);
  else if (value.gate === "output") outputGate(card, value, act, assetUrl, current, assets);
  else if (LAUNCH_GATES.includes(value.gate)) renderLaunchGate(card, value, act, assetUrl);
  else if (value.gate === "stage") renderVideoGate(card, value, act, assetUrl);
  else questionGate(card, value, act);
  card.append(status);
  card.scrollTop = 0;
  card.querySelector("button.primary")?.focus({ preventScroll: true });
}

function planGate(card, value, act) {
  const specs = value.specs || [];
  card.append(el("div", { class: "specs" }, specs.map(specCard)));
  const review = value.review || {};
  if ((review.reasons || []).length) {
    const verdict = review.approved ? "approves, noting" : "has concerns";
    card.append(el("p", { class: "review" }, `${persona("critic").name} ${verdict}: ${review.reasons.join("; ")}`));
  }
  for (const note of value.notes || []) card.append(el("p", { class: "note" }, note));
  const feedback = feedbackBox("What should change in the plan?");
  const picker = deliverablePicker(specs.map((s) => s.deliverable), "Revise");
  const actions = el(
    "div",
    { class: "actions" },
    el("button", { class: "primary", onclick: (e) => act({ action: "approve" }, e.target) }, "Approve plan"),
    el(
      "button",
      {
        onclick: (e) => {
          if (!feedback.value.trim()) return feedback.focus();
          const deliverable = picker.querySelector("select").value;
          act({ action: "revise", feedback: feedback.value.trim(), ...(deliverable && { deliverable }) }, e.target);
        },
      },
      "Revise",
    ),
    el("button", { class: "danger", onclick: (e) => act({ action: "stop" }, e.target) }, "Stop"),
  );
  card.append(el("div", { class: "revise" }, feedback, picker), actions);
}

const scoreOf = (x) => x.score ?? x.scores?.score;

/** The variants of one deliverable, oldest first, each `{asset_id, iteration?, score?, ...}`:
 * from the gate's `variants` (ids) and `candidates` (newer variants that are not current),
 * the output's own `candidates`, and the outputs the gallery knows. A Media Lab result that
 * joined the thread after the gate asked ("upscale hero-a 2x" said while it waits) is not in the
 * gate's lists; the gallery knows it, and the gate takes a pick of it (D20). */
function variantsOf(value, output, assets, currentId) {
  const d = output.deliverable;
  const lab = [...assets.values()].filter((a) => a.deliverable === d && labMade(a));
  const listed = (pool) =>
    Array.isArray(pool)
      ? pool.filter((c) => (typeof c === "string" ? assets.get(c)?.deliverable === d : c?.deliverable === d))
      : (pool || {})[d] || [];
  const raw = [
    ...listed(value.variants),
    ...listed(value.candidates),
    ...(Array.isArray(output.candidates) ? output.candidates : []),
    output,
    currentId,
    ...lab,
  ];
  const seen = new Map();
  for (const c of raw) {
    const id = typeof c === "string" ? c : c?.asset_id;
    if (!id) continue;
    const known = assets.get(id) || {};
    seen.set(id, { ...known, ...seen.get(id), ...(typeof c === "string" ? {} : c), asset_id: id });
  }
  return [...seen.values()].sort((a, b) => (a.iteration ?? 0) - (b.iteration ?? 0));
}

function scoreLabel(x) {
  const score = scoreOf(x);
  return score === null || score === undefined ? "not scored" : `${score}/10`;
}

/** The current variant of each deliverable, large; its other variants one click away, each
 * with a "make current" button (the gate's `pick`). */
function outputGate(card, value, act, assetUrl, current, assets) {
  const outputs = value.outputs || [];
  const grid = el("div", { class: "outputs" });
  for (const o of outputs) {
    const variants = variantsOf(value, o, assets, current[o.deliverable]);
    const currentId =
      current[o.deliverable] || variants.find((v) => v.current === true)?.asset_id || o.asset_id;
    const shown = variants.find((v) => v.asset_id === currentId) || o;
    const reasons = shown.reasons || shown.scores?.reasons || [];
    grid.append(
      el(
        "figure",
        { class: "output", "data-deliverable": o.deliverable, "data-asset-id": currentId },
        el("img", {
          src: assetUrl(currentId),
          alt: `${o.deliverable}, iteration ${shown.iteration ?? "?"}`,
          loading: "lazy",
        }),
        el(
          "figcaption",
          {},
          el(
            "div",
            { class: "output-head" },
            el("strong", {}, o.deliverable),
            el("span", { class: "score" }, scoreLabel(shown)),
            labMade(shown)
              ? el("span", { class: "iter" }, labMade(shown))
              : shown.iteration !== undefined
                ? el("span", { class: "iter" }, `iteration ${shown.iteration}`)
                : null,
            el("span", { class: "badge current" }, "current"),
            isSketch(shown) ? sketchBadge() : null,
          ),
          el("ul", { class: "reasons" }, reasons.slice(0, 2).map((r) => el("li", {}, r))),
        ),
        variants.length > 1
          ? el(
              "div",
              { class: "variants", role: "group", "aria-label": `variants of ${o.deliverable}` },
              variants.map((v, i) => {
                const isCurrent = v.asset_id === currentId;
                const label = isCurrent ? "current" : "make current";
                const made = labMade(v); // "hero-a · upscaled 2x", not its source's iteration
                const what = made ? `${o.deliverable} · ${made} · ` : v.iteration !== undefined ? `it. ${v.iteration} · ` : "";
                return el(
                  "button",
                  {
                    type: "button",
                    class: "variant",
                    title: isCurrent
                      ? `variant ${i + 1} is current`
                      : `make variant ${i + 1} current (${scoreLabel(v)}); the others stay one click away`,
                    "aria-pressed": String(isCurrent),
                    onclick: (e) => isCurrent || act({ action: "pick", asset_id: v.asset_id }, e.currentTarget),
                  },
                  el("img", { src: assetUrl(v.asset_id), alt: `variant ${i + 1} of ${o.deliverable}` }),
                  el("span", { class: "variant-label" }, `${what}${label}`),
                );
              }),
            )
          : null,
      ),
    );
  }
  card.append(grid);
  const drift = value.drift || {};
  for (const flag of drift.flags || []) card.append(el("p", { class: "drift" }, `Drift: ${flag}`));
  const failures = value.failures || [];
  for (const f of failures) {
    card.append(el("p", { class: "notice error" }, `${f.deliverable} could not be generated: ${f.message}`));
  }
  if (value.stop_reason) card.append(el("p", { class: "note" }, `Stopped iterating: ${value.stop_reason}`));
  const feedback = feedbackBox("Feedback for the regeneration (optional)");
  const names = [...new Set([...outputs.map((o) => o.deliverable), ...failures.map((f) => f.deliverable)])];
  const picker = deliverablePicker(names, "Regenerate");
  const actions = el(
    "div",
    { class: "actions" },
    el("button", { class: "primary", onclick: (e) => act({ action: "approve" }, e.target) }, "Approve outputs"),
    el(
      "button",
      {
        onclick: (e) => {
          const deliverable = picker.querySelector("select").value;
          const decision = { action: "regenerate", ...(deliverable && { deliverable }) };
          if (feedback.value.trim()) decision.feedback = feedback.value.trim();
          act(decision, e.target);
        },
      },
      "Regenerate",
    ),
    el("button", { class: "danger", onclick: (e) => act({ action: "stop" }, e.target) }, "Stop"),
  );
  card.append(el("div", { class: "revise" }, feedback, picker), actions);
}

function questionGate(card, value, act) {
  const box = el("textarea", { name: "answer", rows: "2", "aria-label": "Your answer" });
  if (value.question && value.question !== value.message) card.append(el("p", {}, value.question));
  const send = (e) => {
    if (!box.value.trim()) return box.focus();
    act({ action: "answer", answer: box.value.trim() }, e.target);
  };
  box.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey) {
      e.preventDefault();
      send(e);
    }
  });
  card.append(
    box,
    el(
      "div",
      { class: "actions" },
      el("button", { class: "primary", onclick: send }, "Answer"),
      el("button", { class: "danger", onclick: (e) => act({ action: "stop" }, e.target) }, "Stop"),
    ),
  );
}
