// The gallery: every output with its critic score, reasons and drift, and a lineage panel.

import { specCard } from "./gates.js";
import { SKETCH_TITLE, currentSet, isSketch, labMade, verdictOf } from "./variants.js";
import { mediaElement } from "./video.js";

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function scoreText(scores) {
  return typeof scores?.score === "number" ? `${scores.score}/10` : "not scored yet";
}

const SCENE_PIECES = { visuals: "keyframe", animation: "clip" };
const VIDEO_FILES = { track: "Voice track", captions: "Captions", cut: "Final cut" };

/** A video's stored piece (`video:animation:s1`) as people say it: "Scene s1 · clip", its
 * stage and part; null for an image. */
export function videoPiece(deliverable) {
  const found = /^video:(\w+):(.+)$/.exec(deliverable || "");
  if (!found) return null;
  const [, stage, part] = found;
  const scene = /^s\d+$/.test(part) ? part : null;
  const name = scene ? `Scene ${scene} · ${SCENE_PIECES[stage] || stage}` : VIDEO_FILES[part] || part;
  return { stage, part, scene, name };
}

/** The tile's name: "Scene s1 · clip · version 2" for a video piece, else the deliverable. */
function label(item) {
  const piece = videoPiece(item.deliverable);
  if (piece) return `${piece.name} · version ${item.iteration}`;
  const made = labMade(item); // a Media Lab result: what was made, not its source's iteration
  return made ? `${item.deliverable} · ${made}` : `${item.deliverable} · iteration ${item.iteration}`;
}

/** Lens's review of a video piece: the findings of its stage version about its scene or about
 * no scene in particular (every finding for the voice track, captions and cut); null while the
 * version is unreviewed. */
function videoReview(item, values) {
  const piece = videoPiece(item.deliverable);
  const version = piece && values.video?.stages?.[piece.stage]?.versions?.[item.iteration - 1];
  const findings = version?.review?.findings;
  if (!Array.isArray(findings)) return null;
  if (!piece.scene) return findings;
  const about = new RegExp(`\\b${piece.scene}\\b`);
  return findings.filter((f) => about.test(f) || !/\bs\d+\b/.test(f));
}

/** What the tile says of the review: the image's score, or Lens's word on the video piece. */
function reviewOf(item, values) {
  if (!videoPiece(item.deliverable)) return { text: scoreText(item.scores), reasons: item.scores?.reasons || [] };
  const found = videoReview(item, values);
  if (found === null) return { text: "not reviewed yet", reasons: [] };
  const text = found.length ? `Lens: ${found.length} finding${found.length > 1 ? "s" : ""}` : "Lens: within target";
  return { text, reasons: found };
}

function sketchBadge() {
  const badge = el("span", "badge sketch", "sketch");
  badge.title = SKETCH_TITLE;
  return badge;
}

export class Gallery {
  /** `regenerate(item)` asks for an exact regeneration; `showDiscussion(item)` jumps to it. */
  constructor(grid, dialog, { regenerate, showDiscussion, assetUrl }) {
    this.grid = grid;
    this.dialog = dialog;
    this.regenerate = regenerate;
    this.showDiscussion = showDiscussion;
    this.assetUrl = assetUrl;
    this.items = [];
    this.current = {};
    this.values = {};
    dialog.addEventListener("click", (event) => {
      if (event.target === dialog) dialog.close();
    });
  }

  /** Render the thread's outputs (newest iteration first) with what the state says of them. */
  render(items, values = {}) {
    this.items = items;
    const current = currentSet(values, items);
    this.current = current;
    this.values = values;
    const flags = values.drift?.flags || [];
    this.grid.replaceChildren();
    if (!items.length) {
      this.grid.append(el("p", "empty", "Outputs appear here as the team generates them."));
      return;
    }
    const ordered = [...items].sort(
      (a, b) => b.iteration - a.iteration || a.deliverable.localeCompare(b.deliverable),
    );
    for (const item of ordered) {
      const verdict = verdictOf(item, current);
      const figure = el("figure", `tile ${verdict || ""}`.trim());
      figure.dataset.assetId = item.asset_id;
      figure.dataset.deliverable = item.deliverable;
      const open = el("button", "tile-open");
      open.type = "button";
      const named = label(item);
      const review = reviewOf(item, values);
      open.setAttribute("aria-label", `Lineage of ${named}`);
      const img = mediaElement(item, this.assetUrl, named);
      if (item.width) img.width = item.width;
      if (item.height) img.height = item.height;
      open.append(img);
      open.addEventListener("click", () => this.open(item));
      const caption = el("figcaption");
      const head = el("div", "tile-head");
      const piece = videoPiece(item.deliverable);
      const when = labMade(item) || `${piece ? "version" : "iteration"} ${item.iteration}`;
      head.append(el("strong", "", piece ? piece.name : item.deliverable), el("span", "iter", when));
      head.append(el("span", "score", review.text));
      if (verdict) head.append(el("span", `badge ${verdict}`, verdict));
      if (isSketch(item)) head.append(sketchBadge());
      caption.append(head);
      const reasons = el("ul", "reasons");
      for (const reason of review.reasons) reasons.append(el("li", "", reason));
      caption.append(reasons);
      for (const flag of flags.filter((f) => f.includes(item.deliverable))) {
        caption.append(el("p", "drift", `Drift: ${flag}`));
      }
      figure.append(open, caption);
      this.grid.append(figure);
    }
  }

  /** The lineage panel: which discussion and spec produced the image, seed, template, iteration. */
  open(item) {
    const lineage = item.lineage || {};
    const spec = lineage.spec || {};
    const body = el("div", "lineage");
    const sketch = isSketch(item);
    const named = label(item);
    const title = el("h3", "", named);
    if (sketch) title.append(" ", sketchBadge());
    title.id = "lineage-title";
    const img = mediaElement(item, this.assetUrl, named);
    const facts = el("dl");
    const review = reviewOf(item, this.values);
    const rows = [
      [videoPiece(item.deliverable) ? "Review" : "Score", [review.text, ...review.reasons].join("; ")],
      ["Status", verdictOf(item, this.current)],
      ["Seed", lineage.seed],
      ["Template", spec.template],
      ["Iteration", `${item.iteration} (attempt ${lineage.attempt ?? 0})`],
      ["Generator", sketch ? `${lineage.generator} (sketch: layout only, no image model)` : lineage.generator],
      ["Job", lineage.job_id],
      ["SHA-256", (lineage.sha256 || "").slice(0, 16)],
    ];
    for (const [k, v] of rows) facts.append(el("dt", "", k), el("dd", "", String(v ?? "—")));
    const actions = el("div", "actions");
    const discussion = el("button", "", "Show the discussion");
    discussion.type = "button";
    discussion.addEventListener("click", () => {
      this.dialog.close();
      this.showDiscussion(item);
    });
    const again = el("button", "primary", "Regenerate exactly");
    again.title = "Re-run this output's spec and seed as they are (Pixel does not revise them)";
    again.type = "button";
    again.hidden = document.body.dataset.access === "view"; // a view-only share link
    const status = el("p", "gate-status");
    status.setAttribute("role", "status");
    again.addEventListener("click", async () => {
      again.disabled = true;
      status.textContent = "Re-running this recipe…";
      try {
        await this.regenerate(item);
        status.textContent = `Re-running ${item.deliverable} exactly: this spec and seed.`;
      } catch (error) {
        status.textContent = error.message;
        again.disabled = false;
      }
    });
    const close = el("button", "", "Close");
    close.type = "button";
    close.addEventListener("click", () => this.dialog.close());
    actions.append(again, discussion, close);
    body.append(title, img, facts, el("h4", "", "Spec"), specCard({ deliverable: item.deliverable, ...spec, sketch }));
    body.append(actions, status);
    this.dialog.replaceChildren(body);
    this.dialog.setAttribute("aria-labelledby", "lineage-title");
    this.dialog.showModal();
    close.focus({ preventScroll: true });
    this.dialog.scrollTop = 0;
  }
}
