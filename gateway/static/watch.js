// The watch page (#/watch/{id}): open to anyone for a public video, to its owner for a
// private one. The player with its controls and storyboard, a link to share, the view
// count, and for the owner the details form and delete.

import { api, currentUser } from "./api.js";
import { $, clock, day, mount, onLeave, say, views } from "./dom.js";
import { Controls } from "./controls.js";
import { Player } from "./player.js";
import { Storyboard } from "./storyboard.js";

function shareLink(video) {
  const url = `${location.origin}${location.pathname}#/watch/${video.id}`;
  const input = $("share-url");
  input.value = url;
  $("share-note").textContent = video.visibility === "public" ? ""
    : "While the video is private, only you can open this link.";
  $("share-copy").addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(url);
      say("Link copied.");
    } catch {
      input.select(); // no clipboard access: the link is selected for copying by hand
      say("Press Ctrl+C to copy the selected link.");
    }
  });
}

function describe(video) {
  $("watch-title").textContent = video.title || video.filename || "Untitled";
  $("watch-description").textContent = video.description || "";
  const when = $("watch-date");
  when.dateTime = video.created_at;
  when.textContent = `Uploaded ${day(video.created_at)}`;
  $("watch-duration").textContent = video.duration_s ? clock(video.duration_s) : "";
  $("views").textContent = views(video.view_count);
}

export async function showWatch(videoId) {
  mount("tpl-watch");
  const errorLine = $("watch-error");
  const fail = (message) => { errorLine.textContent = message; };
  let video;
  try {
    video = await api(`/api/gallery/videos/${videoId}`);
  } catch (error) {
    if (error.status !== 404) return fail(error.message);
    fail(currentUser() ? "This video does not exist, or it is private."
      : "This video does not exist, or it is private: sign in if it is yours.");
    $("watch-signin").hidden = Boolean(currentUser());
    return;
  }
  if (!errorLine.isConnected) return; // the user moved on meanwhile
  $("watch-body").hidden = false;
  describe(video);
  shareLink(video);
  const element = $("player");
  const player = new Player(element, $("quality"), videoId, fail);
  const controls = new Controls($("player-box"), element);
  onLeave(() => player.destroy());
  element.addEventListener("play", () => {
    api(`/api/gallery/videos/${videoId}/views`, { method: "POST" })
      .then((counted) => { $("views").textContent = views(counted.view_count); })
      .catch(() => {});
  }, { once: true });
  if (video.status === "READY") {
    player.load().then(async (offer) => {
      if (offer.storyboard) controls.storyboard = await Storyboard.load(videoId);
    }).catch((error) => fail(error.message));
  } else {
    fail(`This video is ${video.status.toLowerCase()}; it plays once it is ready.`);
  }
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
      describe(saved);
      $("share-note").textContent = saved.visibility === "public" ? ""
        : "While the video is private, only you can open this link.";
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
