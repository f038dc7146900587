// A thread on the page: everything the person sees of it, kept in step with its event stream.

import { ApiError, ThreadApi, ThreadStream, saveToken } from "./api.js";
import { Chat, Outbox } from "./chat.js";
import { Gallery } from "./gallery.js";
import { renderGate } from "./gates.js";
import { renderLaunchResult, updateDashboard } from "./launch.js";
import { Jobs } from "./jobs.js";
import { showThreadTitle } from "./sidebar.js";
import { clearError, setConnection, setPhase, showError } from "./status.js";
import { stageWaiting } from "./video.js";

const $ = (id) => document.getElementById(id);
const sleep = (ms) => new Promise((done) => setTimeout(done, ms));
const isOffline = (error) => error instanceof ApiError && error.code === "offline";
/** The server said no (not allowed, not valid, not there): sending it again would not help. */
const refused = (error) => error instanceof ApiError && [401, 403, 404, 422].includes(error.status);
const FINISHED = ["approved", "completed", "interrupted"];
/** The graph's terminal phases (graph/state.py TERMINAL_PHASES): no gate waits after them. */
const ENDED = [...FINISHED, "failed"];

/** Stop only while a run is active or a gate waits (the session can still be ended). */
function setActive(active) {
  $("stop").disabled = !active || document.body.dataset.access === "view";
  $("stop").title = active ? "Stop the session (nothing is lost)" : "Nothing is running to stop";
}

/** A thread that is not there (never was, or deleted): say so in the title, and leave nothing
 * to click that would act on it (download, share, send, stop). */
export function threadUnavailable(title) {
  $("thread-title").textContent = title;
  document.title = `${title} · Creative Studio`;
  $("thread-url").textContent = "";
  for (const id of ["download", "share", "share-role", "composer-input", "stop"]) $(id).disabled = true;
  $("composer").querySelector("button[type=submit]").disabled = true;
  for (const part of [$("composer"), $("gallery-pane"), document.querySelector(".thread-actions")]) part.hidden = true;
  for (const part of [$("phase"), ...$("thread").querySelectorAll("button.branch")]) part.hidden = true;
  $("thread").dataset.unavailable = "true";
}

/** Opened with a view-only share link: the page shows the thread and offers nothing that
 * directs it (send, attach, stop, share, branch, gate answers); the server refuses them too. */
function viewOnly() {
  document.body.dataset.access = "view";
  const send = $("composer").querySelector("button[type=submit]");
  for (const part of [$("share"), $("share-role"), $("attach-reference"), $("stop"), send]) {
    part.disabled = true;
    part.hidden = true;
  }
  $("composer-input").disabled = true;
  $("composer-input").placeholder = "View only: this share link can see the thread, not direct it";
  $("stop").title = "View only: this share link cannot stop the session";
}

/** Only the thread's owner makes share links (the server refuses anyone else): a page opened
 * by a share link, or by a person the thread is shared with, offers no Share link. */
function shareOnlyIfOwner(access) {
  const owner = access === "owner";
  // so does branching (`POST /copy` is the owner's): a direct link's page hides Branch from here
  if (access === "direct") document.body.dataset.access = "direct";
  for (const part of [$("share"), $("share-role")]) {
    part.disabled = !owner;
    part.hidden = !owner;
  }
}

/** One open thread: its chat, gate, jobs and gallery, kept in step with its event stream. */
export class Session {
  /** `onChange()` is called when the thread's status may have changed (threads list). */
  constructor(threadId, token, onChange = () => undefined) {
    this.onChange = onChange;
    this.api = new ThreadApi(threadId, token);
    this.chat = new Chat($("messages"), $("typing"));
    this.gallery = new Gallery($("gallery"), $("lineage"), {
      assetUrl: (id) => this.api.assetUrl(id),
      regenerate: (item) => this.regenerateExactly(item),
      showDiscussion: (item) => this.showDiscussion(item),
    });
    this.jobs = new Jobs($("jobs"));
    this.gate = null;
    this.values = {};
    this.assets = new Map(); // asset id -> its `/outputs` item (score, verdict, lineage)
    this.lastMessageId = null;
    this.runs = Promise.resolve();
    this.outbox = new Outbox((batch) => this.sendMessages(batch));
    this.timers = {};
    this.chat.onBranch = (messageId) => this.branch({ message_id: messageId });
  }

  /** Time travel: a new thread from this one's state at a checkpoint or after a message
   * (the thread itself stays as it is); opens it. */
  async branch(at) {
    try {
      const thread = await this.api.copy(at);
      saveToken(thread.thread_id, this.api.token);
      location.assign(`/t/${encodeURIComponent(thread.thread_id)}`);
    } catch (error) {
      this.showError(error);
    }
  }

  async open() {
    $("thread").hidden = false;
    $("gallery-pane").hidden = false;
    $("thread-url").textContent = `${location.origin}/t/${this.api.threadId}`;
    $("download").onclick = () => this.download();
    setActive(false);
    let thread;
    try {
      thread = await this.api.thread();
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) {
        threadUnavailable("Thread not found");
        $("connection").hidden = true; // there is nothing to be connected to
      }
      throw error;
    }
    await this.api.links(); // signed URLs for images and the stream
    if (this.api.signed.access === "view") viewOnly(); // a view-only share link: nothing to direct
    shareOnlyIfOwner(this.api.signed.access);
    this.stopLinks = this.api.keepLinksFresh();
    showThreadTitle($("thread-title"), thread, { tab: true });
    await this.refresh();
    this.stream = new ThreadStream(
      this.api,
      (kind, data) => this.onEvent(kind, data),
      (status) => this.onConnection(status),
    );
    this.stream.open();
  }

  onConnection(status) {
    const was = $("connection").dataset.status;
    setConnection(status);
    if (status === "live") clearError("offline"); // what it said is no longer true
    if (status === "live" && was === "reconnecting") this.later("refresh", () => this.refresh(), 50);
    if (status === "deleted") {
      // deleted means gone: nothing of it stays on the page, nor in the threads list (D14)
      this.gone = true;
      for (const timer of Object.values(this.timers)) if (timer) clearTimeout(timer);
      this.showGate(null); // nothing is left to answer
      this.chat.clear();
      this.jobs.clear();
      this.assets = new Map();
      this.gallery.render([], {});
      if ($("lineage").open) $("lineage").close();
      this.onChange();
      threadUnavailable("Thread deleted");
      showError(new ApiError(404, "not_found", "This thread was deleted, by another tab or client.", false));
    }
  }

  /** Re-read the saved state: messages, phase, the waiting gate, outputs. Unreachable server:
   * nothing changes here; the connection badge says so and reconnecting refreshes again. */
  async refresh() {
    try {
      await this.load();
    } catch (error) {
      if (!isOffline(error)) throw error;
    }
  }

  async load() {
    const state = await this.api.state();
    this.checkpointId = state.checkpoint_id;
    this.values = state.values || {};
    this.chat.load(this.values.messages);
    if (this.idle(state)) this.chat.prune();
    const waiting = (state.interrupts || [])[0];
    const stage = waiting?.value?.gate === "stage" ? stageWaiting(waiting.value) : "";
    setPhase(this.values.phase || "created", "", stage);
    setActive(!!waiting || (state.next || []).length > 0);
    this.gateId = waiting?.id; // an answer names this gate: a stale card cannot answer a newer one
    this.showGate(waiting ? waiting.value : null);
    await this.loadOutputs();
  }

  /** Nothing is running: the thread waits at a gate or has stopped. */
  idle(state) {
    return (state.interrupts || []).length > 0 || (state.next || []).length === 0;
  }

  async loadOutputs() {
    const outputs = await this.api.get("/outputs?limit=200");
    const items = outputs.items || [];
    this.assets = new Map(items.map((item) => [item.asset_id, item]));
    this.gallery.render(items, this.values);
    if (this.gate?.gate === "output") this.showGate(this.gate); // scores of every variant
  }

  /** Save the thread's work as a zip: images named by deliverable, specs, brief, discussion. */
  async download() {
    const button = $("download");
    button.disabled = true;
    button.textContent = "Preparing…";
    try {
      const { blob, filename } = await this.api.download();
      const link = document.createElement("a");
      link.href = URL.createObjectURL(blob);
      link.download = filename;
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(link.href), 60_000);
    } catch (error) {
      // said where the person looks; no Retry here (it would continue the run): click again
      showError({ code: error.code, message: `The download failed: ${error.message}`, retryable: false });
    } finally {
      button.disabled = false;
      button.textContent = "Download";
    }
  }

  /** Run `fn` once after `ms`, however often it is asked for meanwhile. */
  later(name, fn, ms = 150) {
    if (this.timers[name] || this.gone) return;
    this.timers[name] = setTimeout(() => {
      this.timers[name] = null;
      // background work: a server that went away is the connection badge's to show, and
      // must not cover a failure the thread reported (with its Retry)
      Promise.resolve(fn()).catch((error) => isOffline(error) || this.showError(error));
    }, ms);
  }

  onEvent(kind, data) {
    if (["token", "message", "phase", "progress"].includes(kind)) this.clearError();
    switch (kind) {
      case "token":
        this.chat.token(data);
        this.lastMessageId = data.id;
        break;
      case "message":  // the person's words typed at a gate come back as role "person"
        this.chat.message(data.role === "person" ? { ...data, role: "you" } : data);
        this.lastMessageId = data.id;
        break;
      case "phase":
        setPhase(data.phase, data.detail);
        setActive(!FINISHED.includes(data.phase));
        // the run ended: the gate it answered is gone at once, not after the next refresh (D8)
        if (ENDED.includes(data.phase) && this.gate) {
          this.gateId = null;
          this.showGate(null);
        }
        this.later("threads", () => this.onChange(), 1000);
        break;
      case "progress":
        this.jobs.progress(data);
        break;
      case "asset":
        this.jobs.done(data);
        this.later("outputs", () => this.loadOutputs(), 100);
        break;
      case "gate":
        this.chat.setTyping(null);
        this.later("refresh", () => this.refresh());
        break;
      case "experiment": // the A/B test's figures, live
        updateDashboard($("gate"), data);
        break;
      case "notice":
        if (data.code === "message_retry") this.chat.restart(this.chat.speaking);
        // a Media Lab job of this thread ended: its result is a new output, pickable at the gate
        if (data.code === "media_lab") this.later("outputs", () => this.loadOutputs(), 100);
        this.chat.notice(data.text, data.level, this.lastMessageId);
        break;
      case "error":
        this.showError(data);
        break;
      case "done":
        this.chat.setTyping(null);
        this.jobs.clear();
        this.later("refresh", () => this.refresh());
        this.later("threads", () => this.onChange(), 300);
        break;
    }
  }

  showGate(value) {
    const current = this.values.current || this.values.selected || {};
    const known = value?.gate === "output" ? [...this.assets.keys()] : [];
    const shown = JSON.stringify([value, current, known, this.values.launch?.experiment?.status]);
    if (shown === this.gateShown) return; // unchanged: keep what the person is typing in it
    this.gateShown = shown;
    this.gate = value;
    const launch = this.values.launch;
    if (!value && launch?.experiment && launch.experiment.status !== "running") {
      return renderLaunchResult($("gate"), launch, (id) => this.api.assetUrl(id));
    }
    renderGate($("gate"), value, {
      answer: (decision) => this.answer(decision),
      assetUrl: (id) => this.api.assetUrl(id),
      current,
      assets: this.assets,
    });
    if (value && document.body.dataset.access === "view") {
      for (const part of $("gate").querySelectorAll(".actions, .revise, textarea")) part.remove();
      for (const button of $("gate").querySelectorAll("button")) button.disabled = true;
      const note = document.createElement("p");
      note.className = "note view-only";
      note.textContent = "View only: the thread's owner answers this gate.";
      $("gate").append(note);
      return;
    }
    if (value && this.checkpointId) {
      const at = this.checkpointId; // the checkpoint this gate waits at
      const fork = document.createElement("button");
      fork.type = "button";
      fork.className = "branch";
      fork.textContent = "Branch from here";
      fork.title = "A new thread waiting at this gate; answer it there another way";
      fork.onclick = () => this.branch({ checkpoint_id: at });
      $("gate").querySelector("h3")?.after(fork);
    }
  }

  async answer(decision) {
    const resume = this.gateId ? { [this.gateId]: decision } : decision;
    try {
      await this.startRun({ resume });
    } catch (error) {
      if (error.status !== 409) throw error;
      await this.load(); // answered elsewhere: show the gate that waits now, saying why
      const note = document.createElement("p");
      note.className = "error";
      note.setAttribute("role", "alert");
      note.textContent = `Not sent: ${error.message}`;
      $("gate").prepend(note);
      return;
    }
    this.showGate(null);
  }

  /**
   * Create runs one at a time, each only once it is no longer pending: an interjection drops
   * pending runs of its thread, so a message sent right after another must not overtake it.
   */
  startRun(options) {
    const next = this.runs.then(async () => {
      let run = await this.api.run(options);
      for (let i = 0; i < 150 && run.status === "pending"; i++) {
        await sleep(100);
        run = await this.api.runStatus(run.run_id);
      }
      if (["pending", "running"].includes(run.status)) setActive(true); // until its `done`
      return run;
    });
    this.runs = next.catch(() => undefined);
    return next;
  }

  /** The person's messages, shown at once and delivered (as an interjection when busy). */
  say(text) {
    const id = crypto.randomUUID();
    this.chat.message({ id, role: "you", text }, { pending: true });
    this.lastMessageId = id;
    this.outbox.push({ id, text });
  }

  async sendMessages(batch) {
    const messages = batch.map(({ id, text }) => ({ role: "user", content: text, id }));
    try {
      await this.startRun({ input: { messages }, strategy: "interrupt" });
      for (const { id, text } of batch) this.chat.message({ id, role: "you", text });
      if (this.gate) {
        this.showGate(null); // a new message takes the thread on from the gate
        // the run may have re-asked a gate (and the page drawn it) before this answer came
        // back: read the state again rather than leave no card for a gate that waits
        this.later("refresh", () => this.refresh());
      }
    } catch (error) {
      if (refused(error)) {  // said no to, not lost on the way: nothing to send again
        for (const { id } of batch) this.chat.remove(id);
        const box = $("composer-input"); // the words are not lost: back in the box to edit
        if (!box.value.trim()) box.value = batch.map(({ text }) => text).join("\n");
        this.showError(error);
        return;
      }
      for (const { id } of batch) this.chat.bubbles.get(id)?.classList.add("failed");
      this.showError(error);
      throw error;
    }
  }

  async start(brief, settings) {
    const id = crypto.randomUUID();
    this.chat.message({ id, role: "you", text: brief }, { pending: true });
    const input = { messages: [{ role: "user", content: brief, id }] };
    if (settings && Object.keys(settings).length) input.settings = settings;
    await this.startRun({ input });
    this.chat.message({ id, role: "you", text: brief });
  }

  async stop() {
    if (this.gate) return this.answer({ action: "stop" });
    await this.startRun({ input: { messages: [], stop_requested: true }, strategy: "interrupt" });
  }

  async retry() {
    this.clearError();
    await this.startRun({ input: null });
  }

  /** Regenerate one output from its own stored spec and seed, as is (`regenerate` with the
   * output's `asset_id`: Pixel does not revise it). */
  async regenerateExactly(item) {
    if (this.gate?.gate !== "output") {
      throw new Error("Regenerating is possible while the outputs wait for your approval.");
    }
    await this.answer({ action: "regenerate", asset_id: item.asset_id, deliverable: item.deliverable });
  }

  showDiscussion(item) {
    const bubbles = [...$("messages").querySelectorAll('li.msg[data-role="director"]')];
    const target = bubbles.filter((b) => b.textContent.includes(item.deliverable)).pop() || bubbles.pop();
    if (!target) return;
    target.scrollIntoView({ block: "center" });
    target.classList.add("highlight");
    setTimeout(() => target.classList.remove("highlight"), 2000);
  }

  showError(error) {
    showError(error, () => this.retry().catch((e) => this.showError(e)));
  }

  clearError() {
    clearError();
  }
}
