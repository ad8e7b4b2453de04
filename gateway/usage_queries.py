"""Usage over a period, read from the jobs table: what each user's finished jobs took.

A job counts in the period its ``finished_at`` falls in (the period is half-open: start
inclusive, end exclusive), whatever its outcome: a failed job's worker time was paid for
too. Source minutes count only what was published. One GROUP BY query gives a page of
users, one more the totals; both run on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from common.cost_view import cost_public, prices_public
from common.costs import Prices, cost_of
from common.errors import Invalid
from common.http import ApiError
from common.job_state import JobStatus
from common.models import Job
from common.statuses import TERMINAL
from gateway.usage_schemas import JobCounts, UsagePublic


@dataclass(frozen=True)
class Period:
    start: datetime
    end: datetime


def _utc(value: datetime) -> datetime:
    # A time without an offset is taken as UTC, the platform's clock.
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)


def period(start: datetime | None, end: datetime | None, *,
           now: datetime | None = None) -> Period:
    """The period asked for; by default from the start of the current month (UTC) to now."""
    end = _utc(end) if end is not None else (now or datetime.now(UTC))
    if start is None:
        start = end.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        if start == end:  # asked to end at a month boundary: that whole month
            start = start.replace(year=start.year - (start.month == 1),
                                  month=(start.month - 2) % 12 + 1)
    start = _utc(start)
    if start >= end:
        raise Invalid("start must be before end", code="bad_period")
    return Period(start, end)


def _count(status: JobStatus) -> Any:
    return func.coalesce(func.sum(case((Job.status == status, 1), else_=0)), 0)


_TOTALS = (
    _count(JobStatus.SUCCEEDED), _count(JobStatus.FAILED), _count(JobStatus.CANCELLED),
    func.coalesce(func.sum(Job.instance_seconds), 0.0),
    func.coalesce(func.sum(Job.stored_bytes), 0),
    func.coalesce(func.sum(case((Job.status == JobStatus.SUCCEEDED, Job.source_duration_s),
                                else_=0.0)), 0.0),
)


def _in(window: Period) -> list[Any]:
    return [Job.finished_at >= window.start, Job.finished_at < window.end,
            Job.status.in_(TERMINAL)]


def _usage(owner_id: str | None, row: Any, window: Period, prices: Prices) -> UsagePublic:
    succeeded, failed, cancelled, seconds, stored, source = row
    cost = cost_of(instance_seconds=float(seconds), stored_bytes=int(stored),
                   source_seconds=float(source), prices=prices)
    return UsagePublic(
        user_id=owner_id, start=window.start, end=window.end,
        jobs=JobCounts(succeeded=int(succeeded), failed=int(failed), cancelled=int(cancelled)),
        cost=cost_public(cost), prices=prices_public(prices))


def user_usage(session: Session, *, owner_id: str, window: Period,
               prices: Prices) -> UsagePublic:
    row = session.execute(select(*_TOTALS).where(Job.owner_id == owner_id,
                                                 *_in(window))).one()
    return _usage(owner_id, row, window, prices)


def total_usage(session: Session, *, window: Period, prices: Prices) -> UsagePublic:
    return _usage(None, session.execute(select(*_TOTALS).where(*_in(window))).one(),
                  window, prices)


def users_usage(session: Session, *, window: Period, prices: Prices, limit: int,
                after: str | None = None) -> tuple[list[UsagePublic], str | None]:
    """A page of users (by id) with finished jobs in the period; and the next cursor."""
    query = select(Job.owner_id, *_TOTALS).where(*_in(window))
    if after is not None:
        query = query.where(Job.owner_id > after)
    rows = session.execute(
        query.group_by(Job.owner_id).order_by(Job.owner_id).limit(limit + 1)).all()
    page = [_usage(row[0], row[1:], window, prices) for row in rows[:limit]]
    more = len(rows) > limit
    return page, encode_cursor(rows[limit - 1][0]) if more else None


def encode_cursor(owner_id: str) -> str:
    return base64.urlsafe_b64encode(owner_id.encode()).decode().rstrip("=")


def decode_cursor(token: str) -> str:
    """The owner id a previous page ended at; 400 for anything else (as job pages)."""
    try:
        owner_id = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        owner_id = ""
    if not owner_id or len(owner_id) > 128 or not owner_id.isprintable():
        raise ApiError(400, "cursor is not valid; pass next_cursor from a previous page",
                       code="bad_cursor")
    return owner_id
