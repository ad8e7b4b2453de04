// The watch page: a quality menu with each MP4 quality and Auto (HLS via hls.js);
// the choice is remembered in localStorage.

import { api, mediaUrl } from "./api.js";

const CHOICE = "vf.quality";
const AUTO = "auto";
const HLS_SCRIPT = "/static/vendor/hls.min.js";

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
    select.addEventListener("change", () => {
      localStorage.setItem(CHOICE, select.value);
      this.play(select.value);
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
  }

  async play(quality) {
    const at = this.video.currentTime;
    const wasPlaying = !this.video.paused;
    this.hls?.destroy();
    this.hls = null;
    try {
      const url = await mediaUrl(`/api/stream/${this.videoId}?quality=${quality}`);
      if (quality === AUTO) this.playHls(url);
      else this.video.src = url;
    } catch (error) {
      this.onError(error.message);
      return;
    }
    this.video.addEventListener("loadedmetadata", () => {
      if (at) this.video.currentTime = at;
      if (wasPlaying) this.video.play().catch(() => {});
    }, { once: true });
  }

  // The master URL carries a playback grant, so the playlists need no credentials.
  playHls(master) {
    if (!window.Hls?.isSupported()) {
      this.video.src = master; // Safari plays HLS natively
      return;
    }
    this.hls = new window.Hls();
    this.hls.on(window.Hls.Events.ERROR, (_, data) => {
      if (data.fatal) this.onError(`adaptive playback failed: ${data.details}`);
    });
    this.hls.loadSource(master);
    this.hls.attachMedia(this.video);
  }

  destroy() {
    this.hls?.destroy();
    this.video.removeAttribute("src");
  }
}
