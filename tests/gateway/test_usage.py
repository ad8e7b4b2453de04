"""Usage over a period through the gateway: what each user's finished jobs took and cost,
checked against the instance-seconds and bytes their rows recorded."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from common import job_state
from common.costs import Prices, cost_of
from common.db import migrate, session_factory
from common.job_state import JobStatus, VideoDeletion
from common.models import GalleryVideo, Job, VideoStatus
from gateway.usage_queries import decode_cursor, period, user_usage, users_usage
from tests.support.cognito import User

# Prices set for these tests, so nothing depends on the defaults.
PRICES = Prices(on_demand_usd_per_hour=0.085, spot_usd_per_hour=0.03,
                storage_usd_per_gb_month=0.025)
NOVEMBER = datetime(2026, 11, 1, tzinfo=UTC)
DECEMBER = datetime(2026, 12, 1, tzinfo=UTC)


@pytest.fixture
def gateway_settings(gateway_settings: Any) -> Any:
    return gateway_settings.model_copy(update={
        "price_on_demand_usd_per_hour": PRICES.on_demand_usd_per_hour,
        "price_spot_usd_per_hour": PRICES.spot_usd_per_hour,
        "price_storage_usd_per_gb_month": PRICES.storage_usd_per_gb_month})


def _finished(database_url: str, owner: User, *, at: datetime, status: JobStatus,
              instance_seconds: float | None, stored_bytes: int | None = None,
              source_s: float | None = None) -> str:
    with session_factory(database_url)() as session:
        video = GalleryVideo(owner_id=owner.sub, status=VideoStatus.READY)
        session.add(video)
        session.flush()
        job = Job(video_id=video.id, owner_id=owner.sub, status=status, finished_at=at,
                  started_at=at - timedelta(seconds=instance_seconds or 0),
                  instance_seconds=instance_seconds, stored_bytes=stored_bytes,
                  source_duration_s=source_s)
        session.add(job)
        session.commit()
        return job.id


@pytest.fixture
def november(gateway_settings: Any, users: dict[str, User]) -> None:
    """owner: two published jobs and a failed one in November, one in December; other:
    one published job in November."""
    url = gateway_settings.database_url
    owner, other = users["owner"], users["other"]
    _finished(url, owner, at=NOVEMBER + timedelta(days=3), status=JobStatus.SUCCEEDED,
              instance_seconds=270.0, stored_bytes=150 * 2**20, source_s=180.0)
    _finished(url, owner, at=NOVEMBER + timedelta(days=20), status=JobStatus.SUCCEEDED,
              instance_seconds=90.0, stored_bytes=50 * 2**20, source_s=60.0)
    _finished(url, owner, at=NOVEMBER + timedelta(days=21), status=JobStatus.FAILED,
              instance_seconds=40.0)  # the worker time of a failed job was paid for too
    _finished(url, owner, at=DECEMBER, status=JobStatus.SUCCEEDED,  # the next period
              instance_seconds=999.0, stored_bytes=1, source_s=1.0)
    _finished(url, other, at=NOVEMBER + timedelta(days=5), status=JobStatus.SUCCEEDED,
              instance_seconds=45.0, stored_bytes=2**30, source_s=30.0)


PERIOD = {"start": NOVEMBER.isoformat(), "end": DECEMBER.isoformat()}


def _expected(instance_seconds: float, stored_bytes: int, source_s: float) -> dict[str, Any]:
    cost = cost_of(instance_seconds=instance_seconds, stored_bytes=stored_bytes,
                   source_seconds=source_s, prices=PRICES)
    return {
        "instance_seconds": pytest.approx(instance_seconds),
        "stored_bytes": stored_bytes,
        "source_minutes": pytest.approx(source_s / 60),
        "compute_usd_on_demand": pytest.approx(cost.compute_on_demand_usd, abs=1e-6),
        "compute_usd_spot": pytest.approx(cost.compute_spot_usd, abs=1e-6),
        "storage_usd_per_month": pytest.approx(cost.storage_usd_per_month, abs=1e-6),
        "usd_per_source_minute_on_demand": pytest.approx(
            cost.compute_on_demand_usd / (source_s / 60), abs=1e-6),
        "usd_per_source_minute_spot": pytest.approx(
            cost.compute_spot_usd / (source_s / 60), abs=1e-6),
    }


def test_my_usage_over_a_period(client: Any, users: dict[str, User], november: None) -> None:
    r = client.get("/api/usage", params=PERIOD, headers=users["owner"].headers)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["user_id"] == users["owner"].sub
    assert body["jobs"] == {"succeeded": 2, "failed": 1, "cancelled": 0}
    # 270 + 90 + 40 instance-seconds, 200 MiB, 4 source minutes (published jobs only).
    assert body["cost"] == _expected(400.0, 200 * 2**20, 240.0)
    assert body["cost"]["compute_usd_on_demand"] == pytest.approx(400 / 3600 * 0.085, abs=1e-6)
    assert body["cost"]["storage_usd_per_month"] == pytest.approx(200 / 1024 * 0.025, abs=1e-6)
    assert body["prices"] == {"on_demand_usd_per_hour": 0.085, "spot_usd_per_hour": 0.03,
                              "storage_usd_per_gb_month": 0.025}
    assert datetime.fromisoformat(body["start"]) == NOVEMBER
    assert datetime.fromisoformat(body["end"]) == DECEMBER


def test_a_period_with_nothing_is_all_zero(client: Any, users: dict[str, User],
                                           november: None) -> None:
    body = client.get("/api/usage", params={"start": "2026-01-01T00:00:00Z",
                                            "end": "2026-02-01T00:00:00Z"},
                      headers=users["owner"].headers).json()
    assert body["jobs"] == {"succeeded": 0, "failed": 0, "cancelled": 0}
    assert body["cost"]["compute_usd_on_demand"] == 0
    assert body["cost"]["usd_per_source_minute_on_demand"] is None


def test_admins_read_every_users_usage_a_page_at_a_time(
        client: Any, users: dict[str, User], november: None) -> None:
    admin = users["admin"].headers
    first = client.get("/api/usage/users", params={**PERIOD, "limit": 1}, headers=admin)
    assert first.status_code == 200, first.text
    page = first.json()
    assert page["next_cursor"]
    second = client.get("/api/usage/users",
                        params={**PERIOD, "limit": 1, "cursor": page["next_cursor"]},
                        headers=admin).json()
    assert second["next_cursor"] is None
    by_user = {u["user_id"]: u for u in page["items"] + second["items"]}
    assert set(by_user) == {users["owner"].sub, users["other"].sub}
    assert by_user[users["other"].sub]["cost"] == _expected(45.0, 2**30, 30.0)
    assert page["totals"]["user_id"] is None
    assert page["totals"]["jobs"] == {"succeeded": 3, "failed": 1, "cancelled": 0}
    assert page["totals"]["cost"] == _expected(445.0, 200 * 2**20 + 2**30, 270.0)
    one = client.get(f"/api/usage/users/{users['owner'].sub}", params=PERIOD, headers=admin)
    assert one.json() == by_user[users["owner"].sub]


def test_deleting_a_video_keeps_what_its_jobs_cost(
        client: Any, users: dict[str, User], gateway_settings: Any, november: None) -> None:
    """Deleting a video used to cascade to its jobs: their worker time left the usage."""
    owner = users["owner"]
    job_id = _finished(gateway_settings.database_url, owner, at=NOVEMBER + timedelta(days=9),
                       status=JobStatus.SUCCEEDED, instance_seconds=30.0, stored_bytes=7,
                       source_s=12.0)
    video_id = client.get(f"/api/jobs/{job_id}", headers=owner.headers).json()["video_id"]
    with session_factory(gateway_settings.database_url)() as session:  # as the gallery does
        assert job_state.delete_video(session, video_id=video_id) == VideoDeletion.DELETED
        session.commit()
    body = client.get("/api/usage", params=PERIOD, headers=owner.headers).json()
    assert body["jobs"] == {"succeeded": 3, "failed": 1, "cancelled": 0}
    assert body["cost"] == _expected(430.0, 200 * 2**20 + 7, 252.0)
    job = client.get(f"/api/jobs/{job_id}", headers=owner.headers)
    assert job.status_code == 200 and job.json()["video_id"] is None
    assert job.json()["cost"]["instance_seconds"] == 30.0


def test_only_admins_read_others_usage(client: Any, users: dict[str, User]) -> None:
    owner = users["owner"].headers
    assert client.get("/api/usage/users", headers=owner).status_code == 403
    r = client.get(f"/api/usage/users/{users['other'].sub}", headers=owner)
    assert r.status_code == 403 and r.json()["error"]["code"] == "admin_only"
    assert client.get("/api/usage").status_code == 401


@pytest.mark.parametrize("params", [
    {"start": "2026-12-01T00:00:00Z", "end": "2026-11-01T00:00:00Z"},  # backwards
    {"start": "2026-11-01T00:00:00Z", "end": "2026-11-01T00:00:00Z"},  # empty
    {"start": "yesterday"},
])
def test_bad_periods_are_refused(client: Any, users: dict[str, User],
                                 params: dict[str, str]) -> None:
    r = client.get("/api/usage", params=params, headers=users["owner"].headers)
    assert r.status_code == 422, r.text


def test_a_bad_cursor_is_400(client: Any, users: dict[str, User]) -> None:
    r = client.get("/api/usage/users", params={"cursor": "AAAA"},
                   headers=users["admin"].headers)
    assert r.status_code == 400 and r.json()["error"]["code"] == "bad_cursor"


def test_the_default_period_is_this_month_to_now() -> None:
    now = datetime(2026, 11, 23, 12, 30, tzinfo=UTC)
    assert period(None, None, now=now) == period(NOVEMBER, now)
    # Ending at a month's first instant means the month before, not an empty period.
    assert period(None, DECEMBER).start == NOVEMBER
    assert period(None, datetime(2026, 1, 1, tzinfo=UTC)).start == datetime(2025, 12, 1,
                                                                            tzinfo=UTC)
    # No offset: UTC.
    assert period(datetime(2026, 11, 1), DECEMBER).start == NOVEMBER


def test_the_usage_queries_run_on_sqlite(tmp_path: Any) -> None:
    url = f"sqlite:///{tmp_path / 'vf.db'}"
    migrate(url)
    owner, other = User("owner", "u-1", ""), User("other", "u-2", "")
    _finished(url, owner, at=NOVEMBER, status=JobStatus.SUCCEEDED, instance_seconds=60.0,
              stored_bytes=10, source_s=60.0)
    _finished(url, other, at=NOVEMBER, status=JobStatus.CANCELLED, instance_seconds=None)
    window = period(NOVEMBER, DECEMBER)
    with session_factory(url)() as session:
        mine = user_usage(session, owner_id="u-1", window=window, prices=PRICES)
        page, cursor = users_usage(session, window=window, prices=PRICES, limit=1)
        rest, end = users_usage(session, window=window, prices=PRICES, limit=1,
                                after=decode_cursor(cursor or ""))
    assert mine.cost.instance_seconds == 60 and mine.cost.usd_per_source_minute_on_demand
    assert [u.user_id for u in page + rest] == ["u-1", "u-2"] and end is None
    assert rest[0].jobs.cancelled == 1 and rest[0].cost.instance_seconds == 0
