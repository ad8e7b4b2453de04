"""Usage routes: what your jobs took and cost over a period; for admins, everyone's.

Costs are at the configured prices (``VF_PRICE_*``, common/costs.py), on-demand and spot
side by side: which one the fleet ran on is a deployment fact, not the job's.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query

from common.auth import Principal
from common.errors import Forbidden
from common.http import error_responses
from gateway import usage_queries as usage
from gateway.deps import CurrentUser, SessionDep, SettingsDep
from gateway.usage_schemas import UsagePage, UsagePublic

router = APIRouter(prefix="/api/usage", tags=["usage"])
MAX_PAGE = 100
_ERRORS = error_responses(400, 401, 422, 429)
_ADMIN_ERRORS = error_responses(400, 401, 403, 422, 429)

Start = Annotated[datetime | None, Query(
    description="Period start, ISO 8601 (inclusive; no offset = UTC). Default: the first "
                "of the month `end` falls in.")]
End = Annotated[datetime | None, Query(description="Period end (exclusive). Default: now.")]


def _admin(user: Principal) -> None:
    if not user.is_admin:
        raise Forbidden("only admins can read other users' usage", code="admin_only")


@router.get("", response_model=UsagePublic, responses=_ERRORS)
def my_usage(user: CurrentUser, session: SessionDep, settings: SettingsDep,
             start: Start = None, end: End = None) -> UsagePublic:
    """Your jobs that finished in the period: counts by outcome, worker time, stored
    bytes, source minutes, and what they cost."""
    return usage.user_usage(session, owner_id=user.user_id, window=usage.period(start, end),
                            prices=settings.prices())


@router.get("/users", response_model=UsagePage, responses=_ADMIN_ERRORS)
def every_users_usage(
    user: CurrentUser, session: SessionDep, settings: SettingsDep,
    start: Start = None, end: End = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
    cursor: Annotated[str | None, Query(max_length=256, pattern=r"^[A-Za-z0-9_-]+$",
                                        description="next_cursor of the previous page")] = None,
) -> UsagePage:
    """Admins: every user's usage in the period (users with finished jobs, by id), a page
    at a time, with the totals over all of them."""
    _admin(user)
    window, prices = usage.period(start, end), settings.prices()
    items, next_cursor = usage.users_usage(
        session, window=window, prices=prices, limit=limit,
        after=usage.decode_cursor(cursor) if cursor else None)
    return UsagePage(start=window.start, end=window.end, items=items, next_cursor=next_cursor,
                     totals=usage.total_usage(session, window=window, prices=prices))


@router.get("/users/{user_id}", response_model=UsagePublic, responses=_ADMIN_ERRORS)
def one_users_usage(
    user_id: Annotated[str, Path(min_length=1, max_length=128)],
    user: CurrentUser, session: SessionDep, settings: SettingsDep,
    start: Start = None, end: End = None,
) -> UsagePublic:
    """Admins: one user's usage in the period (all zero for a user without jobs)."""
    _admin(user)
    return usage.user_usage(session, owner_id=user_id, window=usage.period(start, end),
                            prices=settings.prices())
