// Scrubbing previews: the video's storyboard cues (WebVTT, each naming a tile of one sprite
// sheet as url#xywh=x,y,w,h), and the tile for a moment of the video.

import { authHeader } from "./api.js";

const CUE = /^(\d+):(\d\d):(\d\d)\.(\d{3}) --> (\d+):(\d\d):(\d\d)\.(\d{3})\s*$/;
const TILE = /^(.*)#xywh=(\d+),(\d+),(\d+),(\d+)\s*$/;

const seconds = (h, m, s, ms) => Number(h) * 3600 + Number(m) * 60 + Number(s) + Number(ms) / 1000;

export function parseCues(text) {
  const lines = text.split(/\r?\n/);
  const cues = [];
  for (let i = 0; i < lines.length - 1; i++) {
    const time = lines[i].match(CUE);
    const tile = time && lines[i + 1].match(TILE);
    if (!tile) continue;
    const [x, y, w, h] = tile.slice(2).map(Number);
    cues.push({ start: seconds(...time.slice(1, 5)), end: seconds(...time.slice(5, 9)),
      url: tile[1], x, y, w, h });
  }
  return cues;
}

export class Storyboard {
  constructor(cues) {
    this.cues = cues;
  }

  // null when the video has none (older videos, or not ready).
  static async load(videoId) {
    const response = await fetch(`/api/stream/${videoId}/storyboard.vtt`,
      { headers: authHeader() });
    if (!response.ok) return null;
    const cues = parseCues(await response.text());
    return cues.length ? new Storyboard(cues) : null;
  }

  // The cue showing moment t (seconds): the last one starting at or before it.
  at(t) {
    let low = 0;
    let high = this.cues.length - 1;
    while (low < high) {
      const mid = (low + high + 1) >> 1;
      if (this.cues[mid].start <= t) low = mid;
      else high = mid - 1;
    }
    return this.cues[low];
  }
}
