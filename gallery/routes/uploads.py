"""/api/upload: presigned single PUT, S3 multipart, and confirm."""

from __future__ import annotations

from fastapi import APIRouter, Response

from common.http import error_responses
from gallery import multipart, uploads
from gallery.confirm import confirm_upload
from gallery.deps import BrokerDep, CurrentUser, S3Dep, SessionDep, SettingsDep
from gallery.schemas import (
    AbortRequest,
    CompleteRequest,
    ConfirmRequest,
    ConfirmResult,
    MultipartInit,
    PartsRequest,
    PartUrls,
    UploadUrl,
    VideoCreate,
    VideoPublic,
)

router = APIRouter(prefix="/api/upload", tags=["upload"])


@router.post("/url", response_model=UploadUrl, status_code=201,
             responses=error_responses(401, 422))
def upload_url(request: VideoCreate, session: SessionDep, s3: S3Dep, principal: CurrentUser,
               settings: SettingsDep) -> UploadUrl:
    """A presigned PUT for one file up to the configured size; creates the video."""
    return uploads.single_put_url(session, s3, principal=principal, request=request,
                                  settings=settings)


@router.post("/multipart/init", response_model=MultipartInit, status_code=201,
             responses=error_responses(401, 422))
def multipart_init(request: VideoCreate, session: SessionDep, s3: S3Dep,
                   principal: CurrentUser, settings: SettingsDep) -> MultipartInit:
    """Start an S3 multipart upload for a big file; creates the video."""
    return multipart.multipart_init(session, s3, principal=principal, request=request,
                                  settings=settings)


@router.post("/multipart/parts", response_model=PartUrls,
             responses=error_responses(401, 404, 409, 422))
def multipart_parts(request: PartsRequest, session: SessionDep, s3: S3Dep,
                    principal: CurrentUser, settings: SettingsDep) -> PartUrls:
    """Presigned PUT URLs for the given part numbers (send each part's ETag to complete)."""
    return multipart.part_urls(session, s3, principal=principal, video_id=request.video_id,
                             upload_id=request.upload_id, part_numbers=request.part_numbers,
                             settings=settings)


@router.post("/multipart/complete", response_model=VideoPublic,
             responses=error_responses(400, 401, 404, 409, 422))
def multipart_complete(request: CompleteRequest, session: SessionDep, s3: S3Dep,
                       principal: CurrentUser, settings: SettingsDep) -> VideoPublic:
    """Assemble the uploaded parts into the source object (then confirm it). The parts S3
    holds must be exactly the planned ones at their planned sizes; otherwise the upload
    is aborted (422 ``parts_mismatch``)."""
    return VideoPublic.model_validate(multipart.multipart_complete(
        session, s3, principal=principal, video_id=request.video_id,
        upload_id=request.upload_id, parts=request.parts, settings=settings))


@router.post("/multipart/abort", status_code=204, response_class=Response,
             responses=error_responses(401, 404, 409, 422))
def multipart_abort(request: AbortRequest, session: SessionDep, s3: S3Dep,
                    principal: CurrentUser) -> Response:
    """Abandon a multipart upload; S3 drops the parts uploaded so far."""
    multipart.multipart_abort(session, s3, principal=principal, video_id=request.video_id,
                            upload_id=request.upload_id)
    return Response(status_code=204)


@router.post("/confirm", response_model=ConfirmResult,
             responses=error_responses(401, 404, 409, 422, 503))
def confirm(request: ConfirmRequest, session: SessionDep, s3: S3Dep, broker: BrokerDep,
            principal: CurrentUser, settings: SettingsDep) -> ConfirmResult:
    """Check the upload really arrived (size, media container); optionally submit a job."""
    return confirm_upload(session, s3, broker,
                          principal=principal, request=request,
                          max_bytes=settings.max_upload_bytes)
