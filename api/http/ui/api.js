// The studio's public HTTP API, as the page uses it: fetch for calls, EventSource for streams.

const SHARED_TOKEN = "studio.token";
const HOME_TOKEN = "studio.home-token";

/** The client token for a thread (its own, else the home's owner token on this machine,
 * else the one this browser uses for all threads). */
export function tokenFor(threadId) {
  return (
    (threadId && localStorage.getItem(`studio.token.${threadId}`)) ||
    localStorage.getItem(HOME_TOKEN) ||
    localStorage.getItem(SHARED_TOKEN)
  );
}

/** On this machine the server hands the page its home's owner token (`GET /local/owner`, for
 * loopback only): the threads `studio run` started are then listed and steerable here, and
 * the threads started here are the CLI's too. Elsewhere it answers 404 and nothing changes. */
export async function bootstrapHomeToken() {
  try {
    const response = await fetch("/local/owner", { headers: { Accept: "application/json" } });
    if (!response.ok) {
      localStorage.removeItem(HOME_TOKEN);
      return;
    }
    const { token } = await response.json();
    if (token) localStorage.setItem(HOME_TOKEN, token);
    else localStorage.removeItem(HOME_TOKEN);  // someone signed in here: the page acts as them
  } catch {
    // offline: keep what we had
  }
}

/** The home's owner token when the page is on the studio's machine (else null: the session
 * cookie signs the page in). */
export function homeToken() {
  return localStorage.getItem(HOME_TOKEN);
}

export function saveToken(threadId, token) {
  if (!token) return;
  // a thread's own token (`st_…`) or a share grant (`sg_…`) reaches that one thread only; who
  // the page is comes from the home's token on this machine, else the session cookie
  if (threadId) localStorage.setItem(`studio.token.${threadId}`, token);
}

/** Forget a thread's own token (the thread is deleted: the token is no credential any more). */
export function forgetToken(threadId) {
  const token = localStorage.getItem(`studio.token.${threadId}`);
  localStorage.removeItem(`studio.token.${threadId}`);
  if (token && localStorage.getItem(SHARED_TOKEN) === token) localStorage.removeItem(SHARED_TOKEN);
}

/** An error the API answered with `{error: {code, message, retryable}}`, or a network failure. */
export class ApiError extends Error {
  constructor(status, code, message, retryable = false) {
    super(message);
    this.status = status;
    this.code = code;
    this.retryable = retryable;
  }
}

async function send(path, options) {
  try {
    return await fetch(path, options);
  } catch {
    throw new ApiError(0, "offline", "Cannot reach the studio server; retrying when it is back.", true);
  }
}

function failure(response, data) {
  const error = data.error || {};
  const detail = typeof data.detail === "string" ? data.detail : response.statusText;
  return new ApiError(response.status, error.code || "error", error.message || detail, !!error.retryable);
}

export async function call(method, path, { token, body } = {}) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (token) headers.Authorization = `Bearer ${token}`;
  const response = await send(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (response.status === 204) return null;
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw failure(response, data);
  return data;
}

/** The file name a `Content-Disposition` header gives (`filename*=` first), if any. */
function dispositionName(header) {
  const encoded = /filename\*=UTF-8''([^;]+)/i.exec(header || "");
  if (encoded) return decodeURIComponent(encoded[1]);
  const plain = /filename="?([^";]+)"?/i.exec(header || "");
  return plain ? plain[1] : null;
}

/** One thread's API, bound to its token. */
export class ThreadApi {
  constructor(threadId, token) {
    this.threadId = threadId;
    this.token = token;
  }

  path(rest = "") {
    return `/threads/${encodeURIComponent(this.threadId)}${rest}`;
  }

  get(rest) {
    return call("GET", this.path(rest), { token: this.token });
  }

  state() {
    return this.get("/state");
  }

  thread() {
    return this.get("");
  }

  /** Start a run: `input` (a message, settings, a stop) or a gate answer (`resume`). */
  run({ input = null, resume, strategy = "enqueue" } = {}) {
    const body = {
      assistant_id: "studio",
      input,
      stream_resumable: true,
      multitask_strategy: strategy,
    };
    if (resume !== undefined) {
      body.input = null;
      body.command = { resume };
    }
    return call("POST", this.path("/runs"), { token: this.token, body });
  }

  runStatus(runId) {
    return this.get(`/runs/${encodeURIComponent(runId)}`);
  }

  /** Branch the thread (`POST /copy`) at a checkpoint or after a message: the new Thread. */
  copy(at = {}) {
    return call("POST", this.path("/copy"), { token: this.token, body: at });
  }

  /** The thread's work as a zip (`/export`), fetched with the token in a header, not a URL:
   * `{blob, filename}`. */
  async download() {
    const response = await send(this.path("/export"), {
      headers: { Accept: "application/zip", ...(this.token ? { Authorization: `Bearer ${this.token}` } : {}) },
    });
    if (!response.ok) throw failure(response, await response.json().catch(() => ({})));
    const filename =
      dispositionName(response.headers.get("Content-Disposition")) ||
      `creative-studio-${this.threadId.slice(0, 8)}.zip`;
    return { blob: await response.blob(), filename };
  }

  /** Short-lived signed URLs for what the browser fetches without headers (`<img>`,
   * `<video>`, EventSource): `POST /links`, kept until a minute before they run out. No token
   * ever goes in a URL (URLs are logged). */
  async links() {
    if (this.signed && this.signed.until - Date.now() > 60_000) return this.signed;
    const links = await call("POST", this.path("/links"), { token: this.token });
    this.signed = { ...links, until: Date.now() + links.expires_in * 1000 };
    return this.signed;
  }

  /** Refresh the signed URLs before they expire, until `stop()`; returns `stop`. */
  keepLinksFresh() {
    const timer = setInterval(() => this.links().catch(() => undefined), 60_000);
    return () => clearInterval(timer);
  }

  assetUrl(assetId) {
    return `/assets/${encodeURIComponent(assetId)}?${this.signed ? this.signed.query : ""}`;
  }

  async streamUrl(lastEventId) {
    const { stream } = await this.links();
    return lastEventId ? `${stream}&last_event_id=${encodeURIComponent(String(lastEventId))}` : stream;
  }

  /** A share link's token: a grant for this thread only (`view` or `direct`), revocable. */
  async share(role = "view") {
    return call("POST", this.path("/grants"), { token: this.token, body: { role } });
  }
}

export const EVENT_KINDS = [
  "token",
  "message",
  "phase",
  "progress",
  "asset",
  "gate",
  "notice",
  "experiment",
  "error",
  "done",
];

/**
 * Follows a thread's event stream across runs and server restarts. The browser's EventSource
 * reconnects by itself with `Last-Event-ID`; when it gives up (the server answered an error
 * while restarting) we open a new one that asks for the events after the last one we saw.
 * Events are handed on in sequence order, each once.
 */
export class ThreadStream {
  constructor(api, onEvent, onStatus) {
    this.api = api;
    this.onEvent = onEvent;
    this.onStatus = onStatus;
    // Reopening on this device replays from the last finished message it saw (the saved state
    // has everything before it; what came after, an error included, is shown again); on
    // another device, from the start.
    this.mark = `studio.seq.${api.threadId}`;
    this.lastId = Number(localStorage.getItem(this.mark) || 0);
    this.source = null;
    this.retryMs = 500;
    this.timer = null;
    this.closed = false;
  }

  async open() {
    this.closed = false;
    let url;
    try {
      url = await this.api.streamUrl(this.lastId); // a fresh signed URL at each (re)open
    } catch {
      this.onStatus("reconnecting");
      this.reopenLater();
      return;
    }
    if (this.closed) return;
    const source = new EventSource(url);
    this.source = source;
    source.onopen = () => {
      this.retryMs = 500;
      this.onStatus("live");
    };
    source.onerror = (event) => {
      // the studio's own `error` events arrive here too (as messages, with data): not ours
      if (this.closed || event instanceof MessageEvent) return;
      this.onStatus("reconnecting");
      if (source.readyState === EventSource.CLOSED) this.reopenLater();
    };
    for (const kind of EVENT_KINDS) {
      source.addEventListener(kind, (event) => this.deliver(kind, event));
    }
  }

  deliver(kind, event) {
    if (!(event instanceof MessageEvent)) return; // a connection error, not an event
    const seq = Number(event.lastEventId || 0);
    if (seq && seq <= this.lastId) return; // replayed after a reconnect: already shown
    if (seq) this.lastId = seq;
    let data = {};
    try {
      data = JSON.parse(event.data || "{}");
    } catch {
      return;
    }
    this.onEvent(kind, data, seq);
    if (seq && kind === "message") localStorage.setItem(this.mark, String(seq));
  }

  reopenLater() {
    this.source?.close();
    clearTimeout(this.timer);
    this.timer = setTimeout(async () => {
      if (this.closed) return;
      if (await this.deleted()) {
        this.close();
        this.onStatus("deleted"); // its stream ended for good: no use reconnecting
        return;
      }
      if (!this.closed) this.open();
    }, this.retryMs);
    this.retryMs = Math.min(this.retryMs * 2, 5000);
  }

  /** Whether the thread is gone (deleted by another tab or client), not just unreachable.
   * A deleted thread's own token is no credential any more (401): then the signed-in person
   * (this machine's token, else the session cookie) asks, and hears its 404. */
  async deleted() {
    for (const token of [this.api.token, homeToken()]) {
      try {
        await call("GET", this.api.path(), { token });
        return false;
      } catch (error) {
        if (!(error instanceof ApiError)) return false;
        if (error.status === 404) return true;
        if (error.status !== 401) return false; // unreachable, or busy: try again later
      }
    }
    return false;
  }

  close() {
    this.closed = true;
    clearTimeout(this.timer);
    this.source?.close();
  }
}

/** Create a thread as the signed-in person (the home's token on this machine, else the
 * session cookie) and return `{id, token}` (the thread's own token, kept for it). */
export async function createThread(metadata) {
  const token = localStorage.getItem(HOME_TOKEN);
  const thread = await call("POST", "/threads", { token, body: { metadata } });
  saveToken(thread.thread_id, thread.token);
  return { id: thread.thread_id, token: thread.token };
}

/** The threads the signed-in person reaches (the home's token on this machine, else the
 * session cookie) and those of a token this browser kept from before accounts, newest first. */
export async function searchThreads(limit = 30) {
  const tokens = [...new Set([localStorage.getItem(HOME_TOKEN) || "", localStorage.getItem(SHARED_TOKEN)])];
  const found = new Map();
  for (const token of tokens.filter((t) => t !== null)) {
    let threads;
    try {
      threads = await call("POST", "/threads/search", { token, body: { limit } });
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) {
        // not signed in (yet); a token kept from before accounts that is no credential any more
        if (token && token === localStorage.getItem(SHARED_TOKEN)) localStorage.removeItem(SHARED_TOKEN);
        continue;
      }
      throw error;
    }
    for (const thread of threads) {
      if (token && !localStorage.getItem(`studio.token.${thread.thread_id}`)) saveToken(thread.thread_id, token);
      found.set(thread.thread_id, thread);
    }
  }
  return [...found.values()]
    .sort((a, b) => (a.created_at < b.created_at ? 1 : a.created_at > b.created_at ? -1 : 0))
    .slice(0, limit);
}
