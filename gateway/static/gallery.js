// The gallery (public videos, open to anyone) and "My library" (signed in): a grid of
// cards with poster, duration and upload date, search, and "Load more" (cursor pages).

import { api, mediaUrl } from "./api.js";
import { $, clock, day, el, mount, say, views } from "./dom.js";

// "Dec 1, 2026 · 3 views" (private ones say so first); the status while not ready.
function meta(video) {
  const line = el("span", { className: "muted meta" });
  if (video.status !== "READY") {
    line.append(video.status.toLowerCase());
    return line;
  }
  if (video.visibility !== "public") line.append(`${video.visibility} · `);
  line.append(el("time", { dateTime: video.created_at }, day(video.created_at)),
    ` · ${views(video.view_count)}`);
  return line;
}

function card(video) {
  const title = video.title || video.filename || "Untitled";
  const img = el("img", { alt: "", loading: "lazy" });
  const poster = el("span", { className: "poster" }, img);
  if (video.duration_s) {
    poster.append(el("span", { className: "duration", "aria-label":
      `duration ${clock(video.duration_s)}` }, clock(video.duration_s)));
  }
  const a = el("a", { href: `#/watch/${video.id}`, className: "tile" }, poster,
    el("span", { className: "title" }, title), meta(video));
  if (video.status === "READY") {
    let still = null;
    let moving = null;
    mediaUrl(`/api/stream/${video.id}/thumbnail`).then((url) => {
      still = url;
      img.src = url;
    }).catch(() => {});
    // The animated preview plays while the tile is hovered or focused.
    const animate = async () => {
      moving ??= await mediaUrl(`/api/stream/${video.id}/preview`).catch(() => null);
      if (moving) img.src = moving;
    };
    const stop = () => { if (still) img.src = still; };
    a.addEventListener("mouseenter", animate);
    a.addEventListener("focus", animate);
    a.addEventListener("mouseleave", stop);
    a.addEventListener("blur", stop);
  } else {
    img.classList.add("placeholder");
  }
  return el("li", {}, a);
}

export function showGallery({ mine }) {
  mount("tpl-gallery");
  $("gallery-title").textContent = mine ? "My library" : "Gallery";
  const base = mine ? "/api/gallery/me/videos" : "/api/gallery/videos";
  let cursor = null;
  let query = "";
  let latest = 0; // only the newest request may fill the grid
  // Elements are looked up once: a response may arrive after the user moved on.
  const grid = $("grid");
  const more = $("more");
  const empty = $("empty");
  const load = async (reset) => {
    const ticket = ++latest;
    const params = new URLSearchParams();
    if (query) params.set("q", query);
    if (!mine) params.set("status", "READY"); // viewers see what they can watch
    if (cursor && !reset) params.set("cursor", cursor);
    grid.setAttribute("aria-busy", "true");
    try {
      const page = await api(`${base}?${params}`);
      if (ticket !== latest) return;
      if (reset) grid.replaceChildren();
      grid.append(...page.items.map(card));
      cursor = page.next_cursor || null;
      more.hidden = !cursor;
      empty.textContent = query ? `No videos match “${query}”.` : "No videos yet.";
      empty.hidden = grid.children.length > 0;
    } catch (error) {
      say(`Could not load videos: ${error.message}`);
    } finally {
      if (ticket === latest) grid.setAttribute("aria-busy", "false");
    }
  };
  const search = $("search");
  $("search-form").addEventListener("submit", (e) => {
    e.preventDefault();
    query = search.value.trim();
    cursor = null;
    load(true);
  });
  more.addEventListener("click", () => load(false));
  load(true);
}
