"""The gallery's delete writes ``video.deleted`` in its own transaction."""

from __future__ import annotations

import json

from sqlalchemy import select
from sqlalchemy.orm import Session

from common.db import engine_for
from common.models import Event
from tests.support.videos import insert_video


def test_delete_records_video_deleted_with_the_last_state(client, cognito,
                                                          gallery_settings) -> None:
    owner = cognito.subs["owner"]
    video = insert_video(gallery_settings.database_url, owner_id=owner, title="gone soon")
    before = client.get(f"/api/gallery/videos/{video.id}", headers=cognito.headers("owner"))
    r = client.delete(f"/api/gallery/videos/{video.id}", headers=cognito.headers("admin"))
    assert r.status_code == 204
    with Session(engine_for(gallery_settings.database_url)) as session:
        rows = session.execute(select(Event).where(Event.subject_id == video.id)).scalars().all()
    assert [(e.type, e.owner_id) for e in rows] == [("video.deleted", owner)]
    assert json.loads(rows[0].body)["data"] == before.json()
