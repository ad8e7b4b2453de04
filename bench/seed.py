"""A synthetic catalogue for the API benchmark: videos with word-salad titles and
descriptions (so full-text queries have realistic selectivity), and published MP4 assets
for a subset, plus the request paths the load generator cycles through."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

from sqlalchemy import insert, text

from common.db import engine_for
from common.models import AssetKind, GalleryVideo, Job, MediaAsset

_VOCABULARY = """
surf wave ocean beach sunset sunrise mountain trail bike ride forest river lake city night
street food cooking pasta pizza bread garden flower bird cat dog puppy kitten travel train
flight airport island desert snow ski skate park concert guitar piano drums dance party
wedding birthday family holiday summer winter autumn spring rain storm thunder cloud sky
star moon space rocket launch robot drone camera timelapse tutorial review unboxing gameplay
speedrun chess football tennis basketball running marathon yoga workout recipe coffee tea
market festival museum castle bridge harbour boat sailing fishing camping hiking climbing
cave volcano glacier waterfall canyon
"""
WORDS = tuple(_VOCABULARY.split())
OWNERS = [str(uuid.uuid4()) for _ in range(50)]
STREAMABLE = 200          # videos with published MP4 renditions
LADDER = {"480p": (854, 480, 1_200_000), "720p": (1280, 720, 2_800_000),
          "1080p": (1920, 1080, 5_000_000)}


@dataclass(frozen=True)
class Targets:
    search_paths: list[str]
    stream_paths: list[str]


def _video_rows(rng: random.Random, count: int, now: datetime) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for _ in range(count):
        rows.append({
            "id": str(uuid.uuid4()),
            "owner_id": rng.choice(OWNERS),
            "title": " ".join(rng.choices(WORDS, k=rng.randint(2, 6))).capitalize(),
            "description": " ".join(rng.choices(WORDS, k=rng.randint(10, 40))),
            "visibility": "public" if rng.random() < 0.9 else "private",
            "status": "READY" if rng.random() < 0.85 else rng.choice(["UPLOADED", "FAILED"]),
            "filename": "source.mp4",
            "view_count": int(rng.paretovariate(1.2) * 10),
            "created_at": now - timedelta(minutes=rng.randint(0, 365 * 24 * 60)),
            "updated_at": now,
        })
    return rows


def _publish(conn: object, videos: list[dict[str, object]]) -> None:
    jobs, assets = [], []
    for video in videos:
        job_id = str(uuid.uuid4())
        jobs.append({"id": job_id, "video_id": video["id"], "owner_id": video["owner_id"],
                     "status": "SUCCEEDED"})
        for quality, (width, height, bitrate) in LADDER.items():
            assets.append({
                "id": str(uuid.uuid4()), "video_id": video["id"], "job_id": job_id,
                "kind": AssetKind.MP4.value, "quality": quality, "bucket": "videoforge-media",
                "key": f"videos/{video['id']}/{job_id}/{quality}.mp4",
                "content_type": "video/mp4", "width": width, "height": height,
                "bitrate": bitrate, "size_bytes": bitrate * 60 // 8})
        video["current_job_id"] = job_id
    conn.execute(insert(Job), jobs)  # type: ignore[attr-defined]
    conn.execute(insert(MediaAsset), assets)  # type: ignore[attr-defined]
    conn.execute(text("UPDATE gallery_videos SET current_job_id = :job WHERE id = :id"),  # type: ignore[attr-defined]
                 [{"job": v["current_job_id"], "id": v["id"]} for v in videos])


def _search_paths(rng: random.Random, now: datetime) -> list[str]:
    paths = []
    for i in range(400):
        params: dict[str, object] = {"limit": 20}
        kind = i % 5
        if kind in (0, 1, 2):
            params["q"] = " ".join(rng.sample(WORDS, k=1 + (kind == 1)))
        if kind == 2:
            params.update(status="READY", sort=rng.choice(["-view_count", "title"]))
        if kind == 3:
            params["owner"] = rng.choice(OWNERS)
        if kind == 4:
            start = now - timedelta(days=rng.randint(30, 300))
            params.update(created_after=start.isoformat(),
                          created_before=(start + timedelta(days=30)).isoformat())
        paths.append("/api/gallery/videos?" + urlencode(params))
    return paths


def seed_catalogue(database_url: str, *, videos: int, seed: int = 7) -> Targets:
    rng = random.Random(seed)
    now = datetime.now(UTC)
    rows = _video_rows(rng, videos, now)
    public_ready = [r for r in rows if r["visibility"] == "public" and r["status"] == "READY"]
    streamable = public_ready[:STREAMABLE]
    with engine_for(database_url).begin() as conn:
        conn.execute(insert(GalleryVideo), rows)
        _publish(conn, streamable)
    with engine_for(database_url).connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("ANALYZE"))
    stream_paths = [f"/api/stream/{v['id']}?quality={rng.choice(list(LADDER))}"
                    for v in streamable]
    return Targets(_search_paths(rng, now), stream_paths)
