"""Who may do what: owner / other / anonymous / admin × public / private video × every
gateway route. Someone else's job is 404 (not 403): its existence is not theirs to know."""

from __future__ import annotations

import pytest

from common.models import Visibility

ROLES = ("owner", "other", "anonymous", "admin")

# route -> expected status per role (the same for a public and a private video, except
# where the public video's existence is visible: submitting for it is 403, not 404).
EXPECTED = {
    "submit": {"owner": 201, "other": 404, "anonymous": 401, "admin": 201},
    "get": {"owner": 200, "other": 404, "anonymous": 401, "admin": 200},
    "events": {"owner": 200, "other": 404, "anonymous": 401, "admin": 200},
    "cancel": {"owner": 200, "other": 404, "anonymous": 401, "admin": 200},
    "list": {"owner": 200, "other": 200, "anonymous": 401, "admin": 200},
}


def headers_for(users, role: str) -> dict[str, str]:
    return {} if role == "anonymous" else users[role].headers


def call(client, route: str, role: str, users, make_video, visibility):
    """One request of ``role`` on ``route`` against the owner's fresh video/job."""
    owner = users["owner"]
    video = make_video(owner, visibility=visibility)
    headers = headers_for(users, role)
    if route == "submit":
        return client.post("/api/jobs", json={"video_id": video.id}, headers=headers), None
    job = client.post("/api/jobs", json={"video_id": video.id}, headers=owner.headers).json()
    if route == "events":
        # A finished job's stream is a single event, so the request returns at once.
        client.delete(f"/api/jobs/{job['id']}", headers=owner.headers)
    if route == "list":
        return client.get("/api/jobs", headers=headers), job
    method = "DELETE" if route == "cancel" else "GET"
    path = f"/api/jobs/{job['id']}" + ("/events" if route == "events" else "")
    return client.request(method, path, headers=headers), job


@pytest.mark.parametrize("visibility", [Visibility.PRIVATE, Visibility.PUBLIC])
@pytest.mark.parametrize("route", sorted(EXPECTED))
def test_authorization_matrix(client, users, make_video, route, visibility):
    for role in ROLES:
        response, job = call(client, route, role, users, make_video, visibility)
        expected = EXPECTED[route][role]
        if route == "submit" and role == "other" and visibility == Visibility.PUBLIC:
            expected = 403
        assert response.status_code == expected, (route, role, visibility, response.text)
        if expected >= 400:
            assert set(response.json()) == {"error"}
            if expected == 401:
                assert response.headers["WWW-Authenticate"].startswith("Bearer")
            if job and expected == 404:
                assert job["id"] not in response.text
        if route == "list" and expected == 200:
            ids = {j["id"] for j in response.json()["items"]}
            # "Mine": an admin's own list holds only the admin's jobs (?all=true for more).
            assert (job["id"] in ids) == (role == "owner"), role
        if route == "submit" and expected == 201:
            # A job submitted by an admin belongs to the video's owner.
            assert response.json()["owner_id"] == users["owner"].sub


def test_admin_lists_everyones_jobs(client, users, make_video):
    owner = users["owner"]
    job = client.post("/api/jobs", json={"video_id": make_video(owner).id},
                      headers=owner.headers).json()
    everyone = client.get("/api/jobs?all=true", headers=users["admin"].headers).json()
    assert job["id"] in {j["id"] for j in everyone["items"]}
    assert client.get("/api/jobs?all=true", headers=users["other"].headers).status_code == 403
