// The signed-in user's jobs: one row each with progress, cancel, the failure reason and a
// Watch link, kept current from the job's server-sent events.

import { api, events } from "./api.js";
import { el, onLeave, say } from "./dom.js";

// Which statuses are final comes from the API (GET /api/jobs/lifecycle), read once; while
// it cannot be read, none is known final and a job's stream ending with "done" says so.
let lifecycle = null;

export function terminalStatuses() {
  lifecycle ??= api("/api/jobs/lifecycle").then((body) => new Set(body.terminal))
    .catch(() => { lifecycle = null; return new Set(); });
  return lifecycle;
}

function updateJob(li, job, terminal) {
  const bar = li.querySelector("progress");
  const state = li.querySelector(".job-state");
  bar.value = job.status === "SUCCEEDED" ? 1 : job.progress || 0;
  li.dataset.status = job.status;
  state.textContent = job.status === "RUNNING"
    ? `running ${Math.round((job.progress || 0) * 100)}%` : job.status.toLowerCase();
  const error = li.querySelector(".error");
  error.textContent = job.status === "FAILED" ? `Failed: ${job.error || "no reason given"}` : "";
  if (job.error_code) error.title = `error code: ${job.error_code}`;
  const final = terminal.has(job.status) || li.dataset.final === "yes";
  li.querySelector(".cancel").hidden = final || job.cancel_requested;
  if (job.status === "SUCCEEDED" && job.video_id && !li.querySelector("a")) {
    const name = li.querySelector(".job-label").textContent;
    li.insertBefore(el("a", { href: `#/watch/${job.video_id}`, "aria-label": `Watch ${name}` },
      "Watch"), error);
  }
}

function jobRow(job, terminal) {
  const label = el("span", { className: "job-label" });
  const bar = el("progress", { max: 1 });
  const cancel = el("button", { type: "button", className: "link cancel" }, "Cancel");
  const li = el("li", { className: "job", "data-job-id": job.id }, label, bar,
    el("span", { className: "job-state" }), cancel, el("span", { className: "error" }));
  cancel.addEventListener("click", async () => {
    try {
      updateJob(li, await api(`/api/jobs/${job.id}`, { method: "DELETE" }), terminal);
    } catch (error) {
      say(`Could not cancel: ${error.message}`);
    }
  });
  const name = (title) => {
    label.textContent = title;
    bar.setAttribute("aria-label", `Progress of ${title}`);
    cancel.setAttribute("aria-label", `Cancel ${title}`);
  };
  name(job.title || (job.video_id ? "Video" : "Deleted video"));
  if (!job.title && job.video_id) {  // a job outlives its deleted video: nothing to ask
    api(`/api/gallery/videos/${job.video_id}`)
      .then((video) => name(video.title || video.filename || "Untitled")).catch(() => {});
  }
  updateJob(li, job, terminal);
  return li;
}

// A job deleted with its video: its row says so and it is no longer followed.
function gone(li) {
  li.dataset.status = "GONE";
  li.querySelector(".job-state").textContent = "video deleted";
  li.querySelector(".cancel").hidden = true;
  li.querySelector("a")?.remove();
}

function follow(li, job, terminal) {
  if (terminal.has(job.status)) return;
  const stop = new AbortController();
  onLeave(() => stop.abort());
  const finished = () => li.dataset.final === "yes" || terminal.has(li.dataset.status)
    || li.dataset.status === "GONE";
  const onEvent = (data, type) => {
    if (type === "gone") {
      gone(li);
      return;
    }
    if (type === "done") li.dataset.final = "yes"; // the stream's last word: the job is final
    const next = data.job || data;
    if (next.status) {
      updateJob(li, { ...job, ...next }, terminal);
      if (finished()) {
        say(`${li.querySelector(".job-label").textContent}: ${next.status.toLowerCase()}.`);
      }
    }
  };
  // Reconnect while the job runs: a stream may end (server limit) or drop.
  (async () => {
    while (!stop.signal.aborted && !finished()) {
      try {
        await events(`/api/jobs/${job.id}/events`, onEvent, stop.signal);
        await new Promise((r) => setTimeout(r, 500));
      } catch (error) {
        if (stop.signal.aborted) return;
        if (error.status === 404) return gone(li); // deleted between two streams
        onEvent(await api(`/api/jobs/${job.id}`).catch(() => ({})));
        await new Promise((r) => setTimeout(r, 2000));
      }
    }
  })();
}

export class JobList {
  constructor(list, empty) {
    this.list = list;
    this.empty = empty;
  }

  async add(job, { first = false } = {}) {
    const terminal = await terminalStatuses();
    const li = jobRow(job, terminal);
    if (first) this.list.prepend(li);
    else this.list.append(li);
    this.empty.hidden = true;
    follow(li, job, terminal);
  }

  async load() {
    try {
      const jobs = (await api("/api/jobs")).items;
      if (!this.list.isConnected) return; // the user moved on meanwhile
      for (const job of jobs) await this.add(job);
      this.empty.hidden = jobs.length > 0;
    } catch (error) {
      say(`Could not load jobs: ${error.message}`);
    }
  }
}
