// Which variant of each deliverable is current, what became of the others, and which are sketches.

export const SKETCH_TITLE =
  "A layout sketch: drawn by the built-in renderer or a model-free ComfyUI template, not an image model";

const VERDICTS = ["approved", "current", "superseded"];

/** Asset id per deliverable of the set the person sees: the state's `current` variants
 * (`selected` on threads saved before it), else the newest output of each deliverable. */
export function currentSet(values = {}, items = []) {
  const newest = {};
  for (const item of items) {
    const seen = newest[item.deliverable];
    if (!seen || (item.iteration ?? 0) >= (seen.iteration ?? 0)) newest[item.deliverable] = item;
  }
  const chosen = Object.fromEntries(Object.entries(newest).map(([d, item]) => [d, item.asset_id]));
  return { ...chosen, ...(values.current || values.selected || {}) };
}

/** `approved`, `current` or `superseded`: the verdict `/outputs` gives, else what the current
 * set says (a finished thread's other verdicts, e.g. `completed`, mean it is in the final set). */
export function verdictOf(item, current = {}) {
  if (VERDICTS.includes(item.verdict)) return item.verdict;
  if (item.verdict || current[item.deliverable] === item.asset_id) return "current";
  if (labMade(item)) return null; // a Media Lab result not picked yet: nothing superseded it
  return item.deliverable in current ? "superseded" : null;
}

/** What a Media Lab result that joined the thread is ("upscaled 2x"), from its lineage; null
 * for the studio's own variants. */
export function labMade(x) {
  const generator = x?.generator ?? x?.lineage?.generator ?? "";
  if (!generator.startsWith("media lab")) return null;
  const lab = x?.lineage?.recipe?.media_lab || {};
  const kind = lab.kind || generator.split(" ")[2] || "";
  const factor = lab.params?.factor;
  if (kind === "upscale") return factor ? `upscaled ${factor}x` : "upscaled";
  if (kind === "generate") return "made from references";
  if (kind === "blend") return lab.params?.mode ? `blended (${lab.params.mode})` : "blended";
  return `Media Lab ${kind}`.trim();
}

/** Whether an output (an `/outputs` item, a gate output or candidate, a spec) is a sketch:
 * its recipe says so, or the built-in renderer (which only sketches) drew it. */
export function isSketch(x) {
  if (!x) return false;
  return !!(
    x.sketch ||
    x.recipe?.sketch ||
    x.spec?.sketch ||
    x.lineage?.recipe?.sketch ||
    x.lineage?.spec?.sketch ||
    (x.generator ?? x.lineage?.generator) === "renderer"
  );
}
