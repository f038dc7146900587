// Who is signed in: the header's name and sign-out, the sign-in form for browsers that are not
// on the studio's own machine, and setting a password after a one-time link. On this machine
// the home's owner token signs the page in (`GET /local/owner`): nothing to type, no sign-out.

import { ApiError, call, homeToken } from "./api.js";

let me = null;

/** The signed-in person (`GET /me`), or null when nobody is. */
export function currentUser() {
  return me;
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "text") node.textContent = value;
    else node.setAttribute(key, value);
  }
  node.append(...children);
  return node;
}

async function fetchMe() {
  try {
    return await call("GET", "/me", { token: homeToken() });
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return null;
    throw error;
  }
}

function usageText(usage) {
  if (!usage) return "";
  const part = (label, { used, limit }) => `${label}: ${used} of ${limit || "no limit"}`;
  return [
    part("changes this minute", usage.rate_per_minute),
    part("runs at once", usage.concurrent_runs),
    part("generations today", usage.daily_generations),
  ].join("\n");
}

function renderHeader(user) {
  let slot = document.getElementById("account");
  if (!slot) {
    slot = el("span", { id: "account", class: "account" });
    document.getElementById("settings-open")?.before(slot);
  }
  slot.replaceChildren();
  if (!user) return;
  // an admin's name opens the People page (who uses what, their limits)
  const admin = user.role === "admin" && !user.thread_id;
  const name = admin
    ? el("a", { class: "account-name", href: "/pages/people", text: `${user.name} · ${user.role}` })
    : el("span", { class: "account-name", text: `${user.name} · ${user.role}` });
  name.title = usageText(user.usage);
  slot.append(name);
  if (user.via === "session") {
    const out = el("button", { type: "button", class: "link", id: "sign-out", text: "Sign out" });
    out.addEventListener("click", async () => {
      await call("POST", "/auth/signout").catch(() => undefined);
      location.assign("/");
    });
    slot.append(out);
  }
}

function signInDialog() {
  const status = el("p", { class: "signin-status", role: "status" });
  const form = el(
    "form",
    { id: "signin-form", method: "dialog" },
    el("h2", { text: "Sign in to the studio" }),
    el("label", { class: "field" }, "Name", el("input", { name: "name", required: "", autocomplete: "username", maxlength: "64" })),
    el(
      "label",
      { class: "field" },
      "Password",
      el("input", { name: "password", type: "password", required: "", autocomplete: "current-password" }),
    ),
    el("button", { type: "submit", text: "Sign in" }),
    status,
    el("p", { class: "hint", text: "No password yet? Ask an admin for a sign-in link (`studio users reset NAME`)." }),
  );
  const dialog = el("dialog", { id: "signin", class: "panel narrow", "aria-labelledby": "signin-title" }, form);
  form.querySelector("h2").id = "signin-title";
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    status.textContent = "Signing in…";
    try {
      await call("POST", "/auth/signin", {
        body: { name: form.elements.name.value.trim(), password: form.elements.password.value },
      });
      location.reload();
    } catch (error) {
      status.textContent = error.message;
      form.elements.password.value = "";
    }
  });
  dialog.addEventListener("cancel", (event) => event.preventDefault()); // nothing works signed out
  document.body.append(dialog);
  return dialog;
}

function passwordDialog() {
  const status = el("p", { class: "signin-status", role: "status" });
  const form = el(
    "form",
    { id: "password-form" },
    el("h2", { text: "Choose a password" }),
    el("p", { text: "You signed in with a one-time link. Choose a password to sign in next time." }),
    el(
      "label",
      { class: "field" },
      "New password (8 characters or more)",
      el("input", { name: "password", type: "password", required: "", minlength: "8", autocomplete: "new-password" }),
    ),
    el("button", { type: "submit", text: "Save password" }),
    el("button", { type: "button", class: "link", value: "later", text: "Later" }),
    status,
  );
  const dialog = el("dialog", { id: "set-password", class: "panel narrow" }, form);
  form.querySelector("[value=later]").addEventListener("click", () => dialog.close());
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      await call("PUT", "/me/password", { body: { password: form.elements.password.value } });
      dialog.close();
    } catch (error) {
      status.textContent = error.message;
    }
  });
  document.body.append(dialog);
  return dialog;
}

/** Find out who is signed in; show the sign-in form when nobody is and the page has no
 * thread credential of its own (a share link still opens its thread). Returns `GET /me`. */
export async function signIn({ hasThreadToken = false } = {}) {
  me = await fetchMe().catch(() => null);
  renderHeader(me);
  const params = new URLSearchParams(location.search);
  if (me && params.get("set-password") && me.user && !me.user.has_password) {
    history.replaceState({}, "", location.pathname);
    passwordDialog().showModal();
  }
  if (!me && !hasThreadToken) signInDialog().showModal();
  return me;
}
