// Tool and pipeline settings kept in localStorage whenever one changes, and read back when the page opens.

const KEY = "inkwash.prefs";
// the controls whose values are kept, by id
const INPUTS = ["size", "color", "auto", "gap", "gap-auto", "unhinted", "shade", "shading", "light", "lock"];

/** Keep the controls' values and `extra` ({tool, layer, view, model, ...}). */
export function savePrefs(extra) {
  const prefs = { ...extra, shadingTouched: Boolean(document.querySelector("#shading").dataset.touched) };
  for (const id of INPUTS) {
    const el = document.querySelector(`#${id}`);
    prefs[id] = el.type === "checkbox" ? el.checked : el.value;
  }
  try {
    localStorage.setItem(KEY, JSON.stringify(prefs));
  } catch {
    // storage disabled: settings last for this visit
  }
}

/** Put the kept values back in their controls -> the kept object (the caller applies its extras), or null. */
export function loadPrefs() {
  let prefs;
  try {
    prefs = JSON.parse(localStorage.getItem(KEY) || "null");
  } catch {
    prefs = null;
  }
  if (!prefs || typeof prefs !== "object") return null;
  for (const id of INPUTS) {
    const el = document.querySelector(`#${id}`);
    if (!(id in prefs)) continue;
    if (el.type === "checkbox") el.checked = Boolean(prefs[id]);
    else el.value = String(prefs[id]);
  }
  if (prefs.shadingTouched) document.querySelector("#shading").dataset.touched = "1";
  return prefs;
}
