from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from common import aws
from common.models import AssetKind, GalleryVideo, Visibility
from processor.manifest import Manifest
from processor.transcode import transcode
from streaming.app import create_app
from streaming.settings import StreamingSettings
from tests.support.cognito import CognitoPool
from tests.support.media import make_clip
from tests.support.service_settings import service_settings
from tests.support.transcoding import FAST
from tests.support.videos import insert_video, publish


@pytest.fixture
def streaming_settings(aws_resources: Any, clean_database: str,
                       cognito: CognitoPool) -> StreamingSettings:
    return service_settings(StreamingSettings, resources=aws_resources,
                            database_url=clean_database, pool=cognito)


@pytest.fixture
def client(streaming_settings: StreamingSettings) -> Iterator[TestClient]:
    with TestClient(create_app(streaming_settings)) as test_client:
        yield test_client


@pytest.fixture
def s3(streaming_settings: StreamingSettings) -> Any:
    return aws.client("s3", streaming_settings)



@pytest.fixture(scope="session")
def cmaf_outputs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Manifest]:
    """A real transcode of a small clip (5 s, 10 fps): 480p and 720p CMAF files, their
    playlists, previews and storyboard."""
    root = tmp_path_factory.mktemp("cmaf")
    source = make_clip(root / "source.mp4", duration=5.0, size="1280x720", rate=10)
    outdir = root / "out"
    return outdir, transcode(source, outdir, settings=FAST)


@pytest.fixture
def private_cmaf(cmaf_outputs: tuple[Path, Manifest], streaming_settings: StreamingSettings,
                 cognito: CognitoPool, s3: Any) -> GalleryVideo:
    """A private video of the owner's with ``cmaf_outputs`` published."""
    outdir, manifest = cmaf_outputs
    video = insert_video(streaming_settings.database_url, owner_id=cognito.subs["owner"],
                         visibility=Visibility.PRIVATE, duration_s=5.0)
    files = [(AssetKind(a.type), a.quality, a.path, (outdir / a.path).read_bytes())
             for a in manifest.assets]
    publish(streaming_settings.database_url, s3, video=video,
            bucket=streaming_settings.media_bucket, files=files)
    return video
