"""Gallery search: full-text over title and description, filters, sort, and opaque
keyset cursors.

PostgreSQL matches ``websearch_to_tsquery`` against the stored, GIN-indexed
``search_vector`` column (migration 0002: title and description, English config), so
no plan ever computes a tsvector at query time; SQLite falls back to a case-insensitive
LIKE.

Pagination is keyset on (sort key, id): a cursor is base64url JSON holding the last
row's sort key and id, plus the sort and a digest of the filters, so a cursor is only
valid for the query that made it. A cursor that does not decode, or belongs to another
query, is a 400.
"""

from __future__ import annotations

import base64
import binascii
import enum
import hashlib
import json
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnClause,
    ColumnElement,
    Row,
    Select,
    and_,
    func,
    literal_column,
    or_,
    select,
    tuple_,
)
from sqlalchemy.orm import InstrumentedAttribute, Session

from common.auth import Principal
from common.http import ApiError
from common.models import GalleryVideo, VideoStatus, Visibility
from common.video_view import VideoPublic

# PostgreSQL only, generated from title and description (not mapped: SQLite lacks it).
SEARCH_VECTOR: ColumnClause[Any] = literal_column("gallery_videos.search_vector")
_CURSOR_VERSION = 1


class SortOrder(enum.StrEnum):
    NEWEST = "-created_at"
    OLDEST = "created_at"
    TITLE = "title"
    TITLE_DESC = "-title"
    MOST_VIEWED = "-view_count"
    LEAST_VIEWED = "view_count"

    @property
    def column(self) -> InstrumentedAttribute[Any]:
        return getattr(GalleryVideo, self.value.lstrip("-"))  # type: ignore[no-any-return]

    @property
    def descending(self) -> bool:
        return self.value.startswith("-")


@dataclass(frozen=True)
class SearchFilters:
    text: str | None = None
    owner_id: str | None = None
    status: VideoStatus | None = None
    visibility: Visibility | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None
    sort: SortOrder = SortOrder.NEWEST

    def digest(self) -> str:
        canonical = json.dumps(asdict(self), default=str, sort_keys=True)
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]


# What a page shows of each video, read as plain columns (rows, not ORM objects: building
# those cost more than the query).
_PAGE_COLUMNS = tuple(getattr(GalleryVideo, name) for name in VideoPublic.model_fields)


@dataclass(frozen=True)
class Page:
    items: list[Row[Any]]  # the VideoPublic columns of each video
    next_cursor: str | None


def _bad_cursor() -> ApiError:
    return ApiError(400, "cursor is not valid for this query; start again without it",
                    code="bad_cursor")


def encode_cursor(filters: SearchFilters, last: Row[Any] | GalleryVideo) -> str:
    key = getattr(last, filters.sort.column.key)
    payload = {"v": _CURSOR_VERSION, "s": filters.sort.value, "f": filters.digest(),
               "k": key.isoformat() if isinstance(key, datetime) else key, "i": last.id}
    raw = json.dumps(payload, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(filters: SearchFilters, cursor: str) -> tuple[Any, str]:
    """The (sort key, id) a cursor resumes after; 400 for anything else."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        payload = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise _bad_cursor() from None
    if not isinstance(payload, dict) or payload.get("v") != _CURSOR_VERSION:
        raise _bad_cursor()
    if payload.get("s") != filters.sort.value or payload.get("f") != filters.digest():
        raise _bad_cursor()
    key, last_id = payload.get("k"), payload.get("i")
    if not isinstance(last_id, str) or len(last_id) > 36:
        raise _bad_cursor()
    return _typed_key(filters.sort, key), last_id


def _typed_key(sort: SortOrder, key: Any) -> Any:
    name = sort.column.key
    if name == "created_at":
        try:
            parsed = datetime.fromisoformat(key) if isinstance(key, str) else None
        except ValueError:
            parsed = None
        if parsed is None or parsed.tzinfo is None:
            raise _bad_cursor()
        return parsed
    if name == "view_count" and isinstance(key, int) and not isinstance(key, bool):
        return key
    if name == "title" and isinstance(key, str):
        return key
    raise _bad_cursor()


def _text_match(text: str, dialect: str) -> ColumnElement[bool]:
    if dialect == "postgresql":
        query = func.websearch_to_tsquery(literal_column("'english'"), text)
        return SEARCH_VECTOR.op("@@")(query)
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    pattern = f"%{escaped}%"
    return or_(GalleryVideo.title.ilike(pattern, escape="\\"),
               GalleryVideo.description.ilike(pattern, escape="\\"))


def visible_to(principal: Principal | None) -> ColumnElement[bool] | None:
    """What a viewer may list: everything (admin), public + own, or public only."""
    if principal is not None and principal.is_admin:
        return None
    public = GalleryVideo.visibility == Visibility.PUBLIC
    if principal is None:
        return public
    return or_(public, GalleryVideo.owner_id == principal.user_id)


def _filtered(filters: SearchFilters, principal: Principal | None, dialect: str) -> Select[Any]:
    stmt = select(*_PAGE_COLUMNS)
    scope = visible_to(principal)
    conditions = [scope] if scope is not None else []
    if filters.text:
        conditions.append(_text_match(filters.text, dialect))
    if filters.owner_id is not None:
        conditions.append(GalleryVideo.owner_id == filters.owner_id)
    if filters.status is not None:
        conditions.append(GalleryVideo.status == filters.status)
    if filters.visibility is not None:
        conditions.append(GalleryVideo.visibility == filters.visibility)
    if filters.created_after is not None:
        conditions.append(GalleryVideo.created_at >= filters.created_after)
    if filters.created_before is not None:
        conditions.append(GalleryVideo.created_at < filters.created_before)
    return stmt.where(*conditions)


def search(
    session: Session,
    *,
    filters: SearchFilters,
    principal: Principal | None,
    limit: int,
    cursor: str | None = None,
) -> Page:
    dialect = session.get_bind().dialect.name
    stmt = _filtered(filters, principal, dialect)
    column, descending = filters.sort.column, filters.sort.descending
    if cursor:
        key, last_id = decode_cursor(filters, cursor)
        after = (tuple_(column, GalleryVideo.id) < tuple_(key, last_id) if descending
                 else tuple_(column, GalleryVideo.id) > tuple_(key, last_id))
        # The plain bound lets an index on the sort column narrow the scan.
        bound = column <= key if descending else column >= key
        stmt = stmt.where(and_(bound, after))
    order = (column.desc(), GalleryVideo.id.desc()) if descending else (column, GalleryVideo.id)
    rows = list(session.connection().execute(stmt.order_by(*order).limit(limit + 1)).all())
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(rows, encode_cursor(filters, rows[-1]) if more and rows else None)
