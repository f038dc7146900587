// The studio page: route to the start form or a thread, wire the header, composer and dialogs.

import { signIn } from "./account.js";
import { ApiError, bootstrapHomeToken, call, createThread, forgetToken, saveToken, tokenFor } from "./api.js";
import { showAudit } from "./audit.js";
import { showPeople } from "./people.js";
import { showLibrary } from "./library.js";
import { mayUseMediaLab, showMediaLab } from "./media.js";
import { launchSettings, wireLaunchFields } from "./launch.js";
import { References } from "./references.js";
import { Session } from "./session.js";
import { SettingsDialog, renderThreads } from "./sidebar.js";
import { setConnection, setPhase, showError, tooLong } from "./status.js";

const $ = (id) => document.getElementById(id);
let current = null;
let references = null; // the composer's reference images (references.js), bound to `current`
let signedIn = null; // `GET /me` of the signed-in person (the session cookie or this machine's token)

function refreshThreads() {
  return renderThreads($("thread-list"), current?.api.threadId);
}

// The Title names the thread (sidebar, `studio threads`, the export's folder); the brief the
// team works from is the Description alone. Only with no description is the title the brief:
// then it is all the person said about the work.
function briefText(form) {
  const title = form.elements.title.value.trim();
  const description = form.elements.description.value.trim();
  return { title, text: description || title };
}

// The Deliverables field goes to settings.deliverables ("hero 16:9, poster 4:5" -> two entries),
// never into the brief (so never into an image prompt); the planner reads each as NAME [ASPECT].
function formDeliverables(form) {
  return form.elements.deliverables.value.split(",").map((d) => d.trim()).filter(Boolean);
}

/** A viewer reads the threads shared with her; starting one needs the admin or creator role:
 * say so instead of a form that only fails when pressed (D13). */
function mayStart(me) {
  return !me || me.role === "admin" || me.role === "creator";
}

function showStart(settings) {
  $("start").hidden = false;
  setPhase("created");
  $("phase").textContent = "no session";
  setConnection("idle");
  $("connection").textContent = "";
  const form = $("brief-form");
  if (!mayStart(signedIn)) {
    form.hidden = true;
    const note = $("start-status");
    note.classList.add("not-allowed");
    note.textContent = `You are signed in as ${signedIn.name} (viewer): you can read the threads shared with you; starting a session needs the admin or creator role.`;
    form.after(note);
    return;
  }
  form.elements.auto_approve.checked = !!SettingsDialog.defaults().auto_approve;
  wireLaunchFields(form);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const status = $("start-status");
    const { title, text } = briefText(form);
    const long = tooLong(text);
    if (long) {
      status.textContent = long; // the text stays in the box, to shorten
      return;
    }
    status.textContent = "Starting…";
    form.querySelector("button").disabled = true;
    let thread = null;
    try {
      thread = await createThread({ title, brief: text });
      const defaults = {
        ...SettingsDialog.defaults(),
        auto_approve: form.elements.auto_approve.checked,
        deliverables: formDeliverables(form),
        format: form.elements.format.value,
      };
      const launch = defaults.format === "launch" ? await launchSettings(form) : {};
      history.pushState({}, "", `/t/${thread.id}`);
      $("start").hidden = true;
      const session = new Session(thread.id, thread.token, refreshThreads);
      current = session;
      references?.bind(session.api);
      await session.open();
      const settings = cleanSettings(defaults);
      if (Object.keys(launch).length) settings.launch = launch;
      await session.start(text, settings);
      refreshThreads().catch(() => undefined);
    } catch (error) {
      if (thread && error instanceof ApiError && error.status >= 400 && error.status < 500) {
        // the server refused the first run (bad deliverables, a brief too long): leave no
        // empty thread behind and bring the form back with the reason
        await call("DELETE", `/threads/${thread.id}`, { token: thread.token }).catch(() => undefined);
        forgetToken(thread.id);
        current?.stream?.close();
        current?.stopLinks?.();
        current = null;
        history.replaceState({}, "", "/");
        $("start").hidden = false;
        refreshThreads().catch(() => undefined);
      }
      status.textContent = error.message;
      form.querySelector("button").disabled = false;
    }
  });
  form.elements.title.focus();
}

function cleanSettings(settings) {
  const out = {};
  if (settings.auto_approve) out.auto_approve = true;
  if (settings.deliverables?.length) out.deliverables = settings.deliverables;
  if (settings.format === "launch") out.format = "launch";
  if (settings.format === "video") {
    out.format = "video";
    out.review_every_stage = !settings.auto_approve; // a gate after every stage unless auto
  }
  if (Object.keys(settings.models || {}).length) out.models = settings.models;
  if (Object.keys(settings.budgets || {}).length) out.budgets = settings.budgets;
  return out;
}

async function openThread(threadId) {
  const fragment = new URLSearchParams(location.hash.slice(1));
  if (fragment.get("token")) {
    saveToken(threadId, fragment.get("token"));
    history.replaceState({}, "", `/t/${threadId}`);
  }
  const token = tokenFor(threadId);
  if (!token && !signedIn) {
    $("thread").hidden = false;
    $("thread-title").textContent = "This thread needs its link";
    showError({ code: "unauthorized", message: "No token for this thread here." });
    return null;
  }
  const session = new Session(threadId, token, refreshThreads);
  current = session;
  references?.bind(session.api);
  try {
    await session.open();
  } catch (error) {
    session.showError(error);
  }
  return session;
}

function wireChrome(settings) {
  const getSession = () => current;
  references = new References($("attach-reference"), $("reference-file"), $("references"), (error) =>
    getSession()?.showError(error),
  );
  $("composer").addEventListener("submit", (event) => {
    event.preventDefault();
    const input = $("composer-input");
    const text = input.value.trim();
    if (!text || !getSession()) return;
    const long = tooLong(text);
    if (long) {
      // said before sending; the words stay in the box to shorten
      getSession().showError({ code: "invalid_input", message: long, retryable: false });
      return;
    }
    input.value = "";
    getSession().say(text);
  });
  $("composer-input").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      $("composer").requestSubmit();
    }
  });
  $("stop").addEventListener("click", () => getSession()?.stop().catch((e) => getSession().showError(e)));
  $("share").addEventListener("click", async () => {
    const session = getSession();
    let link;
    try {
      const grant = await session.api.share($("share-role").value);
      link = `${location.origin}/t/${session.api.threadId}#token=${grant.token}`;
    } catch (error) {
      session.showError(error); // only the thread's owner shares it
      return;
    }
    $("thread-url").textContent = link;
    try {
      await navigator.clipboard.writeText(link);
      $("share").textContent = "Link copied";
    } catch {
      $("share").textContent = "Copy the link below";
    }
  });
  $("threads-toggle").addEventListener("click", () => {
    const open = document.body.classList.toggle("threads-open");
    $("threads-toggle").setAttribute("aria-expanded", String(open));
  });
  $("settings-open").addEventListener("click", () => settings.open(getSession()?.api || null));
}

async function main() {
  await bootstrapHomeToken();
  const match = location.pathname.match(/^\/t\/([^/]+)/);
  const fragment = new URLSearchParams(location.hash.slice(1));
  const linked = !!(match && (fragment.get("token") || tokenFor(decodeURIComponent(match[1]))));
  signedIn = await signIn({ hasThreadToken: linked });
  for (const link of document.querySelectorAll("a.new-session")) link.hidden = !mayStart(signedIn);
  const settings = new SettingsDialog($("settings"));
  wireChrome(settings);
  call("GET", "/info")
    .then((info) => {
      const labels = info.studio || {};
      $("backend").textContent = [labels.models, labels.images].filter(Boolean).join(" · ");
    })
    .catch(() => undefined);
  const page = showPageNav(location.pathname);
  if (page) await page($("main"));
  else if (match) await openThread(decodeURIComponent(match[1]));
  else showStart(settings);
  await refreshThreads();
}

/** The header's Library and Audit links (Audit for admins); the page to show at `path`, if
 * it is one of them (`/pages/library`, `/pages/audit`). */
function showPageNav(path) {
  const pages = {
    "/pages/library": showLibrary,
    "/pages/audit": (main) => showAudit(main, signedIn),
    "/pages/media": showMediaLab,
    "/pages/people": (main) => showPeople(main, signedIn),
  };
  $("audit-link").hidden = signedIn?.role !== "admin" || !!signedIn?.thread_id;
  mayUseMediaLab(signedIn).then((allowed) => ($("media-link").hidden = !allowed));
  for (const link of document.querySelectorAll(".page-nav a")) {
    if (link.getAttribute("href") === path) link.setAttribute("aria-current", "page");
  }
  const page = pages[path];
  if (page) {
    document.body.classList.add("wide-page");
    $("phase").hidden = true;
    $("connection").hidden = true;
  }
  return page;
}

window.addEventListener("unhandledrejection", (event) => {
  // Every failure is shown in words where it happened; keep the console for real bugs.
  if (event.reason instanceof ApiError) event.preventDefault();
});

main();
