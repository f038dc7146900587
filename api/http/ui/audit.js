// The Audit page (`/pages/audit`, admins): who did what, when, to what, and how it ended,
// newest first, filtered by thread, person, action and date; older entries page in.

import { el } from "./dom.js";
import { pagedList } from "./paged.js";

const FAMILIES = ["thread", "run", "gate", "grant", "link", "settings", "export", "token", "user", "media", "request"];

/** The date and the time on lines of their own (a narrower column). */
function when(iso) {
  const at = new Date(iso);
  return [at.toLocaleDateString(undefined, { dateStyle: "medium" }), el("br"), at.toLocaleTimeString(undefined, { timeStyle: "medium" })];
}

function detailText(detail) {
  if (!detail || !Object.keys(detail).length) return "";
  if (detail.scrubbed) return "(thread deleted: what was written is erased)";
  const parts = [];
  if (detail.answer) parts.push(`answer: ${JSON.stringify(detail.answer)}`);
  if (detail.message) parts.push(`“${detail.message}”`);
  if (detail.error) parts.push(`${detail.error.code}: ${detail.error.message}`);
  for (const [key, value] of Object.entries(detail)) {
    if (["answer", "message", "error"].includes(key) || value === null) continue;
    parts.push(`${key}: ${typeof value === "object" ? JSON.stringify(value) : value}`);
  }
  return parts.join(" · ");
}

const VIA = {
  session: "signed in",
  token: "access token",
  local: "this machine",
  proxy: "proxy sign-in",
  thread_token: "thread token",
  grant: "share link",
};
const SCOPED = new Set(["thread_token", "grant"]);

/** Ids in a target shortened to 8 characters (the full target is the cell's title). */
function shortTarget(target) {
  return (target || "").replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi, (id) => id.slice(0, 8));
}

function who(actor, onFilter) {
  if (!actor) return el("span", { class: "hint" }, "studio / unknown caller");
  const how = VIA[actor.via] || actor.via;
  const role = SCOPED.has(actor.via) ? "" : `${actor.role} · `;
  return [
    el("button", { type: "button", class: "link", title: `Only ${actor.name}'s entries (${actor.id})`, onclick: () => onFilter("actor", actor.id) }, actor.name),
    el("br"),
    el("span", { class: "hint" }, `${role}${how}`),
  ];
}

function row(entry, onFilter) {
  const thread = entry.thread_id
    ? el("button", { type: "button", class: "link", title: `Only thread ${entry.thread_id}`, onclick: () => onFilter("thread", entry.thread_id) }, "this thread only")
    : "";
  return el(
    "tr",
    { class: `audit-row outcome-${entry.outcome}`, "data-action": entry.action },
    // data-label: the column's name, shown beside each value where rows stack (a phone)
    el("td", { "data-label": "When" }, el("time", { datetime: entry.at }, when(entry.at))),
    el("td", { "data-label": "Who" }, who(entry.actor, onFilter)),
    el("td", { class: "action", "data-label": "Action" }, el("code", {}, entry.action.split(".").flatMap((part, i) => (i ? [el("wbr"), `.${part}`] : [part])))),
    el("td", { class: "target", "data-label": "Target", title: entry.target || "" }, shortTarget(entry.target), entry.target && thread ? el("br") : "", thread),
    el("td", { class: "outcome", "data-label": "Outcome" }, entry.outcome),
    el("td", { class: "detail", "data-label": "Detail" }, detailText(entry.detail)),
    el("td", { class: "request", "data-label": "Request", title: entry.request_id || "" }, el("code", { class: "hint" }, (entry.request_id || "").slice(0, 8))),
  );
}

/** Render the Audit page into `main` (a non-admin is told so, with no form; the API answers 403). */
export async function showAudit(main, me) {
  if (me?.role !== "admin" || me?.thread_id) {
    // no filter form that only fails when used (D13)
    const who = me?.name ? `You are signed in as ${me.name} (${me.role}); only` : "Only";
    main.replaceChildren(
      el("section", { id: "audit", class: "page", "aria-labelledby": "audit-title" },
        el("h1", { id: "audit-title" }, "Audit trail"),
        el("p", { class: "hint not-allowed", role: "status", id: "audit-status" }, `${who} admins can read the audit trail.`)),
    );
    return;
  }
  const status = el("p", { class: "hint", role: "status", id: "audit-status" });
  const body = el("tbody", { id: "audit-rows" });
  const more = el("button", { type: "button", id: "audit-more", hidden: true }, "Older entries");
  const actions = el("select", { name: "action" }, el("option", { value: "" }, "any action"),
    FAMILIES.map((f) => el("option", { value: f }, `${f}.*`)));
  const form = el(
    "form",
    { class: "page-filters", id: "audit-filters" },
    el("label", { class: "field" }, "Thread", el("input", { name: "thread", placeholder: "thread id", autocomplete: "off" })),
    el("label", { class: "field" }, "Person", el("input", { name: "actor", placeholder: "name or user id", autocomplete: "off" })),
    el("label", { class: "field" }, "Action", actions),
    el("label", { class: "field" }, "From", el("input", { name: "since", type: "date" })),
    el("label", { class: "field" }, "To", el("input", { name: "until", type: "date" })),
    el("div", { class: "actions" }, el("button", { class: "primary", type: "submit" }, "Show")),
  );
  const list = pagedList({
    path: "/audit",
    list: body,
    more,
    status,
    show: (items) => body.append(...items.map((entry) => row(entry, setFilter))),
    count: (n) => `${n} entr${n === 1 ? "y" : "ies"}`,
    empty: "No entries match.",
    failed: (error) =>
      error.status === 403 ? "Only admins can read the audit trail." : error.status === 401 ? "Sign in as an admin to read the audit trail." : error.message,
  });
  const apply = () => {
    const params = new URLSearchParams();
    for (const name of ["thread", "actor", "action", "since", "until"]) {
      const value = form.elements[name].value.trim();
      if (value) params.set(name, value);
    }
    list.filter(params);
  };
  const setFilter = (name, value) => {
    form.elements[name].value = value;
    apply();
  };
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    apply();
  });
  const table = el(
    "table",
    { class: "audit-table" },
    el("thead", {}, el("tr", {}, ["When", "Who", "Action", "Target", "Outcome", "Detail", "Request"].map((h) => el("th", { scope: "col" }, h)))),
    body,
  );
  main.replaceChildren(
    el("section", { id: "audit", class: "page", "aria-labelledby": "audit-title" },
      el("h1", { id: "audit-title" }, "Audit trail"),
      el("p", { class: "hint" }, "Every change anyone made, appended and never edited: sign-ins, threads, runs, gate answers, shares, settings, downloads."),
      form, status, el("div", { class: "table-scroll" }, table), more),
  );
  await list.load(true);
}
