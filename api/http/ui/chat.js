// The discussion: persona bubbles streamed token by token, the typing indicator, notices.

export const PERSONAS = {
  planner: { name: "Planner", title: "planner", colour: "#7d8fa3", avatar: "P" },
  style: { name: "Luna", title: "style", colour: "#c56cf0", avatar: "L" },
  composition: { name: "Frame", title: "composition", colour: "#26b5a6", avatar: "F" },
  story: { name: "Saga", title: "story", colour: "#e8a33d", avatar: "S" },
  director: { name: "Pixel", title: "technical director", colour: "#4c8dff", avatar: "Px" },
  critic: { name: "Lens", title: "critic", colour: "#ef5d60", avatar: "Ln" },
  consistency: { name: "Consistency", title: "consistency", colour: "#8fbf5a", avatar: "C" },
  manager: { name: "Manager", title: "manager", colour: "#a0a7b4", avatar: "M" },
  you: { name: "You", title: "", colour: "#f2f2f2", avatar: "You" },
};

export function persona(role) {
  return PERSONAS[role] || { name: role || "Studio", title: "", colour: "#a0a7b4", avatar: "•" };
}

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

/** The message list of one thread. Bubbles are keyed by message id, so a token stream, its
 * finished message and the saved state all land in the same bubble, once. */
export class Chat {
  constructor(list, typing) {
    this.list = list;
    this.typing = typing;
    this.bubbles = new Map();
    this.finished = new Set();
    this.speaking = null;
    this.stick = true;
    this.onBranch = null; // (messageId) => …: "Branch from here" on a finished message
    const pane = list.parentElement;
    // follow new messages while the reader is at the bottom; leave them be once *they* scroll
    // up (scrolls the layout causes, e.g. a gate card shrinking the pane, do not count)
    let touched = 0;
    for (const kind of ["wheel", "touchmove", "keydown", "pointerdown"]) {
      pane.addEventListener(kind, () => (touched = Date.now()), { passive: true });
    }
    pane.addEventListener("scroll", () => {
      if (Date.now() - touched > 1000) return;
      this.stick = pane.scrollHeight - pane.scrollTop - pane.clientHeight < 80;
    });
    new ResizeObserver(() => this.scroll()).observe(pane);
  }

  clear() {
    this.list.replaceChildren();
    this.bubbles.clear();
    this.finished.clear();
    this.setTyping(null);
  }

  bubble(id, role) {
    let item = this.bubbles.get(id);
    if (item) return item;
    const who = persona(role);
    item = el("li", `msg ${role === "you" ? "mine" : "theirs"}`);
    item.dataset.id = id;
    item.dataset.role = role;
    item.style.setProperty("--who", who.colour);
    const avatar = el("span", "avatar", who.avatar);
    avatar.setAttribute("aria-hidden", "true");
    const body = el("div", "body");
    const head = el("div", "who");
    head.append(el("strong", "", who.name));
    if (who.title) head.append(el("span", "role", who.title));
    const fork = el("button", "branch", "Branch from here");
    fork.type = "button";
    fork.title = "A new thread that goes on from this message; this one stays as it is";
    fork.onclick = () => this.onBranch?.(id);
    head.append(fork);
    body.append(head, el("p", "text"));
    item.append(avatar, body);
    this.list.append(item);
    this.bubbles.set(id, item);
    this.scroll();
    return item;
  }

  /** A streamed piece of a message that is still being written. */
  token({ id, role, text }) {
    if (!id || this.finished.has(id)) return;
    // a persona speaks one message at a time: an unfinished one of theirs was cut off (a
    // retried call, a run resumed after a restart) and is being said again under a new id
    if (!this.bubbles.has(id)) this.restart(role);
    const item = this.bubble(id, role);
    item.classList.add("streaming");
    item.querySelector(".text").textContent += text;
    this.setTyping(role);
    this.scroll();
  }

  /** A finished message (from the stream or the saved state): its final text wins. */
  message({ id, role, text }, { pending = false } = {}) {
    const key = id || `m${this.bubbles.size}`;
    const item = this.bubble(key, role);
    item.querySelector(".text").textContent = text;
    item.classList.remove("streaming");
    item.classList.toggle("pending", pending);
    if (!pending) this.finished.add(key);
    if (this.speaking === role) this.setTyping(null);
    this.scroll(role === "you" && pending);
  }

  /** Messages from the thread's saved state, in order (human ones are the person's). */
  load(messages) {
    for (const m of messages || []) {
      const role = m.type === "human" ? "you" : m.name || "manager";
      const text = typeof m.content === "string" ? m.content : JSON.stringify(m.content);
      this.message({ id: m.id, role, text });
    }
  }

  /** A message of the person's that was refused: it never joined the thread. */
  remove(id) {
    this.bubbles.get(id)?.remove();
    this.bubbles.delete(id);
  }

  /** A message was cut off and starts over: drop what was shown of it. */
  restart(role) {
    for (const [id, item] of this.bubbles) {
      if (item.dataset.role === role && role !== "you" && !this.finished.has(id)) {
        item.remove();
        this.bubbles.delete(id);
      }
    }
  }

  /** After a run ended: drop the persona bubbles that never finished (their run was cut). */
  prune() {
    for (const [id, item] of this.bubbles) {
      if (item.dataset.role !== "you" && !this.finished.has(id)) {
        item.remove();
        this.bubbles.delete(id);
      }
    }
  }

  /** A line from the studio (budget, retry, fallback), placed after the message it followed
   * (`afterId`), so notices replayed on reopening land where they happened. */
  notice(text, level = "info", afterId = null) {
    const item = el("li", `notice ${level}`, text);
    item.setAttribute("role", level === "error" ? "alert" : "status");
    let anchor = afterId ? this.bubbles.get(afterId) : null;
    while (anchor?.nextElementSibling?.classList.contains("notice")) anchor = anchor.nextElementSibling;
    if (anchor) anchor.after(item);
    else this.list.append(item);
    this.scroll();
    return item;
  }

  setTyping(role) {
    this.speaking = role;
    if (!role) {
      this.typing.hidden = true;
      this.typing.textContent = "";
      return;
    }
    const who = persona(role);
    this.typing.hidden = false;
    this.typing.style.setProperty("--who", who.colour);
    this.typing.replaceChildren(
      el("span", "dots", "•••"),
      document.createTextNode(` ${who.name} is typing…`),
    );
  }

  scroll(force = false) {
    const pane = this.list.parentElement;
    if (force) this.stick = true;
    if (this.stick) pane.scrollTop = pane.scrollHeight;
  }
}

/**
 * Sends what the person types, in order. At most one message run is in flight at a time;
 * what is typed meanwhile waits and goes out together in the next run. A waiting (pending)
 * run would be dropped by the next interjection, so we only send once ours has started.
 */
export class Outbox {
  constructor(send) {
    this.send = send;
    this.waiting = [];
    this.busy = false;
  }

  push(message) {
    this.waiting.push(message);
    // a failure was shown where it happened; what failed waits for the next message
    if (!this.busy) this.flush().catch(() => undefined);
  }

  async flush() {
    this.busy = true;
    try {
      while (this.waiting.length) {
        const batch = this.waiting.splice(0);
        try {
          await this.send(batch);
        } catch (error) {
          this.waiting.unshift(...batch);
          throw error;
        }
      }
    } finally {
      this.busy = false;
    }
  }
}
