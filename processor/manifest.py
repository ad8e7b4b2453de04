"""``manifest.json``: what a transcode produced, one entry per asset (paths relative to OUTDIR)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from common.assets import AssetKind
from processor.source_info import SourceInfo

MANIFEST_NAME = "manifest.json"
_SETTLE_ROUNDS = 8


@dataclass(frozen=True)
class Asset:
    type: str  # an AssetKind value
    path: str  # relative to OUTDIR, "/"-separated
    width: int | None = None
    height: int | None = None
    bitrate: int | None = None  # bits per second (peak segment rate for HLS renditions)
    size: int = 0  # bytes; for an HLS rendition: playlist + init + segments
    duration: float | None = None  # seconds
    quality: str = ""  # "720p" for per-quality assets, "" otherwise

    def __post_init__(self) -> None:
        AssetKind(self.type)  # ValueError for a type the database does not know


@dataclass(frozen=True)
class Manifest:
    source: SourceInfo
    assets: list[Asset] = field(default_factory=list)

    def to_json(self) -> str:
        assets = [asdict(a) for a in self.assets]
        return json.dumps({"source": self.source.to_dict(), "assets": assets}, indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str) -> Manifest:
        data = json.loads(text)
        return cls(source=SourceInfo.from_dict(data["source"]),
                   assets=[Asset(**a) for a in data["assets"]])

    @classmethod
    def read(cls, outdir: Path) -> Manifest:
        return cls.from_json((outdir / MANIFEST_NAME).read_text())

    def of_type(self, kind: AssetKind | str) -> list[Asset]:
        return [a for a in self.assets if a.type == str(kind)]

    def write(self, outdir: Path) -> Manifest:
        """Write ``OUTDIR/manifest.json`` listing itself too; returns the manifest written.

        The file's own size is part of its content, so the entry is settled by rewriting
        until the size stops changing (twice at most in practice).
        """
        others = [a for a in self.assets if a.type != AssetKind.MANIFEST]
        entry = Asset(type=AssetKind.MANIFEST.value, path=MANIFEST_NAME)
        for _ in range(_SETTLE_ROUNDS):
            manifest = replace(self, assets=[*others, entry])
            text = manifest.to_json()
            size = len(text.encode())
            if size == entry.size:
                (outdir / MANIFEST_NAME).write_text(text)
                return manifest
            entry = replace(entry, size=size)
        raise RuntimeError("manifest size did not settle")  # unreachable: sizes converge
