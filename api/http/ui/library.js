// The Library page (`/pages/library`): every output you may see across your threads, filtered
// by thread, deliverable, verdict and date, each one to look at and to download (a readable
// name, its recipe inside); the whole selection as one zip.

import { ApiError, homeToken } from "./api.js";
import { el } from "./dom.js";
import { pagedList } from "./paged.js";

const VERDICTS = ["approved", "current", "superseded", "completed", "interrupted", "failed", "rejected", "none"];

/** Fetch a file with the page's credential (a header on this machine, else the session
 * cookie): `{blob, filename}`. Images and downloads go this way; no token is put in a URL. */
export async function fetchFile(path) {
  const headers = {};
  const token = homeToken();
  if (token) headers.Authorization = `Bearer ${token}`;
  let response;
  try {
    response = await fetch(path, { headers });
  } catch {
    throw new ApiError(0, "offline", "Cannot reach the studio server.", true);
  }
  if (!response.ok) {
    const data = await response.json().catch(() => ({}));
    const error = data.error || {};
    throw new ApiError(response.status, error.code || "error", error.message || response.statusText);
  }
  const header = response.headers.get("Content-Disposition") || "";
  const match = /filename\*=UTF-8''([^;]+)/i.exec(header) || /filename="?([^";]+)"?/i.exec(header);
  const filename = match ? decodeURIComponent(match[1]) : path.split("/").pop();
  return { blob: await response.blob(), filename };
}

export function saveBlob({ blob, filename }) {
  const url = URL.createObjectURL(blob);
  const link = el("a", { href: url, download: filename, hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

function query(form) {
  const params = new URLSearchParams();
  for (const name of ["thread", "deliverable", "verdict", "since", "until"]) {
    const value = form.elements[name].value.trim();
    if (value) params.set(name, value);
  }
  return params;
}

function when(iso) {
  return new Date(iso).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

function filtersForm(onApply, onZip) {
  const verdicts = el("select", { name: "verdict" }, el("option", { value: "" }, "any verdict"),
    VERDICTS.map((v) => el("option", { value: v }, v === "none" ? "not ruled on yet" : v)));
  const form = el(
    "form",
    { class: "page-filters", id: "library-filters" },
    el("label", { class: "field" }, "Thread", el("input", { name: "thread", list: "library-threads", placeholder: "any thread", autocomplete: "off" })),
    el("datalist", { id: "library-threads" }),
    el("label", { class: "field" }, "Deliverable", el("input", { name: "deliverable", placeholder: "hero", autocomplete: "off" })),
    el("label", { class: "field" }, "Verdict", verdicts),
    el("label", { class: "field" }, "From", el("input", { name: "since", type: "date" })),
    el("label", { class: "field" }, "To", el("input", { name: "until", type: "date" })),
    el("div", { class: "actions" },
      el("button", { class: "primary", type: "submit" }, "Show"),
      el("button", { type: "button", id: "library-zip", onclick: () => onZip(query(form)) }, "Download these (zip)")),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    onApply(query(form));
  });
  return form;
}

function card(item, onThread, status) {
  const preview = el("div", { class: "library-preview" }, item.content_type.split("/")[0]);
  if (item.content_type.startsWith("image/")) {
    fetchFile(item.url)
      .then(({ blob }) => {
        const img = el("img", { alt: `${item.thread_title}: ${item.deliverable}, iteration ${item.iteration}`, loading: "lazy" });
        img.src = URL.createObjectURL(blob);
        preview.replaceChildren(img);
      })
      .catch(() => preview.replaceChildren("not available"));
  }
  const download = el("button", { type: "button", class: "download" }, "Download");
  download.addEventListener("click", async () => {
    try {
      saveBlob(await fetchFile(item.download));
    } catch (error) {
      status.textContent = error.message;
    }
  });
  const thread = el("a", { href: `/t/${encodeURIComponent(item.thread_id)}`, title: "Open the thread" }, item.thread_title);
  const only = el("button", { type: "button", class: "link", title: "Only this thread's outputs", onclick: () => onThread(item.thread_id) }, "only this thread");
  return el(
    "li",
    { class: "library-item", "data-asset": item.asset_id, "data-verdict": item.verdict || "none" },
    preview,
    el("div", { class: "library-meta" },
      el("strong", {}, item.deliverable), ` · iteration ${item.iteration}`,
      el("span", { class: `verdict verdict-${item.verdict || "none"}` }, item.verdict || "not ruled on"),
      el("br"), thread, " ", only,
      el("br"), el("span", { class: "hint" }, `${when(item.created_at)} · ${item.width}×${item.height} · ${item.generator}`)),
    download,
  );
}

/** Render the Library page into `main`. */
export async function showLibrary(main) {
  const status = el("p", { class: "hint", role: "status", id: "library-status" });
  const grid = el("ul", { class: "library-grid", id: "library-grid" });
  const more = el("button", { type: "button", id: "library-more", hidden: true }, "Show more");
  const list = pagedList({
    path: "/library",
    list: grid,
    more,
    status,
    show: (items) => {
      const threads = form.querySelector("#library-threads");
      const known = new Set([...threads.options].map((o) => o.value));
      for (const item of items) {
        grid.append(card(item, filterThread, status));
        if (!known.has(item.thread_id)) {
          known.add(item.thread_id);
          threads.append(el("option", { value: item.thread_id }, item.thread_title));
        }
      }
    },
    count: (n) => `${n} output${n === 1 ? "" : "s"}`,
    empty: "Nothing here yet: outputs appear as your sessions make them.",
    failed: (error) => (error.status === 401 ? "Sign in to see your library." : error.message),
  });
  const apply = (next) => {
    list.filter(next);
  };
  const zip = async (selection) => {
    status.textContent = "Preparing the zip…";
    try {
      saveBlob(await fetchFile(`/library/download?${selection}`));
      status.textContent = "Downloaded.";
    } catch (error) {
      status.textContent = error.message;
    }
  };
  const form = filtersForm(apply, zip);
  const filterThread = (threadId) => {
    form.elements.thread.value = threadId;
    apply(query(form));
  };
  main.replaceChildren(
    el("section", { id: "library", class: "page", "aria-labelledby": "library-title" },
      el("h1", { id: "library-title" }, "Library"),
      el("p", { class: "hint" }, "Every output you may see, across all your threads (an admin sees every thread's). Downloads carry readable names and their recipe."),
      form, status, grid, more),
  );
  await list.load(true);
}
