"""Gallery search: full text (through the GIN index), filters, sort, cursor pages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from common.db import engine_for
from common.models import VideoStatus, Visibility
from gallery.search import SearchFilters, bound_query
from tests.support.videos import insert_video

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _seed(database_url: str, cognito) -> None:
    owner, other = cognito.subs["owner"], cognito.subs["other"]
    rows = [
        (owner, "Surfing at sunrise", "big waves on the north shore", "public", "READY", 5),
        (owner, "Mountain biking", "downhill trails and jumps", "public", "READY", 50),
        (owner, "Secret surfing spot", "waves nobody knows", "private", "READY", 1),
        (other, "Cooking pasta", "fresh tagliatelle by hand", "public", "UPLOADED", 0),
        (other, "Surf lessons", "learning to stand on a board", "public", "READY", 7),
        (other, "Private diary", "my surfing diary", "private", "READY", 3),
    ]
    for i, (who, title, description, vis, status, views) in enumerate(rows):
        insert_video(database_url, owner_id=who, title=title, description=description,
                     visibility=Visibility(vis), status=VideoStatus(status), view_count=views,
                     created_at=T0 + timedelta(days=i))


def _titles(response) -> list[str]:
    assert response.status_code == 200, response.text
    return [v["title"] for v in response.json()["items"]]


def test_full_text_hits_stems_and_misses(client, gallery_settings, cognito) -> None:
    _seed(gallery_settings.database_url, cognito)
    # "surf" stems to match "Surfing" and "Surf"; anonymous callers see public ones only.
    got = _titles(client.get("/api/gallery/videos", params={"q": "surf"}))
    assert got == ["Surf lessons", "Surfing at sunrise"]
    assert _titles(client.get("/api/gallery/videos", params={"q": "tagliatelle"})) == [
        "Cooking pasta"]
    assert _titles(client.get("/api/gallery/videos", params={"q": "volcano"})) == []
    assert _titles(client.get("/api/gallery/videos", params={"q": "surf -lessons"})) == [
        "Surfing at sunrise"]
    # Signed in: my private ones too, not someone else's; admins see everything.
    mine = _titles(client.get("/api/gallery/videos", params={"q": "surfing"},
                              headers=cognito.headers("owner")))
    assert "Secret surfing spot" in mine and "Private diary" not in mine
    everything = _titles(client.get("/api/gallery/videos", params={"q": "surfing"},
                                    headers=cognito.headers("admin")))
    assert {"Secret surfing spot", "Private diary"} <= set(everything)


def test_filters_and_sort(client, gallery_settings, cognito) -> None:
    _seed(gallery_settings.database_url, cognito)
    get = client.get
    assert _titles(get("/api/gallery/videos", params={"owner": cognito.subs["other"]})) == [
        "Surf lessons", "Cooking pasta"]
    assert _titles(get("/api/gallery/videos", params={"status": "UPLOADED"})) == [
        "Cooking pasta"]
    assert _titles(get("/api/gallery/videos", params={
        "created_after": (T0 + timedelta(days=1)).isoformat(),
        "created_before": (T0 + timedelta(days=4)).isoformat(), "sort": "created_at"})) == [
        "Mountain biking", "Cooking pasta"]
    assert _titles(get("/api/gallery/videos", params={"sort": "-view_count"}))[:2] == [
        "Mountain biking", "Surf lessons"]
    assert _titles(get("/api/gallery/videos", params={"sort": "title"}))[0] == "Cooking pasta"
    private = _titles(get("/api/gallery/videos", params={"visibility": "private"},
                          headers=cognito.headers("other")))
    assert private == ["Private diary"]
    assert _titles(get("/api/gallery/videos", params={"visibility": "private"})) == []


def test_my_library_includes_private(client, gallery_settings, cognito) -> None:
    _seed(gallery_settings.database_url, cognito)
    got = _titles(client.get("/api/gallery/me/videos", headers=cognito.headers("owner")))
    assert got == ["Secret surfing spot", "Mountain biking", "Surfing at sunrise"]
    assert client.get("/api/gallery/me/videos").status_code == 401


def test_cursor_pages_cover_everything_once(client, gallery_settings, cognito) -> None:
    url = gallery_settings.database_url
    for i in range(23):
        # Equal timestamps in pairs: ties must be broken by id, not skipped or repeated.
        insert_video(url, owner_id=cognito.subs["owner"], title=f"clip {i:02d}",
                     view_count=i % 4, created_at=T0 + timedelta(hours=i // 2))
    for sort in ("-created_at", "title", "-view_count"):
        seen, cursor, pages = [], None, 0
        while True:
            params = {"limit": 5, "sort": sort, **({"cursor": cursor} if cursor else {})}
            body = client.get("/api/gallery/videos", params=params).json()
            seen += [v["id"] for v in body["items"]]
            pages += 1
            cursor = body["next_cursor"]
            if not cursor:
                break
        assert pages == 5 and len(seen) == 23 and len(set(seen)) == 23, sort


def test_bad_cursor_is_400(client, gallery_settings, cognito) -> None:
    for i in range(3):
        insert_video(gallery_settings.database_url, owner_id=cognito.subs["owner"],
                     title=f"v{i}")
    cursor = client.get("/api/gallery/videos", params={"limit": 1}).json()["next_cursor"]
    for bad in ("garbage!!", cursor[:-3] + "AAA", "eyJ2IjoxfQ"):
        r = client.get("/api/gallery/videos", params={"limit": 1, "cursor": bad})
        assert r.status_code == 400 and r.json()["error"]["code"] == "bad_cursor", bad
    # A cursor belongs to its query: other filters or sort are refused, not misapplied.
    r = client.get("/api/gallery/videos", params={"limit": 1, "cursor": cursor, "q": "v1"})
    assert r.status_code == 400
    r = client.get("/api/gallery/videos", params={"limit": 1, "cursor": cursor, "sort": "title"})
    assert r.status_code == 400


def test_bad_filters_are_422(client) -> None:
    for params in ({"limit": 0}, {"limit": 101}, {"sort": "random"}, {"status": "nope"},
                   {"created_after": "yesterday"},
                   {"created_after": "2026-02-01T00:00:00Z",
                    "created_before": "2026-01-01T00:00:00Z"}):
        r = client.get("/api/gallery/videos", params=params)
        assert r.status_code == 422 and r.json()["error"]["code"] == "invalid", params


def test_text_search_uses_the_gin_index(gallery_settings) -> None:
    """The app's own query matches the indexed column, so the planner can use the index."""
    engine = engine_for(gallery_settings.database_url)
    stmt, values = bound_query(SearchFilters(text="surf"), None, "postgresql", limit=20)
    sql = str(stmt.params(values).compile(engine, compile_kwargs={"literal_binds": True}))
    with engine.connect() as conn:
        conn.execute(text("SET enable_seqscan = off"))
        plan = "\n".join(row[0] for row in conn.execute(text(f"EXPLAIN {sql}")))
    assert "ix_gallery_videos_search_vector" in plan, plan
