"""Uploads end to end: presigned single PUT and multipart against moto S3, then confirm."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import httpx
import pytest

from gallery.multipart import S3_MAX_PARTS, S3_MIN_PART_BYTES, PartPlan
from tests.support.media import make_clip

MIB = 1024 * 1024


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> bytes:
    path = make_clip(tmp_path_factory.mktemp("clip") / "clip.mp4", duration=0.5,
                     size="160x120", audio=False)
    return Path(path).read_bytes()


def _ask_url(client, cognito, size: int, who: str = "owner", **extra) -> httpx.Response:
    body = {"filename": "clip.mp4", "size_bytes": size, "content_type": "video/mp4",
            "title": "My clip", **extra}
    return client.post("/api/upload/url", json=body, headers=cognito.headers(who))


def _confirm(client, cognito, video_id: str, who: str = "owner", **extra) -> httpx.Response:
    return client.post("/api/upload/confirm", json={"video_id": video_id, **extra},
                       headers=cognito.headers(who))


def test_single_put_then_confirm(client, cognito, clip) -> None:
    r = _ask_url(client, cognito, len(clip))
    assert r.status_code == 201, r.text
    grant = r.json()
    put = httpx.put(grant["upload_url"], content=clip, headers=grant["headers"])
    assert put.status_code == 200, put.text
    r = _confirm(client, cognito, grant["video_id"])
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["container"] == "mp4" and body["job_id"] is None
    assert body["video"]["status"] == "UPLOADED" and body["video"]["title"] == "My clip"
    assert body["video"]["owner_id"] == cognito.subs["owner"]


def test_confirm_rejects_missing_wrong_size_and_non_media(client, cognito, clip, s3,
                                                         gallery_settings) -> None:
    grant = _ask_url(client, cognito, len(clip)).json()
    r = _confirm(client, cognito, grant["video_id"])
    assert r.status_code == 409 and r.json()["error"]["code"] == "upload_missing"
    bucket = gallery_settings.uploads_bucket
    s3.put_object(Bucket=bucket, Key=grant["key"], Body=clip + b"extra")
    r = _confirm(client, cognito, grant["video_id"])
    assert r.status_code == 422 and r.json()["error"]["code"] == "size_mismatch"
    s3.put_object(Bucket=bucket, Key=grant["key"], Body=b"%PDF-1.7" + b"\0" * (len(clip) - 8))
    r = _confirm(client, cognito, grant["video_id"])
    assert r.status_code == 422 and r.json()["error"]["code"] == "not_media"
    assert "not a recognised video container" in r.json()["error"]["message"]
    # Nothing was lost: the right bytes now confirm.
    s3.put_object(Bucket=bucket, Key=grant["key"], Body=clip)
    assert _confirm(client, cognito, grant["video_id"]).status_code == 200
    # Someone else cannot confirm (or learn about) my upload.
    assert _confirm(client, cognito, grant["video_id"], who="other").status_code == 404


def test_upload_size_limits(client, cognito, gallery_settings) -> None:
    limit = gallery_settings.max_upload_bytes
    r = _ask_url(client, cognito, limit + 1)
    assert r.status_code == 422 and r.json()["error"]["code"] == "too_large"
    for bad in ({"size_bytes": 0}, {"filename": "../etc/passwd"}, {"visibility": "secret"},
                {"unexpected": 1}):
        r = client.post("/api/upload/url", json={"filename": "a.mp4", "size_bytes": 10, **bad},
                        headers=cognito.headers("owner"))
        assert r.status_code == 422, bad
    assert client.post("/api/upload/url", json={"filename": "a.mp4", "size_bytes": 1}
                       ).status_code == 401


def test_plan_parts_respects_s3_limits() -> None:
    assert PartPlan.for_size(1, 16 * MIB) == PartPlan(1, 16 * MIB, 1)
    plan = PartPlan.for_size(5 * 1024**4, 16 * MIB)  # 5 TiB: the biggest S3 object
    assert plan.count <= S3_MAX_PARTS and plan.part_bytes >= S3_MIN_PART_BYTES
    assert plan.part_bytes * plan.count >= 5 * 1024**4
    assert plan.part_size(plan.count) == 5 * 1024**4 - plan.part_bytes * (plan.count - 1) > 0


def test_multipart_upload_complete_and_confirm(cognito, clip, gallery_settings) -> None:
    from fastapi.testclient import TestClient

    from gallery.app import create_app

    settings = gallery_settings.model_copy(update={"multipart_part_bytes": 5 * MIB})
    data = clip + b"\0" * (5 * MIB + 1000 - len(clip))
    with TestClient(create_app(settings)) as client:
        headers = cognito.headers("owner")
        init = client.post("/api/upload/multipart/init", headers=headers, json={
            "filename": "big.mp4", "size_bytes": len(data), "content_type": "video/mp4"})
        assert init.status_code == 201, init.text
        grant = init.json()
        assert grant["part_count"] == 2 and grant["part_size"] == 5 * MIB
        ids = {"video_id": grant["video_id"], "upload_id": grant["upload_id"]}
        urls = client.post("/api/upload/multipart/parts", headers=headers,
                           json={**ids, "part_numbers": [1, 2]})
        assert urls.status_code == 200, urls.text
        etags = []
        for part in urls.json()["parts"]:
            start = (part["part_number"] - 1) * grant["part_size"]
            put = httpx.put(part["url"], content=data[start:start + grant["part_size"]])
            assert put.status_code == 200, put.text
            etags.append({"part_number": part["part_number"], "etag": put.headers["ETag"]})
        r = client.post("/api/upload/multipart/parts", headers=headers,
                        json={**ids, "part_numbers": [3]})
        assert r.status_code == 422  # beyond the planned part count
        r = client.post("/api/upload/multipart/complete", headers=headers,
                        json={**ids, "parts": etags})
        assert r.status_code == 200, r.text
        r = client.post("/api/upload/confirm", headers=headers,
                        json={"video_id": grant["video_id"]})
        assert r.status_code == 200 and r.json()["container"] == "mp4", r.text


def test_multipart_abort_and_unknown_upload(client, cognito, s3, gallery_settings) -> None:
    headers = cognito.headers("owner")
    grant = client.post("/api/upload/multipart/init", headers=headers, json={
        "filename": "big.mkv", "size_bytes": 20 * MIB}).json()
    ids = {"video_id": grant["video_id"], "upload_id": grant["upload_id"]}
    other = client.post("/api/upload/multipart/abort", headers=cognito.headers("other"),
                        json=ids)
    assert other.status_code == 404
    bogus = client.post("/api/upload/multipart/parts", headers=headers,
                        json={**ids, "upload_id": "not-an-upload", "part_numbers": [1]})
    assert bogus.status_code == 404
    assert client.post("/api/upload/multipart/abort", headers=headers, json=ids
                       ).status_code == 204
    uploads = s3.list_multipart_uploads(Bucket=gallery_settings.uploads_bucket)
    assert not uploads.get("Uploads")
    r = client.post("/api/upload/multipart/complete", headers=headers, json=ids)
    assert r.status_code == 404


@pytest.mark.skipif(importlib.util.find_spec("processor.ladder") is None,
                    reason="needs processor.ladder (transcode branch)")
def test_confirm_with_process_submits_one_job(client, cognito, clip, aws_resources) -> None:
    from common import aws
    from common.settings import CommonSettings

    grant = _ask_url(client, cognito, len(clip)).json()
    httpx.put(grant["upload_url"], content=clip, headers=grant["headers"])
    first = _confirm(client, cognito, grant["video_id"], process=True)
    assert first.status_code == 200, first.text
    job_id = first.json()["job_id"]
    assert job_id and first.json()["video"]["status"] == "PROCESSING"
    again = _confirm(client, cognito, grant["video_id"], process=True)
    assert again.status_code == 200 and again.json()["job_id"] == job_id
    sqs = aws.client("sqs", CommonSettings(aws_endpoint_url=aws_resources.endpoint_url))
    attrs = sqs.get_queue_attributes(QueueUrl=aws_resources.queue_url,
                                     AttributeNames=["ApproximateNumberOfMessages"])
    assert attrs["Attributes"]["ApproximateNumberOfMessages"] == "1"


def test_a_queue_failure_during_confirm_is_503_and_queues_nothing(client, cognito, clip,
                                                                  aws_resources) -> None:
    """The gateway's answer to the same failure: the queue is unavailable, try again."""
    from common import aws
    from common.settings import CommonSettings

    first = _ask_url(client, cognito, len(clip)).json()
    httpx.put(first["upload_url"], content=clip, headers=first["headers"])
    assert _confirm(client, cognito, first["video_id"], process=True).status_code == 200
    # The queue was found on the first send; now it is gone, so the next send fails.
    sqs = aws.client("sqs", CommonSettings(aws_endpoint_url=aws_resources.endpoint_url))
    sqs.delete_queue(QueueUrl=aws_resources.queue_url)
    second = _ask_url(client, cognito, len(clip)).json()
    httpx.put(second["upload_url"], content=clip, headers=second["headers"])
    r = _confirm(client, cognito, second["video_id"], process=True)
    assert r.status_code == 503, r.text
    assert r.json()["error"]["code"] == "queue_unavailable"
    video = client.get(f"/api/gallery/videos/{second['video_id']}",
                       headers=cognito.headers("owner")).json()
    assert video["status"] == "UPLOADED"  # confirmed, no job: confirm again to process


def _multipart(client, cognito, size: int) -> tuple[dict, dict, list[dict]]:
    headers = cognito.headers("owner")
    grant = client.post("/api/upload/multipart/init", headers=headers, json={
        "filename": "big.mp4", "size_bytes": size, "content_type": "video/mp4"}).json()
    ids = {"video_id": grant["video_id"], "upload_id": grant["upload_id"]}
    numbers = list(range(1, grant["part_count"] + 1))
    urls = client.post("/api/upload/multipart/parts", headers=headers,
                       json={**ids, "part_numbers": numbers})
    assert urls.status_code == 200, urls.text
    return grant, ids, urls.json()["parts"]


def test_part_urls_sign_each_parts_length(cognito, gallery_settings) -> None:
    from fastapi.testclient import TestClient

    from gallery.app import create_app

    settings = gallery_settings.model_copy(update={"multipart_part_bytes": 5 * MIB})
    with TestClient(create_app(settings)) as client:
        _, _, parts = _multipart(client, cognito, 11 * MIB + 7)
    assert [p["size_bytes"] for p in parts] == [5 * MIB, 5 * MIB, MIB + 7]
    for part in parts:  # S3 refuses a body of any other length than the signed one
        assert "content-length" in part["url"].split("X-Amz-SignedHeaders=")[1].split("&")[0]


@pytest.mark.parametrize("cheat", ["bigger_last_part", "missing_part"])
def test_complete_refuses_parts_that_do_not_add_up(cognito, gallery_settings, s3,
                                                   cheat) -> None:
    """moto does not check signed headers, so a part of any size lands; complete is where
    what S3 holds (ListParts) is checked against the declared size."""
    from fastapi.testclient import TestClient

    from gallery.app import create_app

    settings = gallery_settings.model_copy(update={"multipart_part_bytes": 5 * MIB})
    declared = 5 * MIB + 1000
    with TestClient(create_app(settings)) as client:
        grant, ids, parts = _multipart(client, cognito, declared)
        sizes = {1: 5 * MIB, 2: 1000 + 50 * MIB if cheat == "bigger_last_part" else None}
        for part in parts:
            if sizes[part["part_number"]] is not None:
                put = httpx.put(part["url"], content=b"\0" * sizes[part["part_number"]])
                assert put.status_code == 200
        r = client.post("/api/upload/multipart/complete", headers=cognito.headers("owner"),
                        json=ids)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["code"] == "parts_mismatch"
    bucket = gallery_settings.uploads_bucket
    assert not s3.list_multipart_uploads(Bucket=bucket).get("Uploads")  # aborted
    assert s3.list_objects_v2(Bucket=bucket, Prefix=grant["key"])["KeyCount"] == 0
