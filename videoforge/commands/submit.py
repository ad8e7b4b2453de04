"""``videoforge submit FILE``: sign in, upload, transcode, print the qualities and URLs."""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TransferSpeedColumn,
)

from videoforge.cli import EXIT_BAD_INPUT, EXIT_FAILURE, EXIT_OK
from videoforge.client import ApiError, JobView, VideoForgeClient

DEFAULT_URL = "http://127.0.0.1:8000"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", type=Path, help="the video to upload")
    parser.add_argument("--url", default=os.environ.get("VF_API_URL", DEFAULT_URL),
                        help="the gateway (env VF_API_URL; default %(default)s)")
    parser.add_argument("--user", default=os.environ.get("VF_USER", "demo"),
                        help="username (env VF_USER; default %(default)s)")
    parser.add_argument("--password", default=os.environ.get("VF_PASSWORD"),
                        help="password (env VF_PASSWORD)")
    parser.add_argument("--quality", action="append", dest="qualities", metavar="Q",
                        help="a quality to produce (repeatable; default: all the source allows)")
    parser.add_argument("--title", help="the video's title (default: the file name)")
    parser.add_argument("--timeout", type=float, default=3600,
                        help="seconds to wait for the job (default %(default)s)")


@dataclass
class Outcome:
    video_id: str
    job: JobView
    urls: dict[str, str]  # quality -> presigned URL
    hls_url: str | None   # the adaptive HLS master playlist


def submit_file(client: VideoForgeClient, path: Path, *, console: Console,
                title: str | None = None, qualities: list[str] | None = None,
                timeout_s: float = 3600) -> Outcome:
    """Upload ``path`` and follow its job with progress bars (signed-in ``client``)."""
    with _bars(console) as bars:
        task = bars.add_task("upload", total=path.stat().st_size)
        video = client.upload(path, title=title or path.stem,
                              on_progress=lambda done, total: bars.update(
                                  task, completed=done, total=total))
    video_id = str(video.get("id") or video.get("video_id"))
    job = client.submit_job(video_id, qualities=qualities)
    console.print(f"job {job.id} queued for video {video_id}", soft_wrap=True)
    with Progress(TextColumn("{task.description:<10}"), BarColumn(), TaskProgressColumn(),
                  TimeElapsedColumn(), console=console, transient=False) as bars:
        task = bars.add_task("transcode", total=1.0)

        def show(view: JobView) -> None:
            bars.update(task, completed=view.progress, description=view.status.lower()[:10])

        job = client.follow(job.id, on_update=show, timeout_s=timeout_s)
        if job.status == "SUCCEEDED":
            bars.update(task, completed=1.0)
    if job.status != "SUCCEEDED":
        raise ApiError(f"job {job.id} {job.status.lower()}: {job.error or 'no reason given'}")
    playback = client.qualities(video_id)
    urls = {q["quality"]: client.stream_url(video_id, q["quality"])
            for q in playback["qualities"]}
    hls_url = client.stream_url(video_id, "auto") if playback.get("hls") else None
    return Outcome(video_id, job, urls, hls_url)


def _bars(console: Console) -> Progress:
    return Progress(TextColumn("{task.description:<10}"), BarColumn(), TaskProgressColumn(),
                    DownloadColumn(), TransferSpeedColumn(), console=console)


def print_outcome(outcome: Outcome, *, console: Console, base_url: str) -> None:
    console.print(f"video {outcome.video_id} ready: {base_url}/#/watch/{outcome.video_id}",
                  soft_wrap=True)
    for quality, url in outcome.urls.items():
        console.print(f"  {quality:>6}  {url}", soft_wrap=True)
    if outcome.hls_url:
        console.print(f"  {'auto':>6}  {outcome.hls_url}", soft_wrap=True)


def fail(message: str, code: int) -> int:
    """One plain line on stderr (never wrapped, whatever the terminal), and the exit code."""
    print(f"error: {message}", file=sys.stderr)
    return code


def run(args: argparse.Namespace) -> int:
    path: Path = args.file
    if not path.is_file():
        return fail(f"{path}: no such file", EXIT_BAD_INPUT)
    if not args.password:
        return fail("no password: pass --password or set VF_PASSWORD", EXIT_BAD_INPUT)
    console = Console()
    with VideoForgeClient(args.url) as client:
        try:
            client.login(args.user, args.password)
            outcome = submit_file(client, path, console=console, title=args.title,
                                  qualities=args.qualities, timeout_s=args.timeout)
        except ApiError as exc:
            bad_input = exc.status_code in (400, 413, 415, 422)
            return fail(str(exc), EXIT_BAD_INPUT if bad_input else EXIT_FAILURE)
    print_outcome(outcome, console=console, base_url=args.url.rstrip("/"))
    return EXIT_OK
