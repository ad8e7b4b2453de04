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
import functools
import hashlib
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnClause,
    ColumnElement,
    Integer,
    Row,
    Select,
    String,
    and_,
    bindparam,
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


def _text_match(dialect: str) -> ColumnElement[bool]:
    """The text condition over the bound ``text`` (PostgreSQL) or ``pattern`` (SQLite)."""
    if dialect == "postgresql":
        words = bindparam("text", type_=String)
        query = func.websearch_to_tsquery(literal_column("'english'"), words)
        return SEARCH_VECTOR.op("@@")(query)
    pattern = bindparam("pattern", type_=String)
    return or_(GalleryVideo.title.ilike(pattern, escape="\\"),
               GalleryVideo.description.ilike(pattern, escape="\\"))


def _like_pattern(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


class _Viewer(enum.Enum):
    ANYONE = "anyone"  # anonymous: public only
    USER = "user"      # public and their own
    ADMIN = "admin"    # everything


def _viewer(principal: Principal | None) -> _Viewer:
    if principal is None:
        return _Viewer.ANYONE
    return _Viewer.ADMIN if principal.is_admin else _Viewer.USER


def visible_to(viewer: _Viewer) -> ColumnElement[bool] | None:
    """What a viewer may list: everything (admin), public + own (the bound ``viewer_id``),
    or public only."""
    if viewer is _Viewer.ADMIN:
        return None
    public = GalleryVideo.visibility == Visibility.PUBLIC
    if viewer is _Viewer.ANYONE:
        return public
    return or_(public, GalleryVideo.owner_id == bindparam("viewer_id"))


# The optional filters: the bound parameter each one takes, and its condition.
_FILTERS: tuple[tuple[str, Callable[[], ColumnElement[bool]]], ...] = (
    ("owner_id", lambda: GalleryVideo.owner_id == bindparam("owner_id")),
    ("status", lambda: GalleryVideo.status == bindparam("status")),
    ("visibility", lambda: GalleryVideo.visibility == bindparam("visibility")),
    ("created_after", lambda: GalleryVideo.created_at >= bindparam("created_after")),
    ("created_before", lambda: GalleryVideo.created_at < bindparam("created_before")),
)


@functools.lru_cache(maxsize=1024)
def _statement(dialect: str, viewer: _Viewer, text: bool, present: frozenset[str],
               sort: SortOrder, resumed: bool) -> Select[Any]:
    """The query of one shape (which filters are given, who looks, the sort, whether a
    cursor resumes it), with every value bound: built once per shape, as building the
    expression costs more than running it."""
    scope = visible_to(viewer)
    conditions = [scope] if scope is not None else []
    if text:
        conditions.append(_text_match(dialect))
    conditions += [condition() for name, condition in _FILTERS if name in present]
    column, descending = sort.column, sort.descending
    if resumed:
        key, last_id = bindparam("key", type_=column.type), bindparam("last_id", type_=String)
        after = (tuple_(column, GalleryVideo.id) < tuple_(key, last_id) if descending
                 else tuple_(column, GalleryVideo.id) > tuple_(key, last_id))
        # The plain bound lets an index on the sort column narrow the scan.
        conditions.append(and_(column <= key if descending else column >= key, after))
    order = (column.desc(), GalleryVideo.id.desc()) if descending else (column, GalleryVideo.id)
    return (select(*_PAGE_COLUMNS).where(*conditions).order_by(*order)
            .limit(bindparam("limit", type_=Integer)))


def bound_query(filters: SearchFilters, principal: Principal | None, dialect: str, *,
                limit: int, cursor: str | None = None) -> tuple[Select[Any], dict[str, Any]]:
    """The statement of the query's shape and the values to bind into it."""
    values: dict[str, Any] = {name: getattr(filters, name) for name, _ in _FILTERS
                              if getattr(filters, name) is not None}
    stmt = _statement(dialect, _viewer(principal), bool(filters.text), frozenset(values),
                      filters.sort, bool(cursor))
    if filters.text:
        postgres = dialect == "postgresql"
        values["text" if postgres else "pattern"] = (
            filters.text if postgres else _like_pattern(filters.text))
    if principal is not None:
        values["viewer_id"] = principal.user_id
    if cursor:
        values["key"], values["last_id"] = decode_cursor(filters, cursor)
    values["limit"] = limit + 1
    return stmt, values


def search(
    session: Session,
    *,
    filters: SearchFilters,
    principal: Principal | None,
    limit: int,
    cursor: str | None = None,
) -> Page:
    stmt, values = bound_query(filters, principal, session.get_bind().dialect.name,
                               limit=limit, cursor=cursor)
    rows = list(session.connection().execute(stmt, values).all())
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(rows, encode_cursor(filters, rows[-1]) if more and rows else None)
