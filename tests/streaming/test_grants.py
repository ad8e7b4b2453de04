"""HLS playback grants: one key for every process (required outside development/test),
refused at once after a visibility change or a delete, and what cannot be called back:
media URLs already handed out stay valid until they expire."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr, ValidationError

from common.models import Visibility
from gallery.app import create_app as create_gallery
from gallery.settings import GallerySettings
from streaming.app import create_app
from streaming.grants import Grant, GrantSigner
from streaming.settings import StreamingSettings
from tests.support.service_settings import service_settings
from tests.support.videos import insert_video, publish

KEY = "k" * 40


def test_the_signing_key_is_required_outside_development_and_test() -> None:
    with pytest.raises(ValidationError, match="VF_STREAM_SIGNING_KEY must be set"):
        StreamingSettings(env="production", stream_signing_key=None)
    with pytest.raises(ValidationError, match="at least 32"):
        StreamingSettings(env="production", stream_signing_key="short")
    assert StreamingSettings(env="production", stream_signing_key=KEY).stream_signing_key
    assert StreamingSettings(env="test").stream_signing_key is None  # one process: random


def test_grants_carry_the_video_and_its_epoch() -> None:
    signer = GrantSigner(KEY.encode())
    grant = signer.issue("v1", epoch=3, ttl_s=60)
    assert signer.allows("v1", 3, grant)
    assert not signer.allows("v1", 4, grant)  # the video's epoch moved on
    assert not signer.allows("v2", 3, grant)  # another video
    assert not GrantSigner(b"x" * 40).allows("v1", 3, grant)  # another key
    parsed = Grant.parse(grant)
    assert parsed is not None
    tampered = str(Grant(parsed.expires + 3600, parsed.epoch, parsed.signature))
    assert not signer.allows("v1", 3, tampered)
    expired = signer.issue("v1", epoch=3, ttl_s=-1)
    assert not signer.allows("v1", 3, expired)
    for junk in (None, "", "1.2", "a.b.c", "9" * 20 + ".0.x"):
        assert not signer.allows("v1", 3, junk)


@pytest.fixture
def two_processes(streaming_settings: StreamingSettings) -> Any:
    """Two streaming apps as two processes behind a load balancer would be: same key."""
    settings = streaming_settings.model_copy(update={"stream_signing_key": SecretStr(KEY)})
    with TestClient(create_app(settings)) as one, TestClient(create_app(settings)) as two:
        yield one, two


def _variant_paths(client: TestClient, master_url: str) -> list[str]:
    master = client.get(master_url)
    assert master.status_code == 200, master.text
    base = master_url.split("master.m3u8")[0]
    return [base + line for line in master.text.splitlines() if line.startswith("hls/")]


def test_a_grant_from_one_process_opens_the_playlists_on_another(
        two_processes, streaming_settings, cognito, s3) -> None:
    one, two = two_processes
    video = insert_video(streaming_settings.database_url, owner_id=cognito.subs["owner"],
                         visibility=Visibility.PRIVATE)
    publish(streaming_settings.database_url, s3, video=video,
            bucket=streaming_settings.media_bucket)
    auto = one.get(f"/api/stream/{video.id}", params={"quality": "auto"},
                   headers=cognito.headers("owner")).json()
    for path in _variant_paths(two, auto["url"]):
        assert two.get(path).status_code == 200


def test_new_fetches_are_refused_at_once_after_going_private(
        client, streaming_settings, aws_resources, cognito, s3) -> None:
    gallery = create_gallery(service_settings(
        GallerySettings, resources=aws_resources, database_url=streaming_settings.database_url,
        pool=cognito))
    video = insert_video(streaming_settings.database_url, owner_id=cognito.subs["owner"],
                         visibility=Visibility.PUBLIC)
    publish(streaming_settings.database_url, s3, video=video,
            bucket=streaming_settings.media_bucket)
    # An anonymous viewer starts watching the public video.
    auto = client.get(f"/api/stream/{video.id}", params={"quality": "auto"}).json()
    variants = _variant_paths(client, auto["url"])
    first = client.get(variants[0])
    assert first.status_code == 200
    segment_url = next(line for line in first.text.splitlines() if line.startswith("http"))
    with TestClient(gallery) as owner:
        changed = owner.put(f"/api/gallery/videos/{video.id}", json={"visibility": "private"},
                            headers=cognito.headers("owner"))
        assert changed.status_code == 200, changed.text
    # From now on the grant opens nothing: the master and every variant are refused...
    assert client.get(auto["url"]).status_code == 404
    assert [client.get(path).status_code for path in variants] == [404, 404]
    # ...while what was already handed out works until it expires: a presigned URL cannot
    # be called back (hence the short VF_HLS_URL_EXPIRY_S).
    assert httpx.get(segment_url).status_code == 200
    # The owner, signed in, gets a new grant at the new epoch, which works.
    mine = client.get(f"/api/stream/{video.id}", params={"quality": "auto"},
                      headers=cognito.headers("owner")).json()
    assert all(client.get(path).status_code == 200 for path in _variant_paths(client, mine["url"]))
    # Back to public: anyone may watch again, but the private time's grant is not renewed:
    # the master hands out a grant at the new epoch.
    with TestClient(gallery) as owner:
        owner.put(f"/api/gallery/videos/{video.id}", json={"visibility": "public"},
                  headers=cognito.headers("owner"))
    old_grant = mine["url"].split("grant=")[1]
    assert old_grant not in client.get(mine["url"]).text


def test_deleting_the_video_refuses_its_grants(client, streaming_settings, aws_resources,
                                               cognito, s3) -> None:
    video = insert_video(streaming_settings.database_url, owner_id=cognito.subs["owner"],
                         visibility=Visibility.PUBLIC)
    publish(streaming_settings.database_url, s3, video=video,
            bucket=streaming_settings.media_bucket)
    auto = client.get(f"/api/stream/{video.id}", params={"quality": "auto"}).json()
    variants = _variant_paths(client, auto["url"])
    gallery = create_gallery(service_settings(
        GallerySettings, resources=aws_resources, database_url=streaming_settings.database_url,
        pool=cognito))
    with TestClient(gallery) as owner:
        assert owner.delete(f"/api/gallery/videos/{video.id}",
                            headers=cognito.headers("owner")).status_code == 204
    assert [client.get(path).status_code for path in [auto["url"], *variants]] == [404] * 3


def test_an_expired_grant_is_refused(client, streaming_settings, cognito, s3) -> None:
    short = streaming_settings.model_copy(update={"hls_url_expiry_s": 3})
    video = insert_video(streaming_settings.database_url, owner_id=cognito.subs["owner"],
                         visibility=Visibility.PRIVATE)
    publish(streaming_settings.database_url, s3, video=video,
            bucket=streaming_settings.media_bucket)
    with TestClient(create_app(short)) as app:
        auto = app.get(f"/api/stream/{video.id}", params={"quality": "auto"},
                       headers=cognito.headers("owner")).json()
        variants = _variant_paths(app, auto["url"])
        time.sleep(3.1)
        assert [app.get(path).status_code for path in variants] == [404, 404]
