// The video's stage gate card: the stage's output (scene cards, the timed script, the keyframe
// strip, clip previews, the voice track, the final cut), Lens's measured review, what made it,
// every version, and accept / regenerate (the stage, an earlier one, or one scene) / stop.

import { el } from "./dom.js";

export const VIDEO_TITLES = { stage: "A stage of your video" };
const ORDER = ["scenes", "script", "visuals", "animation", "voice", "render"];
const NAMES = {
  scenes: "Scenes",
  script: "Script",
  visuals: "Keyframes",
  animation: "Animation",
  voice: "Voice",
  render: "Final cut",
};

const secs = (x) => `${Number(x).toFixed(1)} s`;

/** A stored media file as a person plays it: image, video, audio or a captions link. */
export function mediaElement(ref, assetUrl, label) {
  const src = assetUrl(ref.asset_id);
  const type = ref.content_type || "";
  if (type.startsWith("video/")) {
    return el("video", { src, controls: true, muted: true, playsinline: true, preload: "metadata", "aria-label": label });
  }
  if (type.startsWith("audio/")) return el("audio", { src, controls: true, preload: "metadata", "aria-label": label });
  if (type.startsWith("image/")) return el("img", { src, alt: label, loading: "lazy" });
  return el("a", { href: src, target: "_blank", rel: "noopener" }, label);
}

function scenes(out) {
  const look = out.look || {};
  return [
    el("p", { class: "hint" }, `Look: ${look.mood || ""}, ${look.lighting || ""} light`,
      el("span", { class: "swatches" }, (look.palette || []).map((hex) => el("span", { class: "swatch", style: `background:${hex}`, title: hex })))),
    el("ol", { class: "scene-cards" }, (out.scenes || []).map((s) =>
      el("li", { class: "scene-card", "data-scene": s.id },
        el("strong", {}, `${s.id} · ${s.title}`), el("span", { class: "hint" }, ` ${secs(s.seconds)} · ${s.move.replace("_", " ")}`),
        el("p", {}, s.beat), el("p", { class: "hint" }, `Shot: ${s.shot}`)))),
  ];
}

function script(out) {
  return el("table", { class: "script-lines" },
    el("tr", {}, el("th", {}, "When"), el("th", {}, "Scene"), el("th", {}, "Line"), el("th", {}, "Pace")),
    (out.lines || []).map((l) => el("tr", { "data-scene": l.scene },
      el("td", {}, `${Number(l.start).toFixed(2)}–${Number(l.end).toFixed(2)} s`), el("td", {}, l.scene),
      el("td", {}, l.text), el("td", {}, `${l.words_per_second} w/s${l.spoken ? ` · spoken ${secs(l.spoken)}` : ""}`))));
}

function strip(items, assetUrl, what) {
  return el("div", { class: "keyframe-strip" }, Object.entries(items || {}).map(([scene, ref]) =>
    el("figure", { "data-scene": scene }, mediaElement(ref, assetUrl, `${what} of ${scene}`),
      el("figcaption", {}, scene, ref.sketch ? el("span", { class: "badge sketch" }, "sketch") : null, ref.move ? ` · ${ref.move.replace("_", " ")}` : ""))));
}

/** The status label while a stage gate waits: which stage, which version. */
export function stageWaiting(value) {
  return `${NAMES[value.stage] || value.stage} v${value.version || 1} waiting for you`;
}

/** One version's output, as the stage shows it. */
export function stageOutput(stage, out, assetUrl) {
  if (stage === "scenes") return scenes(out);
  if (stage === "script") return script(out);
  if (stage === "visuals") return strip(out.keyframes, assetUrl, "keyframe");
  if (stage === "animation") return strip(out.clips, assetUrl, "clip");
  if (stage === "voice") {
    return [mediaElement(out.track, assetUrl, "voice track"), script(out), mediaElement(out.captions, assetUrl, "captions (WebVTT)")];
  }
  const video = mediaElement(out.cut, assetUrl, "final cut");
  video.classList.add("final-cut");
  video.append(el("track", { kind: "captions", src: assetUrl(out.captions.asset_id), srclang: "en", label: "Captions", default: out.cut.captions === "track" }));
  const p = out.probe || {};
  return [video, el("p", { class: "hint" }, `${secs(p.seconds)} · ${p.width}×${p.height} · ${p.fps} fps · ${p.video_codec} + ${p.audio_codec} · ${p.frames} frames`),
    mediaElement(out.captions, assetUrl, "captions (WebVTT)")];
}

function progress(value) {
  return el("ol", { class: "stage-progress" }, ORDER.map((s) => {
    const st = (value.stages || {})[s] || {};
    const mark = s === value.stage ? "now" : st.stale ? "stale" : st.accepted ? "accepted" : st.versions ? "made" : "todo";
    return el("li", { class: `stage ${mark}`, "data-stage": s }, NAMES[s], st.versions ? ` v${st.versions}` : "", st.stale ? " (stale)" : "");
  }));
}

/** Render the stage gate into `card` (its title and message are already there). */
export function renderVideoGate(card, value, act, assetUrl) {
  const review = value.review || {};
  const findings = review.findings || [];
  card.append(
    progress(value),
    el("section", { class: "stage-output", "data-stage": value.stage }, stageOutput(value.stage, value.output || {}, assetUrl)),
    el("p", { class: "review" }, `Lens (measured): ${findings.length ? findings.join("; ") : "everything measured is within target"}`),
    el("p", { class: "hint made-by" }, `Made by: ${(value.made_by || []).join("; ")}`),
  );
  const versions = value.versions || [];
  if (versions.length > 1) {
    card.append(el("div", { class: "versions" }, el("h4", {}, "Versions"), versions.map((v) =>
      el("details", { "data-version": v.version, open: v.version === value.version },
        el("summary", {}, `v${v.version} · ${v.at}${v.feedback ? ` · “${v.feedback}”${v.scope !== "*" ? ` (${v.scope})` : ""}` : ""}`),
        stageOutput(value.stage, v.output || {}, assetUrl)))));
  }
  const scope = el("select", { name: "scope", "aria-label": "what to regenerate" },
    el("option", { value: "" }, `the whole ${NAMES[value.stage].toLowerCase()}`),
    ((value.choices || {}).deliverables || []).filter((d) => d !== value.stage).map((d) =>
      el("option", { value: d }, ORDER.includes(d) ? `an earlier stage: ${NAMES[d]}` : `scene ${d}`)));
  const feedback = el("textarea", { name: "feedback", rows: 2, placeholder: "What should change?", "aria-label": "feedback" });
  const regenerate = el("button", { type: "button", onclick: (e) => {
    const decision = { action: "regenerate", feedback: feedback.value.trim() };
    if (scope.value) decision.deliverable = scope.value;
    act(decision, e.target);
  } }, "Regenerate");
  card.append(
    el("label", { class: "field" }, "Regenerate ", scope), feedback,
    el("div", { class: "actions" },
      el("button", { type: "button", class: "primary", onclick: (e) => act({ action: "accept" }, e.target) }, "Accept"),
      regenerate,
      el("button", { type: "button", class: "danger", onclick: (e) => act({ action: "stop" }, e.target) }, "Stop")),
  );
  if (value.error) card.append(el("p", { class: "notice error", role: "alert" }, value.error));
}
