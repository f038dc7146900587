// The People page (`/pages/people`, admins): every user with their role, state and today's use
// against their limits; add a user (a one-time sign-in link to hand them), change a role,
// disable or enable, reset (a new link), override a limit.

import { call, homeToken } from "./api.js";
import { el } from "./dom.js";

const ROLES = ["admin", "creator", "viewer"];
const LIMITS = [
  ["rate_per_minute", "changes / min"],
  ["concurrent_runs", "runs at once"],
  ["daily_generations", "generations today (images and media jobs)"],
];

const api = (method, path, body) => call(method, path, { token: homeToken(), body });

function linkNotice(status, user) {
  const url = user.signin_url;
  status.replaceChildren(
    `One-time sign-in link for ${user.name} (24 h, works once): `,
    el("code", { class: "signin-link" }, url),
  );
}

function limitCell(user, key, save) {
  const { used, limit } = user.usage[key];
  const own = user.limits[key];
  const input = el("input", {
    type: "number",
    min: "0",
    value: own ?? "",
    placeholder: String(limit),
    "aria-label": `${user.name}: ${key.replaceAll("_", " ")} limit (empty: the default, 0: none)`,
    title: "Empty: the studio's default; 0: no limit",
  });
  input.addEventListener("change", () => save({ limits: { [key]: input.value === "" ? null : Number(input.value) } }));
  return el("td", {}, el("span", { class: used >= limit && limit ? "over" : "" }, `${used} of ${limit || "∞"}`), " ", input);
}

function row(user, me, status, reload) {
  const save = async (patch) => {
    try {
      await api("PATCH", `/users/${user.user_id}`, patch);
      status.textContent = `${user.name}: saved.`;
    } catch (error) {
      status.textContent = error.message;
    }
    await reload();
  };
  const role = el("select", { "aria-label": `${user.name}: role`, disabled: user.user_id === me.user_id },
    ROLES.map((r) => el("option", { value: r, selected: r === user.role }, r)));
  role.addEventListener("change", () => save({ role: role.value }));
  const toggle = el("button", { type: "button", disabled: user.user_id === me.user_id },
    user.disabled ? "Enable" : "Disable");
  toggle.addEventListener("click", () => save({ disabled: !user.disabled }));
  const reset = el("button", { type: "button" }, "Reset");
  reset.addEventListener("click", async () => {
    try {
      linkNotice(status, await api("POST", `/users/${user.user_id}/reset`));
    } catch (error) {
      status.textContent = error.message;
    }
  });
  return el("tr", { class: user.disabled ? "disabled" : "" },
    el("th", { scope: "row" }, user.name, user.user_id === me.user_id ? " (you)" : ""),
    el("td", {}, role),
    el("td", {}, user.disabled ? "disabled" : "active"),
    LIMITS.map(([key]) => limitCell(user, key, save)),
    el("td", { class: "actions" }, toggle, " ", reset));
}

export async function showPeople(main, me) {
  if (me?.role !== "admin" || me?.thread_id) {
    // nothing here this person can do: no form that only fails when pressed (D13)
    const who = me?.name ? `You are signed in as ${me.name} (${me.role}); only` : "Only";
    main.replaceChildren(
      el("section", { id: "people", class: "page", "aria-labelledby": "people-title" },
        el("h1", { id: "people-title" }, "People"),
        el("p", { class: "hint not-allowed", role: "status" }, `${who} admins manage people.`)),
    );
    return;
  }
  const status = el("p", { class: "people-status", role: "status" });
  const body = el("tbody");
  const reload = async () => {
    try {
      const users = await api("GET", "/users");
      body.replaceChildren(...users.map((u) => row(u, me, status, reload)));
    } catch (error) {
      status.textContent = error.status === 403 || error.status === 401 ? "Only admins manage people." : error.message;
    }
  };
  const form = el("form", { class: "people-add" },
    el("label", {}, "Name ", el("input", { name: "name", required: true, maxlength: "64", autocomplete: "off" })),
    el("label", {}, "Role ", el("select", { name: "role" }, ROLES.map((r) => el("option", { value: r, selected: r === "creator" }, r)))),
    el("button", { type: "submit" }, "Add person"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const made = await api("POST", "/users", { name: form.elements.name.value.trim(), role: form.elements.role.value });
      form.reset();
      linkNotice(status, made);
      await reload();
    } catch (error) {
      status.textContent = error.message;
    }
  });
  const head = ["Name", "Role", "State", ...LIMITS.map(([, label]) => label), ""];
  main.replaceChildren(
    el("section", { id: "people", class: "page", "aria-labelledby": "people-title" },
      el("h1", { id: "people-title" }, "People"),
      el("p", { class: "hint" }, "Each person's use today against their limits. A limit box overrides the studio's default for that person (empty: the default; 0: no limit). Disabling ends their sessions and stops their tokens; their threads stay."),
      form, status,
      el("div", { class: "table-scroll" },
        el("table", { class: "audit-table people-table" },
          el("thead", {}, el("tr", {}, head.map((h) => el("th", { scope: "col" }, h)))), body))),
  );
  await reload();
}
