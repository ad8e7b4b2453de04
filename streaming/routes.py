"""/api/stream: qualities, presigned URLs, thumbnail/preview and HLS playlists."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.responses import RedirectResponse
from sqlalchemy import Connection

from common.app_state import state_of
from common.auth import Principal
from common.deps import run_query
from common.http import error_responses
from common.models import AssetKind
from common.plain_route import plain_get
from common.video_view import quality_public
from streaming import hls, playback
from streaming.deps import (
    GrantsDep,
    OptionalUser,
    PresignerDep,
    S3Dep,
    SessionDep,
    SettingsDep,
    TextsDep,
    base_url,
)
from streaming.grants import GrantSigner
from streaming.quality import quality_name
from streaming.schemas import AssetUrl, QualityList, StreamUrl
from streaming.state import StreamingState
from streaming.storyboard import VTT_CONTENT_TYPE, render_cues

router = APIRouter(prefix="/api/stream", tags=["streaming"])

QUALITY_PATTERN = r"^[0-9]{2,4}p$"  # as this service writes them into master playlists
VideoId = Annotated[str, Path(description="video id")]
Grant = Annotated[str | None, Query(max_length=64,
                                    description="playback grant from a master playlist URL")]
_PLAYLIST_HEADERS = {"Cache-Control": "private, max-age=60"}
_ALL_KINDS = tuple(AssetKind)


@router.get("/{video_id}/qualities", response_model=QualityList,
            responses=error_responses(401, 404))
def list_qualities(video_id: VideoId, session: SessionDep,
                   principal: OptionalUser) -> QualityList:
    """What exists for this video: each quality with resolution, bitrate and size."""
    video, assets = playback.published_assets(session, video_id=video_id, principal=principal,
                                              kinds=_ALL_KINDS)
    kinds = {a.kind for a in assets}
    return QualityList(
        video_id=video.id, status=video.status, duration_s=video.duration_s,
        qualities=[quality_public(a) for a in playback.qualities(assets)],
        hls=AssetKind.HLS_MASTER in kinds, thumbnail=AssetKind.THUMBNAIL in kinds,
        preview=AssetKind.PREVIEW in kinds, storyboard=AssetKind.STORYBOARD_VTT in kinds)


@plain_get(router, "/{video_id}", response_model=StreamUrl,
           responses=error_responses(401, 404, 409))
async def stream_url(
    video_id: VideoId, request: Request, principal: OptionalUser,
    quality: Annotated[str, Query(max_length=16,
                                  description="a quality (720p, or an alias as POST /api/jobs "
                                              "takes them: 4k, hd, 1080…), or auto for the "
                                              "adaptive HLS master")] = "auto",
) -> StreamUrl:
    """A presigned URL for one quality (its CMAF file, played progressively), or the HLS
    master URL for ``auto``."""
    # The hottest route: its state is read once, not through one dependency per part,
    # and its blocking work (one query, a presign on a cache miss) is one thread hop.
    state = state_of(request, StreamingState)
    quality = "auto" if quality.strip().lower() == "auto" else quality_name(quality)
    base = base_url(request, state.settings)
    return await run_query(request, lambda connection: _stream_url(
        connection, state, video_id=video_id, principal=principal, quality=quality, base=base))


def _stream_url(connection: Connection, state: StreamingState, *, video_id: str,
                principal: Principal | None, quality: str, base: str) -> StreamUrl:
    settings, grants = state.settings, state.grants
    if quality == "auto":
        video, assets = playback.published_assets(
            connection, video_id=video_id, principal=principal, kinds=(AssetKind.HLS_MASTER,))
        playback.one_asset(video, assets, AssetKind.HLS_MASTER)  # 404/409 when there is none
        grant = grants.issue(video.id, epoch=video.grant_epoch, ttl_s=settings.hls_url_expiry_s)
        url = f"{base}/api/stream/{quote(video.id)}/master.m3u8?grant={quote(grant)}"
        return StreamUrl(video_id=video.id, quality="auto", url=url,
                         expires_at=grants.expiry_time(grant),
                         content_type=hls.PLAYLIST_CONTENT_TYPE)
    video, assets = playback.published_assets(connection, video_id=video_id, principal=principal,
                                              kinds=(AssetKind.MP4,), quality=quality)
    asset = playback.one_asset(video, assets, AssetKind.MP4, quality)
    signed = state.presigner.sign(asset, expires_s=settings.stream_url_expiry_s)
    return StreamUrl(video_id=video.id, quality=quality, url=signed.url,
                     expires_at=signed.expires_at, content_type=asset.content_type,
                     width=asset.width, height=asset.height, bitrate=asset.bitrate,
                     size_bytes=asset.size_bytes)


def _image(kind: AssetKind, video_id: str, session: SessionDep, presigner: PresignerDep,
           principal: OptionalUser, settings: SettingsDep, redirect: bool) -> AssetUrl | Response:
    video, assets = playback.published_assets(session, video_id=video_id, principal=principal,
                                              kinds=(kind,))
    asset = playback.one_asset(video, assets, kind)
    signed = presigner.sign(asset, expires_s=settings.stream_url_expiry_s)
    if redirect:
        return RedirectResponse(signed.url, status_code=307)
    return AssetUrl(video_id=video.id, url=signed.url, expires_at=signed.expires_at,
                    content_type=asset.content_type)


Redirect = Annotated[bool, Query(description="answer 307 to the image instead of JSON")]


@router.get("/{video_id}/thumbnail", response_model=AssetUrl,
            responses={**error_responses(401, 404, 409), 307: {"description": "to the image"}})
def thumbnail(video_id: VideoId, session: SessionDep, presigner: PresignerDep,
              principal: OptionalUser, settings: SettingsDep,
              redirect: Redirect = False) -> AssetUrl | Response:
    """A presigned URL of the poster image (JPEG)."""
    return _image(AssetKind.THUMBNAIL, video_id, session, presigner, principal, settings,
                  redirect)


@router.get("/{video_id}/preview", response_model=AssetUrl,
            responses={**error_responses(401, 404, 409), 307: {"description": "to the image"}})
def preview(video_id: VideoId, session: SessionDep, presigner: PresignerDep,
            principal: OptionalUser, settings: SettingsDep,
            redirect: Redirect = False) -> AssetUrl | Response:
    """A presigned URL of the animated preview (GIF)."""
    return _image(AssetKind.PREVIEW, video_id, session, presigner, principal, settings,
                  redirect)


_PLAYLIST_RESPONSE: dict[int | str, dict[str, Any]] = {200: {
    "content": {hls.PLAYLIST_CONTENT_TYPE: {"schema": {"type": "string"}}},
    "description": "an HLS playlist"}}


def _holds(grants: GrantSigner, grant: str | None) -> Callable[[playback.PlaybackVideo], bool]:
    """Whether ``grant`` opens the video as it is now (its current grant epoch)."""
    return lambda video: grants.allows(video.id, video.grant_epoch, grant)


Expand = Annotated[bool, Query(
    description="substitute the media URL into every segment line (HLS version 7) for "
                "players without HLS version 8 variable substitution; the playlist then "
                "grows with the video's length")]


@router.get("/{video_id}/master.m3u8", response_class=Response,
            responses={**_PLAYLIST_RESPONSE, **error_responses(401, 404, 409)})
def master_playlist(video_id: VideoId, session: SessionDep, s3: S3Dep, texts: TextsDep,
                    principal: OptionalUser, settings: SettingsDep, grants: GrantsDep,
                    grant: Grant = None, expand: Expand = False) -> Response:
    """The HLS master: variants point back here with a playback grant, so any HLS player
    can follow them without credentials."""
    video, assets = playback.published_assets(
        session, video_id=video_id, principal=principal, granted=_holds(grants, grant),
        kinds=(AssetKind.HLS_MASTER, AssetKind.HLS_PLAYLIST))
    master = playback.one_asset(video, assets, AssetKind.HLS_MASTER)
    if not grants.allows(video.id, video.grant_epoch, grant):
        grant = grants.issue(video.id, epoch=video.grant_epoch, ttl_s=settings.hls_url_expiry_s)
    text = hls.master_playlist(
        texts.text(master), master=master, grant=str(grant), expand=expand,
        variants=[a for a in assets if a.kind == AssetKind.HLS_PLAYLIST],
        sign=hls.presigner(s3, bucket=master.bucket, expires_s=settings.hls_url_expiry_s))
    return Response(text, media_type=hls.PLAYLIST_CONTENT_TYPE, headers=_PLAYLIST_HEADERS)


@plain_get(router, "/{video_id}/hls/{quality}/index.m3u8", response_class=Response,
           responses={**_PLAYLIST_RESPONSE, **error_responses(401, 404, 409, 422)})
async def variant_playlist(video_id: VideoId, request: Request, principal: OptionalUser,
                           quality: Annotated[str, Path(pattern=QUALITY_PATTERN)],
                           grant: Grant = None, expand: Expand = False) -> Response:
    """One variant playlist: byte ranges of the quality's CMAF file, whose one presigned URL
    appears once (EXT-X-DEFINE), so its cost does not grow with the video's length."""
    # Fetched by players every few seconds: one thread hop, as stream_url.
    state = state_of(request, StreamingState)
    text = await run_query(request, lambda connection: _variant_text(
        connection, state, video_id=video_id, principal=principal, quality=quality, grant=grant,
        expand=expand))
    return Response(text, media_type=hls.PLAYLIST_CONTENT_TYPE, headers=_PLAYLIST_HEADERS)


def _variant_text(connection: Connection, state: StreamingState, *, video_id: str,
                  principal: Principal | None, quality: str, grant: str | None,
                  expand: bool) -> str:
    settings = state.settings
    video, assets = playback.published_assets(
        connection, video_id=video_id, principal=principal, granted=_holds(state.grants, grant),
        kinds=(AssetKind.HLS_PLAYLIST,), quality=quality)
    variant = playback.one_asset(video, assets, AssetKind.HLS_PLAYLIST, quality)
    template = hls.VariantTemplate.parse(state.texts.text(variant), playlist_key=variant.key)
    if template.media_key is None:  # stored before CMAF: one object per segment
        return hls.legacy_variant(
            template.text, playlist_key=variant.key,
            sign=hls.presigner(state.s3, bucket=variant.bucket,
                               expires_s=settings.hls_url_expiry_s))
    url = state.presigner.sign_key(variant.bucket, template.media_key,
                                   expires_s=settings.hls_url_expiry_s).url
    return template.render(url, expand=expand)


@router.get("/{video_id}/storyboard.vtt", response_class=Response,
            responses={200: {"content": {VTT_CONTENT_TYPE: {"schema": {"type": "string"}}},
                             "description": "WebVTT cues, one per tile of the sprite sheet"},
                       **error_responses(401, 404, 409)})
def storyboard(video_id: VideoId, session: SessionDep, texts: TextsDep, presigner: PresignerDep,
               principal: OptionalUser, settings: SettingsDep) -> Response:
    """Scrubbing previews: cues covering the whole video, each naming its tile of the
    sprite sheet (a presigned URL with ``#xywh=x,y,w,h``)."""
    video, assets = playback.published_assets(
        session, video_id=video_id, principal=principal,
        kinds=(AssetKind.STORYBOARD, AssetKind.STORYBOARD_VTT))
    cues = playback.one_asset(video, assets, AssetKind.STORYBOARD_VTT)
    sprite = playback.one_asset(video, assets, AssetKind.STORYBOARD)
    url = presigner.sign(sprite, expires_s=settings.stream_url_expiry_s).url
    text = render_cues(texts.text(cues), sprite_key=sprite.key, sprite_url=url)
    return Response(text, media_type=VTT_CONTENT_TYPE, headers=_PLAYLIST_HEADERS)


# The hottest first: a request is tried against every route declared before its own, and
# twice over (FastAPI's included router matches, then dispatches). Players fetch variant
# playlists every few seconds; pages ask for stream URLs. No two of these paths overlap,
# so the order changes nothing else.
_HOT_PATHS = ("/api/stream/{video_id}/hls/{quality}/index.m3u8", "/api/stream/{video_id}")


def _heat(route: object) -> int:
    path = getattr(route, "path", "")
    return _HOT_PATHS.index(path) if path in _HOT_PATHS else len(_HOT_PATHS)


router.routes.sort(key=_heat)
