// Uploads straight to S3 through presigned URLs: one PUT for small files, multipart for
// big ones. Each part is retried; the ETags of finished parts are kept, so a dropped
// connection resumes with the parts still missing (the "Resume upload" button).

import { api, ApiError } from "./api.js";

export const MULTIPART_THRESHOLD = 8 * 1024 * 1024; // S3 parts are at least 5 MiB
const PART_ATTEMPTS = 4;

function put(url, body, headers, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("PUT", url);
    for (const [name, value] of Object.entries(headers || {})) {
      // The browser sets Content-Length itself and refuses to be told.
      if (name.toLowerCase() !== "content-length") xhr.setRequestHeader(name, value);
    }
    xhr.upload.onprogress = (e) => e.lengthComputable && onProgress(e.loaded);
    xhr.onload = () => (xhr.status >= 200 && xhr.status < 300
      ? resolve(xhr.getResponseHeader("ETag"))
      : reject(new ApiError(`storage refused the upload (HTTP ${xhr.status})`, xhr.status)));
    xhr.onerror = () => reject(new ApiError("the connection to storage dropped", 0));
    xhr.send(body);
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// One upload of one file; start() runs it, resume() continues after a failure.
export class Upload {
  constructor(file, meta, onProgress) {
    this.file = file;
    this.meta = meta;
    this.onProgress = onProgress; // (bytesDone, bytesTotal)
    this.etags = new Map();       // part number -> ETag of finished parts
    this.init = null;
  }

  async start() {
    const body = {
      filename: this.file.name,
      size_bytes: this.file.size,
      content_type: this.file.type || "application/octet-stream",
      ...this.meta,
    };
    if (this.file.size < MULTIPART_THRESHOLD) {
      const grant = await api("/api/upload/url", { method: "POST", body });
      await put(grant.upload_url, this.file, grant.headers,
        (n) => this.onProgress(n, this.file.size));
      this.onProgress(this.file.size, this.file.size);
      return this.confirm(grant.video_id);
    }
    this.init = await api("/api/upload/multipart/init", { method: "POST", body });
    return this.resume();
  }

  async resume() {
    const { video_id, upload_id, part_size, part_count } = this.init;
    const missing = [];
    for (let n = 1; n <= part_count; n++) if (!this.etags.has(n)) missing.push(n);
    const urls = await this.partUrls(missing);
    for (const n of missing) {
      const blob = this.file.slice((n - 1) * part_size, n * part_size);
      this.etags.set(n, await this.sendPart(n, blob, urls));
    }
    const parts = [...this.etags].sort((a, b) => a[0] - b[0])
      .map(([part_number, etag]) => ({ part_number, etag }));
    await api("/api/upload/multipart/complete",
      { method: "POST", body: { video_id, upload_id, parts } });
    return this.confirm(video_id);
  }

  async partUrls(numbers) {
    const urls = new Map();
    for (let i = 0; i < numbers.length; i += 1000) { // the API signs ≤ 1000 at a time
      const body = { video_id: this.init.video_id, upload_id: this.init.upload_id,
        part_numbers: numbers.slice(i, i + 1000) };
      const res = await api("/api/upload/multipart/parts", { method: "POST", body });
      for (const p of res.parts) urls.set(p.part_number, p.url);
    }
    return urls;
  }

  async sendPart(n, blob, urls) {
    const before = this.doneBytes();
    for (let attempt = 1; ; attempt++) {
      try {
        return await put(urls.get(n), blob, {}, (sent) =>
          this.onProgress(before + sent, this.file.size));
      } catch (error) {
        if (attempt >= PART_ATTEMPTS) throw error;
        await sleep(500 * 2 ** attempt);
        // The URL may have expired meanwhile.
        const fresh = await this.partUrls([n]);
        urls.set(n, fresh.get(n));
      }
    }
  }

  doneBytes() {
    const { part_size } = this.init;
    let total = 0;
    for (const n of this.etags.keys()) {
      total += Math.min(part_size, this.file.size - (n - 1) * part_size);
    }
    return total;
  }

  async confirm(videoId) {
    const result = await api("/api/upload/confirm", { method: "POST", body: { video_id: videoId } });
    return result.video || result;
  }
}
