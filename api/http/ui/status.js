// What the header and the error card say: the phase, the connection, failures in words.

const $ = (id) => document.getElementById(id);

const PHASES = {
  created: "starting",
  planning: "planning",
  ideation: "ideation",
  refinement: "refinement",
  synthesis: "synthesis",
  review: "review",
  awaiting_plan_approval: "plan waiting for you",
  generating: "generating",
  reviewing: "critique + consistency",
  iterating: "iterating",
  awaiting_approval: "outputs waiting for you",
  approved: "approved",
  completed: "completed",
  failed: "failed",
  interrupted: "stopped",
};

const NEXT_STEP = {
  service_unavailable: "A service the studio needs is not answering. Check that it is running, then retry.",
  model_not_found: "Pull the model in Ollama or choose another one in Settings, then retry.",
  out_of_memory: "The GPU ran out of memory. Ask for a smaller image or lower quality, then retry.",
  generation_failed: "The image generator failed on this job. Retry, or regenerate with feedback.",
  invalid_workflow: "ComfyUI refused the workflow: check its custom nodes and models, then retry.",
  invalid_input: "Fix what the message says and send again.",
  unauthorized: "Sign in, or open the thread's share link from the device that started it.",
  forbidden: "Your role or share link does not allow this; ask the thread's owner or an admin.",
  too_many_requests: "A limit of yours was reached; the message says when it frees up. Your work is saved.",
  offline: "The server is unreachable; the page reconnects by itself when it is back.",
  not_found: "Check the link, or open a thread from the Threads list.",
};

/** Show the phase; `label` says it better when the caller knows more (which video stage waits). */
export function setPhase(phase, detail = "", label = "") {
  const badge = $("phase");
  badge.textContent = label || PHASES[phase] || phase.replaceAll("_", " ");
  badge.dataset.phase = phase;
  badge.title = detail;
}

export function setConnection(status) {
  const badge = $("connection");
  badge.textContent = { live: "live", deleted: "deleted" }[status] || "reconnecting…";
  badge.dataset.status = status;
}

/** The longest message a run takes (engine/inputs.py MAX_MESSAGE_CHARS). */
export const MAX_MESSAGE_CHARS = 10_000;
const count = (n) => n.toLocaleString("en-US");

/** Why `text` cannot be sent, in a person's words ("Your message is 13,000 characters; the
 * limit is 10,000"), or null when it can (D17: the raw schema path was shown). */
export function tooLong(text) {
  const length = [...text].length; // code points, as the server counts (an emoji is one)
  if (length <= MAX_MESSAGE_CHARS) return null;
  return `Your message is ${count(length)} characters; the limit is ${count(MAX_MESSAGE_CHARS)}.`;
}

/** A message refused by the server for its length, said as a person would (the field path
 * "input.messages.0.content: String should have at most 10000 characters" is for scripts). */
function plainWords(message = "") {
  const long = /input\.messages\.\d+\.content: String should have at most (\d+) characters/.exec(message);
  return long ? `Your message is too long; the limit is ${count(Number(long[1]))} characters.` : message;
}

function readableError(error) {
  const next = NEXT_STEP[error.code] || (error.retryable ? "Your work is saved. Retry to continue from where it stopped." : "");
  return { message: plainWords(error.message), next, retryable: error.retryable !== false };
}


/** Show a failure in words, with what to do next, and a Retry when retrying can help. */
export function showError(error, retry) {
  const box = $("error");
  const { message, next, retryable } = readableError(error);
  box.replaceChildren();
  const strong = document.createElement("strong");
  strong.textContent = message;
  const help = document.createElement("p");
  help.textContent = next;
  box.append(strong, help);
  if (retry && retryable && error.code !== "offline") {
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = "Retry";
    button.addEventListener("click", retry);
    box.append(button);
  }
  box.dataset.code = error.code || "error";
  box.hidden = false;
}

/** Hide the error card; with `code`, only when that is what it shows. */
export function clearError(code) {
  const box = $("error");
  if (!code || box.dataset.code === code) box.hidden = true;
}
