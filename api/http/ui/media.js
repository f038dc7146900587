// The Media Lab page (`/pages/media`): tabs Generate, Enhance, Interpolate, Blend and Jobs.
// Files are dropped (or picked) and uploaded at once (`POST /media/uploads`, checked by content
// on the server); a form submits a job (`POST /media/jobs`) and the Jobs tab follows it live.

import { ApiError, call, homeToken } from "./api.js";
import { el } from "./dom.js";
import { JobList } from "./media_jobs.js";

const TABS = [
  { id: "generate", label: "Generate", kind: "generate", accept: "image/*", min: 1, max: 8 },
  { id: "enhance", label: "Enhance", kind: "upscale", accept: "image/*", min: 1, max: 1 },
  { id: "interpolate", label: "Interpolate", kind: "interpolate", accept: "video/*", min: 1, max: 1 },
  { id: "blend", label: "Blend", kind: "blend", accept: "image/*", min: 2, max: 8 },
  { id: "jobs", label: "Jobs" },
];
const MODES = ["average", "multiply", "screen", "overlay", "soft_light", "difference"];

function token() {
  return homeToken();
}

/** Upload one file as multipart field `file`; the server's description of it. */
async function uploadFile(file) {
  const body = new FormData();
  body.append("file", file, file.name);
  const headers = { Accept: "application/json" };
  if (token()) headers.Authorization = `Bearer ${token()}`;
  let response;
  try {
    response = await fetch("/media/uploads", { method: "POST", headers, body });
  } catch {
    throw new ApiError(0, "offline", "Cannot reach the studio server.", true);
  }
  const data = await response.json().catch(() => ({}));
  if (!response.ok) {
    const error = data.error || {};
    throw new ApiError(response.status, error.code || "error", error.message || response.statusText);
  }
  return data;
}

/** A drop zone and the uploads it holds (drag and drop, or the file picker). */
class DropZone {
  constructor(tab, onChange) {
    this.tab = tab;
    this.items = [];
    this.onChange = onChange;
    this.input = el("input", {
      type: "file",
      accept: tab.accept,
      multiple: tab.max > 1,
      class: "visually-hidden",
      "aria-label": `${tab.label}: choose files`,
      onchange: () => this.add([...this.input.files]),
    });
    this.list = el("ul", { class: "uploads" });
    this.error = el("p", { class: "error", role: "alert", hidden: true });
    const what = tab.accept === "video/*" ? "a video (MP4, WebM, MOV)" : "images (PNG, JPEG, WebP)";
    const count = tab.max === 1 ? "one" : `${tab.min}–${tab.max}`;
    this.zone = el(
      "label",
      { class: "drop", "data-drop": tab.id },
      this.input,
      el("strong", {}, "Drop files here"),
      el("span", {}, ` or click to choose ${count}: ${what}`),
    );
    for (const name of ["dragenter", "dragover"]) {
      this.zone.addEventListener(name, (event) => {
        event.preventDefault();
        this.zone.classList.add("over");
      });
    }
    this.zone.addEventListener("dragleave", () => this.zone.classList.remove("over"));
    this.zone.addEventListener("drop", (event) => {
      event.preventDefault();
      this.zone.classList.remove("over");
      this.add([...event.dataTransfer.files]);
    });
    this.node = el("div", { class: "dropzone" }, this.zone, this.error, this.list);
  }

  async add(files) {
    this.error.hidden = true;
    for (const file of files) {
      if (this.items.length >= this.tab.max) this.remove(this.items[0]);
      const row = el("li", { class: "upload pending" }, el("span", {}, `${file.name}: uploading…`));
      this.list.append(row);
      try {
        const upload = await uploadFile(file);
        const preview = file.type.startsWith("image/")
          ? el("img", { src: URL.createObjectURL(file), alt: file.name })
          : el("span", { class: "video-badge" }, "▶");
        const item = { upload, row, weight: null };
        const remove = el("button", { type: "button", class: "icon", "aria-label": `Remove ${file.name}`, onclick: () => this.remove(item) }, "✕");
        const shape = upload.kind === "video"
          ? `${upload.width}×${upload.height} · ${upload.fps} fps · ${upload.frames} frames${upload.has_audio ? " · audio" : ""}`
          : `${upload.width}×${upload.height}`;
        row.replaceChildren(preview, el("span", { class: "name" }, upload.filename, el("small", {}, shape)));
        if (this.tab.kind === "blend") {
          item.weight = el("input", { type: "number", min: "0", max: "1000", step: "0.1", value: "1", "aria-label": `weight of ${file.name}`, class: "weight" });
          row.append(item.weight);
        }
        row.append(remove);
        row.classList.remove("pending");
        row.dataset.upload = upload.id;
        this.items.push(item);
      } catch (error) {
        row.remove();
        this.error.hidden = false;
        this.error.textContent = `${file.name}: ${error.message}`;
      }
    }
    this.onChange();
  }

  remove(item) {
    item.row.remove();
    this.items = this.items.filter((i) => i !== item);
    this.onChange();
  }
}

function field(label, control) {
  return el("label", { class: "field" }, el("span", {}, label), control);
}

/** One job form: the drop zone, the preset and the kind's own fields. */
function jobForm(tab, presets, onSubmitted) {
  const own = presets.filter((p) => p.kind === tab.kind);
  const preset = el("select", { name: "preset" }, own.map((p) => el("option", { value: p.id }, `${p.id} (v${p.version})${p.description ? ` — ${p.description}` : ""}`)));
  const extra = {};
  const fields = [field("Preset", preset)];
  if (tab.kind === "upscale") {
    extra.factor = el("select", { name: "factor" }, el("option", { value: "2" }, "2×"), el("option", { value: "4" }, "4×"));
    fields.push(field("Factor", extra.factor));
  } else if (tab.kind === "interpolate") {
    extra.target_fps = el("select", { name: "target_fps", disabled: true }, el("option", {}, "upload a video first"));
    fields.push(field("Target frame rate", extra.target_fps));
  } else if (tab.kind === "generate") {
    extra.prompt = el("textarea", { name: "prompt", rows: "3", maxlength: "2000", placeholder: "what to make from the references" });
    extra.strength = el("input", { type: "range", name: "strength", min: "0", max: "1", step: "0.05", value: "0.55" });
    extra.thread = el("select", { name: "thread_id" }, el("option", { value: "" }, "none: a Media Lab result only"));
    extra.deliverable = el("input", { name: "deliverable", maxlength: "64", placeholder: "its first deliverable" });
    call("POST", "/threads/search", { token: token(), body: { limit: 50 } })
      .then((threads) => extra.thread.append(...threads.map((t) => el("option", { value: t.thread_id }, t.metadata?.title || t.title || t.thread_id.slice(0, 8)))))
      .catch(() => {});
    fields.push(
      field("Prompt (with a thread: its brief when empty)", extra.prompt),
      field("Strength (0 keeps the references, 1 ignores them)", extra.strength),
      field("Join a studio thread as a new variant", extra.thread),
      field("Deliverable", extra.deliverable),
    );
  } else if (tab.kind === "blend") {
    extra.mode = el("select", { name: "mode" }, MODES.map((m) => el("option", { value: m }, m.replace("_", " "))));
    fields.push(field("Mode", extra.mode));
  }
  const submit = el("button", { type: "submit", class: "primary", disabled: true }, tab.label === "Enhance" ? "Upscale" : tab.label);
  const error = el("p", { class: "error", role: "alert", hidden: true });
  const zone = new DropZone(tab, () => {
    submit.disabled = zone.items.length < tab.min;
    if (tab.kind === "interpolate") {
      const fps = zone.items[0]?.upload.fps;
      extra.target_fps.disabled = !fps;
      extra.target_fps.replaceChildren(
        ...(fps ? [2, 3, 4].map((m) => el("option", { value: String(fps * m) }, `${fps * m} fps (${m}× of ${fps})`)) : [el("option", {}, "upload a video first")]),
      );
    }
  });
  const form = el("form", { class: "job-form", "data-kind": tab.kind }, zone.node, el("div", { class: "fields" }, fields), error, submit);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.hidden = true;
    const body = { kind: tab.kind, inputs: zone.items.map((i) => i.upload.id), preset: preset.value || undefined };
    if (extra.factor) body.factor = Number(extra.factor.value);
    if (extra.target_fps) body.target_fps = Number(extra.target_fps.value);
    if (extra.prompt && extra.prompt.value.trim()) body.prompt = extra.prompt.value;
    if (extra.thread?.value) body.thread_id = extra.thread.value;
    if (extra.deliverable?.value.trim()) body.deliverable = extra.deliverable.value.trim();
    if (extra.strength) body.strength = Number(extra.strength.value);
    if (extra.mode) {
      body.mode = extra.mode.value;
      body.weights = zone.items.map((i) => Number(i.weight.value));
    }
    submit.disabled = true;
    try {
      const job = await call("POST", "/media/jobs", { token: token(), body });
      onSubmitted(job);
    } catch (failure) {
      error.hidden = false;
      error.textContent = failure.message;
    } finally {
      submit.disabled = zone.items.length < tab.min;
    }
  });
  return form;
}

/** Whether the signed-in person may open the Media Lab (admins; creators when the server
 * opens it to them, which only the server knows: it is asked). */
export async function mayUseMediaLab(me) {
  return !!(me && me.media_lab);  // `GET /me` says whether the lab is open to this person
}

/** Render the Media Lab into `main`. */
export async function showMediaLab(main) {
  if (!document.querySelector("link[href='/ui/media.css']")) {
    document.head.append(el("link", { rel: "stylesheet", href: "/ui/media.css" }));
  }
  const root = el("section", { class: "media-lab", "aria-labelledby": "media-title" }, el("h1", { id: "media-title" }, "Media Lab"));
  main.replaceChildren(root);
  let presets;
  try {
    presets = (await call("GET", "/media/presets", { token: token() })).presets;
  } catch (error) {
    const text = error.status === 401 || error.status === 403 ? error.message : `The Media Lab could not load: ${error.message}`;
    root.append(el("p", { class: "error", role: "alert", id: "media-denied" }, text));
    return;
  }
  const jobs = new JobList(token);
  const panels = {};
  const tabs = el("div", { role: "tablist", class: "media-tabs", "aria-label": "Media Lab" });
  const select = (id) => {
    for (const button of tabs.children) {
      const on = button.dataset.tab === id;
      button.setAttribute("aria-selected", String(on));
      button.tabIndex = on ? 0 : -1;
      panels[button.dataset.tab].hidden = !on;
    }
  };
  for (const tab of TABS) {
    tabs.append(el("button", { type: "button", role: "tab", id: `tab-${tab.id}`, "data-tab": tab.id, "aria-controls": `panel-${tab.id}`, onclick: () => select(tab.id) }, tab.label));
    const content = tab.kind
      ? jobForm(tab, presets, (job) => {
          jobs.add(job);
          select("jobs");
        })
      : jobs.node;
    panels[tab.id] = el("div", { role: "tabpanel", id: `panel-${tab.id}`, class: "media-panel", "aria-labelledby": `tab-${tab.id}` }, content);
  }
  root.append(tabs, ...Object.values(panels));
  select(location.hash === "#jobs" ? "jobs" : "generate");
  await jobs.load();
}
