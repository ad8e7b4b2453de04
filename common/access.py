"""Who may see and change a video: one rule for every service.

Public videos are visible to anyone; private ones only to their owner and admins.
Changes are for the owner and admins. Someone else's private video is reported as
not found, so its existence does not leak.
"""

from __future__ import annotations

from typing import Protocol

from sqlalchemy.orm import Session

from common.auth import Principal
from common.errors import Forbidden, NotFound
from common.models import GalleryVideo, Visibility


class Owned(Protocol):
    """What the rules read of a video (an ORM row, or a plain one read as columns)."""

    @property
    def visibility(self) -> Visibility: ...
    @property
    def owner_id(self) -> str: ...


def can_view(video: Owned, principal: Principal | None) -> bool:
    if video.visibility == Visibility.PUBLIC:
        return True
    return principal is not None and (principal.is_admin or principal.user_id == video.owner_id)


def can_manage(video: GalleryVideo, principal: Principal | None) -> bool:
    return principal is not None and (principal.is_admin or principal.user_id == video.owner_id)


def visible_video(session: Session, *, video_id: str, principal: Principal | None) -> GalleryVideo:
    """The video if ``principal`` may see it, else :class:`NotFound`."""
    video = session.get(GalleryVideo, video_id) if len(video_id) <= 36 else None
    if video is None or not can_view(video, principal):
        raise NotFound("video not found")
    return video


def managed_video(session: Session, *, video_id: str, principal: Principal) -> GalleryVideo:
    """The video if ``principal`` may change it. Visible but not theirs:
    :class:`Forbidden`; else :class:`NotFound`."""
    video = visible_video(session, video_id=video_id, principal=principal)
    if not can_manage(video, principal):
        raise Forbidden("only the owner or an admin may change this video")
    return video
