// The upload view (signed in): choose or drop a video file, upload it straight to storage
// (resumable), submit the job, and follow every job of the user's below.

import { api } from "./api.js";
import { $, mount, say } from "./dom.js";
import { JobList } from "./jobs.js";
import { Upload } from "./upload.js";

const titleOf = (file) => file.name.replace(/\.[^.]+$/, "");

// The drop zone: a file dropped on it becomes the form's file, as if chosen.
function acceptDrops(zone, input, onFile) {
  const hover = (on) => (e) => {
    e.preventDefault();
    zone.classList.toggle("dragging", on);
  };
  zone.addEventListener("dragenter", hover(true));
  zone.addEventListener("dragover", hover(true));
  zone.addEventListener("dragleave", hover(false));
  zone.addEventListener("drop", (e) => {
    hover(false)(e);
    const file = e.dataTransfer?.files?.[0];
    if (!file) return;
    if (e.dataTransfer.files.length > 1) say("One file at a time: the first one was taken.");
    const chosen = new DataTransfer();
    chosen.items.add(file);
    input.files = chosen.files;
    onFile(file);
  });
  input.addEventListener("change", () => input.files[0] && onFile(input.files[0]));
}

export async function showUpload() {
  mount("tpl-upload");
  const jobs = new JobList($("jobs"), $("jobs-empty"));
  let upload = null;
  const bar = $("upload-bar");
  const text = $("upload-text");
  const titleInput = $("upload-title-input");
  const progress = (done, total) => {
    bar.value = total ? done / total : 0;
    text.textContent = `${Math.round(bar.value * 100)}% of ${(total / 1048576).toFixed(1)} MiB`;
  };
  acceptDrops($("drop-zone"), $("upload-file"), (file) => {
    $("drop-name").textContent = `${file.name} (${(file.size / 1048576).toFixed(1)} MiB)`;
    if (!titleInput.value.trim()) titleInput.value = titleOf(file);
  });
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
      await jobs.add({ ...job, title: video.title }, { first: true });
      text.textContent = "Uploaded; transcoding.";
      say("Upload finished; the job is queued.");
      $("upload-form").reset();
      $("drop-name").textContent = "";
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
    const title = titleInput.value.trim() || titleOf(file);
    upload = new Upload(file, { title, visibility: $("upload-visibility").value }, progress);
    $("upload-progress").hidden = false;
    progress(0, file.size);
    run(() => upload.start());
  });
  $("upload-resume").addEventListener("click", () => run(() => upload.resume()));
  await jobs.load();
}
