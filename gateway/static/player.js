// The player: a quality menu with each quality (the CMAF file, played progressively) and
// Auto (the HLS master over the same files, through hls.js); the choice is remembered in
// localStorage. URLs expire (presigned, short-lived): when one runs out mid-viewing the
// player fetches a fresh one and carries on where it was.

import { api, mediaUrl } from "./api.js";

const CHOICE = "vf.quality";
const AUTO = "auto";
const HLS_SCRIPT = "/static/vendor/hls.min.js"; // the full build: it has EXT-X-DEFINE
// At most one automatic refetch per this long, so a URL that keeps failing is reported.
const RECOVER_EVERY_MS = 30_000;

let hlsLoading = null;

// hls.js (~500 kB) is fetched only when a video is watched; resolves to window.Hls or
// null when it cannot be had (Auto then falls back to native HLS, or is not offered).
function loadHls() {
  hlsLoading ??= new Promise((resolve) => {
    if (window.Hls) return resolve(window.Hls);
    const script = document.createElement("script");
    script.src = HLS_SCRIPT;
    script.onload = () => resolve(window.Hls || null);
    script.onerror = () => resolve(null);
    document.head.append(script);
  });
  return hlsLoading;
}

export function rememberedQuality() {
  return localStorage.getItem(CHOICE) || AUTO;
}

export class Player {
  constructor(video, select, videoId, onError) {
    this.video = video;
    this.select = select;
    this.videoId = videoId;
    this.onError = onError;
    this.hls = null;
    this.quality = null;
    this.recovered = 0;
    window.vfPlayer = this; // a handle for debugging and the browser tests
    select.addEventListener("change", () => {
      localStorage.setItem(CHOICE, select.value);
      this.play(select.value);
    });
    video.addEventListener("error", () => {
      if (this.quality !== AUTO && this.quality) this.recover("the video stopped loading");
    });
  }

  async load() {
    const [body, Hls] = await Promise.all([
      api(`/api/stream/${this.videoId}/qualities`), loadHls()]);
    const qualities = body.qualities.map((q) => q.quality);
    this.select.replaceChildren();
    const autoOk = body.hls && (Boolean(Hls?.isSupported()) ||
      this.video.canPlayType("application/vnd.apple.mpegurl") !== "");
    if (autoOk) this.select.append(new Option("Auto (adaptive)", AUTO));
    for (const q of qualities) this.select.append(new Option(q, q));
    let choice = rememberedQuality();
    if (![...this.select.options].some((o) => o.value === choice)) {
      choice = this.select.options[0]?.value;
    }
    if (!choice) throw new Error("this video has no playable quality yet");
    this.select.value = choice;
    await this.play(choice);
    return body;
  }

  async play(quality, { at = this.video.currentTime, playing = !this.video.paused } = {}) {
    this.hls?.destroy();
    this.hls = null;
    this.quality = quality;
    delete this.video.dataset.level;
    try {
      const url = await mediaUrl(`/api/stream/${this.videoId}?quality=${quality}`);
      if (quality === AUTO) this.playHls(url, at);
      else this.video.src = url;
    } catch (error) {
      this.onError(error.message);
      return;
    }
    this.video.addEventListener("loadedmetadata", () => {
      if (at && quality !== AUTO) this.video.currentTime = at;
      if (playing) this.video.play().catch(() => {});
    }, { once: true });
  }

  // A URL ran out (or the network dropped): fetch fresh ones and resume, once in a while.
  recover(reason) {
    const now = Date.now();
    if (now - this.recovered < RECOVER_EVERY_MS) {
      this.onError(`Playback failed: ${reason}.`);
      return;
    }
    this.recovered = now;
    this.play(this.quality, { at: this.video.currentTime, playing: true });
  }

  // The master URL carries a playback grant, so the playlists need no credentials.
  playHls(master, at) {
    const Hls = window.Hls;
    if (!Hls?.isSupported()) {
      this.video.src = master; // Safari plays HLS natively
      return;
    }
    this.hls = new Hls({ startPosition: at || -1 });
    this.hls.on(Hls.Events.LEVEL_SWITCHED, (_, data) => {
      const level = this.hls.levels[data.level];
      this.video.dataset.level = String(level?.height || "");
      const auto = this.select.querySelector(`option[value="${AUTO}"]`);
      if (auto && level) auto.textContent = `Auto (${level.height}p)`;
    });
    this.hls.on(Hls.Events.ERROR, (_, data) => {
      if (!data.fatal) return;
      if (data.type === Hls.ErrorTypes.NETWORK_ERROR) this.recover(data.details);
      else this.onError(`Adaptive playback failed: ${data.details}`);
    });
    this.hls.loadSource(master);
    this.hls.attachMedia(this.video);
  }

  destroy() {
    this.hls?.destroy();
    this.video.removeAttribute("src");
    if (window.vfPlayer === this) window.vfPlayer = null;
  }
}
