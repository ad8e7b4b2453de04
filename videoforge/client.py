"""A small typed client for the VideoForge HTTP API (gateway origin), over httpx.

Used by ``videoforge submit``, ``videoforge up --sample`` and the tests. It signs in,
uploads straight to S3 through presigned URLs (one PUT, or multipart with per-part
retries so a dropped part resumes without re-sending the others), confirms the upload,
submits the job and follows it through the gateway's server-sent events.
"""

from __future__ import annotations

import contextlib
import json
import mimetypes
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

# Files at least this big go up in parts (S3's minimum part size is 5 MiB, so smaller
# files gain nothing from multipart).
MULTIPART_THRESHOLD_BYTES = 8 * 1024 * 1024
PART_ATTEMPTS = 4
# The gallery signs at most this many part URLs per request.
PART_URLS_PER_REQUEST = 1000

ProgressFn = Callable[[int, int], None]  # (bytes done, bytes total)


class ApiError(Exception):
    """A request the API refused or could not serve; ``str()`` is a one-line reason."""

    def __init__(self, message: str, *, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code


class JobGone(ApiError):
    """The job's video was deleted while we watched: the job will not finish."""


@dataclass
class Tokens:
    access_token: str
    refresh_token: str | None = None
    id_token: str | None = None


@dataclass
class JobView:
    id: str
    status: str
    progress: float = 0.0
    error: str | None = None
    video_id: str | None = None
    raw: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def parse(cls, data: dict[str, Any]) -> JobView:
        return cls(
            id=str(data.get("id") or data.get("job_id")),
            status=str(data.get("status", "")).upper(),
            progress=float(data.get("progress") or 0.0),
            error=data.get("error"),
            video_id=data.get("video_id"),
            raw=data,
        )


def _detail(response: httpx.Response) -> str:
    """The one-line reason of an error response (``{"error": {"code", "message"}}``)."""
    try:
        body = response.json()
    except ValueError:
        return response.text.strip()[:200] or response.reason_phrase
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        return str(body["error"].get("message") or body["error"].get("code"))
    detail = body.get("detail", body) if isinstance(body, dict) else body
    return str(detail)


class VideoForgeClient:
    def __init__(self, base_url: str, *, timeout_s: float = 30.0,
                 storage_transport: httpx.BaseTransport | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.http = httpx.Client(base_url=self.base_url, timeout=timeout_s)
        # Presigned S3 URLs live on another host: no API auth header goes there.
        self.storage = httpx.Client(timeout=timeout_s, transport=storage_transport)
        self.tokens: Tokens | None = None
        self._terminal: frozenset[str] | None = None

    def close(self) -> None:
        self.http.close()
        self.storage.close()

    def __enter__(self) -> VideoForgeClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # -- auth ---------------------------------------------------------------------------

    def login(self, username: str, password: str) -> Tokens:
        data = self._call("POST", "/api/auth/login", auth=False,
                          json={"username": username, "password": password})
        self.tokens = Tokens(data["access_token"], data.get("refresh_token"),
                             data.get("id_token"))
        return self.tokens

    def _refresh(self) -> bool:
        if not self.tokens or not self.tokens.refresh_token:
            return False
        try:
            data = self._call("POST", "/api/auth/refresh", auth=False,
                              json={"refresh_token": self.tokens.refresh_token})
        except ApiError:
            return False
        self.tokens.access_token = data["access_token"]
        self.tokens.id_token = data.get("id_token", self.tokens.id_token)
        return True

    def _headers(self, auth: bool) -> dict[str, str]:
        if auth and self.tokens:
            return {"Authorization": f"Bearer {self.tokens.access_token}"}
        return {}

    def _call(self, method: str, path: str, *, auth: bool = True,
              headers: dict[str, str] | None = None, **kwargs: Any) -> Any:
        for attempt in (1, 2):
            try:
                response = self.http.request(
                    method, path, headers={**self._headers(auth), **(headers or {})}, **kwargs
                )
            except httpx.HTTPError as exc:
                raise ApiError(f"cannot reach {self.base_url}: {exc}") from None
            if response.status_code == 401 and auth and attempt == 1 and self._refresh():
                continue
            if response.is_error:
                raise ApiError(f"{_detail(response)} (HTTP {response.status_code})",
                               status_code=response.status_code)
            return response.json() if response.content else None
        raise AssertionError("unreachable")

    # -- upload -------------------------------------------------------------------------

    def upload(self, path: Path, *, title: str | None = None, description: str = "",
               visibility: str = "private",
               on_progress: ProgressFn | None = None) -> dict[str, Any]:
        """Upload ``path`` and confirm it; returns the confirmed video."""
        if not path.is_file():
            raise ApiError(f"{path}: no such file")
        size = path.stat().st_size
        content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        meta = {"filename": path.name, "content_type": content_type, "size_bytes": size,
                "title": title if title is not None else path.stem,
                "description": description, "visibility": visibility}
        if size >= MULTIPART_THRESHOLD_BYTES:
            video_id = self._upload_multipart(path, meta, on_progress)
        else:
            video_id = self._upload_single(path, meta, on_progress)
        result = self._call("POST", "/api/upload/confirm", json={"video_id": video_id})
        return dict(result.get("video", result))

    def _upload_single(self, path: Path, meta: dict[str, Any],
                       on_progress: ProgressFn | None) -> str:
        grant = self._call("POST", "/api/upload/url", json=meta)
        total = meta["size_bytes"]
        self._put(grant["upload_url"], path.read_bytes(), headers=grant.get("headers") or {})
        if on_progress:
            on_progress(total, total)
        return str(grant["video_id"])

    def _upload_multipart(self, path: Path, meta: dict[str, Any],
                          on_progress: ProgressFn | None) -> str:
        init = self._call("POST", "/api/upload/multipart/init", json=meta)
        video_id, upload_id = str(init["video_id"]), str(init["upload_id"])
        part_size, count = int(init["part_size"]), int(init["part_count"])
        total = meta["size_bytes"]
        done: dict[int, str] = {}  # part number -> ETag of the parts sent
        urls: dict[int, str] = {}
        try:
            with path.open("rb") as f:
                for number in range(1, count + 1):
                    if number not in urls:
                        last = min(count, number + PART_URLS_PER_REQUEST - 1)
                        urls.update(self._part_urls(video_id, upload_id,
                                                    list(range(number, last + 1))))
                    f.seek((number - 1) * part_size)
                    chunk = f.read(part_size)
                    done[number] = self._put_part(video_id, upload_id, number, urls, chunk)
                    if on_progress:
                        on_progress(min(number * part_size, total), total)
            self._call("POST", "/api/upload/multipart/complete", json={
                "video_id": video_id, "upload_id": upload_id,
                "parts": [{"part_number": n, "etag": e} for n, e in sorted(done.items())],
            })
        except BaseException:
            self._abort(video_id, upload_id)
            raise
        return video_id

    def _part_urls(self, video_id: str, upload_id: str, numbers: list[int]) -> dict[int, str]:
        data = self._call("POST", "/api/upload/multipart/parts", json={
            "video_id": video_id, "upload_id": upload_id, "part_numbers": numbers})
        parts = data["parts"] if isinstance(data, dict) else data
        return {int(p["part_number"]): str(p["url"]) for p in parts}

    def _put_part(self, video_id: str, upload_id: str, number: int, urls: dict[int, str],
                  chunk: bytes) -> str:
        for attempt in range(1, PART_ATTEMPTS + 1):
            try:
                response = self._put(urls[number], chunk)
                return response.headers["ETag"]
            except ApiError:
                if attempt == PART_ATTEMPTS:
                    raise
                time.sleep(0.5 * 2 ** attempt)
                # The URL may have expired meanwhile: ask for a fresh one.
                urls.update(self._part_urls(video_id, upload_id, [number]))
        raise AssertionError("unreachable")

    def _abort(self, video_id: str, upload_id: str) -> None:
        # If this fails too, the bucket's lifecycle rule cleans up the abandoned parts.
        with contextlib.suppress(ApiError):
            self._call("POST", "/api/upload/multipart/abort",
                       json={"video_id": video_id, "upload_id": upload_id})

    def _put(self, url: str, data: bytes, *, headers: dict[str, str] | None = None
             ) -> httpx.Response:
        try:
            response = self.storage.put(url, content=data, headers=headers or {})
        except httpx.HTTPError as exc:
            raise ApiError(f"upload to storage failed: {exc}") from None
        if response.is_error:
            raise ApiError(f"storage refused the upload (HTTP {response.status_code})",
                           status_code=response.status_code)
        return response

    # -- jobs ---------------------------------------------------------------------------

    def submit_job(self, video_id: str, *, qualities: list[str] | None = None,
                   idempotency_key: str | None = None) -> JobView:
        body: dict[str, Any] = {"video_id": video_id}
        if qualities:
            body["qualities"] = qualities
        data = self._call("POST", "/api/jobs", json=body,
                          headers={"Idempotency-Key": idempotency_key or uuid.uuid4().hex})
        return JobView.parse(data)

    def job(self, job_id: str) -> JobView:
        return JobView.parse(self._call("GET", f"/api/jobs/{job_id}"))

    def terminal_statuses(self) -> frozenset[str]:
        """The job statuses that never change again, as the API publishes them."""
        if self._terminal is None:
            lifecycle = self._call("GET", "/api/jobs/lifecycle")
            self._terminal = frozenset(str(s) for s in lifecycle["terminal"])
        return self._terminal

    def finished(self, view: JobView) -> bool:
        return view.status in self.terminal_statuses()

    def job_events(self, job_id: str) -> Iterator[JobView]:
        """Job snapshots from the server-sent event stream until it ends (``done`` or
        ``timeout``); raises JobGone on ``gone``."""
        with self.http.stream("GET", f"/api/jobs/{job_id}/events",
                              headers={**self._headers(True), "Accept": "text/event-stream"},
                              timeout=httpx.Timeout(30.0, read=None)) as response:
            if response.is_error:
                response.read()
                raise ApiError(f"{_detail(response)} (HTTP {response.status_code})",
                               status_code=response.status_code)
            event, data = "message", []
            for line in response.iter_lines():
                if line.startswith("event:"):
                    event = line[6:].strip()
                elif line.startswith("data:"):
                    data.append(line[5:].lstrip())
                elif not line and data:
                    payload = json.loads("\n".join(data))
                    kind, event, data = event, "message", []
                    if kind == "gone":
                        raise JobGone(f"the video of job {job_id} was deleted")
                    if kind == "timeout":
                        return
                    if isinstance(payload, dict) and "status" in payload:
                        yield JobView.parse(payload)
                        if kind == "done":
                            return

    def follow(self, job_id: str, *, on_update: Callable[[JobView], None] | None = None,
               timeout_s: float = 3600, poll_s: float = 1.0) -> JobView:
        """Wait for the job to end; events when the gateway streams them, else polling."""
        deadline = time.monotonic() + timeout_s
        last = self.job(job_id)
        if on_update:
            on_update(last)
        while not self.finished(last):
            if time.monotonic() > deadline:
                raise ApiError(f"job {job_id} still {last.status} after {timeout_s:.0f} s")
            try:
                for view in self.job_events(job_id):
                    last = view
                    if on_update:
                        on_update(view)
                    if time.monotonic() > deadline:
                        break
            except JobGone:
                raise
            except (ApiError, httpx.HTTPError, ValueError):
                time.sleep(poll_s)  # stream refused or dropped: fall back to a poll
            if not self.finished(last):
                last = self.job(job_id)
                if on_update:
                    on_update(last)
        return last

    # -- playback -----------------------------------------------------------------------

    def qualities(self, video_id: str) -> dict[str, Any]:
        """``{"qualities": [{"quality", "width", "height", …}], "hls": bool, …}``"""
        return dict(self._call("GET", f"/api/stream/{video_id}/qualities"))

    def stream_url(self, video_id: str, quality: str) -> str:
        """A presigned MP4 URL, or for ``auto`` the HLS master URL with a playback grant."""
        data = self._call("GET", f"/api/stream/{video_id}", params={"quality": quality})
        return str(data["url"])

    def video(self, video_id: str) -> dict[str, Any]:
        return dict(self._call("GET", f"/api/gallery/videos/{video_id}"))
