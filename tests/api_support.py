"""Shared setup for the gallery and streaming API tests: Cognito users from the moto
server, settings pointing a service at the test resources, and rows/objects as the
worker would publish them."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

import jwt
import pytest
from sqlalchemy import text

from common import aws
from common.db import engine_for, session_factory
from common.job_state import JobStatus
from common.models import AssetKind, GalleryVideo, Job, MediaAsset, VideoStatus, Visibility
from common.settings import CommonSettings
from common.storage import content_type_for, media_key

PASSWORD = "Secret-pass1!"
ROLES = ("owner", "other", "admin")


@dataclass
class CognitoPool:
    pool_id: str
    client_id: str
    tokens: dict[str, str] = field(default_factory=dict)  # username -> ID token
    subs: dict[str, str] = field(default_factory=dict)    # username -> sub (owner id)

    def headers(self, who: str | None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"} if who else {}


def create_pool(endpoint: str) -> CognitoPool:
    """A user pool with users owner, other and admin (in group ``admin``)."""
    idp = aws.client("cognito-idp", CommonSettings(aws_endpoint_url=endpoint))
    pool_id = idp.create_user_pool(PoolName=f"vf-{uuid.uuid4().hex[:6]}")["UserPool"]["Id"]
    client_id = idp.create_user_pool_client(
        UserPoolId=pool_id, ClientName="web", ExplicitAuthFlows=["USER_PASSWORD_AUTH"]
    )["UserPoolClient"]["ClientId"]
    idp.create_group(UserPoolId=pool_id, GroupName="admin")
    pool = CognitoPool(pool_id, client_id)
    for name in ROLES:
        idp.admin_create_user(UserPoolId=pool_id, Username=name, TemporaryPassword="Tmp-pass1!")
        idp.admin_set_user_password(UserPoolId=pool_id, Username=name, Password=PASSWORD,
                                    Permanent=True)
        if name == "admin":
            idp.admin_add_user_to_group(UserPoolId=pool_id, Username=name, GroupName="admin")
        token = idp.initiate_auth(
            ClientId=client_id, AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": name, "PASSWORD": PASSWORD},
        )["AuthenticationResult"]["IdToken"]
        pool.tokens[name] = token
        pool.subs[name] = jwt.decode(token, options={"verify_signature": False})["sub"]
    return pool


@pytest.fixture(scope="session")
def cognito(moto_endpoint: str) -> CognitoPool:
    """Users owner, other and admin of one pool for the test session."""
    return create_pool(moto_endpoint)


def service_settings(cls: type[Any], *, resources: Any, database_url: str,
                     pool: CognitoPool, **extra: Any) -> Any:
    return cls(
        env="test",
        database_url=database_url,
        aws_endpoint_url=resources.endpoint_url,
        uploads_bucket=resources.uploads_bucket,
        media_bucket=resources.media_bucket,
        jobs_queue_name=resources.queue_name,
        dead_letter_queue_name=resources.dlq_name,
        cognito_user_pool_id=pool.pool_id,
        cognito_client_id=pool.client_id,
        **extra,
    )


def insert_video(database_url: str, *, owner_id: str, **fields: Any) -> GalleryVideo:
    fields.setdefault("visibility", Visibility.PUBLIC)
    fields.setdefault("status", VideoStatus.READY)
    with session_factory(database_url)() as session:
        video = GalleryVideo(owner_id=owner_id, **fields)
        session.add(video)
        session.commit()
        return video


MP4_LADDER = {"480p": (854, 480, 1_200_000), "720p": (1280, 720, 2_800_000)}
# (asset kind or None for an object without a row, quality, path under the job, content)
Published = list[tuple[AssetKind | None, str, str, bytes]]


def publish(database_url: str, s3: Any, *, video: GalleryVideo, bucket: str,
            files: Published | None = None) -> str:
    """Publish assets for ``video`` as the worker would: objects, rows, current job.

    By default a small fake set: two MP4 qualities, an HLS master with two variants
    (init + one segment each), thumbnail and preview.
    """
    files = files if files is not None else fake_files()
    job_id = str(uuid.uuid4())
    with session_factory(database_url)() as session:
        session.add(Job(id=job_id, video_id=video.id, owner_id=video.owner_id,
                        status=JobStatus.SUCCEEDED))
        session.flush()
        for kind, quality, relpath, body in files:
            key = media_key(video_id=video.id, job_id=job_id, relpath=relpath)
            s3.put_object(Bucket=bucket, Key=key, Body=body,
                          ContentType=content_type_for(relpath))
            if kind is None:
                continue
            width, height, bitrate = MP4_LADDER.get(quality, (None, None, None))
            session.add(MediaAsset(video_id=video.id, job_id=job_id, kind=kind,
                                   quality=quality, bucket=bucket, key=key,
                                   content_type=content_type_for(relpath), width=width,
                                   height=height, bitrate=bitrate, size_bytes=len(body)))
        session.execute(text("UPDATE gallery_videos SET current_job_id = :j, status = 'READY' "
                             "WHERE id = :v"), {"j": job_id, "v": video.id})
        session.commit()
    return job_id


def fake_files() -> Published:
    files: Published = [
        (AssetKind.THUMBNAIL, "", "thumbnail.jpg", b"\xff\xd8\xff\xe0fake-jpeg"),
        (AssetKind.PREVIEW, "", "preview.gif", b"GIF89afake"),
    ]
    master = ["#EXTM3U", "#EXT-X-VERSION:7"]
    for quality, (w, h, rate) in MP4_LADDER.items():
        variant = ('#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-TARGETDURATION:2\n'
                   '#EXT-X-MAP:URI="init.mp4"\n#EXTINF:2.0,\nseg_000.m4s\n#EXT-X-ENDLIST\n')
        files += [
            (AssetKind.MP4, quality, f"{quality}.mp4", f"mp4-{quality}".encode()),
            (AssetKind.HLS_PLAYLIST, quality, f"hls/{quality}/index.m3u8", variant.encode()),
            (None, quality, f"hls/{quality}/init.mp4", f"init-{quality}".encode()),
            (None, quality, f"hls/{quality}/seg_000.m4s", f"seg-{quality}".encode()),
        ]
        master += [f"#EXT-X-STREAM-INF:BANDWIDTH={rate},RESOLUTION={w}x{h}",
                   f"{quality}/index.m3u8"]
    files.append((AssetKind.HLS_MASTER, "", "hls/master.m3u8",
                  ("\n".join(master) + "\n").encode()))
    return files


def truncate(database_url: str) -> None:
    with engine_for(database_url).begin() as conn:
        conn.execute(text("TRUNCATE media_assets, jobs, gallery_videos CASCADE"))
