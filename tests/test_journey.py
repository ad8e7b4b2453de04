"""The whole user journey over real HTTP, against real parts.

A user is created in Cognito (moto), signs in through the gateway, uploads straight to
S3 with a presigned URL, confirms, submits the job, follows it to SUCCEEDED while a real
worker process transcodes with ffmpeg, lists the qualities, downloads one through its
presigned URL and checks it with ffprobe, then reads a segment through the HLS master.
PostgreSQL holds the data and Redis the rate limits.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import urljoin

import httpx
import pytest

from common import aws
from common.settings import CommonSettings
from gateway.settings import GatewaySettings
from tests.support.aws_resources import AwsResources
from tests.support.media import make_clip, probe_streams
from tests.support.servers import serve_in_thread
from tests.support.services import REDIS_URL
from videoforge import services
from videoforge.stack.net import free_port

REPO = Path(__file__).resolve().parent.parent
PASSWORD = "Journey-pass1!"


def _cognito_pool(endpoint: str) -> tuple[str, str]:
    idp = aws.client("cognito-idp", CommonSettings(aws_endpoint_url=endpoint))
    pool_id = idp.create_user_pool(PoolName=f"journey-{uuid.uuid4().hex[:6]}")["UserPool"]["Id"]
    client_id = idp.create_user_pool_client(
        UserPoolId=pool_id, ClientName="web",
        ExplicitAuthFlows=["USER_PASSWORD_AUTH", "REFRESH_TOKEN_AUTH"],
    )["UserPoolClient"]["ClientId"]
    return pool_id, client_id


def _create_user(endpoint: str, pool_id: str, username: str) -> None:
    idp = aws.client("cognito-idp", CommonSettings(aws_endpoint_url=endpoint))
    idp.admin_create_user(UserPoolId=pool_id, Username=username, TemporaryPassword="Tmp-pass1!")
    idp.admin_set_user_password(UserPoolId=pool_id, Username=username, Password=PASSWORD,
                                Permanent=True)


@pytest.fixture
def worker(settings_env: dict[str, str], tmp_path: Path):
    env = {**os.environ, **settings_env, "PYTHONPATH": str(REPO),
           "VF_HEARTBEAT_INTERVAL_S": "1", "VF_POLL_WAIT_S": "1",
           "VF_METRICS_PORT": str(free_port()), "VF_WORK_DIR": str(tmp_path),
           "VF_X264_PRESET": "ultrafast"}
    proc = subprocess.Popen([sys.executable, "-m", "videoforge", "worker"], cwd=REPO, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    yield proc
    proc.terminate()
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()


def test_upload_transcode_and_watch(aws_resources: AwsResources, clean_database: str,
                                    worker: subprocess.Popen, tmp_path: Path) -> None:
    endpoint = aws_resources.endpoint_url
    pool_id, client_id = _cognito_pool(endpoint)
    settings = GatewaySettings(
        env="test", database_url=clean_database, aws_endpoint_url=endpoint,
        uploads_bucket=aws_resources.uploads_bucket, media_bucket=aws_resources.media_bucket,
        jobs_queue_name=aws_resources.queue_name,
        dead_letter_queue_name=aws_resources.dlq_name,
        cognito_user_pool_id=pool_id, cognito_client_id=client_id,
        redis_url=REDIS_URL, rate_limit_prefix=f"vf:test:{uuid.uuid4().hex}:",
        gateway_mode="mount", sse_poll_interval_s=0.2,
    )
    clip = make_clip(tmp_path / "holiday.mp4", duration=2, size="1280x720", rate=15)

    with serve_in_thread(services.build("gateway", settings)) as base, httpx.Client(base_url=base,
                                                                     timeout=30) as http:
        # 1. A user exists in Cognito and signs in through the gateway.
        _create_user(endpoint, pool_id, "journey")
        tokens = http.post("/api/auth/login",
                           json={"username": "journey", "password": PASSWORD})
        assert tokens.status_code == 200, tokens.text
        auth = {"Authorization": f"Bearer {tokens.json()['id_token']}"}

        # 2. An upload URL; the bytes go straight to S3; the gallery confirms them.
        size = clip.stat().st_size
        grant = http.post("/api/upload/url", headers=auth, json={
            "filename": clip.name, "size_bytes": size, "content_type": "video/mp4",
            "title": "Holiday", "visibility": "private"})
        assert grant.status_code in (200, 201), grant.text
        grant_body = grant.json()
        put = httpx.put(grant_body["upload_url"], content=clip.read_bytes(),
                        headers=grant_body["headers"], timeout=30)
        assert put.status_code == 200, put.text
        video_id = grant_body["video_id"]
        confirmed = http.post("/api/upload/confirm", headers=auth, json={"video_id": video_id})
        assert confirmed.status_code == 200, confirmed.text

        # 3. The job, submitted and followed to the end.
        job = http.post("/api/jobs", headers={**auth, "Idempotency-Key": "journey-1"},
                        json={"video_id": video_id})
        assert job.status_code in (200, 201, 202), job.text
        job_id = job.json()["id"]
        status = _follow(http, auth, job_id, worker)
        assert status["status"] == "SUCCEEDED", status
        assert status["progress"] == 1.0

        # 4. The qualities, one downloaded through its presigned URL and checked.
        qualities = http.get(f"/api/stream/{video_id}/qualities", headers=auth).json()
        names = [q["quality"] for q in qualities["qualities"]]
        assert names == ["480p", "720p"], qualities
        url = http.get(f"/api/stream/{video_id}", params={"quality": "720p"},
                       headers=auth).json()["url"]
        download = httpx.get(url, timeout=30)
        assert download.status_code == 200
        mp4 = tmp_path / "720p.mp4"
        mp4.write_bytes(download.content)
        video = next(s for s in probe_streams(mp4)["streams"] if s["codec_type"] == "video")
        assert (video["width"], video["height"], video["codec_name"]) == (1280, 720, "h264")

        # 5. The HLS master, a variant playlist and a segment, all through the API's URLs.
        master = http.get(f"/api/stream/{video_id}/master.m3u8", headers=auth)
        assert master.status_code == 200 and "#EXT-X-STREAM-INF" in master.text
        variant_uri = next(line for line in master.text.splitlines()
                           if line and not line.startswith("#"))
        # Resolved against the master's URL as a player does; no credentials needed.
        variant = httpx.get(urljoin(str(master.url), variant_uri), timeout=30)
        assert variant.status_code == 200, variant.text
        # Byte ranges of the quality's one CMAF file, whose URL is defined once (HLS v8).
        media = re.search(r'#EXT-X-DEFINE:NAME="media",VALUE="([^"]+)"', variant.text).group(1)
        init = re.search(r'#EXT-X-MAP:URI="\{\$media\}",BYTERANGE="(\d+)@0"', variant.text)
        segment = re.search(r"#EXT-X-BYTERANGE:(\d+)@(\d+)", variant.text)
        for length, offset in ((int(init.group(1)), 0),
                               (int(segment.group(1)), int(segment.group(2)))):
            got = httpx.get(urljoin(str(variant.url), media), timeout=30,
                            headers={"Range": f"bytes={offset}-{offset + length - 1}"})
            assert got.status_code == 206 and len(got.content) == length


def _follow(http: httpx.Client, auth: dict[str, str], job_id: str,
            worker: subprocess.Popen, timeout_s: float = 180) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        body = http.get(f"/api/jobs/{job_id}", headers=auth).json()
        if body["status"] in ("SUCCEEDED", "FAILED", "CANCELLED"):
            return body
        if worker.poll() is not None:
            pytest.fail(f"worker exited: {worker.stderr.read().decode()[-2000:]}")
        time.sleep(0.3)
    pytest.fail(f"job {job_id} did not finish in {timeout_s} s")
