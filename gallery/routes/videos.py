"""/api/gallery: search, my library, one video's metadata, views."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response

from common.access import visible_video
from common.auth import Principal
from common.deps import run_read
from common.http import ApiError, error_responses
from common.models import VideoStatus, Visibility
from common.plain_route import plain_get
from gallery import videos
from gallery.deps import (
    CurrentUser,
    OptionalUser,
    S3Dep,
    SessionDep,
    SettingsDep,
    ViewsDep,
    viewer_key,
)
from gallery.schemas import VideoPage, VideoPublic, VideoUpdate, ViewResult
from gallery.search import SearchFilters, SortOrder, search
from gallery.views import record_view

router = APIRouter(prefix="/api/gallery", tags=["gallery"])
VideoId = Annotated[str, "video id"]


def _utc(value: datetime | None) -> datetime | None:
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


@dataclass(frozen=True)
class PageQuery:
    """Query parameters shared by search and my library."""

    text: str | None
    filters: dict[str, Any]
    limit: int | None
    cursor: str | None

    @classmethod
    async def from_query(
        cls,
        q: Annotated[str | None, Query(max_length=200,
                                       description="words to find in title or description "
                                                   "(web search syntax: \"phrase\", -word, or)")
                     ] = None,
        status: VideoStatus | None = None,
        visibility: Visibility | None = None,
        created_after: Annotated[datetime | None, Query(description="inclusive")] = None,
        created_before: Annotated[datetime | None, Query(description="exclusive")] = None,
        sort: SortOrder = SortOrder.NEWEST,
        limit: Annotated[int | None, Query(ge=1, le=100)] = None,
        cursor: Annotated[str | None, Query(max_length=1000)] = None,
    ) -> PageQuery:
        after, before = _utc(created_after), _utc(created_before)
        if after and before and after >= before:
            raise ApiError(422, "created_after must be earlier than created_before")
        filters = dict(status=status, visibility=visibility, created_after=after,
                       created_before=before, sort=sort)
        return cls(q.strip() if q and q.strip() else None, filters, limit, cursor)

    def run(self, session: SessionDep, *, principal: Principal | None, owner_id: str | None,
            default_limit: int) -> VideoPage:
        filters = SearchFilters(text=self.text, owner_id=owner_id, **self.filters)
        page = search(session, filters=filters, principal=principal,
                      limit=self.limit or default_limit, cursor=self.cursor)
        return VideoPage(items=[VideoPublic.model_validate(v) for v in page.items],
                         next_cursor=page.next_cursor)


PageDep = Annotated[PageQuery, Depends(PageQuery.from_query)]


@plain_get(router, "/videos", response_model=VideoPage,
           responses=error_responses(400, 401, 422))
async def search_videos(request: Request, principal: OptionalUser, page: PageDep,
                        settings: SettingsDep,
                        owner: Annotated[str | None, Query(max_length=128)] = None
                        ) -> VideoPage:
    """Search the catalogue: public videos, plus your own private ones (admins: all)."""
    # A hot read: one thread hop, a read-only session (common.deps.run_read).
    return await run_read(request, lambda session: page.run(
        session, principal=principal, owner_id=owner,
        default_limit=settings.page_size_default))


@router.get("/me/videos", response_model=VideoPage, responses=error_responses(400, 401, 422))
def my_videos(session: SessionDep, principal: CurrentUser, page: PageDep,
              settings: SettingsDep) -> VideoPage:
    """My library: every video I own, private ones included."""
    return page.run(session, principal=principal, owner_id=principal.user_id,
                    default_limit=settings.page_size_default)


@router.get("/videos/{video_id}", response_model=VideoPublic,
            responses=error_responses(401, 404))
def get_video(video_id: VideoId, session: SessionDep, principal: OptionalUser) -> VideoPublic:
    return VideoPublic.model_validate(
        visible_video(session, video_id=video_id, principal=principal))


@router.put("/videos/{video_id}", response_model=VideoPublic,
            responses=error_responses(401, 403, 404, 422))
def update_video(video_id: VideoId, changes: VideoUpdate, session: SessionDep,
                 principal: CurrentUser) -> VideoPublic:
    """Change title, description or visibility (owner or admin)."""
    return VideoPublic.model_validate(
        videos.update_video(session, video_id=video_id, principal=principal, changes=changes))


@router.delete("/videos/{video_id}", status_code=204, response_class=Response,
               responses=error_responses(401, 403, 404, 409))
def delete_video(video_id: VideoId, session: SessionDep, s3: S3Dep, principal: CurrentUser,
                 settings: SettingsDep) -> Response:
    """Delete the video, its uploaded source and every transcoded asset (owner or admin)."""
    videos.delete_video(session, s3, video_id=video_id, principal=principal,
                        media_bucket=settings.media_bucket)
    return Response(status_code=204)


@router.post("/videos/{video_id}/views", response_model=ViewResult,
             responses=error_responses(401, 404))
def count_view(video_id: VideoId, request: Request, session: SessionDep,
               principal: OptionalUser, views: ViewsDep, settings: SettingsDep) -> ViewResult:
    """Count a view: once per viewer (user, else client address) per window."""
    video = visible_video(session, video_id=video_id, principal=principal)
    viewer = viewer_key(request, principal.user_id if principal else None, settings)
    counted = record_view(session, views, video=video, viewer=viewer,
                          window_s=settings.view_window_s)
    return ViewResult(video_id=video.id, counted=counted, view_count=video.view_count)
