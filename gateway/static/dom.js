// Small helpers every view shares: element lookup and creation, the status line, view
// mounting (with what a view must undo when the user leaves it), and formatting.

export const $ = (id) => document.getElementById(id);

// An element: attribute-style keys ("role", "aria-*", "data-*") become attributes, the
// rest properties; children may be nodes or strings (null/undefined are skipped).
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === "role" || key.includes("-")) node.setAttribute(key, value);
    else node[key] = value;
  }
  node.append(...children.filter((c) => c !== null && c !== undefined));
  return node;
}

export function say(text) {
  $("status").textContent = text;
}

const leaving = []; // what the current view must undo when we leave it

export function onLeave(undo) {
  leaving.push(undo);
}

// Replace <main>'s content with a <template>'s, after undoing the previous view.
export function mount(templateId) {
  for (const undo of leaving.splice(0)) undo();
  const main = $("main");
  main.replaceChildren($(templateId).content.cloneNode(true));
  return main;
}

// 75.4 → "1:15", 3725 → "1:02:05".
export function clock(seconds) {
  const total = Math.max(0, Math.floor(seconds || 0));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, "0");
  return h ? `${h}:${String(m).padStart(2, "0")}:${s}` : `${m}:${s}`;
}

export function day(iso) {
  return new Date(iso).toLocaleDateString(undefined,
    { year: "numeric", month: "short", day: "numeric" });
}

export const views = (n) => (n === 1 ? "1 view" : `${n ?? 0} views`);
