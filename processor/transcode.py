"""Transcode one source into the ladder: a CMAF file per quality, HLS playlists over them,
thumbnail, GIF, storyboard, manifest.

Intake first (what the source really is, or why it is rejected). Then two FFmpeg runs:
(1) decode once and encode every quality into its fragmented MP4, within the budget the
source's measured size allows, cutting the poster and GIF from the smallest quality's
frames on the way, (2) the storyboard from the smallest file's keyframes only, beside
packaging, which reads the files' boxes and writes the byte-range playlists (it encodes
nothing).
Everything the run is told comes in ``settings``: it reads no environment.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

from common.assets import AssetKind
from common.logging import get_logger
from processor import passthrough
from processor.encode import Timeline, encode_args, timeline
from processor.ffmpeg import run_ffmpeg
from processor.hls import Misaligned
from processor.intake import intake
from processor.ladder import Rung, choose_ladder, smallest_rung
from processor.manifest import Asset, Manifest
from processor.packaging import cmaf_path, package
from processor.passthrough import NOT_ASKED
from processor.previews import PREVIEW_NAME, THUMBNAIL_NAME, preview_args
from processor.progress import Progress
from processor.source_info import SourceInfo
from processor.storyboard import make_storyboard
from processor.transcode_settings import TranscodeSettings

log = get_logger(__name__)
# Share of the progress bar the encode gets (nearly all of the work).
_ENCODE_SHARE = 0.95
DEFAULT_SETTINGS = TranscodeSettings()


def transcode(
    source: Path,
    outdir: Path,
    *,
    settings: TranscodeSettings = DEFAULT_SETTINGS,
    qualities: Sequence[str] | None = None,
    on_progress: Callable[[Progress], None] | None = None,
    cancel: threading.Event | None = None,
    on_intake: Callable[[SourceInfo], None] | None = None,
    info: SourceInfo | None = None,
) -> Manifest:
    """Transcode ``source`` into ``outdir`` and return the manifest written there.

    ``on_intake`` hears what intake measured before the encode starts (the worker records
    the duration and the work estimate). Raises BadInput (the source can never work, or
    its encode ran past its budget), Cancelled (``cancel`` was set) or TranscodeError
    (FFmpeg failed).
    """
    info = info or intake(source, settings.limits)
    if on_intake is not None:
        on_intake(info)
    rungs = choose_ladder(info.width, info.height, qualities)
    timing = timeline(info, settings.limits.max_duration_s)
    outdir.mkdir(parents=True, exist_ok=True)
    files = [cmaf_path(outdir, r.name) for r in rungs]

    def stage(low: float, high: float) -> Callable[[Progress], None] | None:
        if on_progress is None:
            return None
        report = on_progress
        return lambda p: report(replace(p, fraction=low + (high - low) * p.fraction))

    def encode(args: list[str]) -> None:
        run_ffmpeg(args, duration_s=timing.seconds, on_progress=stage(0.0, _ENCODE_SHARE),
                   cancel=cancel, budget=settings.budget.for_source(info))

    decision = passthrough.plan(source, info, rungs) if settings.passthrough else NOT_ASKED
    log.info("passthrough", taken=decision.taken, reasons=list(decision.reasons))
    manifest: Manifest | None = None
    if decision.taken:
        previews_made = passthrough.makes_previews(decision, rungs)
        encode(passthrough.encode_args(source, files, info, rungs, decision, settings.encode,
                                       timing, previews=outdir if previews_made else None))
        try:
            manifest = finish(outdir, rungs, info, timing, cancel=cancel,
                              previews_made=previews_made)
        except Misaligned as exc:  # the copy's GOPs and the encoder's keyframes disagree
            log.warning("passthrough_misaligned", error=str(exc))
    if manifest is None:  # every rung encoded; the poster and GIF come out of this run
        encode(encode_args(source, files, info, rungs, settings.encode, timing, previews=outdir))
        manifest = finish(outdir, rungs, info, timing, cancel=cancel, previews_made=True)
    if on_progress is not None:
        on_progress(Progress(fraction=1.0, speed=None, out_time_s=timing.seconds))
    return manifest


def finish(outdir: Path, rungs: Sequence[Rung], info: SourceInfo, timing: Timeline, *,
           cancel: threading.Event | None = None, previews_made: bool = False) -> Manifest:
    """Everything after the encode, for CMAF files of ``rungs`` in ``outdir`` however they
    were made (one run, or a chunked job's stitch): packaging (the byte-range playlists),
    poster and GIF (unless ``previews_made``: the encode run already wrote them),
    storyboard, manifest. All of them only read the files and each is mostly serial, so the
    storyboard runs beside the rest: two cores busy instead of one. Raises Misaligned when
    the files' fragments do not start together (after the storyboard run has ended, so the
    caller may rewrite the files)."""
    smallest = smallest_rung(rungs)
    with ThreadPoolExecutor(1) as pool:
        board = pool.submit(make_storyboard, cmaf_path(outdir, smallest.name), outdir,
                            width=smallest.width, height=smallest.height,
                            duration_s=timing.seconds, cancel=cancel)
        assets = package(outdir, rungs, info)
        posters = (preview_assets(outdir, smallest) if previews_made
                   else previews(outdir, rungs, timing, cancel=cancel))
        assets = [*assets, *posters, *board.result()]
    return Manifest(source=info, assets=assets).write(outdir)


def previews(outdir: Path, rungs: Sequence[Rung], timing: Timeline, *,
             cancel: threading.Event | None = None) -> list[Asset]:
    """Poster and GIF from the smallest quality, as manifest entries."""
    smallest = smallest_rung(rungs)
    run_ffmpeg(preview_args(cmaf_path(outdir, smallest.name), smallest.width, smallest.height,
                            timing.seconds, outdir, rate=float(timing.rate)),
               duration_s=timing.seconds, on_progress=None, cancel=cancel)
    return preview_assets(outdir, smallest)


def preview_assets(outdir: Path, smallest: Rung) -> list[Asset]:
    """Manifest entries of the poster and GIF in ``outdir``, cut from ``smallest``."""
    return [Asset(AssetKind.THUMBNAIL.value, THUMBNAIL_NAME, smallest.width, smallest.height,
                  None, (outdir / THUMBNAIL_NAME).stat().st_size),
            Asset(AssetKind.PREVIEW.value, PREVIEW_NAME, None, None, None,
                  (outdir / PREVIEW_NAME).stat().st_size)]
