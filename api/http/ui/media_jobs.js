// The Media Lab's Jobs tab: every job as a card, kept live by its SSE stream (progress, end),
// with cancel, and retry for a failed or cancelled job; a finished job shows its result: a
// before/after slider for an upscale, the video and its frame rate for an interpolation, the
// sources beside a blend or a generation.

import { call } from "./api.js";
import { el } from "./dom.js";
import { fetchFile, saveBlob } from "./library.js";

const FINAL = new Set(["SUCCEEDED", "FAILED", "CANCELLED"]);
const RETRYABLE = new Set(["FAILED", "CANCELLED"]); // a job that succeeded has nothing to retry
const LABELS = { upscale: "Upscale", interpolate: "Interpolate", generate: "Generate", blend: "Blend" };
const blobs = new Map(); // path -> object URL, so a card re-drawn does not fetch again

async function objectUrl(path) {
  if (!blobs.has(path)) blobs.set(path, fetchFile(path).then(({ blob }) => URL.createObjectURL(blob)));
  return blobs.get(path);
}

function media(path, { video = false, alt = "" } = {}) {
  const node = video ? el("video", { controls: true, loop: true, muted: true, playsinline: true, preload: "metadata" }) : el("img", { alt, loading: "lazy" });
  objectUrl(path).then((url) => (node.src = url)).catch(() => node.replaceWith(el("span", { class: "muted" }, "(not available)")));
  return node;
}

function source(input) {
  return input.upload_id ? `/media/uploads/${encodeURIComponent(input.upload_id)}/file` : null;
}

/** A before/after slider: the result over the source, cut at the slider's position. */
function beforeAfter(job) {
  const after = media(`/media/jobs/${encodeURIComponent(job.id)}/artifact`, { alt: "after (upscaled)" });
  after.classList.add("after");
  const before = media(source(job.inputs[0]), { alt: "before (source)" });
  before.classList.add("before");
  const frame = el("div", { class: "compare" }, before, after);
  const slider = el("input", { type: "range", min: "0", max: "100", value: "50", "aria-label": "before / after" });
  const cut = () => frame.style.setProperty("--cut", `${slider.value}%`);
  slider.addEventListener("input", cut);
  cut();
  return el("figure", { class: "before-after" }, frame, slider, el("figcaption", {}, "before ◀ ▶ after · ", sizeText(job.artifact)));
}

function sizeText(artifact) {
  return `${artifact.width}×${artifact.height}`;
}

function videoResult(job) {
  const a = job.artifact;
  const detail = a.backend_detail || {};
  const from = detail.source_fps ? ` (${detail.multiple}× from ${detail.source_fps} fps)` : "";
  const caption = `${a.fps} fps${from} · ${a.frames} frames · ${a.duration_s} s · ${a.has_audio ? "audio kept" : "no audio"}`;
  return el("figure", { class: "video-result" }, media(`/media/jobs/${encodeURIComponent(job.id)}/artifact`, { video: true }), el("figcaption", { class: "fps" }, caption));
}

function withSources(job) {
  const weights = job.artifact.lineage.weights || [];
  const sources = job.inputs.map((input, i) =>
    el("figure", { class: "source" }, media(source(input), { alt: input.filename || `source ${i + 1}` }), el("figcaption", {}, weights.length ? `${Math.round(weights[i] * 100)} %` : input.filename || `reference ${i + 1}`)),
  );
  const result = el("figure", { class: "result" }, media(`/media/jobs/${encodeURIComponent(job.id)}/artifact`, { alt: "result" }), el("figcaption", {}, "result · ", sizeText(job.artifact)));
  return el("div", { class: "sources-result" }, el("div", { class: "sources" }, sources), el("span", { class: "arrow", "aria-hidden": "true" }, "→"), result);
}

function result(job) {
  if (job.status !== "SUCCEEDED" || !job.artifact) return null;
  const shown = job.kind === "upscale" ? beforeAfter(job) : job.kind === "interpolate" ? videoResult(job) : withSources(job);
  const download = el("button", { type: "button", onclick: async () => saveBlob(await fetchFile(`/media/jobs/${encodeURIComponent(job.id)}/artifact`)) }, `Download ${job.artifact.name}`);
  return el("div", { class: "job-result" }, shown, el("p", { class: "label" }, job.artifact.label), download);
}

export class JobList {
  constructor(token) {
    this.token = token;
    this.cards = new Map();
    this.streams = new Map();
    this.list = el("ul", { class: "job-list", "aria-live": "polite" });
    this.more = el("button", { type: "button", hidden: true, onclick: () => this.load(this.cursor) }, "Older jobs");
    this.empty = el("p", { class: "muted" }, "No jobs yet: submit one from another tab.");
    this.node = el("div", { class: "jobs" }, this.empty, this.list, this.more);
    setInterval(() => this.refresh(), 10_000); // jobs other people or the CLI submit
  }

  async load(cursor = null) {
    const query = cursor ? `?cursor=${encodeURIComponent(cursor)}` : "";
    const page = await call("GET", `/media/jobs${query}`, { token: this.token() });
    for (const job of page.jobs) this.show(job, { append: true });
    this.cursor = page.next_cursor;
    this.more.hidden = !page.next_cursor;
  }

  async refresh() {
    const page = await call("GET", "/media/jobs?limit=10", { token: this.token() }).catch(() => null);
    for (const job of (page?.jobs || []).reverse()) if (!this.cards.has(job.id)) this.show(job);
  }

  add(job) {
    this.show(job);
  }

  show(job, { append = false } = {}) {
    this.empty.hidden = true;
    const card = this.render(job);
    const old = this.cards.get(job.id);
    if (old) old.replaceWith(card);
    else if (append) this.list.append(card);
    else this.list.prepend(card);
    this.cards.set(job.id, card);
    if (!FINAL.has(job.status)) this.follow(job);
  }

  render(job) {
    const progress = el("progress", { max: "1", value: String(job.progress), "aria-label": "progress" });
    const actions = el("div", { class: "actions" });
    if (!FINAL.has(job.status)) {
      actions.append(el("button", { type: "button", class: "danger", "data-action": "cancel", onclick: () => this.act(job, "cancel") }, "Cancel"));
    } else if (RETRYABLE.has(job.status)) {
      actions.append(el("button", { type: "button", "data-action": "retry", onclick: () => this.act(job, "retry") }, "Retry"));
    }
    return el(
      "li",
      { class: "job", "data-job": job.id, "data-status": job.status, "data-kind": job.kind },
      el("header", {}, el("strong", {}, LABELS[job.kind] || job.kind), el("span", { class: `status ${job.status.toLowerCase()}` }, job.status), el("small", { class: "muted made" }, `${job.made || `${job.preset.id} v${job.preset.version}`} · ${job.created_at.slice(0, 19).replace("T", " ")}`)),
      FINAL.has(job.status) ? null : el("div", { class: "progress" }, progress, el("span", { class: "stage" }, job.stage || "queued")),
      job.error ? el("p", { class: "error" }, `${job.error.code}: ${job.error.message}`) : null,
      job.retry_of ? el("p", { class: "muted" }, `retry of ${job.retry_of.slice(-8)}`) : null,
      result(job),
      actions,
    );
  }

  async act(job, action) {
    try {
      const answer = await call("POST", `/media/jobs/${encodeURIComponent(job.id)}/${action}`, { token: this.token() });
      this.show(answer);
    } catch (error) {
      this.cards.get(job.id)?.append(el("p", { class: "error", role: "alert" }, error.message));
    }
  }

  /** Follow the job's SSE stream (fetch, so this machine's token goes in a header) until it
   * ends; a dropped connection is resumed from the last event id. */
  async follow(job) {
    if (this.streams.has(job.id)) return;
    const controller = new AbortController();
    this.streams.set(job.id, controller);
    let last = null;
    try {
      while (true) {
        const headers = { Accept: "text/event-stream" };
        if (this.token()) headers.Authorization = `Bearer ${this.token()}`;
        if (last) headers["Last-Event-ID"] = last;
        const response = await fetch(`/media/jobs/${encodeURIComponent(job.id)}/stream`, { headers, signal: controller.signal });
        if (!response.ok) return;
        const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = "";
        while (true) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += value.replace(/\r\n?/g, "\n");
          let end;
          while ((end = buffer.indexOf("\n\n")) >= 0) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            const event = {};
            for (const line of block.split("\n")) {
              const [name, ...rest] = line.split(":");
              if (name) event[name] = rest.join(":").trimStart();
            }
            if (event.id) last = event.id;
            if (await this.onEvent(job, event)) return;
          }
        }
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }
    } catch {
      // aborted, or the server went away: the list refresh picks the job up again
    } finally {
      this.streams.delete(job.id);
    }
  }

  /** Apply one stream event to the card; true once the job has ended. */
  async onEvent(job, event) {
    const card = this.cards.get(job.id);
    if (event.event === "progress" && card) {
      const data = JSON.parse(event.data || "{}");
      if (card.dataset.status === "QUEUED") {
        card.dataset.status = "RUNNING";
        const badge = card.querySelector(".status");
        badge.textContent = "RUNNING";
        badge.className = "status running";
      }
      const bar = card.querySelector("progress");
      if (bar) bar.value = data.fraction;
      const stage = card.querySelector(".stage");
      if (stage) stage.textContent = data.stage;
      return false;
    }
    if (event.event === "done" || event.event === "error") {
      if (event.event === "error") return false; // `done` follows with the end
      const fresh = await call("GET", `/media/jobs/${encodeURIComponent(job.id)}`, { token: this.token() });
      this.show(fresh);
      return true;
    }
    return false;
  }
}
