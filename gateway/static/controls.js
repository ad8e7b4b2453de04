// The player's control bar: play/pause, a seek bar that shows the storyboard tile of the
// moment under the pointer (or the keyboard's position), elapsed/total time, mute and
// full screen. The <video> element itself stays the one source of truth.

import { clock } from "./dom.js";

const SEEK_STEPS = 1000; // the range input's resolution

export class Controls {
  constructor(box, video) {
    this.box = box;
    this.video = video;
    this.storyboard = null;
    this.play = box.querySelector(".play");
    this.seek = box.querySelector(".seek");
    this.time = box.querySelector(".time");
    this.mute = box.querySelector(".mute");
    this.full = box.querySelector(".fullscreen");
    this.preview = box.querySelector(".scrub-preview");
    this.tile = this.preview.querySelector(".scrub-tile");
    this.tileTime = this.preview.querySelector(".tile-time");
    this.seeking = false;
    this.wire();
    this.refresh();
  }

  wire() {
    const { video, seek } = this;
    this.play.addEventListener("click", () => this.toggle());
    video.addEventListener("click", () => this.toggle());
    for (const name of ["play", "pause", "timeupdate", "durationchange", "loadedmetadata",
      "volumechange", "seeked", "emptied"]) {
      video.addEventListener(name, () => this.refresh());
    }
    seek.addEventListener("input", () => {
      this.seeking = true;
      const t = this.timeAt(seek.valueAsNumber / SEEK_STEPS);
      this.show(t, seek.valueAsNumber / SEEK_STEPS);
      video.currentTime = t;
    });
    seek.addEventListener("change", () => { this.seeking = false; this.hide(); });
    seek.addEventListener("pointermove", (e) => {
      const rect = seek.getBoundingClientRect();
      const fraction = Math.min(1, Math.max(0, (e.clientX - rect.left) / rect.width));
      this.show(this.timeAt(fraction), fraction);
    });
    seek.addEventListener("pointerleave", () => this.hide());
    seek.addEventListener("blur", () => this.hide());
    this.mute.addEventListener("click", () => { video.muted = !video.muted; });
    this.full.addEventListener("click", () => {
      if (document.fullscreenElement) document.exitFullscreen();
      else this.box.requestFullscreen?.().catch(() => {});
    });
  }

  toggle() {
    if (this.video.paused) this.video.play().catch(() => {});
    else this.video.pause();
  }

  timeAt(fraction) {
    return fraction * (Number.isFinite(this.video.duration) ? this.video.duration : 0);
  }

  // The storyboard tile for moment t above the seek bar at ``fraction`` of its width.
  show(t, fraction) {
    this.tileTime.textContent = clock(t);
    const cue = this.storyboard?.at(t);
    this.tile.hidden = !cue;
    if (cue) {
      Object.assign(this.tile.style, {
        width: `${cue.w}px`, height: `${cue.h}px`, backgroundImage: `url("${cue.url}")`,
        backgroundPosition: `-${cue.x}px -${cue.y}px`,
      });
      this.tile.dataset.cueStart = String(cue.start);
      this.tile.dataset.xywh = `${cue.x},${cue.y},${cue.w},${cue.h}`;
    }
    this.preview.style.left = `${fraction * 100}%`;
    this.preview.hidden = false;
  }

  hide() {
    if (!this.seeking) this.preview.hidden = true;
  }

  refresh() {
    const { video } = this;
    const duration = Number.isFinite(video.duration) ? video.duration : 0;
    this.play.textContent = video.paused ? "Play" : "Pause";
    this.mute.textContent = video.muted ? "Unmute" : "Mute";
    if (!this.seeking) {
      this.seek.value = duration ? String(Math.round(video.currentTime / duration * SEEK_STEPS)) : "0";
    }
    const text = `${clock(video.currentTime)} / ${clock(duration)}`;
    this.time.textContent = text;
    this.seek.setAttribute("aria-valuetext", text);
  }
}
