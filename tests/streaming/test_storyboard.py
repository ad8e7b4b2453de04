"""The storyboard through streaming: cues covering the whole video, each pointing at a
tile of the presigned sprite sheet; private like the video."""

from __future__ import annotations

import httpx

from tests.support.cmaf import parse_cues


def test_storyboard_cues_point_at_the_presigned_sprite(client, private_cmaf, cognito) -> None:
    path = f"/api/stream/{private_cmaf.id}/storyboard.vtt"
    assert client.get(path).status_code == 404  # private: like the video itself
    assert client.get(path, headers=cognito.headers("other")).status_code == 404
    served = client.get(path, headers=cognito.headers("owner"))
    assert served.status_code == 200 and served.headers["content-type"].startswith("text/vtt")
    cues = parse_cues(served.text)
    assert cues[0][0] == 0.0 and cues[-1][1] == 5.0
    urls = {url for _, _, url, _ in cues}
    assert len(urls) == 1 and "X-Amz-Signature=" in next(iter(urls))
    sprite = httpx.get(next(iter(urls)))
    assert sprite.status_code == 200 and sprite.content[:2] == b"\xff\xd8"  # a JPEG
    listed = client.get(f"/api/stream/{private_cmaf.id}/qualities",
                        headers=cognito.headers("owner")).json()
    assert listed["storyboard"] is True
