// A thread's reference images (issue #22 point 6). "Attach reference" by the composer uploads an
// image (`POST /media/uploads?thread_id=…`, checked by content; open to whoever may direct the
// thread) and adds its id to the thread's `settings.references` (`PATCH …/settings`, at most 4).
// Each shows as a thumbnail chip that can be removed. Pixel's next specs use them: the img2img
// template on ComfyUI, their palette and layout on the built-in renderer.

import { ApiError, call } from "./api.js";
import { el } from "./dom.js";

const MAX = 4;

function auth(token) {
  return token ? { Authorization: `Bearer ${token}` } : {};
}

async function answer(response) {
  const data = await response.json().catch(() => ({}));
  if (response.ok) return data;
  const error = data.error || {};
  throw new ApiError(response.status, error.code || "error", error.message || response.statusText);
}

export class References {
  /** `button` opens the file picker `input`; chips go in `list`; `onError(error)` shows a failure. */
  constructor(button, input, list, onError) {
    Object.assign(this, { button, input, list, onError, api: null, ids: [], urls: new Map() });
    button.addEventListener("click", () => this.api && input.click());
    input.addEventListener("change", () => {
      const [file] = input.files;
      input.value = "";
      if (file) this.attach(file).catch(onError);
    });
  }

  /** Show the references of the thread `api` talks to. */
  async bind(api) {
    this.api = api;
    this.ids = [];
    this.render();
    const found = await call("GET", api.path("/settings"), { token: api.token }).catch(() => null);
    if (this.api === api) this.show(found?.settings?.references || []);
  }

  async attach(file) {
    const api = this.api;
    const body = new FormData();
    body.append("file", file, file.name);
    const where = `/media/uploads?thread_id=${encodeURIComponent(api.threadId)}`;
    const made = await answer(await fetch(where, { method: "POST", headers: auth(api.token), body }));
    await this.save([...this.ids, made.id].slice(-MAX));
  }

  async save(ids) {
    const api = this.api;
    const body = { references: ids };
    const found = await call("PATCH", api.path("/settings"), { token: api.token, body });
    if (this.api === api) this.show(found.settings.references || []);
  }

  show(ids) {
    this.ids = ids;
    this.render();
  }

  async thumbnail(id, img) {
    if (!this.urls.has(id)) {
      const response = await fetch(`/media/uploads/${encodeURIComponent(id)}/file`, {
        headers: auth(this.api.token),
      });
      if (!response.ok) return;
      this.urls.set(id, URL.createObjectURL(await response.blob()));
    }
    img.src = this.urls.get(id);
  }

  render() {
    this.button.disabled = !this.api || this.ids.length >= MAX;
    this.list.hidden = !this.ids.length;
    this.list.replaceChildren(
      ...this.ids.map((id, index) => {
        const img = el("img", { alt: `Reference ${index + 1}`, width: 40, height: 40 });
        this.thumbnail(id, img).catch(() => undefined);
        const remove = () => this.save(this.ids.filter((other) => other !== id)).catch(this.onError);
        return el(
          "li",
          { class: "reference-chip", "data-upload": id },
          img,
          el("button", { type: "button", "aria-label": `Remove reference ${index + 1}`, onclick: remove }, "×"),
        );
      }),
    );
  }
}
