"""The local object store through boto3 and plain HTTP, the way the platform and the
browser use S3: objects, listings, presigned URLs, multipart, CORS, restarts."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.support.servers import serve_in_thread
from videoforge.stack.objectstore.app import ObjectStoreApp
from videoforge.stack.objectstore.store import Store
from videoforge.stack.sigv4 import Credentials, Verifier

KEYS = Credentials("store-test", "store-test-secret")
MIB = 1024 * 1024


class RunningStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.store = Store(root)
        self.served = contextlib.ExitStack()
        self.url = self.served.enter_context(serve_in_thread(
            ObjectStoreApp(self.store, Verifier(KEYS, service="s3"))))

    def client(self, secret: str = KEYS.secret_key) -> Any:
        return boto3.client("s3", endpoint_url=self.url, region_name="us-east-1",
                            aws_access_key_id=KEYS.access_key, aws_secret_access_key=secret,
                            config=Config(signature_version="s3v4",
                                          s3={"addressing_style": "path"},
                                          retries={"max_attempts": 1}))

    def stop(self) -> None:
        self.served.close()
        self.store.close()


@pytest.fixture
def start(tmp_path: Path) -> Iterator[Callable[[], RunningStore]]:
    running: list[RunningStore] = []

    def start() -> RunningStore:
        if running:
            running.pop().stop()
        running.append(RunningStore(tmp_path / "objects"))
        return running[-1]

    yield start
    for store in running:
        store.stop()


@pytest.fixture
def s3(start: Callable[[], RunningStore]) -> Any:
    client = start().client()
    client.create_bucket(Bucket="media")
    return client


def _code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return str(exc.value.response["Error"]["Code"])


def test_objects_round_trip_with_metadata_ranges_and_conditions(s3: Any) -> None:
    put = s3.put_object(Bucket="media", Key="videos/a b/1.mp4", Body=b"0123456789",
                        ContentType="video/mp4", Metadata={"owner": "u1"})
    got = s3.get_object(Bucket="media", Key="videos/a b/1.mp4")
    assert got["Body"].read() == b"0123456789" and got["ETag"] == put["ETag"]
    assert got["ContentType"] == "video/mp4" and got["Metadata"] == {"owner": "u1"}
    part = s3.get_object(Bucket="media", Key="videos/a b/1.mp4", Range="bytes=2-4")
    assert part["Body"].read() == b"234" and part["ContentRange"] == "bytes 2-4/10"
    tail = s3.get_object(Bucket="media", Key="videos/a b/1.mp4", Range="bytes=-3")
    assert tail["Body"].read() == b"789"
    head = s3.head_object(Bucket="media", Key="videos/a b/1.mp4", IfMatch=put["ETag"])
    assert head["ContentLength"] == 10
    with pytest.raises(ClientError) as failed:
        s3.get_object(Bucket="media", Key="videos/a b/1.mp4", IfMatch='"other"')
    assert _code(failed) == "PreconditionFailed"
    with pytest.raises(ClientError) as missing:
        s3.get_object(Bucket="media", Key="nothing")
    assert _code(missing) == "NoSuchKey"
    with pytest.raises(ClientError) as no_bucket:
        s3.head_bucket(Bucket="nowhere")
    assert _code(no_bucket) == "404"
    s3.delete_object(Bucket="media", Key="videos/a b/1.mp4")
    with pytest.raises(ClientError):
        s3.head_object(Bucket="media", Key="videos/a b/1.mp4")


def test_listing_pages_prefixes_and_bulk_delete(s3: Any) -> None:
    keys = [f"videos/{v}/{n}.mp4" for v in ("v1", "v2") for n in range(3)] + ["top.txt"]
    for key in keys:
        s3.put_object(Bucket="media", Key=key, Body=key.encode())
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket="media", Prefix="videos/",
                                                         PaginationConfig={"PageSize": 2})
    listed = [o["Key"] for page in pages for o in page.get("Contents", [])]
    assert listed == sorted(k for k in keys if k.startswith("videos/"))
    folders = s3.list_objects_v2(Bucket="media", Delimiter="/", Prefix="videos/")
    assert [p["Prefix"] for p in folders["CommonPrefixes"]] == ["videos/v1/", "videos/v2/"]
    top = s3.list_objects_v2(Bucket="media", Delimiter="/")
    assert [o["Key"] for o in top["Contents"]] == ["top.txt"]
    s3.delete_objects(Bucket="media", Delete={"Objects": [{"Key": k} for k in keys[:3]],
                                              "Quiet": True})
    assert s3.list_objects_v2(Bucket="media", Prefix="videos/v1/")["KeyCount"] == 0


def test_presigned_urls_are_checked(s3: Any, start: Callable[[], RunningStore]) -> None:
    put_url = s3.generate_presigned_url("put_object", Params={"Bucket": "media", "Key": "p"},
                                        ExpiresIn=60)
    assert httpx.put(put_url, content=b"presigned").status_code == 200
    get_url = s3.generate_presigned_url("get_object", Params={"Bucket": "media", "Key": "p"})
    assert httpx.get(get_url).content == b"presigned"
    tampered = get_url.replace("Key=", "Key=").replace("/media/p?", "/media/q?")
    assert httpx.get(tampered).status_code == 403
    assert httpx.get(get_url.split("?")[0]).status_code == 403  # unsigned
    expired = s3.generate_presigned_url("get_object", Params={"Bucket": "media", "Key": "p"},
                                        ExpiresIn=1)
    time.sleep(1.5)
    answer = httpx.get(expired)
    assert answer.status_code == 403 and b"expired" in answer.content
    stranger = boto3.client("s3", endpoint_url=s3.meta.endpoint_url, region_name="us-east-1",
                            aws_access_key_id=KEYS.access_key, aws_secret_access_key="wrong",
                            config=Config(signature_version="s3v4",
                                          s3={"addressing_style": "path"}))
    with pytest.raises(ClientError) as refused:
        stranger.list_objects_v2(Bucket="media")
    assert _code(refused) == "SignatureDoesNotMatch"


def test_multipart_with_presigned_parts_that_sign_their_length(s3: Any) -> None:
    upload = s3.create_multipart_upload(Bucket="media", Key="big.mp4",
                                        ContentType="video/mp4")["UploadId"]
    parts = [bytes([n]) * (5 * MIB) for n in (1, 2)] + [b"end"]
    etags = []
    for number, data in enumerate(parts, start=1):
        url = s3.generate_presigned_url("upload_part", Params={
            "Bucket": "media", "Key": "big.mp4", "UploadId": upload, "PartNumber": number,
            "ContentLength": len(data)})
        if number == 3:  # a longer body than the URL signed is refused
            assert httpx.put(url, content=data + b"!").status_code == 403
        answer = httpx.put(url, content=data)
        assert answer.status_code == 200, answer.text
        etags.append(answer.headers["etag"])
    listed = s3.list_parts(Bucket="media", Key="big.mp4", UploadId=upload)["Parts"]
    assert [(p["PartNumber"], p["Size"]) for p in listed] == [(1, 5 * MIB), (2, 5 * MIB),
                                                              (3, 3)]
    with pytest.raises(ClientError) as wrong:
        s3.complete_multipart_upload(Bucket="media", Key="big.mp4", UploadId=upload,
                                     MultipartUpload={"Parts": [{"PartNumber": 1,
                                                                 "ETag": '"0"'}]})
    assert _code(wrong) == "InvalidPart"
    done = s3.complete_multipart_upload(
        Bucket="media", Key="big.mp4", UploadId=upload,
        MultipartUpload={"Parts": [{"PartNumber": n, "ETag": e}
                                   for n, e in enumerate(etags, start=1)]})
    assert done["ETag"].endswith('-3"')
    head = s3.head_object(Bucket="media", Key="big.mp4")
    assert head["ContentLength"] == 10 * MIB + 3 and head["ContentType"] == "video/mp4"
    with pytest.raises(ClientError) as gone:
        s3.list_parts(Bucket="media", Key="big.mp4", UploadId=upload)
    assert _code(gone) == "NoSuchUpload"


def test_small_parts_are_refused_and_aborts_clean_up(s3: Any) -> None:
    upload = s3.create_multipart_upload(Bucket="media", Key="small")["UploadId"]
    etags = [s3.upload_part(Bucket="media", Key="small", UploadId=upload, PartNumber=n,
                            Body=b"x")["ETag"] for n in (1, 2)]
    with pytest.raises(ClientError) as small:
        s3.complete_multipart_upload(
            Bucket="media", Key="small", UploadId=upload,
            MultipartUpload={"Parts": [{"PartNumber": n, "ETag": e}
                                       for n, e in enumerate(etags, start=1)]})
    assert _code(small) == "EntityTooSmall"
    other = s3.create_multipart_upload(Bucket="media", Key="small-2")["UploadId"]
    pages = s3.get_paginator("list_multipart_uploads").paginate(
        Bucket="media", Prefix="small", PaginationConfig={"PageSize": 1})
    listed = [(u["Key"], u["UploadId"]) for page in pages for u in page.get("Uploads", [])]
    assert listed == [("small", upload), ("small-2", other)]
    s3.abort_multipart_upload(Bucket="media", Key="small", UploadId=upload)
    with pytest.raises(ClientError) as gone:
        s3.list_parts(Bucket="media", Key="small", UploadId=upload)
    assert _code(gone) == "NoSuchUpload"


def test_transfers_and_copies(s3: Any, tmp_path: Path) -> None:
    source = tmp_path / "source.bin"
    source.write_bytes(bytes(range(256)) * (48 * 1024))  # 12 MiB: a managed multipart
    s3.upload_file(str(source), "media", "t/source.bin")
    target = tmp_path / "back.bin"
    s3.download_file("media", "t/source.bin", str(target))
    assert target.read_bytes() == source.read_bytes()
    s3.copy_object(Bucket="media", Key="t/pinned.bin",
                   CopySource={"Bucket": "media", "Key": "t/source.bin"})
    s3.copy({"Bucket": "media", "Key": "t/source.bin"}, "media", "t/managed-copy.bin")
    for key in ("t/pinned.bin", "t/managed-copy.bin"):
        assert s3.head_object(Bucket="media", Key=key)["ContentLength"] == source.stat().st_size


def test_cors_preflight_and_headers(s3: Any) -> None:
    s3.put_bucket_cors(Bucket="media", CORSConfiguration={"CORSRules": [{
        "AllowedOrigins": ["http://127.0.0.1:8000"], "AllowedMethods": ["GET", "PUT"],
        "AllowedHeaders": ["*"], "ExposeHeaders": ["ETag"], "MaxAgeSeconds": 60}]})
    s3.put_object(Bucket="media", Key="c", Body=b"c")
    url = f"{s3.meta.endpoint_url}/media/c"
    preflight = httpx.options(url, headers={"Origin": "http://127.0.0.1:8000",
                                            "Access-Control-Request-Method": "PUT",
                                            "Access-Control-Request-Headers": "content-type"})
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == "http://127.0.0.1:8000"
    refused = httpx.options(url, headers={"Origin": "http://evil.example",
                                          "Access-Control-Request-Method": "PUT"})
    assert refused.status_code == 403
    get_url = s3.generate_presigned_url("get_object", Params={"Bucket": "media", "Key": "c"})
    answer = httpx.get(get_url, headers={"Origin": "http://127.0.0.1:8000"})
    assert answer.headers["access-control-expose-headers"] == "ETag"
    rules = s3.get_bucket_cors(Bucket="media")["CORSRules"]
    assert rules[0]["AllowedOrigins"] == ["http://127.0.0.1:8000"]


def test_objects_survive_a_restart_and_crash_leftovers_go(
        start: Callable[[], RunningStore]) -> None:
    first = start()
    s3 = first.client()
    s3.create_bucket(Bucket="keep")
    s3.put_object(Bucket="keep", Key="k", Body=b"kept")
    upload = s3.create_multipart_upload(Bucket="keep", Key="m")["UploadId"]
    s3.upload_part(Bucket="keep", Key="m", UploadId=upload, PartNumber=1, Body=b"part")
    (first.root / "tmp" / "half-written").write_bytes(b"x")
    (first.root / "blobs" / "zz").mkdir(exist_ok=True)
    (first.root / "blobs" / "zz" / "orphan").write_bytes(b"x")

    s3 = start().client()
    assert s3.get_object(Bucket="keep", Key="k")["Body"].read() == b"kept"
    assert [p["Size"] for p in s3.list_parts(Bucket="keep", Key="m",
                                             UploadId=upload)["Parts"]] == [4]
    assert not (first.root / "tmp" / "half-written").exists()
    assert not (first.root / "blobs" / "zz" / "orphan").exists()
