"""The audio of a chunked job, encoded once for the whole source.

Chunks are video only; this one run decodes the source's audio, normalises it exactly as
the unchunked graph does (``processor.normalize.audio_chain``: aligned with the first
video frame, stereo 48 kHz, padded or cut to the video's length) and encodes it once per
audio bitrate the ladder uses, with the rungs' own codec options. The stitch muxes each
quality's file in; the AAC packets are the ones an unchunked run would have written.
With the top rung copied (passthrough) and the audio already AAC stereo, the run also
copies the source's audio as it is, for the top rung, as the unchunked passthrough does,
and encodes no bitrate that only the top rung would have used (a 4K source's 160 kb/s).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from processor.chunking.plan import ChunkPlan
from processor.demuxers import input_args
from processor.encode import Timeline, audio_codec_args
from processor.ladder import Rung, top_rung
from processor.normalize import audio_chain
from processor.passthrough import audio_copyable
from processor.source_info import SourceInfo


def audio_file(workdir: Path, rung: Rung) -> Path:
    return workdir / f"audio_{rung.audio_bitrate // 1000}k.m4a"


COPIED_AUDIO = "audio_copy.m4a"


def copies_audio(plan: ChunkPlan, info: SourceInfo) -> bool:
    return plan.copied_top and audio_copyable(info)


def audio_files(workdir: Path, rungs: Sequence[Rung], plan: ChunkPlan,
                info: SourceInfo) -> list[Path]:
    """Every file the audio run writes."""
    copy = copies_audio(plan, info)
    files = [audio_file(workdir, r) for r in audio_rungs(rungs, copy=copy)]
    return [*files, workdir / COPIED_AUDIO] if copy else files


def rung_audio(workdir: Path, rung: Rung, rungs: Sequence[Rung], plan: ChunkPlan,
               info: SourceInfo) -> Path:
    """The audio file ``rung``'s quality gets: the copy for a copied top rung."""
    if copies_audio(plan, info) and rung.name == top_rung(rungs).name:
        return workdir / COPIED_AUDIO
    return audio_file(workdir, rung)


def audio_rungs(rungs: Sequence[Rung], *, copy: bool = False) -> list[Rung]:
    """One rung per distinct audio bitrate (the file a quality's audio comes from); with
    the audio ``copy``-ed for the top rung, only the bitrates the other rungs use."""
    encoded = [r for r in rungs if r.name != top_rung(rungs).name] if copy else list(rungs)
    seen: dict[int, Rung] = {}
    for rung in encoded:
        seen.setdefault(rung.audio_bitrate, rung)
    return list(seen.values())


def audio_args(source: Path, info: SourceInfo, rungs: Sequence[Rung], timing: Timeline,
               workdir: Path, *, copy: bool = False) -> list[str]:
    """FFmpeg arguments writing one AAC file per audio bitrate of ``rungs``."""
    assert info.audio is not None
    wanted = audio_rungs(rungs, copy=copy)
    labels = "".join(f"[a{i}]" for i in range(len(wanted)))
    chain = ",".join(audio_chain(info, timing.seconds))
    args = [*input_args(source, info.container)]
    if wanted:  # none when the one rung there is gets the copy
        args += ["-filter_complex", f"[0:{info.audio.index}]{chain},asplit={len(wanted)}{labels}"]
    for i, rung in enumerate(wanted):
        args += ["-map", f"[a{i}]", "-map_metadata", "-1", *audio_codec_args(rung),
                 "-f", "mp4", str(audio_file(workdir, rung))]
    if copy:
        args += ["-map", f"0:{info.audio.index}", "-map_metadata", "-1", "-c:a", "copy",
                 "-f", "mp4", str(workdir / COPIED_AUDIO)]
    return args
