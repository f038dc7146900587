// The threads list and the settings dialog (models per role, budgets, auto-approve).

import { ApiError, call, searchThreads } from "./api.js";

const ROLES = ["planner", "style", "composition", "story", "director", "critic", "consistency", "manager"];
const BUDGETS = ["max_iterations", "max_generations", "max_seconds", "max_tokens"];
const DEFAULTS_KEY = "studio.defaults";

function ago(iso) {
  const seconds = Math.max(0, (Date.now() - Date.parse(iso)) / 1000);
  if (seconds < 60) return "just now";
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)} h ago`;
  return new Date(iso).toLocaleDateString();
}

export const NO_BRIEF_YET = "New thread — waiting for your brief";

function messageText(message) {
  const content = message.content;
  if (Array.isArray(content)) return content.map((part) => (typeof part === "string" ? part : part?.text || "")).join(" ");
  return typeof content === "string" ? content : "";
}

/** The thread's name: its title; else the start of its brief (a thread made by another
 * client); else, with no brief yet (a question waits for it), a placeholder that says so. A
 * branch keeps its source's title, marked "(branch)" so the two are told apart. */
export function threadTitle(thread) {
  const { name, suffix } = titleParts(thread);
  return name + suffix;
}

/** The person's words of the title and what the studio adds (" (branch)"). */
function titleParts(thread) {
  const meta = thread.metadata || {};
  const branch = meta.forked_from?.thread_id ? " (branch)" : "";
  if (typeof meta.title === "string" && meta.title.trim()) return { name: meta.title.trim(), suffix: branch };
  const brief = (thread.values?.messages || []).filter((m) => m.type === "human").map(messageText).find((t) => t.trim());
  // a thread with no title (the CLI's, or a page's left empty) is named by its brief: so is
  // its branch, which must be told apart from it all the same
  return brief ? { name: brief.trim().slice(0, 60), suffix: branch } : { name: NO_BRIEF_YET, suffix: branch };
}

/** Show the thread's title in `node` with the person's words isolated (<bdi>): a title with
 * U+202E (right-to-left override) reads reversed itself but cannot reorder what follows it
 * (" (branch)", the page's own words; D17). Also sets the tab's title, isolated the same way. */
export function showThreadTitle(node, thread, { tab = false } = {}) {
  const { name, suffix } = titleParts(thread);
  const words = document.createElement("bdi");
  words.textContent = name;
  // its own box: in the threads list a long name is cut short, never " (branch)"
  const mark = document.createElement("span");
  mark.className = "t-suffix";
  mark.textContent = suffix;
  node.replaceChildren(words, mark);
  if (tab) document.title = `${isolatedTitle(thread)} · Creative Studio`;
}

/** The title as plain text (a tooltip, the tab) with the person's words between FSI and PDI
 * (U+2068, U+2069): isolated as <bdi> isolates them on the page. */
export function isolatedTitle(thread) {
  const { name, suffix } = titleParts(thread);
  return `\u2068${name}\u2069${suffix}`;
}

/** A thread with nothing in it: no title, never run (no state: a first run refused at the
 * edge, say a 422 for bad settings, leaves it so), nothing running. It names no work to go
 * back to, so the list leaves it out unless it is the one open. */
export function isEmptyThread(thread) {
  const meta = thread.metadata || {};
  const named = [meta.title, meta.brief].some((t) => typeof t === "string" && t.trim());
  return !named && !thread.values && thread.status === "idle";
}

/** Fill the threads list (status, phase, last activity); the current one is marked. */
export async function renderThreads(list, currentId) {
  let threads = [];
  let empty = "No sessions yet.";
  try {
    threads = (await searchThreads(50)).filter((t) => t.thread_id === currentId || !isEmptyThread(t));
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    // not "none": the list could not be read (your sessions are where they were)
    if (error.code === "offline") empty = "Cannot reach the studio; your sessions are safe.";
    else if ([401, 403].includes(error.status)) empty = "This link opens one thread only.";
    else empty = `Cannot list sessions: ${error.message}`;
  }
  if (document.body.dataset.access === "view") empty = "This link opens one thread only.";
  list.replaceChildren();
  if (!threads.length) {
    const item = document.createElement("li");
    item.className = "empty";
    item.textContent = empty;
    list.append(item);
    return;
  }
  for (const thread of threads) {
    const item = document.createElement("li");
    const link = document.createElement("a");
    link.href = `/t/${thread.thread_id}`;
    link.dataset.threadId = thread.thread_id;
    if (thread.thread_id === currentId) link.setAttribute("aria-current", "page");
    const title = document.createElement("span");
    title.className = "t-title";
    showThreadTitle(title, thread);
    link.title = isolatedTitle(thread); // whole, where the list cuts it short
    const parent = thread.metadata?.forked_from?.thread_id;
    if (parent) link.title += ` — branched from ${parent.slice(0, 8)}`;
    const meta = document.createElement("span");
    meta.className = "t-meta";
    const phase = thread.values?.phase || "created";
    meta.textContent = `${thread.status} · ${phase.replaceAll("_", " ")} · ${ago(thread.updated_at)}`;
    const dot = document.createElement("span");
    dot.className = `status-dot ${thread.status}`;
    dot.setAttribute("aria-hidden", "true");
    link.append(dot, title, meta);
    item.append(link);
    list.append(item);
  }
}

/** Settings for new sessions (kept in this browser) or for the open thread (kept by the API). */
export class SettingsDialog {
  constructor(dialog) {
    this.dialog = dialog;
    this.form = dialog.querySelector("form");
    this.thread = null;
    const models = dialog.querySelector("#settings-models");
    for (const role of ROLES) {
      const label = document.createElement("label");
      label.className = "field";
      label.textContent = role;
      const input = document.createElement("input");
      input.name = `model.${role}`;
      input.autocomplete = "off";
      input.setAttribute("list", "installed-models");
      label.append(input);
      models.append(label);
    }
    this.installed = document.createElement("datalist");
    this.installed.id = "installed-models";
    models.append(this.installed);
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.save();
    });
    dialog.querySelector("#settings-cancel").addEventListener("click", () => dialog.close());
  }

  /** Settings a new session starts with. */
  static defaults() {
    try {
      return JSON.parse(localStorage.getItem(DEFAULTS_KEY) || "{}");
    } catch {
      return {};
    }
  }

  async open(threadApi) {
    this.thread = threadApi;
    const status = this.dialog.querySelector("#settings-status");
    status.textContent = "";
    let settings = SettingsDialog.defaults();
    let models = {};
    let backend = "";
    if (threadApi) {
      try {
        const found = await threadApi.get("/settings");
        settings = found.settings || {};
        models = found.models || {};
        backend = found.backend || "";
      } catch (error) {
        status.textContent = error.message;
      }
    }
    try {
      const offered = await call("GET", "/models");
      this.installed.replaceChildren(
        ...offered.installed.map((name) => Object.assign(document.createElement("option"), { value: name })),
      );
      if (!threadApi) models = offered.defaults;
    } catch {
      // the list is a convenience: any name can still be typed and is checked on save
    }
    this.dialog.querySelector("#settings-scope").textContent = threadApi
      ? "For this thread; they apply from its next run."
      : "For new sessions started from this browser.";
    this.dialog.querySelector("#settings-backend").textContent = backend
      ? `Models in use: ${backend}. Names matter when Ollama is configured.`
      : "Names are Ollama models; the built-in offline model ignores them.";
    for (const role of ROLES) {
      const input = this.form.elements[`model.${role}`];
      input.value = settings.models?.[role] || "";
      input.placeholder = models[role] || "default";
    }
    for (const key of BUDGETS) this.form.elements[key].value = settings.budgets?.[key] ?? "";
    this.form.elements.auto_approve.checked = !!settings.auto_approve;
    this.dialog.showModal();
  }

  collect() {
    const models = {};
    for (const role of ROLES) {
      const value = this.form.elements[`model.${role}`].value.trim();
      if (value) models[role] = value;
    }
    const budgets = {};
    for (const key of BUDGETS) {
      const value = this.form.elements[key].value;
      if (value !== "") budgets[key] = Number(value);
    }
    return { models, budgets, auto_approve: this.form.elements.auto_approve.checked };
  }

  async save() {
    const settings = this.collect();
    const status = this.dialog.querySelector("#settings-status");
    if (!this.thread) {
      localStorage.setItem(DEFAULTS_KEY, JSON.stringify(settings));
      this.dialog.close();
      return;
    }
    try {
      await call("PATCH", this.thread.path("/settings"), { token: this.thread.token, body: settings });
      this.dialog.close();
    } catch (error) {
      status.textContent = error.message;
    }
  }
}
