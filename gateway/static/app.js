// VideoForge's page: a hash router over five views (sign in, gallery, upload + jobs,
// watch, webhooks). Plain ES modules, no build step.

import { api, currentUser, events, login, logout, mediaUrl, tokens } from "./api.js";
import { Player } from "./player.js";
import { Upload } from "./upload.js";
import { WebhooksView } from "./webhooks.js";

const main = document.getElementById("main");
const statusLine = document.getElementById("status");
const cleanup = [];  // what the current view must undo when we leave it

const TERMINAL = new Set(["SUCCEEDED", "FAILED", "CANCELLED", "DELETED"]);
const say = (text) => { statusLine.textContent = text; };
const views = (n) => (n === 1 ? "1 view" : `${n ?? 0} views`);
const $ = (id) => document.getElementById(id);

function mount(templateId) {
  for (const undo of cleanup.splice(0)) undo();
  main.replaceChildren(document.getElementById(templateId).content.cloneNode(true));
}

function setNav() {
  const user = currentUser();
  $("nav").hidden = !user;
  $("who").hidden = !user;
  $("who-name").textContent = user ? `Signed in as ${user.name}` : "";
  const here = location.hash || "#/";
  for (const a of $("nav").querySelectorAll("a")) {
    if (a.getAttribute("href") === here) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
}

// -- sign in ------------------------------------------------------------------------------

function showLogin() {
  mount("tpl-login");
  $("login-user").focus();
  $("login-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const form = new FormData(e.target);
    $("login-error").textContent = "";
    try {
      await login(form.get("username"), form.get("password"));
      say("Signed in.");
      route();
    } catch (error) {
      $("login-error").textContent = `Could not sign in: ${error.message}.`;
    }
  });
}

// -- gallery ------------------------------------------------------------------------------

function card(video) {
  const li = document.createElement("li");
  const a = document.createElement("a");
  a.href = `#/watch/${video.id}`;
  a.className = "tile";
  const img = document.createElement("img");
  img.alt = "";
  img.loading = "lazy";
  const caption = document.createElement("span");
  caption.className = "title";
  caption.textContent = video.title || video.filename || "Untitled";
  const meta = document.createElement("span");
  meta.className = "muted";
  meta.textContent = video.status === "READY"
    ? `${video.visibility} · ${views(video.view_count)}`
    : video.status.toLowerCase();
  a.append(img, caption, meta);
  li.append(a);
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
  return li;
}

function showGallery(mine) {
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
    if (cursor && !reset) params.set("cursor", cursor);
    grid.setAttribute("aria-busy", "true");
    try {
      const page = await api(`${base}?${params}`);
      if (ticket !== latest) return;
      if (reset) grid.replaceChildren();
      grid.append(...page.items.map(card));
      cursor = page.next_cursor || null;
      more.hidden = !cursor;
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

// -- upload and jobs ----------------------------------------------------------------------

function jobRow(job) {
  const li = document.createElement("li");
  li.className = "job";
  li.dataset.jobId = job.id;
  const label = document.createElement("span");
  label.className = "job-label";
  const bar = document.createElement("progress");
  bar.max = 1;
  const state = document.createElement("span");
  state.className = "job-state";
  const cancel = document.createElement("button");
  cancel.type = "button";
  cancel.className = "link cancel";
  cancel.textContent = "Cancel";
  cancel.addEventListener("click", async () => {
    try {
      updateJob(li, await api(`/api/jobs/${job.id}`, { method: "DELETE" }));
    } catch (error) {
      say(`Could not cancel: ${error.message}`);
    }
  });
  const error = document.createElement("span");
  error.className = "error";
  li.append(label, bar, state, cancel, error);
  const name = (title) => {
    label.textContent = title;
    bar.setAttribute("aria-label", `Progress of ${title}`);
    cancel.setAttribute("aria-label", `Cancel ${title}`);
  };
  name(job.title || "Video");
  if (!job.title) {
    api(`/api/gallery/videos/${job.video_id}`)
      .then((video) => name(video.title || video.filename || "Untitled")).catch(() => {});
  }
  updateJob(li, job);
  return li;
}

function updateJob(li, job) {
  const bar = li.querySelector("progress");
  const state = li.querySelector(".job-state");
  bar.value = job.status === "SUCCEEDED" ? 1 : job.progress || 0;
  li.dataset.status = job.status;
  state.textContent = job.status === "RUNNING"
    ? `running ${Math.round((job.progress || 0) * 100)}%` : job.status.toLowerCase();
  li.querySelector(".error").textContent = job.status === "FAILED"
    ? `Failed: ${job.error || "no reason given"}` : "";
  li.querySelector(".cancel").hidden = TERMINAL.has(job.status) || job.cancel_requested;
  if (job.status === "SUCCEEDED" && !li.querySelector("a")) {
    const a = document.createElement("a");
    a.href = `#/watch/${job.video_id}`;
    a.textContent = "Watch";
    a.setAttribute("aria-label", `Watch ${li.querySelector(".job-label").textContent}`);
    li.insertBefore(a, li.querySelector(".error"));
  }
}

function follow(li, job) {
  if (TERMINAL.has(job.status)) return;
  const stop = new AbortController();
  cleanup.push(() => stop.abort());
  const onEvent = (data) => {
    const next = data.job || data;
    if (next.status) {
      updateJob(li, { ...job, ...next });
      if (TERMINAL.has(next.status)) {
        say(`${li.querySelector(".job-label").textContent}: ${next.status.toLowerCase()}.`);
      }
    }
  };
  // Reconnect while the job runs: a stream may end (server limit) or drop.
  (async () => {
    while (!stop.signal.aborted && !TERMINAL.has(li.dataset.status)) {
      try {
        await events(`/api/jobs/${job.id}/events`, onEvent, stop.signal);
        await new Promise((r) => setTimeout(r, 500));
      } catch {
        if (stop.signal.aborted) return;
        onEvent(await api(`/api/jobs/${job.id}`).catch(() => ({})));
        await new Promise((r) => setTimeout(r, 2000));
      }
    }
  })();
}

function addJob(job, first = false) {
  const li = jobRow(job);
  if (first) $("jobs").prepend(li);
  else $("jobs").append(li);
  $("jobs-empty").hidden = true;
  follow(li, job);
}

async function showUpload() {
  mount("tpl-upload");
  let upload = null;
  const bar = $("upload-bar");
  const text = $("upload-text");
  const progress = (done, total) => {
    bar.value = total ? done / total : 0;
    text.textContent = `${Math.round(bar.value * 100)}% of ${(total / 1048576).toFixed(1)} MiB`;
  };
  const run = async (step) => {
    $("upload-button").disabled = true;
    $("upload-resume").hidden = true;
    try {
      const video = await step();
      text.textContent = "Uploaded. Submitting the job…";
      const job = await api("/api/jobs", {
        method: "POST", body: { video_id: video.id },
        headers: { "Idempotency-Key": crypto.randomUUID() },
      });
      addJob({ ...job, title: video.title }, true);
      text.textContent = "Uploaded; transcoding.";
      say("Upload finished; the job is queued.");
      $("upload-form").reset();
      upload = null;
    } catch (error) {
      text.textContent = `Upload failed: ${error.message}`;
      say(`Upload failed: ${error.message}`);
      $("upload-resume").hidden = !(upload?.init);
    } finally {
      $("upload-button").disabled = false;
    }
  };
  $("upload-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const file = $("upload-file").files[0];
    if (!file) return;
    const title = $("upload-title-input").value.trim() || file.name.replace(/\.[^.]+$/, "");
    upload = new Upload(file, { title, visibility: $("upload-visibility").value }, progress);
    $("upload-progress").hidden = false;
    progress(0, file.size);
    run(() => upload.start());
  });
  $("upload-resume").addEventListener("click", () => run(() => upload.resume()));
  const list = $("jobs");
  try {
    const jobs = (await api("/api/jobs")).items;
    if (!list.isConnected) return; // the user moved on meanwhile
    jobs.forEach((job) => addJob(job));
    $("jobs-empty").hidden = jobs.length > 0;
  } catch (error) {
    say(`Could not load jobs: ${error.message}`);
  }
}

// -- watch ------------------------------------------------------------------------------

async function showWatch(videoId) {
  mount("tpl-watch");
  const errorLine = $("watch-error");
  const viewCount = $("views");
  const fail = (message) => { errorLine.textContent = message; };
  let video;
  try {
    video = await api(`/api/gallery/videos/${videoId}`);
  } catch (error) {
    fail(error.status === 404 ? "This video does not exist (or is private)." : error.message);
    return;
  }
  if (!errorLine.isConnected) return; // the user moved on meanwhile
  $("watch-title").textContent = video.title || video.filename || "Untitled";
  $("watch-description").textContent = video.description || "";
  viewCount.textContent = views(video.view_count);
  const player = new Player($("player"), $("quality"), videoId, fail);
  cleanup.push(() => player.destroy());
  $("player").addEventListener("play", () => {
    api(`/api/gallery/videos/${videoId}/views`, { method: "POST" })
      .then((counted) => { viewCount.textContent = views(counted.view_count); })
      .catch(() => {});
  }, { once: true });
  if (video.status === "READY") player.load().catch((error) => fail(error.message));
  else fail(`This video is ${video.status.toLowerCase()}; it plays once it is ready.`);
  if (video.owner_id === currentUser()?.id) editForm(video);
}

function editForm(video) {
  $("edit-section").hidden = false;
  $("edit-title-input").value = video.title || "";
  $("edit-description").value = video.description || "";
  $("edit-visibility").value = video.visibility;
  $("edit-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    try {
      const saved = await api(`/api/gallery/videos/${video.id}`, {
        method: "PUT",
        body: { title: $("edit-title-input").value, description: $("edit-description").value,
          visibility: $("edit-visibility").value },
      });
      $("watch-title").textContent = saved.title || "Untitled";
      $("watch-description").textContent = saved.description || "";
      say("Saved.");
    } catch (error) {
      say(`Could not save: ${error.message}`);
    }
  });
  $("delete").addEventListener("click", async () => {
    if (!window.confirm("Delete this video and all its qualities? This cannot be undone.")) {
      return;
    }
    try {
      await api(`/api/gallery/videos/${video.id}`, { method: "DELETE" });
      say("Deleted.");
      location.hash = "#/mine";
    } catch (error) {
      say(`Could not delete: ${error.message}`);
    }
  });
}

// -- routing ------------------------------------------------------------------------------

function route() {
  setNav();
  if (!tokens()) return showLogin();
  const hash = location.hash || "#/";
  const watch = hash.match(/^#\/watch\/([\w-]+)$/);
  if (watch) showWatch(watch[1]);
  else if (hash === "#/mine") showGallery(true);
  else if (hash === "#/upload") showUpload();
  else if (hash === "#/webhooks") {
    mount("tpl-webhooks");
    new WebhooksView(main, say).show().catch((error) => say(`Webhooks: ${error.message}`));
  }
  else showGallery(false);
  main.focus({ preventScroll: true });
}

$("sign-out").addEventListener("click", () => {
  logout();
  say("Signed out.");
  route();
});
window.addEventListener("vf:signed-out", () => {
  say("Your session ended; please sign in again.");
  route();
});
window.addEventListener("hashchange", route);
route();
